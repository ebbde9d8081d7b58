"""Hand-made cases: each folder is a small set of exchange files and an ``expected.toml`` whose
answers were worked out on paper from the rules (DOMAIN.md, the policy file), never copied from
AidGraph. ``_common/`` holds the regions, departments and programmes every case shares.

``expected.toml``:

- ``policy``: ``default``, ``district`` or a file in the case folder; ``as_of``; ``resolve``: run
  identity resolution first;
- ``[households.ID]``: ``tier``, ``benefit``, ``per_capita_income``, ``tekun_members`` and
  ``single_person_dibao`` (person ids), ``categories`` (person -> codes);
- ``[[obligations]]``: ``obligor``, ``dependant_household``, ``monthly_amount``, ``by``;
- ``[[findings]]``: ``kind`` and any of ``households``, ``persons``, ``records``, ``programs``:
  every finding the audit must report, and it must report no other;
- ``must_not``: kinds that must not be found (said out loud, though the count checks it too);
- ``[regions]``: region code -> how many findings ``audit --region`` reports there.

Run on both engines (the ``store`` fixture).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from graph.store import GraphStore
from ingest.identity import resolve_store
from ingest.loader import ingest_folder
from policy.audit import audit
from policy.config import DEFAULT, DISTRICT, load_policy
from policy.means_test import TierDecision, evaluate

HERE = Path(__file__).parent
CASES = sorted(p for p in HERE.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
POLICIES = {"default": DEFAULT, "district": DISTRICT}
CENT = 0.011


def _folder(case: Path, tmp_path: Path) -> Path:
    folder = tmp_path / case.name
    folder.mkdir()
    for source in (HERE / "_common", case):
        for f in source.glob("*.csv"):
            shutil.copy(f, folder / f.name)
    return folder


def _same(got: Any, want: Any) -> bool:
    if isinstance(want, float | int) and not isinstance(want, bool) and isinstance(got, float | int):
        return abs(got - want) < CENT
    if isinstance(want, list):
        return sorted(got) == sorted(want)
    return got == want


def _matches(finding: Any, want: dict[str, Any]) -> bool:
    return finding.kind == want["kind"] and all(
        _same(getattr(finding, field), want[field]) for field in ("households", "persons", "records", "programs") if field in want
    )


def test_there_are_enough_cases_and_each_is_whole() -> None:
    assert len(CASES) >= 30
    for case in CASES:
        text = (case / "expected.toml").read_text(encoding="utf-8")
        assert text.lstrip().startswith("#"), f"{case.name}: the hand calculation comes first, as a comment"
        assert (case / "households.csv").exists() and (case / "persons.csv").exists(), case.name


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_hand_made_case(case: Path, store: GraphStore, tmp_path: Path) -> None:
    expected = tomllib.loads((case / "expected.toml").read_text(encoding="utf-8"))
    report = ingest_folder(store, _folder(case, tmp_path))
    assert not report.rejects, f"{case.name}: rejected rows {report.rejects}"
    if expected.get("resolve"):
        resolve_store(store)
    name = expected.get("policy", "default")
    policy = load_policy(POLICIES.get(name) or case / name)
    day = dt.date.fromisoformat(expected["as_of"])

    evaluation = evaluate(store, policy, as_of=day)
    decisions = {d.household_id: d for d in evaluation.households}
    for d in decisions.values():  # built unvalidated: validating again must change nothing, types included
        assert TierDecision.model_validate(d.model_dump()).model_dump_json() == d.model_dump_json(), f"{case.name}: {d.household_id}"
    for household, want in expected.get("households", {}).items():
        d = decisions[household]
        got = {
            "tier": d.tier or "none",
            "benefit": d.benefit,
            "per_capita_income": d.per_capita_income,
            "tekun_members": [t["person"] for t in d.tekun_members],
            "single_person_dibao": [t["person"] for t in d.single_person_dibao],
            "categories": {m["id"]: m["categories"] for m in d.explanation["members"]},
        }
        for key, value in want.items():
            if key == "categories":
                for person, codes in value.items():
                    assert sorted(got["categories"][person]) == sorted(codes), f"{case.name}: {household} {person} categories"
            else:
                assert _same(got[key], value), f"{case.name}: {household} {key} is {got[key]!r}, expected {value!r}: {d.rule}"
    owed = {(o.obligor, o.dependant_household): o for o in evaluation.obligations}
    for want in expected.get("obligations", []):
        o = owed.get((want["obligor"], want["dependant_household"]))
        assert o is not None, f"{case.name}: no obligation of {want['obligor']} to {want['dependant_household']}"
        assert _same(o.monthly_amount, want["monthly_amount"]), f"{case.name}: {o.rule}"
        assert o.by == want.get("by", "law"), f"{case.name}: {o.rule}"

    found = audit(store, as_of=day, policy=policy).findings
    left = list(found)
    for want in expected.get("findings", []):
        match = next((f for f in left if _matches(f, want)), None)
        assert match is not None, f"{case.name}: expected {want}, found {[(f.kind, f.households, f.records, f.persons) for f in left]}"
        left.remove(match)
    assert not left, f"{case.name}: findings nobody expected: {[(f.kind, f.households, f.records, f.rule) for f in left]}"
    assert not {f.kind for f in found} & set(expected.get("must_not", []))
    for region, count in expected.get("regions", {}).items():
        assert len(audit(store, as_of=day, policy=policy, region=region).findings) == count, f"{case.name}: region {region}"
