"""The synthetic prefecture: reproducible bytes, and planted cases that are really in the files."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from graph.national_id import is_valid_id_number
from graph.store import GraphStore
from graph.stores.ladybug import LadybugStore
from ingest import synthetic
from ingest.loader import ingest_folder
from ingest.synthetic import AS_OF, generate_prefecture
from policy.audit import DUPLICATE_KINDS
from tests.e2e.queries.test_audit import score


def load(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / f"{name}.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def overlap(a: dict[str, str], b: dict[str, str]) -> bool:
    end = lambda r: dt.date.fromisoformat(r["period_end"]) if r["period_end"] else dt.date.max  # noqa: E731
    return dt.date.fromisoformat(a["period_start"]) <= end(b) and dt.date.fromisoformat(b["period_start"]) <= end(a)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    generate_prefecture(households=300, seed=3, out=tmp_path / "a")
    generate_prefecture(households=300, seed=3, out=tmp_path / "b")
    generate_prefecture(households=300, seed=4, out=tmp_path / "c")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert "truth.json" in names and "persons.csv" in names
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert (tmp_path / "a" / "persons.csv").read_bytes() != (tmp_path / "c" / "persons.csv").read_bytes()


def test_register_is_valid_and_households_are_varied(generated_2000: Path) -> None:
    persons = load(generated_2000, "persons")
    assert all(is_valid_id_number(p["id_number"], today=AS_OF) for p in persons)
    assert len({p["id_number"] for p in persons}) == len(persons)
    households = load(generated_2000, "households")
    assert len(households) == 2000
    assert {h["urban_rural"] for h in households} == {"urban", "rural"}
    sizes = {int(h["registered_size"]) for h in households}
    assert 1 in sizes and max(sizes) >= 5
    assert {p["relation_to_head"] for p in persons} >= {"head", "spouse", "child", "parent"}
    assert any(p["disability_grade"] in ("1", "2") for p in persons)
    assert {p["provider_type"] for p in load(generated_2000, "resources")} == {"charity", "volunteer", "service_org"}
    assert len({r["source_department"] for r in load(generated_2000, "aid_records")}) >= 5


def test_planted_cases_are_in_the_data(generated_2000: Path) -> None:
    truth = json.loads((generated_2000 / "truth.json").read_text(encoding="utf-8"))
    records = {r["record_id"]: r for r in load(generated_2000, "aid_records")}
    programs = {p["program_code"]: p for p in load(generated_2000, "programs")}
    persons = {p["id_number"]: p for p in load(generated_2000, "persons")}
    services = load(generated_2000, "services")
    kinds = {c["kind"] for c in truth["duplicate_aid"]}
    assert kinds == set(DUPLICATE_KINDS)  # every duplicate-aid kind the audit knows is planted
    for case in truth["duplicate_aid"]:
        recs = [records[r] for r in case["records"]]
        if case["kind"] == "exclusive_overlap":
            a, b = recs
            assert programs[a["program_code"]]["exclusive_group"] == programs[b["program_code"]]["exclusive_group"] == case["group"]
            assert overlap(a, b)
        elif case["kind"] == "person_in_two_households":
            p, q = (persons[i] for i in case["persons"])
            assert (p["name"], p["birth_date"]) == (q["name"], q["birth_date"]) and p["household_id"] != q["household_id"]
            assert sorted(r["beneficiary_ref"] for r in recs) == case["households"]
        elif case["kind"] == "delivered_twice":
            a, b = recs
            assert {k: v for k, v in a.items() if k != "record_id"} == {k: v for k, v in b.items() if k != "record_id"}
        elif case["kind"] == "need_paid_twice":
            assert recs[0]["need_id"] == case["need"]
            assert [s["need_id"] for s in services if s["service_id"] in case["services"]] == [case["need"]]
        elif case["kind"] == "shared_identifier_ring":
            assert {persons[i]["bank_account"] for i in case["persons"]} == {case["value"]}
    assert {c["kind"] for c in truth["missed_aid"]} == {
        "eligible_not_enrolled",
        "cliff_effect",
        "aid_ended_reason_persists",
        "unserved_need",
        "wrongly_enrolled",
        "paid_after_death",
    }
    for case in truth["missed_aid"]:
        mine = [
            r
            for r in records.values()
            if r["beneficiary_ref"] == case["household"] or persons.get(r["beneficiary_ref"], {}).get("household_id") == case["household"]
        ]
        if case["kind"] == "eligible_not_enrolled":
            assert not any(r["program_code"] == "DIBAO" for r in mine)
            assert case["per_capita_income"] < case["standard"]
        elif case["kind"] == "cliff_effect":
            assert not any(programs[r["program_code"]]["kind"] == "special" for r in mine)
            assert case["standard"] <= case["per_capita_income"] < 1.5 * case["standard"]
        elif case["kind"] == "aid_ended_reason_persists":
            assert all(records[r]["status"] == "ended" for r in case["records"])
        elif case["kind"] == "unserved_need":
            assert not any(s["need_id"] == case["need"] for s in services)
        elif case["kind"] == "wrongly_enrolled":
            assert [records[r]["program_code"] for r in case["records"]] == ["DIBAO"]
            assert records[case["records"][0]]["status"] == "active" and not records[case["records"][0]]["period_end"]
        elif case["kind"] == "paid_after_death":
            died = persons[case["person"]]["deceased_on"]
            assert died and died == case["died_on"] and died < truth["as_of"]
            assert all(records[r]["beneficiary_ref"] == case["person"] and not records[r]["period_end"] for r in case["records"])
    for variant in truth["identity_variants"]:
        if variant["file"] != "aid_records":
            continue
        rec = records[variant["record"]]
        registered = persons[variant["register_id"]]
        if variant["kind"] in ("mistyped_digit", "transposed_digits"):
            assert rec["beneficiary_ref"] != variant["register_id"]
            assert sum(a != b for a, b in zip(rec["beneficiary_ref"], variant["register_id"], strict=True)) in (1, 2)
        else:
            assert rec["beneficiary_name"] != registered["name"]
    assert truth["obligations"] and truth["tier_sample"]
    assert {s["tier"] for s in truth["tier_sample"]} >= {"低保", "低保边缘", "none"}


def test_payment_ledgers_are_whole_months_of_ongoing_enrolments(tmp_path: Path) -> None:
    truth = generate_prefecture(households=1500, seed=3, out=tmp_path, ledgers=True)
    records = load(tmp_path, "aid_records")
    # Identity variants are drawn from the lines too: read them under the ID they stand for.
    meant = {v["record"]: v["register_id"] for v in truth["identity_variants"]}
    for r in records:
        r["beneficiary_ref"] = meant.get(r["record_id"], r["beneficiary_ref"])
    assert 2.5 <= truth["counts"]["aid_records"] / truth["counts"]["persons"] <= 3.5
    enrolments = {(r["beneficiary_ref"], r["program_code"]): r for r in records if not r["period_end"] and r["status"] == "active"}
    lines: dict[tuple[str, str], list[dict[str, str]]] = {}
    for r in records:
        start = dt.date.fromisoformat(r["period_start"])
        key = (r["beneficiary_ref"], r["program_code"])
        if r["period_end"] and start.day == 1 and key in enrolments and not r["need_id"]:
            lines.setdefault(key, []).append(r)
    assert sum(map(len, lines.values())) > len(records) / 2
    for key, own in lines.items():
        enrolment = enrolments[key]
        own.sort(key=lambda r: r["period_start"])
        for a, b in itertools.pairwise(own):
            assert dt.date.fromisoformat(a["period_end"]) + dt.timedelta(days=1) == dt.date.fromisoformat(b["period_start"])
        for r in own:
            assert r["status"] == "ended" and r["amount"] == enrolment["amount"], r
            assert r["period_start"] >= enrolment["period_start"] and r["period_end"] < AS_OF.replace(day=1).isoformat(), r
            assert (dt.date.fromisoformat(r["period_end"]) + dt.timedelta(days=1)).day == 1, r


def test_a_prefecture_made_in_blocks_is_one_prefecture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Blocks of 1,000 households: three blocks, each with its own planted cases, one prefecture.
    monkeypatch.setattr(synthetic, "BLOCK_HOUSEHOLDS", 1000)
    truth = generate_prefecture(households=3000, seed=9, out=tmp_path / "a", ledgers=True)
    generate_prefecture(households=3000, seed=9, out=tmp_path / "b", ledgers=True)
    for name in sorted(p.name for p in (tmp_path / "a").iterdir()):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    folder = tmp_path / "a"
    keys = {"households": "household_id", "persons": "id_number", "aid_records": "record_id", "needs": "need_id"}
    keys |= {"resources": "resource_id", "services": "service_id", "incomes": "income_id", "assets": "asset_id", "regions": "region_code"}
    for name, key in keys.items():
        rows = load(folder, name)
        assert len({r[key] for r in rows}) == len(rows) == truth["counts"][name], name
    assert len(load(folder, "households")) == 3000
    # The whole prefecture's regions, as a prefecture of one block of 3,000 households has them.
    monkeypatch.setattr(synthetic, "BLOCK_HOUSEHOLDS", 50_000)
    generate_prefecture(households=3000, seed=9, out=tmp_path / "one")
    assert (folder / "regions.csv").read_bytes() == (tmp_path / "one" / "regions.csv").read_bytes()
    # Every block's planted cases are found, and few others.
    with LadybugStore(tmp_path / "store") as store:
        assert ingest_folder(store, folder).ok
        scores = score(store, truth)
    assert len({c["households"][0] if "households" in c else c.get("household") for c in truth["duplicate_aid"]}) > 30
    for kind, (recall, precision) in scores.items():
        assert recall == 1.0, kind
        assert precision >= 0.98, kind


def test_the_generator_is_split_by_what_it_makes() -> None:
    """Issue 25: geography, people, family, aid, planted cases and truth, each file under 400 lines."""
    from pathlib import Path

    import ingest.synthetic

    folder = Path(ingest.synthetic.__file__).parent
    sizes = {p.stem: len(p.read_text(encoding="utf-8").splitlines()) for p in folder.glob("*.py")}
    assert set(sizes) == {"__init__", "geography", "people", "family", "aid", "planted", "truth", "services"}
    assert max(sizes.values()) < 400, sizes


def test_the_service_history_plants_what_the_audit_finds(store: GraphStore, prefecture: Callable[..., tuple[Path, dict]]) -> None:
    """Issue 24: orders, visits, evaluations and referrals played into the ingested prefecture; the
    planted overdue, returned and barred cases are exactly the audit's service findings."""
    from ingest.synthetic.services import order_times, plant_services
    from policy.service_findings import service_findings
    from queries.referrals import referrals
    from queries.work_orders import work_orders

    folder, truth = prefecture(5000, 5)
    ingest_folder(store, folder)
    played = plant_services(store, seed=truth["seed"])
    kinds = {c["kind"] for c in played["planted"]}
    assert kinds == {"order_overdue", "returned_not_redispatched", "barred_still_serving"}
    found = service_findings(store, as_of=AS_OF)
    planted = {(c["kind"], c.get("order") or c["resource"]) for c in played["planted"]}
    assert {(f.kind, f.evidence.get("order_id") or f.evidence["resource_id"]) for f in found} == planted
    orders = work_orders(store)
    times = order_times(orders)
    assert times["completed"] >= 1 and 0 < times["on_time_share"] <= 1
    assert len(orders) == played["counts"]["orders"] and {o["state"] for o in orders} >= {"completed", "dispatched", "returned"}
    assert {r["state"] for r in referrals(store)} >= {"resolved"}
