"""The audit's service findings on hand-made orders and evaluations, worked out from the rules
(``policy.service_findings``): overdue orders, returned needs never sent out again, barred resources
still serving; on both engines."""

from __future__ import annotations

import datetime as dt

from actions.resource_evaluations import evaluate_resource
from actions.work_orders import accept_order, dispatch, return_order
from graph.store import GraphStore
from policy.audit import audit
from policy.service_findings import service_findings
from tests.unit.actions.conftest import AT

LATER = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)  # the clock, after every day audited here


def _found(store: GraphStore, day: dt.date) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in service_findings(store, as_of=day, now=LATER):
        out.setdefault(f.kind, []).append({"households": f.households, "needs": f.needs, **f.evidence})
    return out


def test_an_order_unanswered_past_its_tags_deadline_is_overdue(orders_store: GraphStore) -> None:
    dispatch(orders_store, "N-9", "R-S1", by="李干事", at=AT)  # 紧急干预: due 2025-03-04 09:00
    dispatch(orders_store, "N-8", "R-S1", by="李干事", at=AT)  # 需要关爱: due 2025-03-10 09:00
    assert _found(orders_store, dt.date(2025, 3, 3)) == {}
    [late] = _found(orders_store, dt.date(2025, 3, 5))["order_overdue"]
    # judged at the end of the day audited: 2025-03-05 23:59:59 is 39 hours after 2025-03-04 09:00
    assert (late["order_id"], late["households"], late["needs"], late["hours_late"]) == ("WO-N-9-1", ["H-420106-0001"], ["N-9"], 39.0)
    assert [o["order_id"] for o in _found(orders_store, dt.date(2025, 3, 11))["order_overdue"]] == ["WO-N-8-1", "WO-N-9-1"]
    accept_order(orders_store, "WO-N-9-1", by="社工站 王", at=AT + dt.timedelta(days=3))
    assert [o["order_id"] for o in _found(orders_store, dt.date(2025, 3, 11))["order_overdue"]] == ["WO-N-8-1"]
    # an audit of today judges at the clock, not at midnight
    today = service_findings(orders_store, as_of=dt.date(2025, 3, 10), now=dt.datetime(2025, 3, 10, 8, 59, tzinfo=dt.UTC))
    assert [f.kind for f in today] == []


def test_a_returned_need_waits_until_it_goes_out_again(orders_store: GraphStore) -> None:
    dispatch(orders_store, "N-9", "R-S1", by="李干事", at=AT)
    return_order(orders_store, "WO-N-9-1", by="社工站 王", reason="no counsellor free", at=AT + dt.timedelta(hours=3))
    [waiting] = _found(orders_store, dt.date(2025, 3, 10))["returned_not_redispatched"]
    assert (waiting["order_id"], waiting["needs"], waiting["days_waiting"], waiting["return_reason"]) == (
        "WO-N-9-1",
        ["N-9"],
        7,
        "no counsellor free",
    )
    dispatch(orders_store, "N-9", "R-V2", by="李干事", at=AT + dt.timedelta(days=8))
    assert "returned_not_redispatched" not in _found(orders_store, dt.date(2025, 3, 12))
    assert "returned_not_redispatched" in _found(orders_store, dt.date(2025, 3, 10))  # before the second dispatch


def test_a_barred_resource_still_serving_or_holding_orders(orders_store: GraphStore) -> None:
    # R-V1 tutors the driver's daughter (N-2, from the two cases); its final evaluation scores 0.3.
    evaluate_resource(orders_store, "R-V1", stage="final", on=dt.date(2025, 3, 1), score=0.3, by="区评估组")
    dispatch(orders_store, "N-8", "R-S1", by="李干事", at=AT)
    evaluate_resource(orders_store, "R-S1", stage="mid_term", on=dt.date(2025, 3, 5), score=0.2, by="区评估组")
    assert "barred_still_serving" not in _found(orders_store, dt.date(2025, 2, 28))
    found = {f["resource_id"]: f for f in _found(orders_store, dt.date(2025, 3, 5))["barred_still_serving"]}
    assert (found["R-V1"]["needs"], found["R-V1"]["households"], found["R-V1"]["barred_until"]) == (
        ["N-2"],
        ["H-420106-0001"],
        "2028-03-01",
    )
    assert (found["R-S1"]["open_orders"], found["R-S1"]["needs"]) == (["WO-N-8-1"], ["N-8"])
    assert "R-S1" not in {f["resource_id"] for f in _found(orders_store, dt.date(2025, 3, 4))["barred_still_serving"]}


def test_the_audit_reports_them_as_a_family(orders_store: GraphStore) -> None:
    dispatch(orders_store, "N-9", "R-S1", by="李干事", at=AT)
    report = audit(orders_store, as_of=dt.date(2025, 3, 5), region="420106")
    assert [(f.family, f.kind, f.region_codes) for f in report.findings if f.family == "service"] == [
        ("service", "order_overdue", ["420106005001"])
    ]
    assert [f for f in audit(orders_store, as_of=dt.date(2025, 3, 5), region="420203").findings if f.family == "service"] == []
