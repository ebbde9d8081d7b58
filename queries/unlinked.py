"""Department references not yet linked to a person or household: the identity-resolution queue.

An aid record whose beneficiary reference matched nobody exactly, or an income whose ID number
matched nobody, is kept as the department sent it (EXCHANGE-FORMAT.md) and listed here.
"""

from __future__ import annotations

from typing import Any, TypedDict

from pydantic import BaseModel

from graph.model import NodeKind  # noqa: F401  (the doctest's)
from queries.registry import question

__all__ = ["UNLINKED_REFERENCES_CYPHER", "UnlinkedReferences", "unlinked_references"]


class UnlinkedReferences(BaseModel):
    aid_records: list[str]
    incomes: list[str]


UNLINKED_REFERENCES_CYPHER = """
MATCH (r:AidRecord) WHERE NOT EXISTS { MATCH ()-[:RECEIVES]->(r) } RETURN 'aid_record' AS kind, r.record_id AS key
UNION ALL
MATCH (i:Income) WHERE NOT EXISTS { MATCH ()-[:HAS_INCOME]->(i) } RETURN 'income' AS kind, i.income_id AS key
"""


def _from_records(records: list[dict[str, Any]]) -> UnlinkedReferences:
    return UnlinkedReferences(
        aid_records=sorted(r["key"] for r in records if r["kind"] == "aid_record"),
        incomes=sorted(r["key"] for r in records if r["kind"] == "income"),
    )


class UnlinkedReferencesRow(TypedDict):
    kind: str
    key: str


@question("unlinked_references", cypher=UNLINKED_REFERENCES_CYPHER, row=UnlinkedReferencesRow, from_records=_from_records)
def unlinked_references(store: Any) -> UnlinkedReferences:
    """Keys of aid records with no RECEIVES and incomes with no HAS_INCOME, sorted.

    Examples
    --------
    >>> from graph.stores.ladybug import LadybugStore
    >>> from graph.store import NodeWrite, WriteBatch
    >>> store = LadybugStore.in_memory()
    >>> _ = store.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.AID_RECORD, "R1", {"record_id": "R1"})]))
    >>> unlinked_references(store).aid_records
    ['R1']
    """
