"""A resource's evaluations (服务评估) and the bar, on hand-made feedback worked out from the rule
(DOMAIN.md: under 50% satisfaction, barred for 3 years; the window and figures in the catalogue's
``[evaluation]``); on both engines."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from actions.resource_evaluations import evaluate_resource
from actions.work_orders import accept_order, complete_order, dispatch, visit_order
from graph.model import NodeKind
from graph.store import GraphStore
from queries.linkage import recommend, standing_resources
from queries.standing import StandingRules
from tests.unit.actions.conftest import AT, cli_app


def _served(store: GraphStore, need_id: str, satisfaction: float, completed: dt.datetime) -> None:
    """One order of ``need_id`` for R-S1, from dispatch to completion with the household's satisfaction."""
    order = dispatch(store, need_id, "R-S1", by="李干事", at=AT)["order_id"]
    accept_order(store, order, by="社工站 王", at=AT + dt.timedelta(hours=2))
    visit_order(store, order, by="社工 王", on=AT.date(), hours=1, done="home visit")
    complete_order(store, order, by="社工 王", satisfaction=satisfaction, at=completed)


def _excluded(store: GraphStore, day: dt.date) -> dict[str, str]:
    rec = recommend(store, "H-420106-0001", as_of=day)
    assert rec is not None
    [n7] = [n for n in rec.needs if n.need_id == "N-7"]  # N-8 and N-9 were met by their orders
    return {e["resource_id"]: e["why"] for e in n7.excluded}


def test_a_bar_runs_three_years_from_the_evaluation_day(orders_store: GraphStore) -> None:
    _served(orders_store, "N-9", 0.3, dt.datetime(2025, 3, 20, 10, tzinfo=dt.UTC))
    _served(orders_store, "N-8", 0.4, dt.datetime(2025, 4, 1, 10, tzinfo=dt.UTC))
    # Before any evaluation, low feedback lowers the satisfaction but bars nobody.
    [s1] = [r for r in standing_resources(orders_store, dt.date(2025, 6, 29), None) if r["resource"]["resource_id"] == "R-S1"]
    assert (s1["standing"].satisfaction, s1["standing"].source, s1["standing"].barred) == (0.35, "feedback", False)
    # The mid-term evaluation scores 0.6; with the two orders, (0.3 + 0.4 + 0.6) / 3 = 0.43, under 0.5.
    e = evaluate_resource(orders_store, "R-S1", stage="mid_term", on=dt.date(2025, 6, 30), score=0.6, by="区评估组")
    assert (e["satisfaction"], e["feedback_count"], e["barred_until"]) == (0.4333, 3, "2028-06-30")
    why = "barred until 2028-06-30: the mid-term evaluation of 2025-06-30 found satisfaction 0.43, under 0.5"
    assert _excluded(orders_store, dt.date(2025, 6, 30))["R-S1"] == why
    assert _excluded(orders_store, dt.date(2028, 6, 29))["R-S1"] == why  # the window has emptied; the bar stands
    assert "R-S1" not in _excluded(orders_store, dt.date(2028, 6, 30))  # three years on, it may serve again
    with pytest.raises(ValueError, match="R-S1 cannot serve N-7: barred until 2028-06-30"):
        dispatch(orders_store, "N-7", "R-S1", by="李干事", at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    [day_before] = [r for r in standing_resources(orders_store, dt.date(2025, 6, 29), None) if r["resource"]["resource_id"] == "R-S1"]
    assert day_before["standing"].barred is False  # the bar starts on the evaluation's day, not before


def test_the_window_and_the_threshold_itself(orders_store: GraphStore) -> None:
    _served(orders_store, "N-9", 0.1, dt.datetime(2025, 3, 20, 10, tzinfo=dt.UTC))
    # 2026-03-19: the window (365 days, the day included) starts 2025-03-20, so the 0.1 counts:
    # (0.1 + 0.9) / 2 = 0.5, which is not under 0.5.
    first = evaluate_resource(orders_store, "R-S1", stage="mid_term", on=dt.date(2026, 3, 19), score=0.9, by="区评估组")
    assert (first["satisfaction"], first["feedback_count"], first.get("barred_until")) == (0.5, 2, None)
    # 2026-03-20: the window starts 2025-03-21; the 0.1 has left it.
    final = evaluate_resource(orders_store, "R-S1", stage="final", on=dt.date(2026, 3, 20), score=0.8, by="区评估组")
    assert (final["satisfaction"], final["feedback_count"], final.get("barred_until")) == (0.85, 2, None)
    kept = orders_store.get_node(NodeKind.RESOURCE_EVALUATION, final["evaluation_id"])
    assert kept is not None and (kept["evaluated_by"], kept["stage"], kept["score"]) == ("区评估组", "final", 0.8)


def test_the_catalogue_sets_the_figures(orders_store: GraphStore) -> None:
    strict = StandingRules(window_days=30, threshold=0.9, barred_years=1)
    e = evaluate_resource(orders_store, "R-S1", stage="final", on=dt.date(2024, 2, 29), score=0.8, by="区评估组", rules=strict)
    assert (e["satisfaction"], e["threshold"], e["barred_until"]) == (0.8, 0.9, "2025-02-28")  # no 29 February in 2025


def test_refusals(orders_store: GraphStore) -> None:
    evaluate_resource(orders_store, "R-V2", stage="final", on=dt.date(2025, 6, 30), score=0.9, by="区评估组")
    with pytest.raises(ValueError, match="already has a final evaluation on 2025-06-30"):
        evaluate_resource(orders_store, "R-V2", stage="final", on=dt.date(2025, 6, 30), score=0.2, by="区评估组")
    with pytest.raises(KeyError, match="no resource R-404"):
        evaluate_resource(orders_store, "R-404", stage="final", on=dt.date(2025, 6, 30), score=0.9, by="区评估组")
    with pytest.raises(ValueError, match="'yearly' is not a valid EvaluationStage"):
        evaluate_resource(orders_store, "R-V2", stage="yearly", on=dt.date(2025, 6, 30), score=0.9, by="区评估组")


def test_the_command_line_records_and_shows_a_bar(cli_store: str) -> None:
    store = cli_store
    runner, app = CliRunner(), cli_app()
    args = ["--stage", "final", "--on", "2025-06-30", "--score", "0.3", "--by", "区评估组", "--store", store]
    done = runner.invoke(app, ["resource", "evaluate", "R-S1", *args])
    assert done.exit_code == 0 and "satisfaction 0.30 from 1 scores; barred until 2028-06-30" in done.output
    shown = runner.invoke(app, ["resource", "standing", "R-S1", "--as-of", "2026-01-01", "--store", store])
    assert shown.exit_code == 0 and "barred until 2028-06-30: the final evaluation of 2025-06-30" in shown.output
    rec = runner.invoke(app, ["recommend", "H-420106-0001", "--as-of", "2026-01-01", "--store", store])
    assert "not recommended: R-S1: barred until 2028-06-30" in rec.output
