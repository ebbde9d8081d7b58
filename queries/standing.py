"""A resource's standing on a day: its satisfaction from the feedback it got, and whether it is barred.

DOMAIN.md: organisations under 50% satisfaction are barred for 3 years. The rule, with its figures
in the catalogue's ``[evaluation]`` (``StandingRules``):

- **satisfaction on a day** is the mean of the scores of the window before it (365 days, the day
  included): each completed work order's household satisfaction, by the day it was completed, and
  each mid-term or final evaluation's score. With no score in the window, the satisfaction the
  resources file declares stands in (a department's own figure); with neither, it is unknown;
- **barred**: an evaluation fixes the satisfaction on its day; under the threshold (0.5) the
  resource is barred from that day until the same day ``barred_years`` (3) later, whatever comes
  after. A satisfaction the resources file declares under the threshold, with no evaluation on
  record, excludes the resource too, with no period (the file carries no evaluation date).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from queries.registry import question

__all__ = ["RESOURCE_FEEDBACK_CYPHER", "Standing", "StandingRules", "resource_feedback", "standing", "window_satisfaction"]


class StandingRules(BaseModel):
    """The figures of the rule: the feedback window, the threshold, how long a bar lasts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_days: int = Field(365, ge=1, le=3650)
    threshold: float = Field(0.5, ge=0, le=1)
    barred_years: int = Field(3, ge=0, le=20)


class Standing(BaseModel):
    """Where a resource stands on a day."""

    satisfaction: float | None
    #: "feedback" (scores in the window), "declared" (the resources file's figure) or None (unknown).
    source: str | None
    scores: int  # how many scores the window held
    barred: bool
    barred_until: str | None = None
    barred_by: str | None = None  # the evaluation that barred it
    why: str | None = None  # the bar in words, for a recommendation's exclusions


RESOURCE_FEEDBACK_CYPHER = {
    "orders": """
MATCH (o:WorkOrder)
WHERE o.state = 'completed' AND ($any_resource OR o.resource_id = $resource_id)
RETURN o.resource_id AS resource_id, o.order_id AS ref, o.completed_at AS at, o.satisfaction AS score
ORDER BY o.order_id
""",
    "evaluations": """
MATCH (e:ResourceEvaluation)
WHERE $any_resource OR e.resource_id = $resource_id
RETURN e AS evaluation
ORDER BY e.evaluation_id
""",
}


class ResourceFeedbackOrdersRow(TypedDict):
    resource_id: str
    ref: str
    at: str
    score: float


class ResourceFeedbackEvaluationsRow(TypedDict):
    evaluation: dict[str, Any]


def _params(given: dict[str, Any]) -> dict[str, Any]:
    return {"any_resource": given.get("resource_id") is None, "resource_id": given.get("resource_id") or ""}


def _feedback(parts: dict[str, list[dict[str, Any]]], **_: Any) -> dict[str, dict[str, list[dict[str, Any]]]]:
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for row in parts["orders"]:
        entry = out.setdefault(row["resource_id"], {"scores": [], "evaluations": []})
        entry["scores"].append({"day": row["at"][:10], "score": row["score"], "ref": row["ref"]})
    for row in parts["evaluations"]:
        e = row["evaluation"]
        entry = out.setdefault(e["resource_id"], {"scores": [], "evaluations": []})
        entry["scores"].append({"day": str(e["evaluated_on"]), "score": e["score"], "ref": e["evaluation_id"]})
        entry["evaluations"].append(e)
    for entry in out.values():
        entry["scores"].sort(key=lambda s: (s["day"], s["ref"]))
        entry["evaluations"].sort(key=lambda e: (str(e["evaluated_on"]), e["evaluation_id"]))
    return out


