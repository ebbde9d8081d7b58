"""Early warning (预警): the households to visit first, by the hardship index and the income line.

The push list DOMAIN.md's prefecture uses: households not already enrolled in basic-living aid
whose hardship index is in the top ``policy.warning.top_share`` (5%) of all households evaluated,
or whose computed per-capita income is below ``policy.warning.income_multiple`` (2x) the 低保
standard. The index and its dimensions come from the means test (``policy.means_test``), so the
list is the same on both engines.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from pydantic import BaseModel

from policy.config import PolicyConfig
from policy.means_test import Evaluation, TierDecision
from queries import reasons as words

__all__ = ["PushLine", "WarningRow", "early_warnings", "push_line", "warned_households", "warnings_of_parts"]


class WarningRow(BaseModel):
    household_id: str
    region_code: str | None
    index: float
    rank: int  # 1 = the hardest, among all households evaluated
    reasons: list[str]
    tier: str | None
    per_capita_income: float
    standard: float
    dimensions: dict[str, float]


def early_warnings(evaluation: Evaluation, policy: PolicyConfig) -> list[WarningRow]:
    """The push list, hardest first (index, then lowest income, then household id).

    Examples
    --------
    >>> from policy.config import load_policy
    >>> early_warnings(Evaluation(as_of="2026-06-30", policy="default", households=[], obligations=[]), load_policy())
    []
    """
    return warnings_of_parts([evaluation], policy)


def warnings_of_parts(parts: Iterable[Evaluation], policy: PolicyConfig) -> list[WarningRow]:
    """The push list of an evaluation given part by part (``policy.means_test.evaluate_in_parts``),
    the same as ``early_warnings`` of the whole: of each decision only its push line is kept, and
    for a household not enrolled (the only ones pushed) its region, tier and index dimensions.
    ``policy.lists.policy_lists`` gives it the parts; the tests compare it with the whole.

    Examples
    --------
    >>> from policy.config import load_policy
    >>> from policy.means_test import evaluate_in_parts
    >>> from queries.examples import DAY, two_cases
    >>> warnings_of_parts(evaluate_in_parts(two_cases(), load_policy(), as_of=DAY, slice_size=1), load_policy())  # both households enrolled: none pushed
    []
    """
    lines: list[PushLine] = []
    rest: dict[int, tuple[str | None, str | None, dict[str, float]]] = {}
    for part in parts:
        for d in part.households:
            line = push_line(d)
            if not line.enrolled:
                rest[len(lines)] = (d.region_code, d.tier, {k: v for k, v in d.hardship.items() if k != "index"})
            lines.append(line)
    rows = []
    for at, rank, reasons in _pushed(lines, policy):
        line, (region_code, tier, dimensions) = lines[at], rest[at]
        rows.append(
            WarningRow(
                household_id=line.household_id,
                region_code=region_code,
                index=line.index,
                rank=rank,
                reasons=reasons,
                tier=tier,
                per_capita_income=line.income,
                standard=line.standard,
                dimensions=dimensions,
            )
        )
    return rows


class PushLine(NamedTuple):
    """What the push list needs of a decision: an evaluation of millions of households is kept as
    these (``warned_households``) rather than whole."""

    index: float
    income: float
    household_id: str
    standard: float
    enrolled: bool


def push_line(d: TierDecision) -> PushLine:
    """A decision's line for the push list.

    Examples
    --------
    >>> from policy.config import load_policy
    >>> from policy.means_test import evaluate
    >>> from queries.examples import DAY, two_cases
    >>> push_line(evaluate(two_cases(), load_policy(), as_of=DAY).households[0])
    PushLine(index=0.4475, income=767.5, household_id='H-420106-0001', standard=814, enrolled=True)
    """
    return PushLine(d.hardship["index"], d.per_capita_income, d.household_id, d.standard, d.enrolled_since is not None)


def warned_households(lines: list[PushLine], policy: PolicyConfig) -> set[str]:
    """The households on the push list of an evaluation given as its lines (``early_warnings``'
    rows, by household id).

    Examples
    --------
    >>> from policy.config import load_policy
    >>> lines = [PushLine(0.9, 900.0, "H-1", 600.0, False), PushLine(0.1, 5000.0, "H-2", 600.0, False)]
    >>> sorted(warned_households(lines, load_policy()))
    ['H-1']
    """
    return {lines[at].household_id for at, _, _ in _pushed(lines, policy)}


def _pushed(lines: list[PushLine], policy: PolicyConfig) -> Iterator[tuple[int, int, list[str]]]:
    """(position in ``lines``, rank, reasons) of each household on the push list, hardest first."""
    ranked = sorted(range(len(lines)), key=lambda at: (-lines[at].index, lines[at].income, lines[at].household_id))
    top = math.ceil(len(ranked) * policy.warning.top_share)
    for rank, at in enumerate(ranked, start=1):
        line = lines[at]
        if line.enrolled:
            continue
        reasons = []
        if rank <= top:
            reasons.append(words.WARNING_TOP.format(index=line.index, share=policy.warning.top_share, rank=rank, total=len(ranked)))
        floor = round(policy.warning.income_multiple * line.standard, 2)
        if line.income < floor:
            reasons.append(words.WARNING_INCOME.format(income=line.income, multiple=policy.warning.income_multiple, line=floor))
        if reasons:
            yield at, rank, reasons
