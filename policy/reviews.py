"""Reviews and exits: when each enrolled household is next reviewed, and who leaves gradually.

Cadence (``policy.review``): every member without labour capacity (elderly 60+, children under
16, severely disabled, or recorded so) every 6 months; otherwise with unstable income (flexible
work, business, farming) monthly; otherwise (stable income) quarterly. Reviews count from the
start of the household's active basic-living aid.

Gradual exit (``policy.exit``): an enrolled household whose income now puts it above the 低保 line
and that has earned income keeps its benefit for ``gradual_exit_months`` (12) from the start of
that income, then leaves; one above the line without earned income leaves at its next review.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from policy.config import PolicyConfig
from policy.means_test import Evaluation

__all__ = ["ExitRow", "ReviewRow", "add_months", "exit_order", "gradual_exits", "review_order", "reviews_due"]


class ReviewRow(BaseModel):
    household_id: str
    region_code: str | None
    tier: str | None
    enrolled_since: str
    basis: str
    every_months: int
    next_review: str


class ExitRow(BaseModel):
    household_id: str
    region_code: str | None
    tier: str | None
    per_capita_income: float
    standard: float
    earned_income_since: str | None
    exit_on: str
    why: str


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus whole months, the day clipped to the month's end (31 Jan + 1 = 28/29 Feb).

    Examples
    --------
    >>> add_months(dt.date(2026, 1, 31), 1), add_months(dt.date(2026, 11, 15), 3)
    (datetime.date(2026, 2, 28), datetime.date(2027, 2, 15))
    """
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _cadence(basis: str, policy: PolicyConfig) -> int:
    return {
        "no_labour_capacity": policy.review.no_labour_capacity_months,
        "unstable_income": policy.review.unstable_income_months,
        "stable_income": policy.review.stable_income_months,
    }[basis]


def reviews_due(evaluation: Evaluation, policy: PolicyConfig, *, due_before: dt.date | None = None) -> list[ReviewRow]:
    """Enrolled households with their next review after the evaluation day (due before ``due_before``, if given), soonest first.

    Examples
    --------
    >>> from policy.config import load_policy
    >>> from policy.means_test import evaluate
    >>> from queries.examples import DAY, two_cases
    >>> [(r.household_id, r.basis, r.next_review) for r in reviews_due(evaluate(two_cases(), load_policy(), as_of=DAY), load_policy())]
    [('H-420203-0001', 'unstable_income', '2026-07-01'), ('H-420106-0001', 'stable_income', '2026-09-01')]
    """
    on = dt.date.fromisoformat(evaluation.as_of)
    rows = []
    for d in evaluation.households:
        if d.enrolled_since is None:
            continue
        every = _cadence(d.review_basis, policy)
        k = 1
        start = dt.date.fromisoformat(d.enrolled_since)
        while (nxt := add_months(start, every * k)) <= on:
            k += 1
        if due_before is not None and nxt >= due_before:
            continue
        rows.append(
            ReviewRow(
                household_id=d.household_id,
                region_code=d.region_code,
                tier=d.tier,
                enrolled_since=d.enrolled_since,
                basis=d.review_basis,
                every_months=every,
                next_review=nxt.isoformat(),
            )
        )
    return sorted(rows, key=review_order)


def gradual_exits(evaluation: Evaluation, policy: PolicyConfig) -> list[ExitRow]:
    """Enrolled households now above the 低保 line, with the day they leave.

    Examples
    --------
    >>> from policy.config import load_policy
    >>> from policy.means_test import evaluate
    >>> from queries.examples import DAY, two_cases
    >>> [(x.household_id, x.exit_on) for x in gradual_exits(evaluate(two_cases(), load_policy(), as_of=DAY), load_policy())]
    [('H-420203-0001', '2024-09-01')]
    """
    on = dt.date.fromisoformat(evaluation.as_of)
    reviews = {r.household_id: r for r in reviews_due(evaluation, policy)}
    rows = []
    for d in evaluation.households:
        if d.enrolled_since is None or d.tier in ("低保", "特困"):
            continue
        if d.earned_income_since:
            exit_on = add_months(
                max(dt.date.fromisoformat(d.earned_income_since), dt.date.fromisoformat(d.enrolled_since)), policy.exit.gradual_exit_months
            )
            why = f"above the line through work since {d.earned_income_since}: benefit kept {policy.exit.gradual_exit_months} months (gradual exit)"
            if exit_on <= on:
                why += "; the gradual-exit period is over"
        else:
            exit_on = dt.date.fromisoformat(reviews[d.household_id].next_review)
            why = "above the line without earned income: leaves at the next review"
        rows.append(
            ExitRow(
                household_id=d.household_id,
                region_code=d.region_code,
                tier=d.tier,
                per_capita_income=d.per_capita_income,
                standard=d.standard,
                earned_income_since=d.earned_income_since,
                exit_on=exit_on.isoformat(),
                why=why,
            )
        )
    return sorted(rows, key=exit_order)


def review_order(r: ReviewRow) -> tuple[str, str]:
    """Soonest first, then by household.

    Examples
    --------
    >>> review_order(ReviewRow(household_id="H-1", region_code=None, tier="低保", enrolled_since="2025-01-01",
    ...     basis="stable_income", every_months=3, next_review="2026-07-01"))
    ('2026-07-01', 'H-1')
    """
    return (r.next_review, r.household_id)


def exit_order(r: ExitRow) -> tuple[str, str]:
    """Soonest first, then by household.

    Examples
    --------
    >>> exit_order(ExitRow(household_id="H-1", region_code=None, tier=None, per_capita_income=900.0, standard=666.0,
    ...     earned_income_since=None, exit_on="2026-09-01", why="above the line"))
    ('2026-09-01', 'H-1')
    """
    return (r.exit_on, r.household_id)