@question(
    "resource_feedback",
    cypher=RESOURCE_FEEDBACK_CYPHER,
    row={"orders": ResourceFeedbackOrdersRow, "evaluations": ResourceFeedbackEvaluationsRow},
    from_records=_feedback,
    cypher_params=_params,
)
def resource_feedback(store: Any, resource_id: str | None = None) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Every resource's feedback (or one's), by resource id: ``scores`` (each completed order's
    satisfaction and each evaluation's score, with its day and what it came from, oldest first) and
    ``evaluations`` (the ResourceEvaluation nodes, oldest first). A resource with none is absent.

    Examples
    --------
    >>> from queries.examples import two_cases
    >>> resource_feedback(two_cases())  # no order was completed and no resource evaluated
    {}
    """


def window_satisfaction(scores: list[dict[str, Any]], day: dt.date, rules: StandingRules) -> tuple[float | None, int]:
    """The mean of the scores of the ``rules.window_days`` days up to ``day`` (included), and how many.

    Examples
    --------
    >>> scores = [{"day": "2025-01-10", "score": 0.2}, {"day": "2025-06-01", "score": 0.8}, {"day": "2025-06-02", "score": 0.5}]
    >>> window_satisfaction(scores, dt.date(2025, 6, 1), StandingRules())
    (0.5, 2)
    >>> window_satisfaction(scores, dt.date(2026, 6, 2), StandingRules())
    (None, 0)
    """
    first = (day - dt.timedelta(days=rules.window_days - 1)).isoformat()
    inside = [s["score"] for s in scores if first <= s["day"] <= day.isoformat()]
    return (round(sum(inside) / len(inside), 4) if inside else None), len(inside)


def standing(resource: dict[str, Any], feedback: dict[str, list[dict[str, Any]]] | None, day: dt.date, rules: StandingRules) -> Standing:
    """Where ``resource`` (its node's properties) stands on ``day``, from its ``feedback`` (an entry of
    :func:`resource_feedback`, None for none), by ``rules``.

    Examples
    --------
    >>> bar = {"evaluation_id": "E-1", "stage": "final", "evaluated_on": "2025-06-30", "satisfaction": 0.42,
    ...        "threshold": 0.5, "barred_until": "2028-06-30"}
    >>> fb = {"scores": [{"day": "2025-06-30", "score": 0.42, "ref": "E-1"}], "evaluations": [bar]}
    >>> s = standing({"satisfaction": 0.9}, fb, dt.date(2026, 1, 5), StandingRules())
    >>> (s.satisfaction, s.source, s.barred, s.barred_until)
    (0.42, 'feedback', True, '2028-06-30')
    >>> standing({"satisfaction": 0.9}, fb, dt.date(2028, 6, 30), StandingRules()).barred
    False
    """
    scores = (feedback or {}).get("scores", [])
    satisfaction, count = window_satisfaction(scores, day, rules)
    source = "feedback" if satisfaction is not None else None
    if satisfaction is None and resource.get("satisfaction") is not None:
        satisfaction, source = float(resource["satisfaction"]), "declared"
    today = day.isoformat()
    for e in reversed((feedback or {}).get("evaluations", [])):
        until = e.get("barred_until")
        if until is not None and str(e["evaluated_on"]) <= today < str(until):
            stage = "final" if e["stage"] == "final" else "mid-term"
            why = (
                f"barred until {until}: the {stage} evaluation of {e['evaluated_on']} found satisfaction "
                f"{e['satisfaction']:.2f}, under {e['threshold']:g}"
            )
            return Standing(
                satisfaction=satisfaction,
                source=source,
                scores=count,
                barred=True,
                barred_until=str(until),
                barred_by=e["evaluation_id"],
                why=why,
            )
    if source == "declared" and satisfaction is not None and satisfaction < rules.threshold and not (feedback or {}).get("evaluations"):
        why = f"satisfaction {satisfaction:.2f} under {rules.threshold:g}: barred (declared in the resources file, no evaluation on record)"
        return Standing(satisfaction=satisfaction, source=source, scores=count, barred=True, why=why)
    return Standing(satisfaction=satisfaction, source=source, scores=count, barred=False)
