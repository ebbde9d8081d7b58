"""Recording a resource's mid-term or final evaluation (服务评估), and the bar it may bring.

The evaluation's satisfaction is found on its day by ``queries.standing``: the mean of the window's
scores (households' satisfaction on completed orders, earlier evaluations' scores) and this
evaluation's own score. Under the threshold, the resource is barred from that day for the rules'
``barred_years``; recommendations and dispatches then leave it out and say until when.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from graph.model import EvaluationStage, NodeKind, ResourceEvaluation
from graph.store import GraphStore, NodeWrite, WriteBatch
from queries.standing import StandingRules, resource_feedback, window_satisfaction

__all__ = ["evaluate_resource"]


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February, in a year that has none
        return day.replace(year=day.year + years, day=28)


def evaluate_resource(
    store: GraphStore,
    resource_id: str,
    *,
    stage: str,
    on: dt.date,
    score: float,
    by: str,
    note: str | None = None,
    rules: StandingRules | None = None,
) -> dict[str, Any]:
    """Record ``resource_id``'s ``stage`` evaluation (mid_term or final) of day ``on`` with the
    evaluators' ``score`` (0 to 1); returns it, with the satisfaction found and ``barred_until``.

    Examples
    --------
    >>> from queries.examples import load_two_cases
    >>> store = load_two_cases()
    >>> e = evaluate_resource(store, "R-V1", stage="final", on=dt.date(2026, 6, 30), score=0.4, by="区评估组")
    >>> e["satisfaction"], e["barred_until"]
    (0.4, '2029-06-30')
    """
    rules = rules or StandingRules()
    stage = EvaluationStage(stage)
    if not 0 <= score <= 1:
        raise ValueError(f"score must be from 0 to 1, not {score}")
    with store.exclusive():
        if store.get_node(NodeKind.RESOURCE, resource_id) is None:
            raise KeyError(f"no resource {resource_id}")
        evaluation_id = f"EV-{resource_id}-{on.isoformat()}-{stage.value}"
        if store.get_node(NodeKind.RESOURCE_EVALUATION, evaluation_id) is not None:
            raise ValueError(f"{resource_id} already has a {stage.value} evaluation on {on.isoformat()} ({evaluation_id})")
        earlier = resource_feedback(store, resource_id=resource_id).get(resource_id, {"scores": []})["scores"]
        satisfaction, count = window_satisfaction([*earlier, {"day": on.isoformat(), "score": score}], on, rules)
        assert satisfaction is not None  # this evaluation's own score is in the window
        record = ResourceEvaluation(
            evaluation_id=evaluation_id,
            resource_id=resource_id,
            stage=stage,
            evaluated_on=on,
            evaluated_by=by,
            score=score,
            satisfaction=satisfaction,
            feedback_count=count,
            threshold=rules.threshold,
            barred_until=_years_later(on, rules.barred_years) if satisfaction < rules.threshold else None,
            note=note,
        )
        what = f"{stage.value} evaluation of {resource_id} by {by}"
        store.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.RESOURCE_EVALUATION, evaluation_id, record.props())], source=what))
        return record.props()
