"""A coordinator's and a caseworker's decisions on a match: accept (the resource now serves the
need), propose (a charity's offer waiting for a caseworker), decline (never recommended again for
that need). Each is a LinkDecision node written with what it changes, in one transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from graph.model import LinkDecision, NodeKind, RelKind
from graph.store import EdgeWrite, GraphStore, NodeWrite, WriteBatch
from queries.findings import finding_id
from queries.linkage import _judge, standing_resources
from queries.regions import region_tree
from queries.standing import StandingRules

__all__ = ["accept", "decline", "propose", "servable"]


def _decide(
    store: GraphStore,
    need: dict[str, Any],
    resource_id: str,
    decision: str,
    by: str,
    reason: str | None,
    batch: WriteBatch,
    service_id: str | None = None,
    proposed_by: str | None = None,
) -> dict[str, Any]:
    """Write the decision with the rest of ``batch``, in one transaction."""
    record = LinkDecision(
        decision_id=f"{need['need_id']}|{resource_id}",
        need_id=need["need_id"],
        resource_id=resource_id,
        household_id=need["household_id"],
        decision=decision,  # type: ignore[arg-type]
        decided_by=by,
        decided_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        reason=reason,
        service_id=service_id,
        proposed_by=proposed_by,
    )
    batch.nodes.append(NodeWrite(NodeKind.LINK_DECISION, record.decision_id, record.props()))
    batch.source = f"{decision} by {by}"
    store.write_batch(batch)
    return record.props()


def accept(
    store: GraphStore, need_id: str, resource_id: str, *, by: str, as_of: dt.date | None = None, rules: StandingRules | None = None
) -> dict[str, Any]:
    """Accept a recommendation: the resource now serves the need (one transaction), if it still may
    (``servable``: not barred by ``rules``, capacity left, ...)."""
    # Checked and written under the store's writer lock: two coordinators accepting at once
    # cannot both take the last place of a resource, or serve one need twice.
    with store.exclusive():
        return _accept(store, need_id, resource_id, by=by, day=as_of or dt.date.today(), rules=rules)


def propose(
    store: GraphStore, need_id: str, resource_id: str, *, by: str, as_of: dt.date | None = None, rules: StandingRules | None = None
) -> dict[str, Any]:
    """A charity offers to serve a need: recorded as ``proposed``; nothing serves the need, and the
    charity sees nothing more of the family, until a caseworker of the region accepts."""
    with store.exclusive():
        existing = store.get_node(NodeKind.LINK_DECISION, f"{need_id}|{resource_id}")
        if existing is not None and existing["decision"] in ("proposed", "accepted"):
            return existing  # proposing twice changes nothing
        need, _ = servable(store, need_id, resource_id, as_of or dt.date.today(), rules)
        return _decide(store, need, resource_id, "proposed", by, None, WriteBatch(), proposed_by=by)


def servable(
    store: GraphStore, need_id: str, resource_id: str, day: dt.date, rules: StandingRules | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The need and the resource's row, if the resource may serve the need now (not barred by
    ``rules``, among the recommendation's other rules); else KeyError or ValueError."""
    need = store.get_node(NodeKind.NEED, need_id)
    if need is None:
        raise KeyError(f"no need {need_id}")
    household = store.get_node(NodeKind.HOUSEHOLD, need["household_id"]) or {}
    tree = region_tree(store)
    rows = standing_resources(store, day, tree.ancestor_codes(household.get("region_code") or ""), rules)
    [row] = [r for r in rows if r["resource"]["resource_id"] == resource_id] or [None]
    if row is None:
        raise KeyError(f"no resource {resource_id}")
    serving = sorted(r["resource"]["resource_id"] for r in rows if need_id in r["needs"])
    if serving:
        raise ValueError(f"{need_id} is already served by {serving[0]}: one need, one service (no duplicate aid)")
    if need.get("status") in ("served", "closed"):
        raise ValueError(f"{need_id} is {need['status']}")
    score, reasons = _judge(need, need["household_id"], household.get("region_code", ""), row, set(), tree)
    if score is None:
        raise ValueError(f"{resource_id} cannot serve {need_id}: {reasons[0]}")
    return need, row


def _accept(store: GraphStore, need_id: str, resource_id: str, *, by: str, day: dt.date, rules: StandingRules | None) -> dict[str, Any]:
    existing = store.get_node(NodeKind.LINK_DECISION, f"{need_id}|{resource_id}")
    if existing is not None and existing["decision"] == "accepted":
        return existing  # accepting twice changes nothing
    need, _ = servable(store, need_id, resource_id, day, rules)
    service_id = finding_id("SVC", [need_id, resource_id]).replace("SVC-", "S-ACC-")
    service = {
        "service_id": service_id,
        "resource_id": resource_id,
        "household_id": need["household_id"],
        "need_id": need_id,
        "start": day.isoformat(),
    }
    batch = WriteBatch(
        nodes=[NodeWrite(NodeKind.SERVICE, service_id, service), NodeWrite(NodeKind.NEED, need_id, {**need, "status": "served"})],
        edges=[
            EdgeWrite(RelKind.PROVIDES, NodeKind.RESOURCE, resource_id, NodeKind.SERVICE, service_id),
            EdgeWrite(RelKind.SERVES, NodeKind.SERVICE, service_id, NodeKind.HOUSEHOLD, need["household_id"]),
            EdgeWrite(RelKind.FOR_NEED, NodeKind.SERVICE, service_id, NodeKind.NEED, need_id),
        ],
    )
    proposed_by = existing.get("proposed_by") if existing is not None else None
    return _decide(store, need, resource_id, "accepted", by, None, batch, service_id, proposed_by=proposed_by)


def decline(store: GraphStore, need_id: str, resource_id: str, *, by: str, reason: str) -> dict[str, Any]:
    """Decline a recommendation: that resource is not recommended again for that need."""
    with store.exclusive():
        return _decline(store, need_id, resource_id, by=by, reason=reason)


def _decline(store: GraphStore, need_id: str, resource_id: str, *, by: str, reason: str) -> dict[str, Any]:
    need = store.get_node(NodeKind.NEED, need_id)
    if need is None:
        raise KeyError(f"no need {need_id}")
    if store.get_node(NodeKind.RESOURCE, resource_id) is None:
        raise KeyError(f"no resource {resource_id}")
    return _decide(store, need, resource_id, "declined", by, reason, WriteBatch())
