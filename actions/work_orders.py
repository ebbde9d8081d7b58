"""Work orders (需求工单): a need dispatched to a resource, then accepted, visited, completed or returned.

Each step is one write under the store's writer lock, with who in the write's source, so the
order's history (``GraphStore.history``) says who moved it and when. A step out of order is refused
with the order's state named (a ValueError); an unknown order, need or resource is a KeyError.

- **dispatch**: the resource must be able to serve the need now (the recommendation's rules:
  category, region, capacity, not barred) and the need must have no open order; the order is due
  within the response hours of the need's tag in the catalogue (urgent intervention: 24 h);
- **accept**, **visit** (who, which day, what was done, hours; more than one visit is fine),
  **complete** (after at least one visit, with the household's satisfaction from 0 to 1): the need
  is met, its status ``closed`` in the same write;
- **return**: the resource gives the order back, with the reason, before it is completed; the need
  waits for another dispatch.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from actions.linkage import servable
from graph.model import NodeKind, OrderState, Visit, WorkOrder
from graph.store import GraphStore, NodeWrite, WriteBatch
from policy.catalogue import Catalogue, load_catalogue
from queries.work_orders import work_orders

__all__ = ["accept_order", "complete_order", "dispatch", "moment_text", "return_order", "visit_order"]

_OPEN = (OrderState.DISPATCHED, OrderState.ACCEPTED, OrderState.VISITED)


def moment_text(at: dt.datetime | None) -> str:
    """``at`` (default now) as the ISO text, in UTC to the second, that every service record keeps."""
    return (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="seconds")


def _save(store: GraphStore, order: WorkOrder, what: str, *extra: NodeWrite) -> dict[str, Any]:
    store.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.WORK_ORDER, order.order_id, order.props()), *extra], source=what))
    return order.props()


def dispatch(
    store: GraphStore, need_id: str, resource_id: str, *, by: str, at: dt.datetime | None = None, catalogue: Catalogue | None = None
) -> dict[str, Any]:
    """Send ``need_id`` to ``resource_id``: a new order, due by the tag's response hours from ``at``."""
    moment = at or dt.datetime.now(dt.UTC)
    catalogue = catalogue or load_catalogue()
    hours = catalogue.tags
    with store.exclusive():
        need, _ = servable(store, need_id, resource_id, moment.date(), catalogue.evaluation)
        orders = work_orders(store, need_id=need_id)
        if open_ := [o for o in orders if o["state"] in _OPEN]:
            raise ValueError(f"{need_id} already has order {open_[0]['order_id']} ({open_[0]['state']}) with {open_[0]['resource_id']}")
        order = WorkOrder(
            order_id=f"WO-{need_id}-{len(orders) + 1}",
            need_id=need_id,
            resource_id=resource_id,
            household_id=need["household_id"],
            urgency=need["urgency"],
            state=OrderState.DISPATCHED,
            dispatched_by=by,
            dispatched_at=moment_text(moment),
            due_by=moment_text(moment + dt.timedelta(hours=hours[need["urgency"]].response_hours)),
            last_by=by,
        )
        return _save(store, order, f"work order {order.order_id} dispatched by {by}")


def _step(store: GraphStore, order_id: str, allowed: tuple[OrderState, ...], verb: str) -> WorkOrder:
    props = store.get_node(NodeKind.WORK_ORDER, order_id)
    if props is None:
        raise KeyError(f"no work order {order_id}")
    order = WorkOrder(**props)
    if order.state not in allowed:
        raise ValueError(f"work order {order_id} is {order.state}: it cannot be {verb}")
    return order


def accept_order(store: GraphStore, order_id: str, *, by: str, at: dt.datetime | None = None) -> dict[str, Any]:
    """The resource takes the order on (it answers the dispatch)."""
    with store.exclusive():
        order = _step(store, order_id, (OrderState.DISPATCHED,), "accepted")
        changed = order.model_copy(update={"state": OrderState.ACCEPTED, "accepted_at": moment_text(at), "last_by": by})
        return _save(store, changed, f"work order {order_id} accepted by {by}")


def visit_order(store: GraphStore, order_id: str, *, by: str, on: dt.date, hours: float, done: str) -> dict[str, Any]:
    """A visit for the order: who, which day, what was done, hours. Returns the visit."""
    with store.exclusive():
        order = _step(store, order_id, (OrderState.ACCEPTED, OrderState.VISITED), "visited (accept it first)")
        visit = Visit(
            visit_id=f"{order_id}#{order.visit_count + 1}",
            order_id=order_id,
            household_id=order.household_id,
            visited_by=by,
            visited_on=on,
            hours=hours,
            done=done,
        )
        update = {
            "state": OrderState.VISITED,
            "visit_count": order.visit_count + 1,
            "visit_hours": order.visit_hours + hours,
            "last_by": by,
        }
        changed = order.model_copy(update=update)
        _save(store, changed, f"work order {order_id} visited by {by}", NodeWrite(NodeKind.VISIT, visit.visit_id, visit.props()))
        return visit.props()


def complete_order(store: GraphStore, order_id: str, *, by: str, satisfaction: float, at: dt.datetime | None = None) -> dict[str, Any]:
    """Close a visited order with the household's satisfaction, from 0 (not at all) to 1 (fully)."""
    if not 0 <= satisfaction <= 1:
        raise ValueError(f"satisfaction must be from 0 to 1, not {satisfaction}")
    with store.exclusive():
        order = _step(store, order_id, (OrderState.VISITED,), "completed (it needs a visit first)")
        update = {"state": OrderState.COMPLETED, "completed_at": moment_text(at), "satisfaction": satisfaction, "last_by": by}
        need = store.get_node(NodeKind.NEED, order.need_id)
        met = [NodeWrite(NodeKind.NEED, order.need_id, {**need, "status": "closed"})] if need is not None else []
        return _save(store, order.model_copy(update=update), f"work order {order_id} completed by {by}", *met)


def return_order(store: GraphStore, order_id: str, *, by: str, reason: str, at: dt.datetime | None = None) -> dict[str, Any]:
    """The resource gives the order back, with the reason; the need can be dispatched again."""
    if not reason.strip():
        raise ValueError("a returned order needs the reason")
    with store.exclusive():
        order = _step(store, order_id, _OPEN, "returned")
        update = {"state": OrderState.RETURNED, "returned_at": moment_text(at), "return_reason": reason, "last_by": by}
        return _save(store, order.model_copy(update=update), f"work order {order_id} returned by {by}")
