"""Audit: every planted case found, few false ones, equal on both engines, stable, markable."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from cli.main import app
from graph.model import NodeKind
from graph.store import GraphStore
from graph.stores.ladybug import LadybugStore
from ingest.loader import ingest_folder
from ingest.synthetic import generate_prefecture
from policy.audit import audit
from policy.missed_aid import missed_aid
from queries.duplicate_aid import duplicate_aid
from queries.household_chain import household_chain
from queries.registry import get_question

runner = CliRunner()
SUB_QUESTIONS = [
    ("dup_exclusive_overlap", {}),
    ("dup_person_in_two_households", {}),
    ("dup_need_paid_twice", {}),
    ("dup_delivered_twice", {}),
    ("dup_enrolled_twice", {}),  # the defaults: the question fills them in (once-only kinds, nothing repeatable)
    ("dup_enrolled_twice", {"kinds": ["special"], "repeatable": ["JIAOYU_JIUZHU"]}),
    ("dup_shared_identifiers", {"generic_threshold": 8}),
    ("dup_identifier_counts", {}),
    ("missed_unserved_needs", {"as_of": "2026-06-30"}),
    ("linkage_resources", {"as_of": "2026-06-30", "region_codes": None}),
    ("household_region_codes", {}),
    ("region_parents", {}),
]


@pytest.fixture(scope="module")
def prefecture_5k(prefecture: Callable[..., tuple[Path, dict]]) -> tuple[Path, dict]:
    return prefecture(5000, 5)


@pytest.fixture(scope="module")
def embedded_5k(prefecture_5k: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LadybugStore]:
    store = LadybugStore(tmp_path_factory.mktemp("store-5k"))
    assert ingest_folder(store, prefecture_5k[0]).ok
    yield store
    store.close()


def planted_key(kind: str, case: dict) -> tuple:
    if kind in ("exclusive_overlap", "delivered_twice", "enrolled_twice", "paid_after_death"):
        return tuple(sorted(case["records"]))
    if kind == "need_paid_twice":
        return (case["need"],)
    if kind == "unserved_need":
        return (case["need"],)
    if kind in ("person_in_two_households", "shared_identifier_ring"):
        return tuple(sorted(case["households"]))
    return (case["household"],)


def found_key(kind: str, finding: object) -> tuple:
    f = finding
    if kind in ("exclusive_overlap", "delivered_twice", "enrolled_twice", "paid_after_death"):
        return tuple(sorted(f.records))  # type: ignore[attr-defined]
    if kind in ("need_paid_twice", "unserved_need"):
        return tuple(f.needs)  # type: ignore[attr-defined]
    if kind in ("person_in_two_households", "shared_identifier_ring"):
        return tuple(sorted(f.households))  # type: ignore[attr-defined]
    return (f.households[0],)  # type: ignore[attr-defined]


def score(store: GraphStore, truth: dict) -> dict[str, tuple[float, float]]:
    as_of = dt.date.fromisoformat(truth["as_of"])
    findings = duplicate_aid(store) + missed_aid(store, as_of=as_of)
    planted_cases = truth["duplicate_aid"] + truth["missed_aid"]
    out = {}
    for kind in sorted({c["kind"] for c in planted_cases}):
        planted = {planted_key(kind, c) for c in planted_cases if c["kind"] == kind}
        found = {found_key(kind, f) for f in findings if f.kind == kind}
        out[kind] = (len(planted & found) / len(planted), len(planted & found) / len(found) if found else 0.0)
    assert {f.kind for f in findings} <= set(out), "a finding of a kind nobody planted"
    return out


def test_every_planted_case_is_found_and_few_others(embedded_5k: LadybugStore, prefecture_5k: tuple[Path, dict]) -> None:
    scores = score(embedded_5k, prefecture_5k[1])
    assert len(scores) == 12
    for kind, (recall, precision) in scores.items():
        assert recall == 1.0, kind
        assert precision >= 0.98, kind


@pytest.mark.neo4j
def test_audit_questions_agree_on_both_engines(
    embedded_5k: LadybugStore, prefecture_5k: tuple[Path, dict], neo4j_store: GraphStore
) -> None:
    assert ingest_folder(neo4j_store, prefecture_5k[0]).ok
    for name, params in SUB_QUESTIONS:
        assert get_question(name)(embedded_5k, **params) == get_question(name)(neo4j_store, **params), name
    assert score(neo4j_store, prefecture_5k[1]) == score(embedded_5k, prefecture_5k[1])
    day = dt.date(2026, 6, 30)
    assert audit(neo4j_store, as_of=day) == audit(embedded_5k, as_of=day)


def test_findings_are_stable_across_runs_and_reingest(embedded_5k: LadybugStore, prefecture_5k: tuple[Path, dict]) -> None:
    day = dt.date(2026, 6, 30)
    first = audit(embedded_5k, as_of=day)
    ingest_folder(embedded_5k, prefecture_5k[0])
    second = audit(embedded_5k, as_of=day)
    assert [f.id for f in first.findings] == [f.id for f in second.findings]
    assert first == second
    assert len({f.id for f in first.findings}) == len(first.findings)


def test_region_filter_keeps_the_subtree(embedded_5k: LadybugStore) -> None:
    day = dt.date(2026, 6, 30)
    everything = audit(embedded_5k, as_of=day)
    county = everything.findings[0].region_code[:6]  # type: ignore[index]
    mine = audit(embedded_5k, as_of=day, region=county)
    assert mine.findings and all(f.region_code.startswith(county) for f in mine.findings)  # type: ignore[union-attr]
    assert [f.id for f in mine.findings] == [f.id for f in everything.findings if (f.region_code or "").startswith(county)]


def test_generic_identifier_is_discounted_not_a_ring(embedded_5k: LadybugStore, prefecture_5k: tuple[Path, dict]) -> None:
    [office] = prefecture_5k[1]["generic_identifiers"]
    report = audit(embedded_5k, as_of=dt.date(2026, 6, 30))
    assert {"kind": "phone", "value": office["value"], "households": office["households"]} in report.generic_identifiers
    assert not any(f"phone:{office['value']}" in f.evidence.get("identifiers", []) for f in report.findings)


@pytest.fixture
def both_two_cases(store: GraphStore, two_cases_dir: Path) -> GraphStore:
    ingest_folder(store, two_cases_dir)
    return store


def test_two_cases_chains(both_two_cases: GraphStore) -> None:
    store = both_two_cases
    day = dt.date(2026, 6, 30)
    driver = household_chain(store, "H-420106-0001", as_of=day)
    assert driver is not None
    assert {t["program"] for t in driver.timeline} == {"DIBAO", "YILIAO_BUCHONG"}  # 低保 and the supplementary insurance
    assert sorted(s.resource["resource_id"] for s in driver.view.services) == ["R-V1", "R-V2"]  # the two student volunteers
    assert all(s.resource["provider_type"] == "volunteer" for s in driver.view.services)
    assert {"src": "Resource:R-V1", "rel": "PROVIDES", "dst": "Service:S-1"} in driver.edges
    leukaemia = household_chain(store, "H-420203-0001", as_of=day)
    assert leukaemia is not None
    # Civil affairs enrols (低保), then medical insurance follows with medical assistance.
    assert [(t["department"], t["program"]) for t in leukaemia.timeline] == [("MZ", "DIBAO"), ("YB", "YILIAO_JIUZHU")]
    assert leukaemia.referral_level == "village_window"
    window = household_chain(store, "H-420203-0001", as_of=day, start=dt.date(2024, 1, 1))
    assert [t["program"] for t in window.timeline] == ["DIBAO"]  # the medical assistance ended in 2023
    assert not duplicate_aid(store)


@pytest.mark.neo4j
def test_two_cases_chain_parity(neo4j_store: GraphStore, two_cases_dir: Path, tmp_path: Path) -> None:
    embedded = LadybugStore(tmp_path / "e")
    ingest_folder(embedded, two_cases_dir)
    ingest_folder(neo4j_store, two_cases_dir)
    for h in ("H-420106-0001", "H-420203-0001"):
        assert household_chain(embedded, h, as_of=dt.date(2026, 6, 30)) == household_chain(neo4j_store, h, as_of=dt.date(2026, 6, 30))


def test_marks_survive_reingest_and_reaudit_with_their_history(tmp_path: Path, prefecture_5k: tuple[Path, dict]) -> None:
    folder = tmp_path / "delivery"
    shutil.copytree(prefecture_5k[0], folder)
    store_dir = str(tmp_path / "store")
    assert runner.invoke(app, ["ingest", str(folder), "--store", store_dir]).exit_code == 0
    result = runner.invoke(app, ["audit", "--store", store_dir, "--as-of", "2026-06-30", "--format", "json"])
    assert result.exit_code == 0
    report = json.loads(result.output)
    target = report["findings"][0]["id"]

    def mark(status: str, reason: str, by: str) -> int:
        args = ["mark", target, "--status", status, "--reason", reason, "--by", by, "--store", store_dir]
        return runner.invoke(app, args).exit_code

    assert mark("confirmed", "checked the bank statements", "auditor-li") == 0
    assert mark("dismissed", "a lawful second enrolment", "auditor-wang") == 0
    assert runner.invoke(app, ["ingest", str(folder), "--store", store_dir]).exit_code == 0
    again = json.loads(runner.invoke(app, ["audit", "--store", store_dir, "--as-of", "2026-06-30", "--format", "json"]).output)
    [marked] = [f for f in again["findings"] if f["id"] == target]
    assert marked["mark"]["status"] == "dismissed" and marked["mark"]["marked_by"] == "auditor-wang"
    with LadybugStore(Path(store_dir)) as store:
        [earlier] = store.history(NodeKind.FINDING_MARK, target)
        assert earlier["before"]["marked_by"] == "auditor-li" and earlier["source"] == "mark by auditor-wang"
    bad = runner.invoke(app, ["mark", target, "--status", "maybe", "--reason", "x", "--by", "y", "--store", store_dir])
    assert bad.exit_code == 1 and "confirmed or dismissed" in bad.output


def test_audit_formats(embedded_5k: LadybugStore, tmp_path: Path, prefecture_5k: tuple[Path, dict]) -> None:
    store_dir = str(tmp_path / "store")
    assert runner.invoke(app, ["ingest", str(prefecture_5k[0]), "--store", store_dir]).exit_code == 0
    table = runner.invoke(app, ["audit", "--store", store_dir, "--as-of", "2026-06-30"])
    assert table.exit_code == 0 and "findings by kind" in table.output and "exclusive_overlap" in table.output
    xlsx = tmp_path / "audit.xlsx"
    assert (
        runner.invoke(app, ["audit", "--store", store_dir, "--as-of", "2026-06-30", "--format", "xlsx", "--out", str(xlsx)]).exit_code == 0
    )
    book = load_workbook(xlsx)
    assert book.sheetnames == ["summary", "findings", "generic identifiers"]
    report = audit(embedded_5k, as_of=dt.date(2026, 6, 30))
    assert book["findings"].max_row - 1 == len(report.findings)
    csv_out = runner.invoke(app, ["audit", "--store", store_dir, "--as-of", "2026-06-30", "--format", "csv"])
    assert csv_out.exit_code == 0 and csv_out.output.count("\n") == len(report.findings) + 1
    assert runner.invoke(app, ["audit", "--store", store_dir, "--format", "xlsx"]).exit_code == 1


def _without_ledger_lines(src: Path, dst: Path) -> int:
    """Copy a prefecture without its monthly payment lines (ended whole-month records of no need)."""
    import csv

    shutil.copytree(src, dst)
    with (src / "aid_records.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames, list(reader)

    def line(r: dict[str, str]) -> bool:
        if r["status"] != "ended" or r["need_id"] or not r["period_end"]:
            return False
        start, end = dt.date.fromisoformat(r["period_start"]), dt.date.fromisoformat(r["period_end"])
        return start.day == 1 and (end + dt.timedelta(days=1)).day == 1 and (start.year, start.month) == (end.year, end.month)

    kept = [r for r in rows if not line(r)]
    with (dst / "aid_records.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(kept)
    return len(rows) - len(kept)


def test_payment_ledgers_change_no_finding_tier_or_warning(tmp_path: Path) -> None:
    """A department's monthly payment lines are history: the audit and the evaluation read the same."""
    from policy.config import load_policy
    from policy.means_test import evaluate

    truth = generate_prefecture(households=1500, seed=11, out=tmp_path / "ledgers", ledgers=True)
    dropped = _without_ledger_lines(tmp_path / "ledgers", tmp_path / "bare")
    assert dropped > truth["counts"]["aid_records"] / 2
    stores = {}
    for name in ("ledgers", "bare"):
        stores[name] = LadybugStore(tmp_path / f"store-{name}")
        assert ingest_folder(stores[name], tmp_path / name).ok
    try:
        for kind, (recall, precision) in score(stores["ledgers"], truth).items():
            assert recall == 1.0 and precision >= 0.98, kind
        as_of = dt.date.fromisoformat(truth["as_of"])
        findings = {name: sorted(f.id for f in duplicate_aid(s) + missed_aid(s, as_of=as_of)) for name, s in stores.items()}
        assert findings["ledgers"] == findings["bare"]
        decisions = {
            name: {
                d.household_id: (d.tier, d.benefit, d.enrolled_since, d.hardship)
                for d in evaluate(s, load_policy(), as_of=as_of).households
            }
            for name, s in stores.items()
        }
        assert decisions["ledgers"] == decisions["bare"]
        assert any(h["recent_events"] for _, _, _, h in decisions["ledgers"].values())
    finally:
        for s in stores.values():
            s.close()


@pytest.mark.neo4j
def test_audit_questions_agree_on_both_engines_with_payment_ledgers(tmp_path: Path, neo4j_store: GraphStore) -> None:
    """The questions that read around monthly lines (rule 1, missed households) gather the same on both."""
    generate_prefecture(households=800, seed=13, out=tmp_path / "ledgers", ledgers=True)
    embedded = LadybugStore(tmp_path / "store")
    try:
        assert ingest_folder(embedded, tmp_path / "ledgers").ok
        assert ingest_folder(neo4j_store, tmp_path / "ledgers").ok
        for name, params in SUB_QUESTIONS:
            assert get_question(name)(embedded, **params) == get_question(name)(neo4j_store, **params), name
        missed = missed_aid(embedded, as_of=dt.date(2026, 6, 30))
        assert missed, "the ledger prefecture has missed households"
        assert missed == missed_aid(neo4j_store, as_of=dt.date(2026, 6, 30))
    finally:
        embedded.close()
