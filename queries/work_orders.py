"""Work orders (需求工单) as they stand: a need's orders, a household's, and the overdue queue.

An order is overdue when it is still ``dispatched`` (nobody accepted it) after its ``due_by``; the
deadline was set from the need's tag when it was dispatched (``actions.work_orders``).
"""

from __future__ import annotations

from typing import Any, TypedDict

from queries.registry import question

__all__ = ["WORK_ORDERS_CYPHER", "work_orders"]

# Optional filters as a flag and a value that is always text: LadybugDB types a parameter from its
# first use, so one parameter both tested for NULL and compared would be read as a boolean.
WORK_ORDERS_CYPHER = {
    "orders": """
MATCH (o:WorkOrder)
WHERE ($any_need OR o.need_id = $need_id) AND ($any_household OR o.household_id = $household_id)
  AND ($any_state OR o.state = $state) AND ($any_time OR (o.state = 'dispatched' AND o.due_by < $overdue_at))
OPTIONAL MATCH (h:Household {household_id: o.household_id})
RETURN o AS work_order, h.region_code AS region
ORDER BY o.due_by, o.order_id
""",
    "visits": """
MATCH (v:Visit)
WHERE ($any_need OR v.order_id STARTS WITH $need_prefix) AND ($any_household OR v.household_id = $household_id)
RETURN v AS visit
ORDER BY v.visit_id
""",
}


class WorkOrdersOrdersRow(TypedDict):
    work_order: dict[str, Any]
    region: str | None


class WorkOrdersVisitsRow(TypedDict):
    visit: dict[str, Any]


def _params(given: dict[str, Any]) -> dict[str, Any]:
    need, household, state, late = (given.get(k) for k in ("need_id", "household_id", "state", "overdue_at"))
    return {
        "any_need": need is None,
        "need_id": need or "",
        "need_prefix": f"WO-{need}-",
        "any_household": household is None,
        "household_id": household or "",
        "any_state": state is None,
        "state": state or "",
        "any_time": late is None,
        "overdue_at": late or "",
    }


def _orders(parts: dict[str, list[dict[str, Any]]], **_: Any) -> list[dict[str, Any]]:
    visits: dict[str, list[dict[str, Any]]] = {}
    for row in parts["visits"]:
        visits.setdefault(row["visit"]["order_id"], []).append(row["visit"])
    return [
        {**row["work_order"], "region_code": row["region"], "visits": visits.get(row["work_order"]["order_id"], [])}
        for row in parts["orders"]
    ]


@question(
    "work_orders",
    cypher=WORK_ORDERS_CYPHER,
    row={"orders": WorkOrdersOrdersRow, "visits": WorkOrdersVisitsRow},
    from_records=_orders,
    cypher_params=_params,
)
def work_orders(
    store: Any, need_id: str | None = None, household_id: str | None = None, state: str | None = None, overdue_at: str | None = None
) -> list[dict[str, Any]]:
    """Work orders, soonest deadline first, each with its household's region and its visits; only
    a need's, a household's, in one state, or those still unanswered past ``overdue_at`` (ISO time).

    Examples
    --------
    >>> from queries.examples import two_cases
    >>> work_orders(two_cases())  # the two cases were served before work orders existed
    []
    """
