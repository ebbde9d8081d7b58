"""The lists a caseworker works from, of every household at once: the early-warning push list
(``policy.warnings``), the reviews due and the gradual exits (``policy.reviews``).

They come from one evaluation read part by part (``policy.means_test.evaluate_in_parts``): each
part's reviews and exits are made as it comes and the part let go, and of each decision only what
the push list ranks is kept, so a prefecture's lists do not hold its whole evaluation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from policy.config import PolicyConfig
from policy.means_test import Evaluation, evaluate_in_parts
from policy.reviews import ExitRow, ReviewRow, exit_order, gradual_exits, review_order, reviews_due
from policy.warnings import WarningRow, warnings_of_parts

__all__ = ["PolicyLists", "policy_lists"]


class PolicyLists(BaseModel):
    as_of: str
    policy: str
    warnings: list[WarningRow]  # hardest first
    reviews: list[ReviewRow]  # every enrolled household's next review, soonest first
    exits: list[ExitRow]  # soonest first

    def reviews_before(self, day: dt.date | None) -> list[ReviewRow]:
        """The reviews due before ``day`` (all of them if None), as ``reviews_due(..., due_before=day)``."""
        return self.reviews if day is None else [r for r in self.reviews if r.next_review < day.isoformat()]


def policy_lists(store: Any, policy: PolicyConfig, *, as_of: dt.date | None = None, slice_size: int | None = None) -> PolicyLists:
    """The push list, the reviews due and the gradual exits of every household on ``as_of``
    (today if None); ``slice_size`` as ``evaluate_in_parts``'.

    Examples
    --------
    >>> from policy.config import load_policy
    >>> from queries.examples import DAY, two_cases
    >>> lists = policy_lists(two_cases(), load_policy(), as_of=DAY)
    >>> [(r.household_id, r.next_review) for r in lists.reviews], [(x.household_id, x.exit_on) for x in lists.exits]
    ([('H-420203-0001', '2026-07-01'), ('H-420106-0001', '2026-09-01')], [('H-420203-0001', '2024-09-01')])
    """
    day = as_of or dt.date.today()
    due: list[ReviewRow] = []
    exits: list[ExitRow] = []

    def each_part() -> Iterator[Evaluation]:
        for part in evaluate_in_parts(store, policy, as_of=day, slice_size=slice_size):
            due.extend(reviews_due(part, policy))
            exits.extend(gradual_exits(part, policy))
            yield part

    warned = warnings_of_parts(each_part(), policy)
    return PolicyLists(
        as_of=day.isoformat(),
        policy=policy.name,
        warnings=warned,
        reviews=sorted(due, key=review_order),
        exits=sorted(exits, key=exit_order),
    )
