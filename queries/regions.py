"""Region filters by the region tree (``graph.regions``): which households' region codes lie in a scope.

A filter on households is given to a question as the list of region codes, among those the
households hold, that lie in the scope: exact by the tree, and the same on both engines.
"""

from __future__ import annotations

from typing import Any, TypedDict

from graph.model import NodeKind  # noqa: F401  (the doctest's)
from graph.regions import RegionTree
from queries.registry import question

__all__ = ["HOUSEHOLD_REGION_CODES_CYPHER", "REGION_PARENTS_CYPHER", "codes_within", "region_tree"]

REGION_PARENTS_CYPHER = """
MATCH (r:Region)
OPTIONAL MATCH (r)-[:PART_OF]->(p:Region)
RETURN r.region_code AS code, p.region_code AS parent
"""


def _parent_rows(rows: list[dict[str, Any]], **_: Any) -> list[dict[str, Any]]:
    return sorted(({"code": r["code"], "parent": r["parent"]} for r in rows), key=lambda r: r["code"])


class RegionParentsRow(TypedDict):
    code: str
    parent: str | None


@question("region_parents", cypher=REGION_PARENTS_CYPHER, row=RegionParentsRow, from_records=_parent_rows)
def region_parents(store: Any) -> list[dict[str, Any]]:
    """Every region's code and the code of the region it is ``PART_OF`` (None at the top).

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> region_parents(two_cases())[:3]
    [{'code': '420000', 'parent': None}, {'code': '420100', 'parent': '420000'}, {'code': '420106', 'parent': '420100'}]
    """


HOUSEHOLD_REGION_CODES_CYPHER = "MATCH (h:Household) WHERE h.region_code IS NOT NULL RETURN DISTINCT h.region_code AS code"


class HouseholdRegionCodesRow(TypedDict):
    code: str


@question(
    "household_region_codes",
    cypher=HOUSEHOLD_REGION_CODES_CYPHER,
    row=HouseholdRegionCodesRow,
    from_records=lambda rows, **_: sorted(r["code"] for r in rows),
)
def household_region_codes(store: Any) -> list[str]:
    """The distinct region codes households hold.

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> household_region_codes(two_cases())
    ['420106005001', '420203100201']
    """


def region_tree(store: Any) -> RegionTree:
    """The tree of the regions in ``store``, from its ``PART_OF`` links (the ``region_parents``
    question: the regions and their links only, never a scan of the graph).

    Examples
    --------
    >>> from graph.stores.ladybug import LadybugStore
    >>> region_tree(LadybugStore.in_memory()).contains("420100", "420106005001")
    True
    """
    return RegionTree({row["code"]: row["parent"] for row in region_parents(store)})


def codes_within(store: Any, scope: str | None, tree: RegionTree | None = None) -> list[str] | None:
    """The households' region codes inside ``scope`` by the tree (None: no filter).

    Examples
    --------
    >>> from graph.stores.ladybug import LadybugStore
    >>> from graph.store import WriteBatch, NodeWrite
    >>> s = LadybugStore.in_memory()
    >>> _ = s.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.HOUSEHOLD, h, {"household_id": h, "region_code": c})
    ...     for h, c in (("H-1", "420106005001"), ("H-2", "420203100201"))]))
    >>> codes_within(s, "420100")
    ['420106005001']
    """
    if scope is None:
        return None
    tree = tree if tree is not None else region_tree(store)
    return [c for c in household_region_codes(store) if tree.contains(scope, c)]
