"""Obligations and tiers on hand-built families (amounts worked out by hand below), on both engines,
and the planted tiers and obligations of a generated prefecture."""

from __future__ import annotations

import datetime as dt
import json
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from actions.evaluations import record_parts
from actions.obligations import write_obligations
from graph.model import NodeKind, RelKind
from graph.national_id import check_character
from graph.store import EdgeWrite, GraphStore, WriteBatch
from graph.stores.ladybug import LadybugStore
from ingest.loader import ingest_folder
from policy import means_test
from policy.config import load_policy
from policy.lists import policy_lists
from policy.means_test import Evaluation, evaluate, evaluate_in_parts
from policy.missed_aid import missed_aid
from policy.reviews import gradual_exits, reviews_due
from policy.warnings import early_warnings

AS_OF = dt.date(2026, 6, 30)
REGIONS = """region_code,name,level,parent_code,urban_rural
420000,湖北省,province,,
420500,宜昌市,city,420000,urban
420502,西陵区,county,420500,urban
420502001,街道,township,420502,urban
420502001001,社区,village,420502001,urban
420506,夷陵区,county,420500,rural
420506100,镇,township,420506,rural
420506100200,村,village,420506100,rural
"""
URBAN, RURAL = "420502001001", "420506100200"


def pid(region: str, birth: str, seq: int) -> str:
    first17 = f"{region[:6]}{birth.replace('-', '')}{seq:03d}"
    return first17 + check_character(first17)


