"""Department references not yet linked to a person or household: the identity-resolution queue.

An aid record whose beneficiary reference matched nobody exactly, or an income whose ID number
matched nobody, is kept as the department sent it (EXCHANGE-FORMAT.md) and listed here.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from graph.model import NodeKind, RelKind, split_node_id
from queries.registry import question

__all__ = ["UNLINKED_REFERENCES_CYPHER", "UnlinkedReferences", "unlinked_references"]


class UnlinkedReferences(BaseModel):
    aid_records: list[str]
    incomes: list[str]


UNLINKED_REFERENCES_CYPHER = """
CALL () { MATCH (r:AidRecord) WHERE NOT ()-[:RECEIVES]->(r) RETURN collect(r.record_id) AS aid_records }
CALL () { MATCH (i:Income) WHERE NOT ()-[:HAS_INCOME]->(i) RETURN collect(i.income_id) AS incomes }
RETURN aid_records, incomes
"""


def _from_records(records: list[dict[str, Any]]) -> UnlinkedReferences:
    row = records[0]
    return UnlinkedReferences(aid_records=sorted(row["aid_records"]), incomes=sorted(row["incomes"]))


@question("unlinked_references", cypher=UNLINKED_REFERENCES_CYPHER, from_records=_from_records)
def unlinked_references(G: Any) -> UnlinkedReferences:
    """Keys of aid records with no RECEIVES and incomes with no HAS_INCOME, sorted.

    >>> import networkx as nx
    >>> G = nx.MultiDiGraph()
    >>> G.add_node("AidRecord:R1", record_id="R1")
    >>> unlinked_references(G).aid_records
    ['R1']
    """

    def orphans(kind: NodeKind, rel: RelKind) -> list[str]:
        prefix = kind.value + ":"
        return sorted(
            split_node_id(n)[1] for n in G if n.startswith(prefix) and not any(k == rel.value for _, _, k in G.in_edges(n, keys=True))
        )

    return UnlinkedReferences(
        aid_records=orphans(NodeKind.AID_RECORD, RelKind.RECEIVES), incomes=orphans(NodeKind.INCOME, RelKind.HAS_INCOME)
    )
