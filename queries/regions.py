"""Region filters by the region tree (``graph.regions``): which households' region codes lie in a scope.

A filter on households is given to a question as the list of region codes, among those the
households hold, that lie in the scope: exact by the tree, and the same on both engines.
"""

from __future__ import annotations

from typing import Any

from graph.model import NodeKind  # noqa: F401  (the doctest's)
from graph.regions import RegionTree, region_tree
from queries.registry import question

__all__ = ["HOUSEHOLD_REGION_CODES_CYPHER", "REGION_PARENTS_CYPHER", "codes_within"]

REGION_PARENTS_CYPHER = """
MATCH (r:Region)
OPTIONAL MATCH (r)-[:PART_OF]->(p:Region)
RETURN r.region_code AS code, p.region_code AS parent
"""


def _parent_rows(rows: list[dict[str, Any]], **_: Any) -> list[dict[str, Any]]:
    return sorted(({"code": r["code"], "parent": r["parent"]} for r in rows), key=lambda r: r["code"])


@question("region_parents", cypher=REGION_PARENTS_CYPHER, from_records=_parent_rows)
def region_parents(store: Any) -> list[dict[str, Any]]:
    """Every region's code and the code of the region it is ``PART_OF`` (None at the top)."""


HOUSEHOLD_REGION_CODES_CYPHER = "MATCH (h:Household) WHERE h.region_code IS NOT NULL RETURN DISTINCT h.region_code AS code"


@question("household_region_codes", cypher=HOUSEHOLD_REGION_CODES_CYPHER, from_records=lambda rows, **_: sorted(r["code"] for r in rows))
def household_region_codes(store: Any) -> list[str]:
    """The distinct region codes households hold."""


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
    return [c for c in store.run("household_region_codes") if tree.contains(scope, c)]
