"""When an unresolved referral goes up a level (DOMAIN.md, "Referral"; the figures in the
catalogue's ``[referral]``):

- a step still ``open`` or ``answered`` (answered, hardship remains) below the district centre is
  **due to go up** when it is urgent (紧急干预) and ``urgent_hours`` have passed since it was sent,
  or when ``unresolved_days`` have passed whatever its urgency;
- it goes to the next level: village window → township station → district centre. A step at the
  district centre has nowhere to go; it stays on the centre's queue.

>>> from queries.examples import two_cases
>>> escalations_due(two_cases(), ReferralRules(), now=dt.datetime(2026, 6, 30, tzinfo=dt.UTC))
[]
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from graph.model import ReferralLevel, ReferralState, Urgency
from policy.catalogue import ReferralRules
from queries.referrals import referrals

__all__ = ["LEVELS", "escalations_due", "next_level"]

LEVELS = tuple(ReferralLevel)
_WAITING = [ReferralState.OPEN.value, ReferralState.ANSWERED.value]


def next_level(level: str) -> ReferralLevel | None:
    """The level above ``level``, None above the district centre.

    Examples
    --------
    >>> next_level("village_window"), next_level("district_centre")
    (<ReferralLevel.TOWNSHIP: 'township_station'>, None)
    """
    i = LEVELS.index(ReferralLevel(level))
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


def escalations_due(store: Any, rules: ReferralRules, *, now: dt.datetime, household_id: str | None = None) -> list[dict[str, Any]]:
    """The waiting steps due to go up at ``now``: each step with ``to`` (the next level) and ``why``.

    Examples
    --------
    >>> from actions.referrals import refer
    >>> from queries.examples import load_two_cases
    >>> store = load_two_cases()
    >>> sent = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)
    >>> _ = refer(store, "H-420203-0001", level="village_window", by="村干部 刘", reason="医疗费用负担重", at=sent)
    >>> [(d["to"], d["why"]) for d in escalations_due(store, ReferralRules(), now=sent + dt.timedelta(days=14))]
    [('township_station', 'not resolved after 14 days at 村（社区）救助窗口')]
    """
    due = []
    for step in referrals(store, household_id=household_id, states=_WAITING):
        up = next_level(step["level"])
        if up is None:
            continue
        waited = now - dt.datetime.fromisoformat(step["referred_at"])
        where = rules.levels.get(ReferralLevel(step["level"]), step["level"])
        if step["urgency"] == Urgency.URGENT_INTERVENTION and waited >= dt.timedelta(hours=rules.urgent_hours):
            why = f"urgent and not resolved within {rules.urgent_hours} h at {where}"
        elif waited >= dt.timedelta(days=rules.unresolved_days):
            why = f"not resolved after {rules.unresolved_days} days at {where}"
        else:
            continue
        due.append({**step, "to": up.value, "why": why})
    return due
