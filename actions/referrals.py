"""Referral as a record (转介): send a household's case to a level, answer it, send it up.

Each step is a Referral node written under the store's writer lock, with who in the write's source:

- **refer**: the case goes to a level, with who, when and why (and the need it is about, whose tag
  sets its urgency). If the household has a step still waiting (open or answered), the new level
  must be above it, and that step is closed as ``escalated`` in the same write;
- **answer**: the level's response, and whether it resolved the case (``resolved``) or hardship
  remains (``answered``: it still goes up when the escalation rules say so);
- **escalate_due**: send up every step the catalogue's escalation rules say is due
  (``policy.referrals``), each with the rule as its reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from actions.work_orders import moment_text
from graph.model import NodeKind, Referral, ReferralLevel, ReferralState, Urgency
from graph.store import GraphStore, NodeWrite, WriteBatch
from policy.catalogue import ReferralRules
from policy.referrals import LEVELS, escalations_due
from queries.referrals import referrals

__all__ = ["answer_referral", "escalate_due", "refer"]

_WAITING = (ReferralState.OPEN, ReferralState.ANSWERED)


def _refer(
    store: GraphStore, household_id: str, level: str, by: str, reason: str, need_id: str | None, urgency: str | None, at: dt.datetime | None
) -> dict[str, Any]:
    if store.get_node(NodeKind.HOUSEHOLD, household_id) is None:
        raise KeyError(f"no household {household_id}")
    if need_id is not None:
        need = store.get_node(NodeKind.NEED, need_id)
        if need is None or need["household_id"] != household_id:
            raise KeyError(f"no need {need_id} of household {household_id}")
        urgency = urgency or need["urgency"]
    to = ReferralLevel(level)
    path = referrals(store, household_id=household_id)
    waiting = [r for r in path if r["state"] in _WAITING]
    writes = []
    if waiting:
        below = waiting[-1]
        if LEVELS.index(to) <= LEVELS.index(ReferralLevel(below["level"])):
            raise ValueError(f"{household_id}'s case is waiting at {below['level']} ({below['referral_id']}): it can only go up from there")
    step = Referral(
        referral_id=f"REF-{household_id}-{len(path) + 1}",
        household_id=household_id,
        need_id=need_id,
        level=to,
        urgency=Urgency(urgency or Urgency.NEEDS_CARE),
        state=ReferralState.OPEN,
        referred_by=by,
        referred_at=moment_text(at),
        reason=reason,
    )
    for w in waiting:
        closed = {**w, "state": ReferralState.ESCALATED.value, "escalated_to": step.referral_id}
        closed.pop("region_code", None)
        writes.append(NodeWrite(NodeKind.REFERRAL, w["referral_id"], Referral(**closed).props()))
    writes.append(NodeWrite(NodeKind.REFERRAL, step.referral_id, step.props()))
    store.write_batch(WriteBatch(nodes=writes, source=f"referral {step.referral_id} to {to.value} by {by}"))
    return step.props()


def refer(
    store: GraphStore,
    household_id: str,
    *,
    level: str,
    by: str,
    reason: str,
    need_id: str | None = None,
    urgency: str | None = None,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Send ``household_id``'s case to ``level`` (village_window, township_station, district_centre).

    Examples
    --------
    >>> from queries.examples import load_two_cases
    >>> store = load_two_cases()
    >>> refer(store, "H-420203-0001", level="village_window", by="村干部 刘", reason="医疗费用负担重")["referral_id"]
    'REF-H-420203-0001-1'
    >>> up = refer(store, "H-420203-0001", level="township_station", by="村干部 刘", reason="政策救助后仍困难")
    >>> [(r["level"], r["state"]) for r in referrals(store, household_id="H-420203-0001")]
    [('village_window', 'escalated'), ('township_station', 'open')]
    """
    if not reason.strip():
        raise ValueError("a referral needs the reason")
    with store.exclusive():
        return _refer(store, household_id, level, by, reason, need_id, urgency, at)


def answer_referral(
    store: GraphStore, referral_id: str, *, by: str, response: str, resolved: bool, at: dt.datetime | None = None
) -> dict[str, Any]:
    """The level's answer to a waiting step: ``resolved`` closes the case; otherwise hardship
    remains and the step still goes up when the escalation rules say so."""
    if not response.strip():
        raise ValueError("an answer needs the response")
    with store.exclusive():
        props = store.get_node(NodeKind.REFERRAL, referral_id)
        if props is None:
            raise KeyError(f"no referral {referral_id}")
        step = Referral(**props)
        if step.state not in _WAITING:
            raise ValueError(f"referral {referral_id} is {step.state}: it cannot be answered")
        state = ReferralState.RESOLVED if resolved else ReferralState.ANSWERED
        update = {"state": state, "response": response, "responded_by": by, "responded_at": moment_text(at)}
        changed = step.model_copy(update=update)
        store.write_batch(
            WriteBatch(nodes=[NodeWrite(NodeKind.REFERRAL, referral_id, changed.props())], source=f"referral {referral_id} {state} by {by}")
        )
        return changed.props()


def escalate_due(store: GraphStore, rules: ReferralRules, *, by: str, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Send up every step due by ``rules`` at ``now`` (default: the clock); returns the new steps."""
    moment = now or dt.datetime.now(dt.UTC)
    with store.exclusive():
        return [
            _refer(store, step["household_id"], step["to"], by, step["why"], step.get("need_id"), step["urgency"], moment)
            for step in escalations_due(store, rules, now=moment)
        ]
