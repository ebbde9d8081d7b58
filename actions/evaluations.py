"""Keeping each household's last evaluation as a TierRecord node (tier, benefit, maintenance due,
obligors, warning, and the fact lines the decision rests on); the store keeps every earlier
version in the node's history with its time (``queries.changes`` reads it).
"""

from __future__ import annotations

from typing import Any

from graph.model import NodeKind, TierRecord
from graph.store import NodeWrite, WriteBatch
from policy.means_test import Evaluation

__all__ = ["record_evaluation"]


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
