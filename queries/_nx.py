"""Small networkx helpers the questions share: neighbours by relationship type, nodes by kind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graph.model import NodeKind, RelKind

_NONE: dict[str, Any] = {}


def out(G: Any, nid: str, rel: RelKind) -> list[str]:
    """Targets of ``nid``'s outgoing ``rel`` relationships."""
    r = rel._value_  # once, not per neighbour: Enum's value property was a third of the walk
    return [d for d, keys in G._succ.get(nid, _NONE).items() if r in keys]


def inc(G: Any, nid: str, rel: RelKind) -> list[str]:
    """Sources of ``nid``'s incoming ``rel`` relationships."""
    r = rel._value_
    return [s for s, keys in G._pred.get(nid, _NONE).items() if r in keys]


def nodes_of(G: Any, kind: NodeKind) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(node id, properties)`` of every node of ``kind``.

    Uses the embedded store's index of node ids by kind (``G.graph["kinds"]``) when the graph has
    one, so asking for the 1,000 resources of a 100k-household graph does not scan its million
    nodes; a plain networkx graph is scanned.
    """
    index = G.graph.get("kinds")
    if index is not None:
        node = G._node
        for nid in index.get(kind.value, ()):
            yield nid, node[nid]
        return
    prefix = kind.value + ":"
    for nid, props in G._node.items():
        if nid.startswith(prefix):
            yield nid, props


def household_of(G: Any, beneficiary: str) -> str | None:
    """The household node of a beneficiary node (itself, or the person's household)."""
    if beneficiary.startswith(NodeKind.HOUSEHOLD.value + ":"):
        return beneficiary
    households = out(G, beneficiary, RelKind.MEMBER_OF)
    return households[0] if households else None


def household_aid_records(G: Any, h: str, members: list[str]) -> list[dict[str, Any]]:
    """Aid records received by household ``h`` or its ``members``, each with its programme's code and kind."""
    return [
        aid_record_row(G, r, g, None if b == h else G._node[b]["id_number"])
        for b in [h, *members]
        for r in out(G, b, RelKind.RECEIVES)
        for g in out(G, r, RelKind.PAID_BY)
    ]


def aid_record_row(G: Any, r: str, g: str, person: str | None) -> dict[str, Any]:
    """Aid record node ``r`` paid by programme node ``g``, as the questions read it (``person``:
    the member who receives it, None when the household does)."""
    rec, program = G._node[r], G._node[g]
    return {
        "id": rec["record_id"],
        "program": program["program_code"],
        "kind": program["kind"],
        "amount": rec.get("amount"),
        "start": rec.get("period_start"),
        "end": rec.get("period_end"),
        "status": rec.get("status"),
        "person": person,
    }
