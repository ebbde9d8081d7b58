"""The region tree: containment by PART_OF links, not by code prefixes (DOMAIN.md, "Regions")."""

from __future__ import annotations

import shutil
from pathlib import Path

from api.core.security import Caller, Role
from graph.regions import STRUCTURAL, RegionTree
from graph.store import GraphStore
from ingest.loader import ingest_folder
from queries.household import household_view
from queries.regions import codes_within, region_tree

# 12-digit villages under 9-digit townships under 6-digit counties under a city and a province, and
# a county-level city (仙桃市 429004) directly under the province, whose digits say "city 90".
EXTRA_REGIONS = """\
429004,仙桃市,county,420000,urban
429004001,沙嘴街道,township,429004,urban
429004001002,某社区,village,429004001,urban
"""
EXTRA_HOUSEHOLD = "H-429004-0001,429004001002,仙桃市沙嘴街道,urban,1\n"


def _with_xiantao(two_cases_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "cases"
    shutil.copytree(two_cases_dir, folder)
    with (folder / "regions.csv").open("a", encoding="utf-8") as f:
        f.write(EXTRA_REGIONS)
    with (folder / "households.csv").open("a", encoding="utf-8") as f:
        f.write(EXTRA_HOUSEHOLD)
    return folder


def test_a_city_contains_its_counties_villages_though_its_code_is_no_prefix_of_theirs(
    store: GraphStore, two_cases_dir: Path, tmp_path: Path
) -> None:
    ingest_folder(store, _with_xiantao(two_cases_dir, tmp_path))
    tree = region_tree(store)
    assert tree.contains("420100", "420106005001") and not tree.contains("420100", "420203100201")
    assert tree.contains("420000", "429004001002")  # by the link to the province
    assert not tree.contains("429000", "429004001002")  # no "city 90" above it
    assert codes_within(store, "420100") == ["420106005001"]
    assert codes_within(store, "420000") == ["420106005001", "420203100201", "429004001002"]
    assert codes_within(store, "420203100") == ["420203100201"]
    assert codes_within(store, "429000") == []
    # A key scoped to the city sees the county's households, not another city's.
    city = Caller("k", "city caseworker", Role.CASEWORKER, region="420100", tree=tree)
    assert city.sees_region("420106005001") and not city.sees_region("420203100201")


def test_a_households_region_path_is_its_region_and_every_region_above_by_part_of(
    store: GraphStore, two_cases_dir: Path, tmp_path: Path
) -> None:
    folder = _with_xiantao(two_cases_dir, tmp_path)
    with (folder / "households.csv").open("a", encoding="utf-8") as f:
        f.write("H-420000-0001,420000,湖北省,urban,1\n")  # registered at the province itself, the top
    ingest_folder(store, folder)

    def path(household: str) -> list[tuple[str, str]]:
        view = household_view(store, household_id=household)
        assert view is not None
        return [(r["region_code"], r["level"]) for r in view.region_path]

    # From the household's own region up.
    assert path("H-420106-0001") == [
        ("420106005001", "village"),
        ("420106005", "township"),
        ("420106", "county"),
        ("420100", "city"),
        ("420000", "province"),
    ]
    # A county-level city hangs from the province: no city between, whatever its digits say.
    assert path("H-429004-0001") == [("429004001002", "village"), ("429004001", "township"), ("429004", "county"), ("420000", "province")]
    assert path("H-420000-0001") == [("420000", "province")]


def test_containment_by_structure_for_codes_no_region_file_lists() -> None:
    assert STRUCTURAL.parent("420106005001") == "420106005000"
    assert STRUCTURAL.ancestors("420106005001") == ("420106005001", "420106005000", "420106000000", "420100000000", "420000000000")
    assert not STRUCTURAL.contains("420106", None) and STRUCTURAL.contains(None, None)
    looped = RegionTree({"420106": "420100", "420100": "420106"})  # bad data: a cycle ends the walk
    assert looped.contains("420100", "420106005")
