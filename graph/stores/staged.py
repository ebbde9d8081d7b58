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
        self._once: frozenset[NodeKind] = frozenset()
        # KIN alone comes from rows that make no node: a pair repeated is checked here. A pair is
        # kept as one text ("A\0B"; keys are codes, without control characters) and its properties'
        # hash as one shared int: 6.8M pairs at the prefecture.
        self._kin: dict[str, int] = {}
        self._kin_props: dict[int, int] = {}
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

    def given_once(self, kinds: frozenset[NodeKind]) -> None:
        """Declare ``kinds`` as given once each, every relationship at such a node in the node's
        own batch (the loader's aid records, incomes, assets and services: a file's keys are checked
        there, and no other row names one). Their keys are not kept (17.6M aid records at the
        prefecture); a relationship whose end is of such a kind must find the node in its batch.

        >>> from graph.store import EdgeWrite, NodeWrite
        >>> class Counted(StagedLoad):
        ...     def _add_node(self, kind, props): pass
        ...     def _add_edge(self, rel, src_kind, src_key, dst_kind, dst_key, props): pass
        >>> stage = Counted()
        >>> stage.given_once(frozenset({NodeKind.INCOME}))
        >>> person = NodeWrite(NodeKind.PERSON, "P1", {"id_number": "P1"})
        >>> income = NodeWrite(NodeKind.INCOME, "I1", {"income_id": "I1"})
        >>> has = EdgeWrite(RelKind.HAS_INCOME, NodeKind.PERSON, "P1", NodeKind.INCOME, "I1", {})
        >>> stage.write_batch(WriteBatch(nodes=[person, income], edges=[has])).created
        Counter({'Person': 1, 'Income': 1, 'HAS_INCOME': 1})
        >>> stage.write_batch(WriteBatch(edges=[has]))
        Traceback (most recent call last):
        ...
        graph.store.StoreError: HAS_INCOME from Person P1 to Income I1: no Income I1 in its batch (Income is given once, with its relationships)
        """
        self._once = kinds

    def write_batch(self, batch: WriteBatch) -> WriteResult:
        if self._closed:
            raise StoreError("this first load's stage is closed: it takes no more batches", question="write_batch")
        result = WriteResult()
        in_batch: set[tuple[NodeKind, str]] = set()  # the nodes of kinds given once, in this batch
        for w in batch.nodes:
            if w.kind in self._once:
                in_batch.add((w.kind, w.key))
                self._add_node(w.kind, w.props)
                result.created[w.kind._value_] += 1
                self.nodes[w.kind._value_] += 1
                continue
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
                if end_kind in self._once:
                    if (end_kind, key) not in in_batch:
                        raise StoreError(
                            f"{e.rel.value} from {e.src_kind.value} {e.src_key} to {e.dst_kind.value} {e.dst_key}: no {end_kind.value} "
                            f"{key} in its batch ({end_kind.value} is given once, with its relationships)",
                            question="write_batch",
                        )
                elif key not in self._keys[end_kind]:
                    raise StoreError(
                        f"{e.rel.value} from {e.src_kind.value} {e.src_key} to {e.dst_kind.value} {e.dst_key}: no {end_kind.value} {key}",
                        question="write_batch",
                    )
            if e.rel is RelKind.KIN:
                pair = f"{e.src_key}\0{e.dst_key}"
                props = hash(tuple(sorted((k, str(v)) for k, v in e.props.items() if v is not None)))
                props = self._kin_props.setdefault(props, props)
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
        self._kin, self._kin_props = {}, {}
        self._closed = True

    def abandon(self) -> None:
        """Load nothing of what was staged (the caller loads the folder another way)."""
        self.abandoned = True
