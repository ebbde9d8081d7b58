"""Writing the obligations an evaluation derived as the store's OBLIGED_TO_SUPPORT relationships."""

from __future__ import annotations

from typing import Any

from graph.model import NodeKind, RelKind
from graph.store import EdgeWrite, WriteBatch, WriteResult
from policy.obligations import Obligation

__all__ = ["ObligationWriter", "write_obligations"]

_REL, _PERSON = RelKind.OBLIGED_TO_SUPPORT, NodeKind.PERSON


def write_obligations(store: Any, obligations: list[Obligation], *, by: str = "evaluate") -> dict[str, int]:
    """Make the store's OBLIGED_TO_SUPPORT relationships these (one per obligor and dependant), in one batch.

    Relationships no longer owed are removed; the amounts and the rule travel on the relationship.
    """
    return ObligationWriter(store, by=by).finish(obligations)


class ObligationWriter:
    """The obligations of an evaluation written part by part (``policy.means_test.evaluate_in_parts``):
    each ``write`` adds or updates a part's relationships; ``finish`` writes the last ones and removes
    those no part owed. Until ``finish``, relationships no longer owed are still in the store."""

    def __init__(self, store: Any, *, by: str = "evaluate") -> None:
        self.store, self.by = store, by
        self.owed: set[tuple[str, str]] = set()
        self.result = WriteResult()

    def write(self, obligations: list[Obligation]) -> None:
        self._apply(self._edges(obligations), [])

    def finish(self, obligations: list[Obligation] | None = None) -> dict[str, int]:
        """Write ``obligations`` (the last part) with the removal of what no part owed, in one batch;
        return the counts of every batch."""
        edges = self._edges(obligations or [])
        existing = {(e.src_key, e.dst_key) for e in self.store.iter_edges(_REL)}
        self._apply(edges, [EdgeWrite(_REL, _PERSON, a, _PERSON, b) for a, b in sorted(existing - self.owed)])
        rel = _REL.value
        return {
            "created": self.result.created[rel],
            "updated": self.result.updated[rel],
            "unchanged": self.result.unchanged[rel],
            "removed": self.result.removed[rel],
        }

    def _edges(self, obligations: list[Obligation]) -> list[EdgeWrite]:
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
        self.owed.update(wanted)
        return [EdgeWrite(_REL, _PERSON, a, _PERSON, b, props) for (a, b), props in sorted(wanted.items())]

    def _apply(self, edges: list[EdgeWrite], removed: list[EdgeWrite]) -> None:
        if edges or removed:
            self.result.add(self.store.write_batch(WriteBatch(edges=edges, removed_edges=removed, source=f"obligations by {self.by}")))
