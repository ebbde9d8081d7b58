"""A first load staged for an engine's bulk loader instead of written batch by batch.

The loader validates a folder exactly as for a transactional ingest (same rows rejected, same
report); a :class:`StagedLoad` stands in for the empty store meanwhile and hands each node and
relationship of its batches to the engine's files: LadybugDB's ``COPY`` (Parquet, see
``graph.stores.ladybug``) or Neo4j's import tool (CSV, see ``ingest.neo4j_import``).

A first load takes each node once. The loader already rejects a key repeated in a file; a person
named by a later feed before its own row is a stub that the row completes (``create_only``); a
node that still reaches the stage twice, or a kinship pair given twice with different properties,
raises :class:`RepeatedNode` before anything is loaded.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from graph.model import NodeKind, RelKind
from graph.store import StoreError, WriteBatch, WriteResult

__all__ = ["RepeatedNode", "StagedLoad"]


class RepeatedNode(StoreError):
    """A node given twice in one first load (the transactional ingest merges the two)."""


class StagedLoad:
    """A write-only stand-in for an empty store: the loader's batches go to ``_add_node`` and
    ``_add_edge`` of a subclass; the keys staged so far answer the loader's questions.

    >>> class Counted(StagedLoad):
    ...     def _add_node(self, kind, props): pass
    ...     def _add_edge(self, rel, src_kind, src_key, dst_kind, dst_key, props): pass
    >>> from graph.store import NodeWrite, EdgeWrite
    >>> stage = Counted()
    >>> _ = stage.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.PROGRAM, "DIBAO", {"program_code": "DIBAO"})]))
    >>> stage.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.PROGRAM, "DIBAO", {"program_code": "DIBAO"})]))
    Traceback (most recent call last):
    ...
    graph.stores.staged.RepeatedNode: Program DIBAO is given twice in this load (); a first load takes each node once
    """

    engine = "staged"

    def __init__(self) -> None:
        self._keys: dict[NodeKind, set[str]] = {kind: set() for kind in NodeKind}
        # KIN alone comes from rows that make no node: a pair repeated is checked here.
        self._kin: dict[tuple[str, str], int] = {}
        self._regions: dict[str, dict[str, Any]] = {}
        self.nodes: Counter = Counter()
        self.relationships: Counter = Counter()
        self.abandoned = False
        self._closed = False

    # -- what the loader asks ------------------------------------------------------------------

    def existing_keys(self, kind: NodeKind, keys: Any) -> set[str]:
        return set()  # the store is empty; the loader remembers what this load accepted

    def get_nodes(self, kind: NodeKind, keys: Any) -> dict[str, dict[str, Any]]:
        if kind is not NodeKind.REGION:
            raise StoreError(f"a first load cannot read back {kind.value} nodes", question="write_batch")
        return {k: self._regions[k] for k in keys if k in self._regions}

    def write_batch(self, batch: WriteBatch) -> WriteResult:
        if self._closed:
            raise StoreError("this first load's stage is closed: it takes no more batches", question="write_batch")
        result = WriteResult()
        for w in batch.nodes:
            seen = self._keys[w.kind]
            if w.key in seen:
                if w.create_only:
                    result.unchanged[w.kind._value_] += 1
                    continue
                raise RepeatedNode(
                    f"{w.kind.value} {w.key} is given twice in this load ({batch.source}); a first load takes each node once",
                    question="write_batch",
                )
            seen.add(w.key)
            self._add_node(w.kind, w.props)
            if w.kind is NodeKind.REGION:
                self._regions[w.key] = dict(w.props)
            result.created[w.kind._value_] += 1
            self.nodes[w.kind._value_] += 1
        for e in batch.edges:
            for end_kind, key in ((e.src_kind, e.src_key), (e.dst_kind, e.dst_key)):
                if key not in self._keys[end_kind]:
                    raise StoreError(
                        f"{e.rel.value} from {e.src_kind.value} {e.src_key} to {e.dst_kind.value} {e.dst_key}: no {end_kind.value} {key}",
                        question="write_batch",
                    )
            if e.rel is RelKind.KIN:
                pair, props = (e.src_key, e.dst_key), hash(tuple(sorted((k, str(v)) for k, v in e.props.items() if v is not None)))
                if pair in self._kin:
                    if self._kin[pair] != props:
                        raise RepeatedNode(
                            f"KIN from Person {e.src_key} to Person {e.dst_key} is given twice with different properties "
                            f"({batch.source}); a first load takes each relationship once",
                            question="write_batch",
                        )
                    result.unchanged[e.rel._value_] += 1
                    continue
                self._kin[pair] = props
            self._add_edge(e.rel, e.src_kind, e.src_key, e.dst_kind, e.dst_key, e.props)
            result.created[e.rel._value_] += 1
            self.relationships[e.rel._value_] += 1
        return result

    # -- what a subclass writes ----------------------------------------------------------------

    def _add_node(self, kind: NodeKind, props: dict[str, Any]) -> None:
        raise NotImplementedError

    def _add_edge(self, rel: RelKind, src_kind: NodeKind, src_key: str, dst_kind: NodeKind, dst_key: str, props: dict[str, Any]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the staged files (the load itself is the engine's) and let go of the keys staged:
        a closed stage takes no more batches, and at a million people the keys are a gigabyte that
        the engine's load should not find still held."""
        self._keys = {kind: set() for kind in NodeKind}
        self._kin = {}
        self._closed = True

    def abandon(self) -> None:
        """Load nothing of what was staged (the caller loads the folder another way)."""
        self.abandoned = True
