"""Copy one store into another: how a pilot that began on the embedded engine moves to Neo4j, and
how a store of the former embedded engine (networkx and SQLite, format 2) moves to LadybugDB.

>>> from graph.stores.ladybug import LadybugStore
>>> source, target = LadybugStore.in_memory(), LadybugStore.in_memory()
>>> copy_store(source, target).nodes
0
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graph.model import NodeKind, RelKind, split_node_id
from graph.store import EdgeRecord, EdgeWrite, GraphCounts, GraphStore, NodeRecord, NodeWrite, StoreError, WriteBatch, history_entry

__all__ = ["CopyReport", "FormatTwoStore", "copy_store", "migrate_format_2"]


@dataclass
class CopyReport:
    nodes: int = 0
    edges: int = 0
    history: int = 0


def copy_store(
    source: GraphStore,
    target: GraphStore,
    *,
    batch_size: int = 5000,
    progress: Callable[[str, int], None] | None = None,
) -> CopyReport:
    """Write every node, then every relationship, then the history of ``source`` into ``target``.

    Idempotent like an ingest: copying twice changes nothing the second time. The target keeps
    whatever it held already (copy into an empty database to move a pilot).
    """
    report = CopyReport()
    batch = WriteBatch(source="copy")

    def flush(label: str) -> None:
        nonlocal batch
        if batch.nodes or batch.edges:
            target.write_batch(batch)
            if progress:
                progress(label, report.nodes + report.edges)
        batch = WriteBatch(source="copy")

    # All nodes first, so that every relationship finds both ends already written.
    for kind in NodeKind:
        for node in source.iter_nodes(kind):
            batch.nodes.append(NodeWrite(kind, node.key, node.props))
            report.nodes += 1
            if len(batch.nodes) >= batch_size:
                flush(kind.value)
        flush(kind.value)
    for rel in RelKind:
        for edge in source.iter_edges(rel):
            batch.edges.append(EdgeWrite(rel, edge.src_kind, edge.src_key, edge.dst_kind, edge.dst_key, edge.props))
            report.edges += 1
            if len(batch.edges) >= batch_size:
                flush(rel.value)
        flush(rel.value)
    entries = list(source.iter_history())
    target.append_history(entries)
    report.history = len(entries)
    return report


class FormatTwoStore:
    """A store of the former embedded engine read as it is, without networkx: its SQLite tables
    were logs (a node's or relationship's latest row is its state; a relationship's latest row
    without properties is a removal). Read-only; only what :func:`copy_store` reads."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / "graph.sqlite"
        if not self.path.is_file():
            raise StoreError(f"{folder} holds no store of the former embedded engine (no graph.sqlite)")
        try:
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            row = self._db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not an AidGraph store: {exc}") from None
        self.format = row[0] if row else None
        if self.format != "2":
            raise StoreError(
                f"{self.path} has store format {self.format!r}; only format 2 moves over (a format-1 store became format 2 "
                "when AidGraph 0.x last opened it: open it once with that version first)"
            )

    def iter_nodes(self, kind: NodeKind) -> Iterator[NodeRecord]:
        rows = self._db.execute(
            "SELECT key, props FROM (SELECT key, props, row_number() OVER (PARTITION BY key ORDER BY seq DESC) AS latest "
            "FROM nodes WHERE kind = ?) WHERE latest = 1 ORDER BY key",
            (kind.value,),
        )
        for key, props in rows:
            yield NodeRecord(kind, key, json.loads(props))

    def iter_edges(self, rel: RelKind) -> Iterator[EdgeRecord]:
        rows = self._db.execute(
            "SELECT src, dst, props FROM (SELECT src, dst, props, row_number() OVER (PARTITION BY src, dst ORDER BY seq DESC) AS latest "
            "FROM edges WHERE rel = ?) WHERE latest = 1 AND props IS NOT NULL ORDER BY src, dst",
            (rel.value,),
        )
        for src, dst, props in rows:
            (sk, skey), (dk, dkey) = split_node_id(src), split_node_id(dst)
            yield EdgeRecord(rel, sk, skey, dk, dkey, json.loads(props))

    def iter_history(self) -> Iterator[dict[str, Any]]:
        rows = self._db.execute("SELECT at, source, kind, key, before, after FROM history ORDER BY id")
        for row in rows:
            yield history_entry(*row)

    def counts(self) -> GraphCounts:
        nodes = Counter({k.value: 0 for k in NodeKind})
        edges = Counter({r.value: 0 for r in RelKind})
        for kind in NodeKind:
            nodes[kind.value] = sum(1 for _ in self.iter_nodes(kind))
        for rel in RelKind:
            edges[rel.value] = sum(1 for _ in self.iter_edges(rel))
        return GraphCounts(nodes=dict(nodes), edges=dict(edges))

    def close(self) -> None:
        self._db.close()


def migrate_format_2(old: str | Path, target: GraphStore, *, progress: Callable[[str, int], None] | None = None) -> CopyReport:
    """Copy the format-2 store in the folder ``old`` into ``target`` (empty) and check the counts.

    Raises StoreError if ``target`` holds data already, or if the counts differ after the copy.
    """
    source = FormatTwoStore(old)
    try:
        if any(target.counts().nodes.values()):
            raise StoreError("the new store is not empty: move a store into a new folder")
        report = copy_store(source, target, progress=progress)  # type: ignore[arg-type]
        expected, got = source.counts(), target.counts()
        if expected != got:
            differ = [k for k in expected.nodes if expected.nodes[k] != got.nodes[k]] + [
                r for r in expected.edges if expected.edges[r] != got.edges[r]
            ]
            raise StoreError(f"the counts differ after the copy ({', '.join(differ)}): the old store is left as it was")
        return report
    finally:
        source.close()
