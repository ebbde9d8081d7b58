"""Early warning (预警): the households to visit first, by the hardship index and the income line.

The push list DOMAIN.md's prefecture uses: households not already enrolled in basic-living aid
whose hardship index is in the top ``policy.warning.top_share`` (5%) of all households evaluated,
or whose computed per-capita income is below ``policy.warning.income_multiple`` (2x) the 低保
standard. The index and its dimensions come from the means test (``policy.means_test``), so the
list is the same on both engines.
"""

from __future__ import annotations

import math

from pydantic import BaseModel

from policy.config import PolicyConfig
from policy.means_test import Evaluation
from queries import reasons as words

__all__ = ["WarningRow", "early_warnings"]


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
    ranked = sorted(evaluation.households, key=lambda d: (-d.hardship["index"], d.per_capita_income, d.household_id))
    top = math.ceil(len(ranked) * policy.warning.top_share)
    rows = []
    for rank, d in enumerate(ranked, start=1):
        if d.enrolled_since is not None:
            continue
        reasons = []
        if rank <= top:
            reasons.append(
                words.WARNING_TOP.format(index=d.hardship["index"], share=policy.warning.top_share, rank=rank, total=len(ranked))
            )
        line = round(policy.warning.income_multiple * d.standard, 2)
        if d.per_capita_income < line:
            reasons.append(words.WARNING_INCOME.format(income=d.per_capita_income, multiple=policy.warning.income_multiple, line=line))
        if reasons:
            rows.append(
                WarningRow(
                    household_id=d.household_id,
                    region_code=d.region_code,
                    index=d.hardship["index"],
                    rank=rank,
                    reasons=reasons,
                    tier=d.tier,
                    per_capita_income=d.per_capita_income,
                    standard=d.standard,
                    dimensions={k: v for k, v in d.hardship.items() if k != "index"},
                )
            )
    return rows
