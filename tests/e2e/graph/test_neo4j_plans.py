"""The Neo4j write path finds nodes by a seek of their key's index.

Neo4j plans a query text once and keeps the plan while the counts it saw stay roughly true. In a
first ingest of 100k people, batch queries planned while a label was small *scanned* the label's
index for each of a batch's 5,000 rows (PROFILE: 50 million index entries read for one batch); a
plain ``USING INDEX`` hint is met by such a scan too, so the write path now says ``USING INDEX
SEEK``. The statistics of that moment of a load are not reproduced here (on an empty or a small
database the planner seeks even without the hint); what this test holds is that every query the
write path sends, in all its forms (create, update, remove), plans to seeks and no scan on an empty
database with batch-sized parameters. The bench measures the rest (Neo4j ingest at 100k people:
109 s before, 43 s after, on a fresh server).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import graph.stores.neo4j as neo4j_engine
from graph.model import NodeKind, RelKind
from graph.store import EdgeWrite, WriteBatch
from graph.stores.neo4j import Neo4jStore
from ingest.loader import ingest_folder
from ingest.synthetic import generate_prefecture

pytestmark = pytest.mark.neo4j

SCANS = {"NodeIndexScan", "NodeUniqueIndexScan", "NodeByLabelScan", "AllNodesScan", "DirectedRelationshipTypeScan"}


class _Recording:
    """A transaction that notes the text of every query run through it."""

    def __init__(self, tx: Any, seen: set[str]):
        self.tx, self.seen = tx, seen

    def run(self, query: str, **params: Any) -> Any:
        self.seen.add(query)
        return self.tx.run(query, **params)


def _operators(plan: dict[str, Any]) -> list[str]:
    found = [plan["operatorType"].split("@")[0]]
    for child in plan.get("children", []):
        found += _operators(child)
    return found


def test_every_write_path_query_seeks_by_key_on_an_empty_database(
    neo4j_store: Neo4jStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: set[str] = set()
    prefetched, carry_out = neo4j_engine._prefetched, neo4j_engine._carry_out
    monkeypatch.setattr(neo4j_engine, "_prefetched", lambda tx, batch: prefetched(_Recording(tx, seen), batch))
    monkeypatch.setattr(neo4j_engine, "_carry_out", lambda tx, plan, source: carry_out(_Recording(tx, seen), plan, source))
    generate_prefecture(households=60, seed=5, out=tmp_path / "p")
    assert ingest_folder(neo4j_store, tmp_path / "p", batch_size=50).ok
    # Then updates: a second prefecture over the first (nodes MERGEd), a membership's properties
    # changed (a relationship MERGEd) and a person moved to another household (one DELETEd).
    generate_prefecture(households=60, seed=6, out=tmp_path / "q")
    assert ingest_folder(neo4j_store, tmp_path / "q", batch_size=50).ok
    memberships = list(neo4j_store.iter_edges(RelKind.MEMBER_OF))
    first = memberships[0]
    second = next(m for m in memberships if m.dst_key != first.dst_key)
    neo4j_store.write_batch(
        WriteBatch(
            edges=[
                EdgeWrite(
                    RelKind.MEMBER_OF,
                    NodeKind.PERSON,
                    first.src_key,
                    NodeKind.HOUSEHOLD,
                    first.dst_key,
                    {**first.props, "relation_to_head": "other"},
                ),
                EdgeWrite(RelKind.MEMBER_OF, NodeKind.PERSON, second.src_key, NodeKind.HOUSEHOLD, first.dst_key, second.props),
            ]
        )
    )
    lookups = sorted(q for q in seen if q.startswith("UNWIND") and "MATCH" in q)
    assert len(lookups) >= 20, "the recording missed the write path's queries"
    for form in (" CREATE (a)-", " MERGE (a)-", " DELETE r"):
        assert any(form in q for q in lookups), form

    neo4j_store.clear()
    keys = [f"K{i}" for i in range(5000)]
    pairs = [{"s": k, "d": k} for k in keys]
    rows = [{"s": k, "d": k, "key": k, "props": {}} for k in keys]
    with neo4j_store._session() as session:
        for query in lookups:
            # Lists of a batch's size: the planner caches plans per size bucket of list parameters.
            summary = session.run("EXPLAIN " + query, keys=keys, pairs=pairs, rows=rows).consume()
            operators = _operators(summary.plan)
            assert not SCANS & set(operators), f"{query}\nplanned as {operators}"
            assert any("Seek" in op for op in operators), f"{query}\nplanned as {operators}"
