"""Service groups derived from the graph, and the catalogue that names them: hand-made households,
each answer worked from the rule as policy/groups.py states it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from graph.store import GraphStore
from ingest.loader import ingest_folder
from policy.catalogue import CATALOGUE, load_catalogue
from policy.config import PolicyError
from policy.groups import household_groups
from queries.household import HouseholdView, Member, Relative, household_view
from queries.household_chain import as_of_day

DAY = dt.date(2025, 6, 30)


def _member(n: int, relation: str, age: int, *, living: bool = True, **person: object) -> Member:
    return Member(person={"id_number": f"P{n}", **person}, relation_to_head=relation, incomes=[], age=age, living=living)


def _view(*members: Member, relatives: tuple[Relative, ...] = ()) -> HouseholdView:
    return HouseholdView(
        household={"household_id": "H-1"},
        region_path=[],
        members=list(members),
        relatives=list(relatives),
        assets=[],
        aid_records=[],
        needs=[],
        services=[],
    )


def _groups(view: HouseholdView, catalogue=None) -> dict[str, list[str]]:
    return {g.group: g.persons for g in household_groups(view, catalogue, as_of=DAY)}


def test_elderly_from_the_catalogue_age_on() -> None:
    assert _groups(_view(_member(1, "head", 60), _member(2, "spouse", 59))) == {"elderly": ["P1"]}
    assert "elderly" not in _groups(_view(_member(1, "head", 59, employment="retired")))


def test_disability_any_grade_and_major_illness() -> None:
    found = _groups(_view(_member(1, "head", 40, disability_grade=4), _member(2, "child", 9, disability_grade=0, major_illness=True)))
    assert found == {"disabled": ["P1"], "serious_illness": ["P2"], "single_parent": ["P2"]}


def test_a_minor_with_a_parent_nowhere_is_a_minor_in_difficulty() -> None:
    grandparents = (_member(1, "head", 66), _member(2, "spouse", 64))
    orphan = _member(3, "grandchild", 8)
    assert _groups(_view(*grandparents, orphan))["minors"] == ["P3"]
    # a parent working away (a left-behind child) is a living parent: not this group
    away = Relative(person={"id_number": "P9"}, relative_is="parent", of_member="P3")
    assert "minors" not in _groups(_view(*grandparents, orphan, relatives=(away,)))
    # a parent the departments record as dead is not
    dead = Relative(person={"id_number": "P9", "deceased_on": "2024-01-05"}, relative_is="parent", of_member="P3")
    assert _groups(_view(*grandparents, orphan, relatives=(dead,)))["minors"] == ["P3"]
    # the head's adult child in the household is the grandchild's parent
    assert "minors" not in _groups(_view(*grandparents, _member(4, "child", 35), orphan))
    # a 16-year-old heading a household alone
    assert _groups(_view(_member(5, "head", 16)))["minors"] == ["P5"]


def test_unemployed_able_bodied_of_working_age() -> None:
    able = _member(1, "head", 45, labour_capacity="partial", employment="unemployed")
    unable = _member(2, "spouse", 44, labour_capacity="none", employment="unemployed")
    older = _member(3, "sibling", 62, labour_capacity="full", employment="unemployed")
    employed = _member(4, "child", 20, labour_capacity="full", employment="employed")
    assert _groups(_view(able, unable, older, employed)) == {"unemployed": ["P1"], "elderly": ["P3"]}


def test_single_parent_one_living_parent_of_a_minor_child() -> None:
    assert _groups(_view(_member(1, "head", 38), _member(2, "child", 10)))["single_parent"] == ["P2"]
    assert "single_parent" not in _groups(_view(_member(1, "head", 38), _member(2, "spouse", 36), _member(3, "child", 10)))
    widowed = _view(_member(1, "head", 38), _member(2, "spouse", 36, living=False), _member(3, "child", 10))
    assert _groups(widowed)["single_parent"] == ["P3"]
    assert "single_parent" not in _groups(_view(_member(1, "head", 45), _member(2, "child", 18)))


def test_the_catalogue_sets_the_ages_and_which_groups_exist(tmp_path: Path) -> None:
    text = CATALOGUE.read_text(encoding="utf-8").replace("elderly_age = 60", "elderly_age = 65").replace('single_parent = "单亲家庭"\n', "")
    text = text.replace(', "single_parent"', "").replace('"single_parent", ', "")  # no need type may name it either
    (tmp_path / "mine.toml").write_text(text, encoding="utf-8")
    mine = load_catalogue(tmp_path / "mine.toml")
    view = _view(_member(1, "head", 62), _member(2, "child", 10))
    assert _groups(view) == {"elderly": ["P1"], "single_parent": ["P2"]}
    assert _groups(view, mine) == {}


def test_the_shipped_catalogue_has_the_districts_structure() -> None:
    c = load_catalogue()
    assert (len(c.groups), len(c.levels), len(c.tags)) == (6, 4, 4)
    assert len(c.market) == 8 and sum(len(m.sub) for m in c.market.values()) == 25
    assert len(c.need_types) >= 40 and {t.level for t in c.need_types} == set(c.levels)
    assert c.tags["urgent_intervention"].response_hours == 24


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('groups = ["minors", "single_parent"]', 'groups = ["minors", "orphans"]'), "group 'orphans' is not one of"),
        (("[groups]\n", '[groups]\nwidows = "丧偶"\n'), "groups: no rule derives widows"),
        (('market = "tutoring"', 'market = "piano"'), "market 'piano' is not a sub-category"),
        (("[tags.keep_watching]", "[tags.ignored]"), "tags.ignored"),
    ],
)
def test_a_catalogue_that_refers_to_nothing_is_refused_naming_the_key(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    text = CATALOGUE.read_text(encoding="utf-8")
    assert change[0] in text
    (tmp_path / "district.toml").write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(PolicyError, match=r"district\.toml") as refused:
        load_catalogue(tmp_path / "district.toml")
    assert message in str(refused.value)


def test_groups_from_a_store_on_each_engine(store: GraphStore, two_cases_dir: Path) -> None:
    ingest_folder(store, two_cases_dir)
    view = as_of_day(household_view(store, household_id="H-420106-0001"), DAY)
    groups = {g.group: sorted(g.persons) for g in household_groups(view, as_of=DAY)}
    # the driver's parents (born 1952 and 1954), the driver ill and out of work, his daughter raised alone
    assert groups == {
        "elderly": ["420106195203021333", "42010619540817224X"],
        "serious_illness": ["420106198305141516"],
        "unemployed": ["420106198305141516"],
        "single_parent": ["420106201109232626"],
    }


def test_the_command_line_shows_the_catalogue_and_a_households_groups(tmp_path: Path, two_cases_dir: Path) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    runner = CliRunner()
    shown = runner.invoke(app, ["catalogue"])
    assert shown.exit_code == 0 and "market: 8 categories, 25 sub-categories" in shown.output and "紧急干预" in shown.output
    (tmp_path / "bad.toml").write_text(CATALOGUE.read_text(encoding="utf-8").replace('level = "skills"', 'level = "sport"', 1), "utf-8")
    refused = runner.invoke(app, ["catalogue", "--catalogue", str(tmp_path / "bad.toml")])
    assert refused.exit_code != 0 and "bad.toml: need_types[31] (N060): level 'sport'" in refused.output
    assert runner.invoke(app, ["ingest", str(two_cases_dir), "--store", str(tmp_path / "store")]).exit_code == 0
    file = runner.invoke(app, ["household", "H-420106-0001", "--store", str(tmp_path / "store"), "--as-of", "2024-03-01"])
    assert file.exit_code == 0
    assert "group 单亲家庭 (single_parent): a child under 18 living with one parent: 420106********2626" in file.output
    assert "group 老年人 (elderly): aged 60 or over: 420106********1333, 420106********224X" in file.output
