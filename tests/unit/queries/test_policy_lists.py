"""Warnings, reviews and exits, declarations and change propagation, on hand-built households and both engines."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from actions.evaluations import record_evaluation
from graph.store import GraphStore
from policy.config import load_policy
from policy.declaration import Declaration, check_declaration, load_declaration
from policy.means_test import evaluate
from policy.reviews import add_months, gradual_exits, reviews_due
from policy.warnings import early_warnings
from queries.changes import changes_since
from tests.e2e.queries.test_means_test import RURAL, URBAN, load, person, write_folder

AS_OF = dt.date(2026, 6, 30)


def aid_file(folder: Path, rows: list[tuple[str, str, str]]) -> None:
    """DIBAO records (household, start, amount) and the programme behind them."""
    (folder / "departments.csv").write_text("department_code,name\nRS,人社局\nMZ,民政局\n", encoding="utf-8")
    (folder / "programs.csv").write_text(
        "program_code,name,department_code,kind,target\nDIBAO,低保,MZ,basic_living,household\n", encoding="utf-8"
    )
    lines = ["record_id,source_department,program_code,beneficiary_type,beneficiary_ref,amount,period_start,status"]
    lines += [f"MZ-{i},MZ,DIBAO,household,{h},{amount},{start},active" for i, (h, start, amount) in enumerate(rows)]
    (folder / "aid_records.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def village(store: GraphStore, tmp_path: Path) -> tuple[GraphStore, dict[str, tuple]]:
    """Four households: an old woman alone on 低保 (no labour capacity), a worker's family on 低保 whose
    flexible income rose above the line in 2026-02, a poor family not enrolled, and a well-off one."""
    people = {
        "old": person(RURAL, "1948-02-02", 22, "独居老人", "H-OLD", "head", "none"),
        "worker": person(RURAL, "1980-05-05", 11, "工人", "H-WRK", "head"),
        "worker_child": person(RURAL, "2012-05-05", 21, "孩子", "H-WRK", "child", "none"),
        "poor": person(RURAL, "1979-03-03", 31, "贫困户", "H-POOR", "head", "partial"),
        "rich": person(URBAN, "1975-01-01", 41, "富裕户", "H-RICH", "head"),
    }
    folder = write_folder(
        tmp_path / "v",
        [("H-OLD", RURAL, 1), ("H-WRK", RURAL, 2), ("H-POOR", RURAL, 1), ("H-RICH", URBAN, 1)],
        list(people.values()),
        [],
        [
            (people["old"][0], "pension", 200),
            (people["worker"][0], "flexible_work", 1800),
            (people["poor"][0], "flexible_work", 300),
            (people["rich"][0], "wage", 9000),
        ],
    )
    # The worker's income started in 2026-02 (the helper starts incomes in 2020: rewrite that one).
    text = (
        (folder / "incomes.csv")
        .read_text(encoding="utf-8")
        .replace(f"{people['worker'][0]},flexible_work,1800,RS,2020-01-01", f"{people['worker'][0]},flexible_work,1800,RS,2026-02-01")
    )
    (folder / "incomes.csv").write_text(text, encoding="utf-8")
    aid_file(folder, [("H-OLD", "2025-01-15", "466"), ("H-WRK", "2024-03-10", "600")])
    load(store, folder)
    return store, people


def test_reviews_follow_the_cadence(village: tuple[GraphStore, dict]) -> None:
    store, _ = village
    policy = load_policy()
    evaluation = evaluate(store, policy, as_of=AS_OF)
    due = {r.household_id: r for r in reviews_due(evaluation, policy)}
    assert set(due) == {"H-OLD", "H-WRK"}  # only enrolled households are reviewed
    # No labour capacity: every 6 months from 2025-01-15: 2025-07-15, 2026-01-15, 2026-07-15.
    assert (due["H-OLD"].basis, due["H-OLD"].every_months, due["H-OLD"].next_review) == ("no_labour_capacity", 6, "2026-07-15")
    # Unstable (flexible) income with labour capacity: monthly from 2024-03-10: next 2026-07-10.
    assert (due["H-WRK"].basis, due["H-WRK"].every_months, due["H-WRK"].next_review) == ("unstable_income", 1, "2026-07-10")
    assert [r.household_id for r in reviews_due(evaluation, policy, due_before=dt.date(2026, 7, 12))] == ["H-WRK"]


def test_gradual_exit_keeps_the_benefit_twelve_months_after_work_lifted_the_household(village: tuple[GraphStore, dict]) -> None:
    store, _ = village
    policy = load_policy()
    evaluation = evaluate(store, policy, as_of=AS_OF)
    tiers = {d.household_id: d.tier for d in evaluation.households}
    assert tiers["H-WRK"] == "低保边缘"  # 1,800 / 2 = 900: above 666, below 999
    [leaving] = gradual_exits(evaluation, policy)
    assert (leaving.household_id, leaving.earned_income_since, leaving.exit_on) == ("H-WRK", "2026-02-01", "2027-02-01")
    assert add_months(dt.date(2026, 2, 1), policy.exit.gradual_exit_months) == dt.date(2027, 2, 1)


def test_push_list_is_the_unenrolled_below_twice_the_standard_or_in_the_top_share(village: tuple[GraphStore, dict]) -> None:
    store, _ = village
    policy = load_policy()
    evaluation = evaluate(store, policy, as_of=AS_OF)
    rows = early_warnings(evaluation, policy)
    # H-OLD (the hardest, rank 1: the top 5% of 4) and H-WRK are enrolled; H-RICH has 9,000 a head;
    # H-POOR, rank 2, is listed for its 300 a head (< 2 x 666).
    assert [r.household_id for r in rows] == ["H-POOR"]
    assert rows[0].reasons == ["per-capita income 300 below 2 x the standard = 1332"]
    assert rows[0].rank == 2 and 0 < rows[0].index <= 1
    # The row carries the household's own decision: its region, tier, income, standard and the index's parts.
    [poor] = [d for d in evaluation.households if d.household_id == "H-POOR"]
    assert (rows[0].per_capita_income, rows[0].standard) == (300, 666)
    assert (rows[0].region_code, rows[0].tier, rows[0].index) == (poor.region_code, poor.tier, poor.hardship["index"])
    assert rows[0].dimensions == {k: v for k, v in poor.hardship.items() if k != "index"} and rows[0].dimensions


def test_declarations_agree_or_differ_field_by_field(village: tuple[GraphStore, dict]) -> None:
    store, people = village
    worker, child = people["worker"], people["worker_child"]
    honest = Declaration(
        members=[{"id_number": worker[0], "name": "工人"}, {"id_number": child[0], "name": "孩子"}],
        incomes=[{"id_number": worker[0], "kind": "flexible_work", "monthly_amount": 1800}],
    )
    result = check_declaration(store, honest, as_of=AS_OF)
    assert result.agrees and result.household_id == "H-WRK" and "one-step approval" in result.verdict
    hiding = Declaration(
        members=[{"id_number": worker[0], "name": "工人"}],
        incomes=[{"id_number": worker[0], "kind": "flexible_work", "monthly_amount": 800}],
        assets=[{"kind": "house", "quantity": 1}],
    )
    result = check_declaration(store, hiding, as_of=AS_OF)
    assert not result.agrees
    by_field = {d["field"]: d for d in result.differences}
    assert by_field[f"incomes[{worker[0]}].flexible_work"] == {
        "field": f"incomes[{worker[0]}].flexible_work",
        "declared": 800.0,
        "held": 1800.0,
        "department": "RS",
    }
    assert by_field[f"members[{child[0]}]"]["held"] == "registered in H-WRK"
    assert by_field["assets[house]"]["declared"] == 1.0


def test_declaration_file_errors_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"members": [{"id_number": "123"}]}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"d.json: members.0.id_number: String should have at least 15 characters"):
        load_declaration(path)


def test_a_death_and_a_new_job_show_as_changes(store: GraphStore, tmp_path: Path) -> None:
    parent = person(RURAL, "1950-01-01", 11, "父", "H-1", "head", "none")
    son = person(RURAL, "1978-01-01", 31, "子", "H-1", "child", "partial")
    folder = write_folder(
        tmp_path / "a", [("H-1", RURAL, 2)], [parent, son], [(parent[0], son[0], "parent_of")], [(parent[0], "pension", 900)]
    )
    load(store, folder)
    policy = load_policy()
    assert record_evaluation(store, evaluate(store, policy, as_of=AS_OF), set())["created"] == 1
    before_update = dt.datetime.now(dt.UTC)
    # The next feed: the father died in May, the son found a job.
    update = write_folder(tmp_path / "b", [("H-1", RURAL, 2)], [parent, son], [], [(son[0], "wage", 2500)])
    persons = (update / "persons.csv").read_text(encoding="utf-8").splitlines()
    persons[0] += ",deceased_on"
    persons[1] += ",2026-05-10"
    persons[2] += ","
    (update / "persons.csv").write_text("\n".join(persons) + "\n", encoding="utf-8")
    (update / "incomes.csv").write_text((update / "incomes.csv").read_text(encoding="utf-8").replace("INC-0", "INC-9"), encoding="utf-8")
    load(store, update)
    assert record_evaluation(store, evaluate(store, policy, as_of=AS_OF), set())["updated"] == 1
    [change] = changes_since(store, before_update)
    assert change.household_id == "H-1"
    assert (change.before["tier"], change.after["tier"]) == ("低保", "none")  # 900 / 2 = 450, then 2,500 for one
    assert f"deceased {parent[0]} on 2026-05-10" in change.facts_added
    assert any(line.startswith(f"income INC-9 {son[0]} wage 2500") for line in change.facts_added)
    assert changes_since(store, dt.datetime.now(dt.UTC)) == []
