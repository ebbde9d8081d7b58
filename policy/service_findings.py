"""The audit's service findings: work orders and resources that let households down.

1. ``order_overdue`` (工单超时未响应): a work order still unanswered (``dispatched``) after the
   deadline its need's tag set (``actions.work_orders``);
2. ``returned_not_redispatched`` (退单未再派): a need whose last order was returned, that nothing
   serves now and that is neither served nor closed: nobody sent it out again;
3. ``barred_still_serving`` (禁入仍在服务): a resource barred on the day (an evaluation found its
   satisfaction under the threshold, ``queries.standing``) that still serves households or holds
   open work orders.

>>> from queries.examples import DAY, two_cases
>>> service_findings(two_cases(), as_of=DAY)  # the two cases have no work order and no evaluation
[]
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from graph.model import NodeKind, OrderState
from queries.findings import Finding, finding_id, sort_findings
from queries.linkage import standing_resources
from queries.standing import StandingRules
from queries.work_orders import work_orders

__all__ = ["SERVICE_KINDS", "service_findings"]

SERVICE_KINDS = ("order_overdue", "returned_not_redispatched", "barred_still_serving")
_OPEN = {OrderState.DISPATCHED.value, OrderState.ACCEPTED.value, OrderState.VISITED.value}


def _moment(day: dt.date, now: dt.datetime | None) -> dt.datetime:
    """The audit's moment: the end of ``day``, or now if that is earlier (an audit of today)."""
    end = dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=dt.UTC)
    return min(end, now or dt.datetime.now(dt.UTC))


def _overdue(orders: list[dict[str, Any]], moment: dt.datetime) -> list[Finding]:
    out = []
    for o in orders:
        if o["state"] != OrderState.DISPATCHED or o["dispatched_at"] > moment.isoformat() or o["due_by"] >= moment.isoformat():
            continue
        late = (moment - dt.datetime.fromisoformat(o["due_by"])).total_seconds() / 3600
        out.append(
            Finding(
                id=finding_id("order_overdue", [o["order_id"]]),
                kind="order_overdue",
                rule=f"work order {o['order_id']} to {o['resource_id']} was due by {o['due_by']} and is still unanswered",
                persons=[],
                households=[o["household_id"]],
                records=[],
                needs=[o["need_id"]],
                region_code=o.get("region_code"),
                evidence={
                    "order_id": o["order_id"],
                    "resource_id": o["resource_id"],
                    "urgency": o["urgency"],
                    "dispatched_at": o["dispatched_at"],
                    "due_by": o["due_by"],
                    "hours_late": round(late, 1),
                },
            )
        )
    return out


def _returned(store: Any, orders: list[dict[str, Any]], served: set[str], moment: dt.datetime) -> list[Finding]:
    last: dict[str, dict[str, Any]] = {}
    for o in orders:
        if o["dispatched_at"] <= moment.isoformat() and (
            o["need_id"] not in last or o["dispatched_at"] >= last[o["need_id"]]["dispatched_at"]
        ):
            last[o["need_id"]] = o
    waiting = {n: o for n, o in last.items() if o["state"] == OrderState.RETURNED and n not in served}
    needs = store.get_nodes(NodeKind.NEED, set(waiting)) if waiting else {}
    out = []
    for need_id, o in sorted(waiting.items()):
        need = needs.get(need_id) or {}
        if need.get("status") in ("served", "closed"):
            continue
        days = (moment.date() - dt.date.fromisoformat(o["returned_at"][:10])).days
        out.append(
            Finding(
                id=finding_id("returned_not_redispatched", [o["order_id"]]),
                kind="returned_not_redispatched",
                rule=f"need {need_id}'s order {o['order_id']} was returned by {o['resource_id']} and the need was not sent out again",
                persons=[],
                households=[o["household_id"]],
                records=[],
                needs=[need_id],
                region_code=o.get("region_code"),
                evidence={
                    "order_id": o["order_id"],
                    "resource_id": o["resource_id"],
                    "urgency": o["urgency"],
                    "returned_at": o["returned_at"],
                    "return_reason": o.get("return_reason"),
                    "days_waiting": days,
                },
            )
        )
    return out


def _barred(rows: list[dict[str, Any]], orders: list[dict[str, Any]]) -> list[Finding]:
    open_orders: dict[str, list[dict[str, Any]]] = {}
    for o in orders:
        if o["state"] in _OPEN:
            open_orders.setdefault(o["resource_id"], []).append(o)
    out = []
    for row in rows:
        r, standing = row["resource"], row["standing"]
        mine = open_orders.get(r["resource_id"], [])
        if not standing.barred or standing.barred_by is None or not (row["needs"] or row["used"] or mine):
            continue
        households = sorted(set(row["active_households"]) | {o["household_id"] for o in mine})
        out.append(
            Finding(
                id=finding_id("barred_still_serving", [r["resource_id"], standing.barred_by]),
                kind="barred_still_serving",
                rule=f"{r['resource_id']} is {standing.why}, and still serves {len(households)} households",
                persons=[],
                households=households,
                records=[],
                services=row["active_services"],
                needs=sorted(set(row["needs"]) | {o["need_id"] for o in mine}),
                region_code=r.get("region_code"),
                evidence={
                    "resource_id": r["resource_id"],
                    "provider_name": r.get("provider_name"),
                    "barred_by": standing.barred_by,
                    "barred_until": standing.barred_until,
                    "open_orders": sorted(o["order_id"] for o in mine),
                },
            )
        )
    return out


def service_findings(
    store: Any, *, as_of: dt.date | None = None, rules: StandingRules | None = None, now: dt.datetime | None = None
) -> list[Finding]:
    """The three service findings on ``as_of`` (default today), bars judged by ``rules``; ``now``
    caps the moment orders are judged at (default: the clock).

    Examples
    --------
    >>> from actions.resource_evaluations import evaluate_resource
    >>> from queries.examples import load_two_cases
    >>> store = load_two_cases()  # volunteer R-V1 tutors the driver's daughter; its final evaluation scores 0.3
    >>> _ = evaluate_resource(store, "R-V1", stage="final", on=dt.date(2026, 6, 1), score=0.3, by="区评估组")
    >>> [(f.kind, f.households, f.evidence["barred_until"]) for f in service_findings(store, as_of=dt.date(2026, 6, 30))]
    [('barred_still_serving', ['H-420106-0001'], '2029-06-01')]
    """
    day = as_of or dt.date.today()
    moment = _moment(day, now)
    orders = [o for o in work_orders(store) if o["dispatched_at"] <= moment.isoformat()]
    rows = standing_resources(store, day, None, rules)
    served = {n for row in rows for n in row["needs"]}
    found = [*_overdue(orders, moment), *_returned(store, orders, served, moment), *_barred(rows, orders)]
    return sort_findings(found)