def write_folder(folder: Path, households: list[tuple], persons: list[tuple], kinship: list[tuple], incomes: list[tuple]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "regions.csv").write_text(REGIONS, encoding="utf-8")
    (folder / "departments.csv").write_text("department_code,name\nRS,人社局\n", encoding="utf-8")
    lines = ["household_id,region_code,address,urban_rural,registered_size"]
    lines += [f"{h},{r},addr,{'urban' if r == URBAN else 'rural'},{n}" for h, r, n in households]
    (folder / "households.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = ["id_number,name,sex,birth_date,household_id,relation_to_head,labour_capacity"]
    lines += [",".join(p) for p in persons]
    (folder / "persons.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = ["from_id_number,to_id_number,relation"] + [",".join(k) for k in kinship]
    (folder / "kinship.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = ["income_id,id_number,kind,monthly_amount,source_department,period_start,period_end"]
    lines += [f"INC-{i},{p},{kind},{amount},RS,2020-01-01," for i, (p, kind, amount) in enumerate(incomes)]
    (folder / "incomes.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def person(region: str, birth: str, seq: int, name: str, household: str, relation: str, labour: str = "full") -> tuple:
    return (pid(region, birth, seq), name, "M" if seq % 2 else "F", birth, household, relation, labour)


def in_slices(store: GraphStore, slice_size: int, as_of: dt.date = AS_OF) -> Evaluation:
    """The whole evaluation read ``slice_size`` households at a time."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(means_test, "SLICE", slice_size)
        return evaluate(store, load_policy(), as_of=as_of)


def load(store: GraphStore, folder: Path) -> None:
    report = ingest_folder(store, folder)
    assert not report.rejects and not report.files_rejected, report.rejects


def test_parents_with_two_adult_children_elsewhere_one_poor(store: GraphStore, tmp_path: Path) -> None:
    father = person(RURAL, "1955-03-01", 11, "老父", "H-P", "head", "none")
    mother = person(RURAL, "1957-05-05", 22, "老母", "H-P", "spouse", "none")
    a = person(URBAN, "1982-01-01", 31, "长子", "H-A", "head")
    a_wife = person(URBAN, "1983-02-02", 42, "长媳", "H-A", "spouse")
    b = person(RURAL, "1985-02-02", 51, "次子", "H-B", "head")
    b_wife = person(RURAL, "1986-03-03", 62, "次媳", "H-B", "spouse")
    b_child = person(RURAL, "2015-04-04", 71, "孙子", "H-B", "child")
    load(
        store,
        write_folder(
            tmp_path / "f",
            [("H-P", RURAL, 2), ("H-A", URBAN, 2), ("H-B", RURAL, 3)],
            [father, mother, a, a_wife, b, b_wife, b_child],
            [
                (father[0], a[0], "parent_of"),
                (mother[0], a[0], "parent_of"),
                (father[0], b[0], "parent_of"),
                (mother[0], b[0], "parent_of"),
                (father[0], mother[0], "spouse_of"),
            ],
            [
                (father[0], "pension", 500),
                (mother[0], "pension", 500),
                (a[0], "wage", 4000),
                (a_wife[0], "wage", 2000),
                (b[0], "flexible_work", 1500),
            ],
        ),
    )
    result = evaluate(store, load_policy(), as_of=AS_OF)
    owed = {o.obligor: o for o in result.obligations if o.dependant_household == "H-P"}
    # A's household: 6,000 for 2 = 3,000 a head; urban standard 814: (3000 - 2 x 814) x 0.3 = 411.6.
    assert owed[a[0]].monthly_amount == 411.6 and owed[a[0]].dependants == sorted([father[0], mother[0]])
    # B's household: 1,500 for 3 = 500 a head, under 2 x 666: owes nothing (but is still an obligor).
    assert owed[b[0]].monthly_amount == 0 and owed[b[0]].kind.startswith("赡养")
    parents = next(d for d in result.households if d.household_id == "H-P")
    # (1,000 own + 411.6 maintenance) / 2 = 705.8: above the rural 666, below 1.5 x 666 = 999.
    assert (parents.maintenance_due, parents.per_capita_income, parents.tier) == (411.6, 705.8, "低保边缘")
    assert {d.household_id: d.maintenance_due for d in result.households} == {"H-A": 0, "H-B": 0, "H-P": 411.6}
    # Without the son's maintenance the parents would be 低保: the obligation decides the tier.
    assert any(o["obligor"] == a[0] for o in parents.explanation["obligors"])


@pytest.mark.parametrize(
    "father_wage,obligor,amount,tier", [(2500, "father", 261.6, "低保"), (1000, "maternal grandfather", 411.6, "低保")]
)
def test_grandparent_raising_a_grandchild_whose_parents_are_absent(
    store: GraphStore, tmp_path: Path, father_wage: int, obligor: str, amount: float, tier: str
) -> None:
    grandma = person(RURAL, "1958-04-04", 12, "奶奶", "H-G", "head", "none")
    child = person(RURAL, "2016-06-06", 21, "孙女", "H-G", "grandchild", "none")
    father = person(URBAN, "1988-08-08", 33, "父亲", "H-D", "head")
    grandpa = person(URBAN, "1960-01-01", 55, "外公", "H-M", "head")
    mother_id = pid(RURAL, "1990-10-10", 44)  # absent: known only from the kinship feed
    load(
        store,
        write_folder(
            tmp_path / "f",
            [("H-G", RURAL, 2), ("H-D", URBAN, 1), ("H-M", URBAN, 1)],
            [grandma, child, father, grandpa],
            [
                (grandma[0], father[0], "parent_of"),
                (father[0], child[0], "parent_of"),
                (mother_id, child[0], "parent_of"),
                (grandpa[0], mother_id, "parent_of"),
            ],
            [(grandma[0], "pension", 900), (father[0], "wage", father_wage), (grandpa[0], "wage", 3000)],
        ),
    )
    # The whole prefecture; one household as `explain` asks; and the whole read one household at a
    # time (H-D, H-G, H-M: the grandfather reached through the mother, who lives in no household).
    for result in (
        evaluate(store, load_policy(), as_of=AS_OF),
        evaluate(store, load_policy(), as_of=AS_OF, household_ids=["H-G"]),
        in_slices(store, 1),
    ):
        owed = {o.obligor: o.monthly_amount for o in result.obligations if o.dependant_household == "H-G"}
        # Father: 2,500 alone, urban: (2500 - 1628) x 0.3 = 261.6 (once, though he owes both his mother and his child).
        # With a 1,000 wage he can pay nothing; the maternal grandfather then owes (3000 - 1628) x 0.3 = 411.6.
        expected_obligor = father[0] if obligor == "father" else grandpa[0]
        assert owed[expected_obligor] == amount
        assert sum(owed.values()) == amount
        home = next(d for d in result.households if d.household_id == "H-G")
        # (900 + amount) / 2 below the rural 666: 低保; benefit = the gap for each of the 2 members.
        assert home.tier == tier and home.per_capita_income == round((900 + amount) / 2, 2)
        assert home.benefit == round((666 - home.per_capita_income) * 2, 2)


def test_spouse_with_income_only_in_another_departments_records(store: GraphStore, tmp_path: Path) -> None:
    wife = person(RURAL, "1986-09-09", 62, "妻子", "H-S", "head", "partial")
    husband = pid(URBAN, "1984-07-07", 73)  # not in the register: kinship and income feeds only
    load(store, write_folder(tmp_path / "f", [("H-S", RURAL, 1)], [wife], [(husband, wife[0], "spouse_of")], [(husband, "wage", 3000)]))
    result = evaluate(store, load_policy(), as_of=AS_OF)
    [obligation] = result.obligations
    # No household: his own 3,000 against the base standard 740: (3000 - 2 x 740) x 0.3 = 456.
    assert (obligation.obligor, obligation.kind, obligation.monthly_amount) == (husband, "扶养 between spouses", 456.0)
    [home] = result.households
    assert (home.per_capita_income, home.tier, home.benefit) == (456.0, "低保", 210.0)


def test_obligations_are_written_as_relationships_and_replaced(store: GraphStore, tmp_path: Path) -> None:
    wife = person(RURAL, "1986-09-09", 62, "妻子", "H-S", "head", "partial")
    husband = pid(URBAN, "1984-07-07", 73)
    folder = write_folder(tmp_path / "f", [("H-S", RURAL, 1)], [wife], [(husband, wife[0], "spouse_of")], [(husband, "wage", 3000)])
    load(store, folder)
    written = write_obligations(store, evaluate(store, load_policy(), as_of=AS_OF).obligations)
    assert written["created"] == 1
    [edge] = list(store.iter_edges(RelKind.OBLIGED_TO_SUPPORT))
    assert (edge.src_key, edge.dst_key, edge.props["monthly_amount"]) == (husband, wife[0], 456.0)
    assert "x 0.3" in edge.props["rule"]
    assert write_obligations(store, evaluate(store, load_policy(), as_of=AS_OF).obligations)["unchanged"] == 1
    assert write_obligations(store, [])["removed"] == 1
    assert list(store.iter_edges(RelKind.OBLIGED_TO_SUPPORT)) == []


def test_district_rules_deduct_job_costs_and_impute_farm_income(tmp_path: Path) -> None:
    from policy.config import DISTRICT

    store = LadybugStore(tmp_path / "s")
    worker = person(RURAL, "1980-05-05", 11, "工人", "H-W", "head")
    folder = write_folder(tmp_path / "f", [("H-W", RURAL, 1)], [worker], [], [(worker[0], "wage", 1000)])
    (folder / "assets.csv").write_text("asset_id,household_id,kind,quantity\nA-1,H-W,land_mu,3\n", encoding="utf-8")
    load(store, folder)
    [d] = evaluate(store, load_policy(DISTRICT), as_of=AS_OF).households
    # 1,000 wage - min(20% = 200, 300) job costs + 3 mu x 60 imputed = 980.
    assert (d.deductions, d.imputed_income, d.counted_income) == (200.0, 180.0, 980.0)
    assert d.tier == "低保边缘"  # 980 between 666 and 999
    assert d.eligible_programs == ["JIAOYU_JIUZHU", "YILIAO_JIUZHU"]  # the district's special assistance reaches 低保边缘


@pytest.mark.slow
def test_generated_prefecture_reproduces_planted_tiers_and_obligations(generated_2000: Path, tmp_path: Path) -> None:
    truth = json.loads((generated_2000 / "truth.json").read_text(encoding="utf-8"))
    store = LadybugStore(tmp_path / "s")
    ingest_folder(store, generated_2000)
    result = evaluate(store, load_policy(), as_of=dt.date.fromisoformat(truth["as_of"]))
    tiers = {d.household_id: d.tier or "none" for d in result.households}
    assert [(s["household"], s["tier"]) for s in truth["tier_sample"]] == [
        (s["household"], tiers[s["household"]]) for s in truth["tier_sample"]
    ]
    owed = {(o.obligor, o.dependant_household): o for o in result.obligations}
    for planted in truth["obligations"]:
        got = owed[(planted["obligor"], planted["dependant_household"])]
        assert (got.monthly_amount, got.dependants, got.obligor_household) == (
            planted["monthly_amount"],
            planted["dependants"],
            planted["obligor_household"],
        )
    # The sample leaves out households with a member without labour capacity (特困 is judged person by person).
    assert len(truth["tier_sample"]) > 80 and len(truth["obligations"]) > 300


def test_evaluation_in_slices_is_the_evaluation_in_one_read(store: GraphStore, prefecture: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, truth = prefecture(300, 23)
    load(store, folder)
    day = dt.date.fromisoformat(truth["as_of"])
    [one_read] = evaluate_in_parts(store, load_policy(), as_of=day, slice_size=10_000)
    order = [d.household_id for d in one_read.households]
    # Obligations across households whose two households fall in different slices of 7: the groups
    # joined by kinship must wait for every household of theirs to be read.
    across = [
        o
        for o in one_read.obligations
        if o.obligor_household and order.index(o.obligor_household) // 7 != order.index(o.dependant_household) // 7
    ]
    assert len(across) > 10
    for slice_size in (1, 7, 50):
        assert in_slices(store, slice_size, day).model_dump_json() == one_read.model_dump_json()
    assert evaluate(store, load_policy(), as_of=day).model_dump_json() == one_read.model_dump_json()
    # The audit's missed aid takes the evaluation a part at a time: the same findings.
    monkeypatch.setattr(means_test, "SLICE", 7)
    assert missed_aid(store, as_of=day) == missed_aid(store, as_of=day, evaluation=one_read)


def test_push_list_reviews_and_exits_from_parts_are_those_of_the_whole(store: GraphStore, prefecture: Any) -> None:
    # `aidgraph warnings`, `aidgraph reviews` and the API take the evaluation part by part and keep a
    # line per household, not the decisions: the lists must be those of the evaluation held whole.
    folder, truth = prefecture(300, 23)
    load(store, folder)
    day, policy = dt.date.fromisoformat(truth["as_of"]), load_policy()
    whole = evaluate(store, policy, as_of=day)
    warned, due, exits = early_warnings(whole, policy), reviews_due(whole, policy), gradual_exits(whole, policy)
    soon = day + dt.timedelta(days=40)
    due_soon = reviews_due(whole, policy, due_before=soon)
    assert len(warned) > 10 and len(exits) >= 2 and 0 < len(due_soon) < len(due)
    assert any("top" in " ".join(w.reasons) for w in warned) and any(w.dimensions for w in warned)
    for slice_size in (1, 7):
        lists = policy_lists(store, policy, as_of=day, slice_size=slice_size)
        assert (lists.as_of, lists.policy) == (whole.as_of, whole.policy)
        assert (lists.warnings, lists.reviews, lists.exits) == (warned, due, exits)
        assert lists.reviews_before(soon) == due_soon and lists.reviews_before(None) == due


def test_recording_in_parts_writes_the_whole_evaluation(store: GraphStore, prefecture: Any) -> None:
    folder, truth = prefecture(300, 23)
    load(store, folder)
    day, policy = dt.date.fromisoformat(truth["as_of"]), load_policy()
    whole = evaluate(store, policy, as_of=day)
    warned = {w.household_id for w in early_warnings(whole, policy)}
    owed = {(o.obligor, d): o.monthly_amount for o in whole.obligations for d in o.dependants}
    assert 0 < len(warned) < len(whole.households) and len(owed) > 10
    # An obligation no longer owed, left by an earlier evaluation: gone once the last part is written.
    a, b = (p.key for p in islice(store.iter_nodes(NodeKind.PERSON), 2))
    assert (a, b) not in owed
    store.write_batch(WriteBatch(edges=[EdgeWrite(RelKind.OBLIGED_TO_SUPPORT, NodeKind.PERSON, a, NodeKind.PERSON, b, {"kind": "x"})]))

    done = record_parts(store, evaluate_in_parts(store, policy, as_of=day, slice_size=7), policy)
    assert (done.as_of, done.records["created"]) == (day.isoformat(), len(whole.households))
    assert (done.obligations["created"], done.obligations["removed"]) == (len(owed), 1)
    edges = {(e.src_key, e.dst_key): e.props["monthly_amount"] for e in store.iter_edges(RelKind.OBLIGED_TO_SUPPORT)}
    assert edges == owed
    records = {n.key: n.props for n in store.iter_nodes(NodeKind.TIER_RECORD)}
    assert {h for h, r in records.items() if r["warned"]} == warned  # the push list of all the parts together
    assert {h: r["tier"] for h, r in records.items()} == {d.household_id: d.tier or "none" for d in whole.households}
    dues = {h: r["obligors"] for h, r in records.items() if r["obligors"]}
    assert dues == {
        d.household_id: sorted(f"{o.obligor}: {o.monthly_amount:g}" for o in whole.obligations if o.dependant_household == d.household_id)
        for d in whole.households
        if any(o.dependant_household == d.household_id for o in whole.obligations)
    }
    again = record_parts(store, evaluate_in_parts(store, policy, as_of=day, slice_size=50), policy)
    assert again.records == {"created": 0, "updated": 0, "unchanged": len(whole.households)}
    assert again.obligations == {"created": 0, "updated": 0, "unchanged": len(owed), "removed": 0}


@pytest.mark.neo4j
def test_evaluation_parity_on_generated_data(neo4j_store: GraphStore, generated_2000: Path, tmp_path: Path) -> None:
    embedded = LadybugStore(tmp_path / "s")
    ingest_folder(embedded, generated_2000)
    ingest_folder(neo4j_store, generated_2000)
    for rules in (load_policy(), load_policy(__import__("policy.config").config.DISTRICT)):
        assert evaluate(embedded, rules, as_of=AS_OF) == evaluate(neo4j_store, rules, as_of=AS_OF)
    some = [h.household_id for h in evaluate(embedded, load_policy(), as_of=AS_OF).households][::50]
    assert evaluate(embedded, load_policy(), as_of=AS_OF, household_ids=some) == evaluate(
        neo4j_store, load_policy(), as_of=AS_OF, household_ids=some
    )
