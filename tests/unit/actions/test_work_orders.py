"""Work orders (需求工单) on hand-made needs: deadlines by tag, the order of the steps, the overdue
queue, the history of who moved an order; on both engines."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from actions.work_orders import accept_order, complete_order, dispatch, return_order, visit_order
from graph.model import NodeKind
from graph.store import GraphStore
from queries.work_orders import work_orders
from tests.unit.actions.conftest import AT, cli_app


def test_the_deadline_follows_the_needs_tag(orders_store: GraphStore) -> None:
    urgent = dispatch(orders_store, "N-9", "R-S1", by="李干事", at=AT)
    care = dispatch(orders_store, "N-8", "R-S1", by="李干事", at=AT)
    assert (urgent["order_id"], urgent["state"], urgent["dispatched_at"]) == ("WO-N-9-1", "dispatched", "2025-03-03T09:00:00+00:00")
    assert urgent["due_by"] == "2025-03-04T09:00:00+00:00"  # 紧急干预: 24 hours
    assert care["due_by"] == "2025-03-10T09:00:00+00:00"  # 需要关爱: 168 hours


def test_the_overdue_queue_holds_what_nobody_answered_in_time(orders_store: GraphStore) -> None:
    dispatch(orders_store, "N-9", "R-S1", by="李干事", at=AT)
    dispatch(orders_store, "N-8", "R-S1", by="李干事", at=AT)
    a_day_later = "2025-03-04T10:00:00+00:00"
    assert [o["order_id"] for o in work_orders(orders_store, overdue_at=a_day_later)] == ["WO-N-9-1"]
    assert work_orders(orders_store, overdue_at="2025-03-04T08:59:59+00:00") == []
    accept_order(orders_store, "WO-N-9-1", by="社工站 王", at=AT + dt.timedelta(hours=30))  # late, but answered
    assert work_orders(orders_store, overdue_at=a_day_later) == []
    assert [o["order_id"] for o in work_orders(orders_store, overdue_at="2025-03-11T00:00:00+00:00")] == ["WO-N-8-1"]


def test_steps_in_order_with_visits_satisfaction_and_history(orders_store: GraphStore) -> None:
    dispatch(orders_store, "N-9", "R-S1", by="李干事", at=AT)
    with pytest.raises(ValueError, match="is dispatched: it cannot be visited"):
        visit_order(orders_store, "WO-N-9-1", by="王", on=dt.date(2025, 3, 3), hours=1, done="talk")
    accept_order(orders_store, "WO-N-9-1", by="社工站 王", at=AT + dt.timedelta(hours=2))
    with pytest.raises(ValueError, match="is accepted: it cannot be completed"):
        complete_order(orders_store, "WO-N-9-1", by="王", satisfaction=0.9)
    visit_order(orders_store, "WO-N-9-1", by="社工 王", on=dt.date(2025, 3, 3), hours=1.5, done="crisis talk, safety plan")
    visit_order(orders_store, "WO-N-9-1", by="社工 王", on=dt.date(2025, 3, 10), hours=1, done="follow-up, referred to counselling")
    done = complete_order(orders_store, "WO-N-9-1", by="社工 王", satisfaction=0.8, at=AT + dt.timedelta(days=8))
    assert (done["state"], done["satisfaction"], done["completed_at"]) == ("completed", 0.8, "2025-03-11T09:00:00+00:00")
    need = orders_store.get_node(NodeKind.NEED, "N-9")
    assert need is not None and need["status"] == "closed"  # the need is met
    with pytest.raises(ValueError, match="is completed: it cannot be returned"):
        return_order(orders_store, "WO-N-9-1", by="王", reason="late")
    [order] = work_orders(orders_store, need_id="N-9")
    assert [(v["visit_id"], v["visited_by"], v["hours"]) for v in order["visits"]] == [
        ("WO-N-9-1#1", "社工 王", 1.5),
        ("WO-N-9-1#2", "社工 王", 1.0),
    ]
    assert (order["region_code"], order["visit_count"], order["visit_hours"]) == ("420106005001", 2, 2.5)
    moves = [h["source"] for h in orders_store.history(NodeKind.WORK_ORDER, "WO-N-9-1")]
    assert moves == [
        "work order WO-N-9-1 accepted by 社工站 王",
        "work order WO-N-9-1 visited by 社工 王",
        "work order WO-N-9-1 visited by 社工 王",
        "work order WO-N-9-1 completed by 社工 王",
    ]
    with pytest.raises(ValueError, match="satisfaction must be from 0 to 1"):
        complete_order(orders_store, "WO-N-9-1", by="王", satisfaction=4)


def test_one_open_order_a_need_and_a_returned_need_goes_out_again(orders_store: GraphStore) -> None:
    dispatch(orders_store, "N-9", "R-S1", by="李干事", at=AT)
    with pytest.raises(ValueError, match="N-9 already has order WO-N-9-1 \\(dispatched\\) with R-S1"):
        dispatch(orders_store, "N-9", "R-V2", by="李干事", at=AT)
    with pytest.raises(ValueError, match="needs the reason"):
        return_order(orders_store, "WO-N-9-1", by="社工站 王", reason="  ")
    back = return_order(orders_store, "WO-N-9-1", by="社工站 王", reason="no counsellor free this week", at=AT + dt.timedelta(hours=3))
    assert (back["state"], back["return_reason"]) == ("returned", "no counsellor free this week")
    again = dispatch(orders_store, "N-9", "R-V2", by="李干事", at=AT + dt.timedelta(hours=4))
    assert (again["order_id"], again["resource_id"]) == ("WO-N-9-2", "R-V2")


def test_a_resource_that_cannot_serve_or_an_unknown_one_is_refused(orders_store: GraphStore) -> None:
    with pytest.raises(ValueError, match="R-V1 cannot serve N-8"):
        dispatch(orders_store, "N-8", "R-V1", by="李干事", at=AT)  # tutoring only
    with pytest.raises(KeyError, match="no need N-404"):
        dispatch(orders_store, "N-404", "R-S1", by="李干事", at=AT)
    with pytest.raises(ValueError, match="N-2 is already served by R-V1"):
        dispatch(orders_store, "N-2", "R-S1", by="李干事", at=AT)
    with pytest.raises(KeyError, match="no work order WO-X"):
        accept_order(orders_store, "WO-X", by="王")
    assert work_orders(orders_store) == []


def test_the_command_line_moves_an_order(cli_store: str) -> None:
    store = cli_store
    runner, app = CliRunner(), cli_app()
    sent = runner.invoke(app, ["order", "dispatch", "N-9", "R-S1", "--by", "李干事", "--store", store])
    assert sent.exit_code == 0 and "WO-N-9-1: dispatched by 李干事" in sent.output
    early = runner.invoke(app, ["order", "complete", "WO-N-9-1", "--by", "王", "--satisfaction", "0.9", "--store", store])
    assert early.exit_code != 0 and "is dispatched: it cannot be completed" in early.output
    for step in (
        ["accept", "WO-N-9-1", "--by", "社工站 王"],
        ["visit", "WO-N-9-1", "--by", "社工 王", "--done", "crisis talk", "--hours", "1.5", "--on", "2025-03-03"],
        ["complete", "WO-N-9-1", "--by", "社工 王", "--satisfaction", "0.8"],
    ):
        assert runner.invoke(app, ["order", *step, "--store", store]).exit_code == 0, step
    listed = runner.invoke(app, ["orders", "--store", store, "--json"])
    assert listed.exit_code == 0 and '"state": "completed"' in listed.output and '"satisfaction": 0.8' in listed.output
    assert runner.invoke(app, ["orders", "--overdue", "--store", store, "--json"]).output.strip() == "[]"
