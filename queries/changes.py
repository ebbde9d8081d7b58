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

from graph.model import NodeKind, TierRecord
from graph.store import NodeWrite, WriteBatch
from queries.means_test import Evaluation

__all__ = ["Change", "changes_since", "record_evaluation", "warnings_over_time"]


class Change(BaseModel):
    household_id: str
    at: str
    before: dict[str, Any]  # tier, benefit, maintenance_due, warned
    after: dict[str, Any]
    facts_added: list[str]
    facts_removed: list[str]
    obligors_added: list[str]
    obligors_removed: list[str]


_SUMMARY = ("tier", "per_capita_income", "benefit", "maintenance_due", "warned")


def record_evaluation(store: Any, evaluation: Evaluation, warned: set[str], *, by: str = "evaluate") -> dict[str, int]:
    """Write a TierRecord per household evaluated (only changed ones are rewritten); return the counts."""
    owed: dict[str, list[str]] = {}
    for o in evaluation.obligations:
        owed.setdefault(o.dependant_household, []).append(f"{o.obligor}: {o.monthly_amount:g}")
    nodes = []
    for d in evaluation.households:
        record = TierRecord(
            household_id=d.household_id,
            tier=d.tier or "none",
            per_capita_income=d.per_capita_income,
            benefit=d.benefit if d.benefit is not None else 0.0,
            maintenance_due=d.maintenance_due,
            warned=d.household_id in warned,
            hardship_index=d.hardship["index"],
            obligors=sorted(owed.get(d.household_id, [])),
            facts=d.facts,
            policy=evaluation.policy,
        )
        nodes.append(NodeWrite(NodeKind.TIER_RECORD, d.household_id, record.props()))
    result = store.write_batch(WriteBatch(nodes=nodes, source=f"{by} as of {evaluation.as_of} ({evaluation.policy})"))
    kind = NodeKind.TIER_RECORD.value
    return {"created": result.created[kind], "updated": result.updated[kind], "unchanged": result.unchanged[kind]}


def changes_since(store: Any, since: dt.datetime) -> list[Change]:
    """Every change of a household's TierRecord at or after ``since`` (UTC), oldest first."""
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
                before={k: before.get(k) for k in _SUMMARY},
                after={k: after.get(k) for k in _SUMMARY},
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
