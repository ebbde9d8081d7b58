"""Change propagation: after an ingest changes a fact, which households' tiers, obligations and
warnings changed, and which facts changed with them.

``record_evaluation`` keeps each household's last evaluation as a TierRecord node (tier, benefit,
maintenance due, obligors, warning, and the fact lines the decision rests on); the store keeps
every earlier version in the node's history with its time. ``changes_since`` reads that history:
each entry since a time is a household whose result changed, with the facts added and removed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from graph.model import NodeKind

__all__ = ["SUMMARY", "Change", "changes_since", "warnings_over_time"]


#: What a TierRecord's history entry is compared on.
SUMMARY = ("tier", "per_capita_income", "benefit", "maintenance_due", "warned")


class Change(BaseModel):
    household_id: str
    at: str
    before: dict[str, Any]  # tier, benefit, maintenance_due, warned
    after: dict[str, Any]
    facts_added: list[str]
    facts_removed: list[str]
    obligors_added: list[str]
    obligors_removed: list[str]


def changes_since(store: Any, since: dt.datetime) -> list[Change]:
    """Every change of a household's TierRecord at or after ``since`` (UTC), oldest first.

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> import datetime as dt
    >>> from actions.evaluations import record_evaluation
    >>> from policy.config import load_policy
    >>> from policy.means_test import evaluate
    >>> from queries.examples import load_two_cases
    >>> from graph.model import NodeKind
    >>> from graph.store import NodeWrite, WriteBatch
    >>> store = load_two_cases()
    >>> _ = record_evaluation(store, evaluate(store, load_policy(), as_of=DAY), set())
    >>> start = dt.datetime.now(dt.UTC)
    >>> # The mother's job ends: (1,800 + 0) / 3 = 600 a head, below the rural standard of 666.
    >>> _ = store.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.INCOME, "INC-5", {"income_id": "INC-5", "period_end": "2026-05-31"})]))
    >>> _ = record_evaluation(store, evaluate(store, load_policy(), as_of=DAY), set())
    >>> [(c.household_id, c.before["tier"], c.after["tier"], c.facts_removed) for c in changes_since(store, start)]
    [('H-420203-0001', '防止返贫监测', '低保', ['income INC-5 420203197802041825 flexible_work 1200'])]
    """
    cutoff = since.astimezone(dt.UTC).isoformat()
    changes = []
    for entry in store.iter_history():
        if entry["kind"] != NodeKind.TIER_RECORD.value or entry["at"] < cutoff:
            continue
        before, after = entry["before"], entry["after"]
        changes.append(
            Change(
                household_id=entry["key"],
                at=entry["at"],
                before={k: before.get(k) for k in SUMMARY},
                after={k: after.get(k) for k in SUMMARY},
                facts_added=sorted(set(after.get("facts", [])) - set(before.get("facts", []))),
                facts_removed=sorted(set(before.get("facts", [])) - set(after.get("facts", []))),
                obligors_added=sorted(set(after.get("obligors", [])) - set(before.get("obligors", []))),
                obligors_removed=sorted(set(before.get("obligors", [])) - set(after.get("obligors", []))),
            )
        )
    return sorted(changes, key=lambda c: (c.at, c.household_id))


def warnings_over_time(store: Any) -> list[tuple[str, int]]:
    """How many households were on the warning list after each recorded evaluation that changed any.

    Replayed backwards from the current tier records through their history: ``(time, count)``,
    oldest first; the first point is the first evaluation recorded.

    Examples
    --------
    >>> from actions.evaluations import record_evaluation
    >>> from policy.config import load_policy
    >>> from policy.means_test import evaluate
    >>> from queries.examples import DAY, load_two_cases
    >>> store = load_two_cases()
    >>> _ = record_evaluation(store, evaluate(store, load_policy(), as_of=DAY), {"H-420203-0001"})
    >>> [count for _, count in warnings_over_time(store)]
    [1]
    """
    state = {r.key: bool(r.props.get("warned")) for r in store.iter_nodes(NodeKind.TIER_RECORD)}
    if not state:
        return []
    by_time: dict[str, list[dict[str, Any]]] = {}
    for entry in store.iter_history():
        if entry["kind"] == NodeKind.TIER_RECORD.value:
            by_time.setdefault(entry["at"], []).append(entry)
    points = []
    for at in sorted(by_time, reverse=True):
        points.append((at[:19].replace("T", " "), sum(state.values())))
        for entry in by_time[at]:
            state[entry["key"]] = bool(entry["before"].get("warned"))
    points.append(("first evaluation", sum(state.values())))
    return list(reversed(points))
