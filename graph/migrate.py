"""Copy one store into another: how a pilot that began on the embedded engine moves to Neo4j.

>>> from graph.stores.embedded import EmbeddedStore
>>> source, target = EmbeddedStore.in_memory(), EmbeddedStore.in_memory()
>>> copy_store(source, target).nodes
0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from graph.model import NodeKind, RelKind
from graph.store import EdgeWrite, GraphStore, NodeWrite, WriteBatch

__all__ = ["CopyReport", "copy_store"]


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
