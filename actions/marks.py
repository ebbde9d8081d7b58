"""An auditor's mark on a finding, kept with its history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from graph.model import FindingMark, NodeKind
from graph.store import GraphStore, NodeWrite, WriteBatch

__all__ = ["mark_finding"]


def mark_finding(store: GraphStore, finding_id: str, *, status: str, reason: str, by: str, kind: str | None = None) -> dict[str, Any]:
    """Record an auditor's mark ("confirmed" or "dismissed", with a reason) on a finding.

    A later mark replaces the earlier one; the earlier one stays in the store's history with who
    changed it and when.
    """
    mark = FindingMark(
        finding_id=finding_id,
        status=status,
        reason=reason,
        marked_by=by,  # type: ignore[arg-type]
        marked_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        kind=kind,
    )
    # Under the writer lock, so that of two auditors marking at once each mark lands in the
    # history with the other's as its "before", not both as the first.
    with store.exclusive():
        store.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.FINDING_MARK, finding_id, mark.props())], source=f"mark by {by}"))
    return mark.props()
