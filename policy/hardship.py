"""The early-warning hardship index of a household: six dimensions and their weighted mean."""

from __future__ import annotations

import datetime as dt
from typing import Any

from policy.config import PolicyConfig
from policy.income import ELDERLY

__all__ = ["RECENT_DAYS"]


RECENT_DAYS = 90


def _hardship(
    fact: dict[str, Any],
    living: list[dict[str, Any]],
    ages: dict[str, int | None],
    own: dict[str, Any],
    per_capita: float,
    thresholds: dict[str, float],
    rigid: float,
    counted: float,
    policy: PolicyConfig,
    on: dt.date,
) -> dict[str, float]:
    """The early-warning dimensions, each 0..1, and the index: their weighted mean (``policy.warning.weights``).

    income_gap: how far per-capita income falls below the watch line (0 at or above it, 1 at
    nothing); age_structure: the share of members under 16 or 60 and over; health: seriously ill
    or severely disabled members count 1, chronically ill 0.5, over the members; dependency: the
    share of members without an income of their own; recent_events: 1 if in the last 90 days an
    income ended (a lost job), special or emergency aid started, or a medical need was raised;
    expenditure: rigid expenditure over counted income (at most 1).
    """
    n = max(len(living), 1)
    recent = (on - dt.timedelta(days=RECENT_DAYS)).isoformat()
    today = on.isoformat()
    earners = {i["person"] for i in own["items"] if i["counted"] and i["amount"]}
    events = (
        any(i.get("end") and recent <= i["end"] < today for i in fact["incomes"])
        or any(_aid_started(r, fact["records"], recent, today) for r in fact["records"])
        or any(x.get("category") == "medical" and x.get("raised_on") and recent <= x["raised_on"] <= today for x in fact["needs"])
    )
    scores = {
        "income_gap": max(0.0, 1 - per_capita / thresholds["watch"]) if thresholds["watch"] else 0.0,
        "age_structure": sum(1 for a in ages.values() if a is not None and (a < 16 or a >= ELDERLY)) / n,
        "health": min(
            1.0, sum(1.0 if (m.get("major") or m.get("disability") in (1, 2)) else 0.5 if m.get("chronic") else 0.0 for m in living) / n
        ),
        "dependency": 1 - len(earners & {m["id"] for m in living}) / n,
        "recent_events": 1.0 if events else 0.0,
        "expenditure": min(1.0, rigid / counted) if counted else (1.0 if rigid else 0.0),
    }
    weights = policy.warning.weights
    total = sum(weights.values()) or 1.0
    scores = {k: round(v, 4) for k, v in scores.items()}
    scores["index"] = round(sum(weights.get(k, 0.0) * v for k, v in scores.items()) / total, 4)
    return scores


def _aid_started(record: dict[str, Any], records: list[dict[str, Any]], since: str, until: str) -> bool:
    """Whether special or emergency ``record`` is aid that started between ``since`` and ``until``.

    A record that continues another of the same programme to the same beneficiary (a month's
    line of an allowance paid for years, a renewal) is no new event: one of those covers the day
    before it starts.

    >>> line = {"program": "CANJI_HULI", "kind": "special", "person": "P", "start": "2026-05-01", "end": "2026-05-31"}
    >>> enrolment = {"program": "CANJI_HULI", "kind": "special", "person": "P", "start": "2024-03-09", "end": None}
    >>> _aid_started(line, [line, enrolment], "2026-04-01", "2026-06-30"), _aid_started(line, [line], "2026-04-01", "2026-06-30")
    (False, True)
    """
    start = record.get("start")
    if record["kind"] not in ("special", "emergency") or not start or not since <= start <= until:
        return False
    before = (dt.date.fromisoformat(start) - dt.timedelta(days=1)).isoformat()
    return not any(
        r is not record
        and r["program"] == record["program"]
        and r.get("person") == record.get("person")
        and (r.get("start") or "") <= before
        and (not r.get("end") or r["end"] >= before)
        for r in records
    )
