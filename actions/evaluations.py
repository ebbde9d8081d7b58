"""Keeping each household's last evaluation as a TierRecord node (tier, benefit, maintenance due,
obligors, warning, and the fact lines the decision rests on); the store keeps every earlier
version in the node's history with its time (``queries.changes`` reads it).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from actions.obligations import ObligationWriter
from graph.model import NodeKind, TierRecord
from graph.store import NodeWrite, WriteBatch, WriteResult
from policy.config import PolicyConfig
from policy.means_test import Evaluation
from policy.warnings import PushLine, push_line, warned_households

__all__ = ["Recorded", "record_evaluation", "record_parts"]


def record_evaluation(store: Any, evaluation: Evaluation, warned: set[str], *, by: str = "evaluate") -> dict[str, int]:
    """Write a TierRecord per household evaluated (only changed ones are rewritten); return the counts."""
    return _counts(_write_records(store, _records(evaluation), warned, _source(by, evaluation)))


@dataclass
class Recorded:
    """What ``record_parts`` did: the obligations and tier records written, as counts."""

    as_of: str
    policy: str
    obligations: dict[str, int]
    records: dict[str, int]


def record_parts(store: Any, parts: Iterable[Evaluation], policy: PolicyConfig, *, by: str = "evaluate") -> Recorded:
    """Write an evaluation given part by part (``policy.means_test.evaluate_in_parts``): each part's
    obligations as it comes, then every household's TierRecord, with the push list known.

    Whether a household is on the push list (``warned``) depends on every household's hardship, so
    the records wait for the last part: each part's records are kept in a temporary file meanwhile
    (an unnamed file where the system allows, readable by this user only, gone when closed), and
    only the push list's lines in memory; an evaluation of millions of households is never held
    whole. The records are written a part per batch, the removal of obligations no longer owed last.
    """
    obligations = ObligationWriter(store, by=by)
    lines: list[PushLine] = []
    written = WriteResult()
    as_of = name = ""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spill:
        for part in parts:
            as_of, name = part.as_of, part.policy
            obligations.write(part.obligations)
            lines.extend(push_line(d) for d in part.households)
            spill.write(json.dumps([_source(by, part), list(_records(part))], ensure_ascii=False) + "\n")
        warned = warned_households(lines, policy)
        del lines
        spill.seek(0)
        for line in spill:
            source, records = json.loads(line)
            written.add(_write_records(store, records, warned, source))
    return Recorded(as_of=as_of, policy=name, obligations=obligations.finish(), records=_counts(written))


def _records(evaluation: Evaluation) -> Iterator[tuple[str, dict[str, Any]]]:
    """(household id, TierRecord properties with ``warned`` false) of each household evaluated."""
    owed: dict[str, list[str]] = {}
    for o in evaluation.obligations:
        owed.setdefault(o.dependant_household, []).append(f"{o.obligor}: {o.monthly_amount:g}")
    for d in evaluation.households:
        record = TierRecord(
            household_id=d.household_id,
            tier=d.tier or "none",
            per_capita_income=d.per_capita_income,
            benefit=d.benefit if d.benefit is not None else 0.0,
            maintenance_due=d.maintenance_due,
            warned=False,
            hardship_index=d.hardship["index"],
            obligors=sorted(owed.get(d.household_id, [])),
            facts=d.facts,
            policy=evaluation.policy,
        )
        yield d.household_id, record.props()


def _write_records(store: Any, records: Iterable[tuple[str, dict[str, Any]]], warned: set[str], source: str) -> WriteResult:
    """Write records from ``_records`` in one batch, each marked warned if its household is in ``warned``."""
    nodes = [NodeWrite(NodeKind.TIER_RECORD, household, {**props, "warned": household in warned}) for household, props in records]
    return store.write_batch(WriteBatch(nodes=nodes, source=source))


def _source(by: str, evaluation: Evaluation) -> str:
    return f"{by} as of {evaluation.as_of} ({evaluation.policy})"


def _counts(result: WriteResult) -> dict[str, int]:
    kind = NodeKind.TIER_RECORD.value
    return {"created": result.created[kind], "updated": result.updated[kind], "unchanged": result.unchanged[kind]}
