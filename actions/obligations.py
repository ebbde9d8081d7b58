"""Writing the obligations an evaluation derived as the store's OBLIGED_TO_SUPPORT relationships."""

from __future__ import annotations

from typing import Any

from graph.model import NodeKind, RelKind
from graph.store import EdgeWrite, WriteBatch
from policy.obligations import Obligation

__all__ = ["write_obligations"]


def write_obligations(store: Any, obligations: list[Obligation], *, by: str = "evaluate") -> dict[str, int]:
    """Make the store's OBLIGED_TO_SUPPORT relationships these (one per obligor and dependant), in one batch.

    Relationships no longer owed are removed; the amounts and the rule travel on the relationship.
    """
    wanted: dict[tuple[str, str], dict[str, Any]] = {}
    for o in obligations:
        for d in o.dependants:
            wanted[(o.obligor, d)] = {
                "kind": o.kind,
                "monthly_amount": o.monthly_amount,
                "rule": o.rule,
                "basis": o.basis,
                "dependant_household": o.dependant_household,
            }
    existing = {(e.src_key, e.dst_key) for e in store.iter_edges(RelKind.OBLIGED_TO_SUPPORT)}
    rel, person = RelKind.OBLIGED_TO_SUPPORT, NodeKind.PERSON
    batch = WriteBatch(
        edges=[EdgeWrite(rel, person, a, person, b, props) for (a, b), props in sorted(wanted.items())],
        removed_edges=[EdgeWrite(rel, person, a, person, b) for a, b in sorted(existing - set(wanted))],
        source=f"obligations by {by}",
    )
    result = store.write_batch(batch)
    return {
        "created": result.created[rel.value],
        "updated": result.updated[rel.value],
        "unchanged": result.unchanged[rel.value],
        "removed": result.removed[rel.value],
    }
