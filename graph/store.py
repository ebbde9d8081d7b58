"""The store interface every engine implements, and the one error every engine raises.

A store writes nodes and relationships in batches, reads them back and runs registered
questions (``queries/``). It knows nothing of duplicates or tiers.

>>> from graph.stores.ladybug import LadybugStore
>>> store = LadybugStore.in_memory()
>>> _ = store.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.DEPARTMENT, "MZ", {"department_code": "MZ", "name": "民政局"})]))
>>> store.get_node(NodeKind.DEPARTMENT, "MZ")["name"]
'民政局'
"""

from __future__ import annotations

import abc
import gc
import json
import os
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from graph.model import NODE_PROPS, REL_ENDPOINTS, REL_PROPS, REL_UNIQUE_END, NodeKind, RelKind

__all__ = [
    "EdgeRecord",
    "EdgeWrite",
    "GraphCounts",
    "GraphStore",
    "NodeRecord",
    "NodeWrite",
    "PrefetchedState",
    "StoreError",
    "Subgraph",
    "WriteBatch",
    "WriteResult",
    "bulk_load",
    "fsync_path",
]


def fsync_path(path: os.PathLike[str] | str) -> None:
    """Write a file's data, or a folder's entries (a rename in it), to disk.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     fsync_path(d)
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_BULK_LOADS = {"depth": 0, "saved": gc.get_threshold()}
_BULK_LOADS_LOCK = threading.Lock()


@contextmanager
def bulk_load() -> Iterator[None]:
    """Hold off Python's full garbage collections while millions of long-lived objects are made:
    an ingest, which holds every key it accepted, and a whole store's facts and tier decisions.

    A full collection walks every object alive, so with millions of them it costs a share of the
    work that grows with the store (docs/performance.md). Young collections still run, less often,
    so the short-lived cycles a driver makes are still freed (with none at all, a Neo4j ingest held
    them by the gigabyte). Nested and concurrent uses share one setting; the last to finish restores
    the thresholds it found. Only for work over a whole store or folder: a server's many small
    requests, overlapping, would otherwise hold the setting for as long as they kept coming.

    >>> with bulk_load():
    ...     gc.get_threshold()[2] > 1000
    True
    """
    with _BULK_LOADS_LOCK:
        if _BULK_LOADS["depth"] == 0:
            _BULK_LOADS["saved"] = gc.get_threshold()
            gc.set_threshold(50_000, 20, 1_000_000)
        _BULK_LOADS["depth"] += 1
    try:
        yield
    finally:
        with _BULK_LOADS_LOCK:
            _BULK_LOADS["depth"] -= 1
            if _BULK_LOADS["depth"] == 0:
                gc.set_threshold(*_BULK_LOADS["saved"])


class StoreError(RuntimeError):
    """Any engine failure, re-raised with the question (or operation) and its parameters.

    The message is one line a user can act on; passwords never appear in it.
    """

    def __init__(self, message: str, *, question: str | None = None, params: dict | None = None):
        super().__init__(message)
        self.question = question
        self.params = params or {}


# Write requests are made by the million in an ingest: plain slotted classes (a frozen
# dataclass's __init__ sets each field through object.__setattr__, three times as slow).
@dataclass(slots=True)
class NodeWrite:
    """Create or update one node. ``create_only`` leaves an existing node untouched: a department
    feed naming a person must not overwrite what the register says of them."""

    kind: NodeKind
    key: str
    props: dict[str, Any]
    create_only: bool = False


@dataclass(slots=True)
class EdgeWrite:
    """Create or update one relationship ``(src)-[rel]->(dst)``; both ends must exist."""

    rel: RelKind
    src_kind: NodeKind
    src_key: str
    dst_kind: NodeKind
    dst_key: str
    props: dict[str, Any] = field(default_factory=dict)


@dataclass
class WriteBatch:
    """Nodes and relationships written in one transaction: all of it lands, or none of it."""

    nodes: list[NodeWrite] = field(default_factory=list)
    edges: list[EdgeWrite] = field(default_factory=list)
    source: str = ""  # recorded in the history of updated nodes (file and ingest id)
    #: Relationships to delete (existing ones: derived relationships recomputed, e.g. obligations).
    removed_edges: list[EdgeWrite] = field(default_factory=list)
    #: The writes' property dicts are the store's to keep as they are: made for this batch, not
    #: used by the caller after it, and without empty (None) values (an ingest's rows). The store
    #: then keeps them instead of a cleaned copy of each.
    hands_over_props: bool = False


@dataclass
class WriteResult:
    """What a batch changed, counted by node kind or relationship type."""

    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    removed: Counter = field(default_factory=Counter)

    def add(self, other: WriteResult) -> None:
        self.created.update(other.created)
        self.updated.update(other.updated)
        self.unchanged.update(other.unchanged)
        self.removed.update(other.removed)


@dataclass(frozen=True)
class NodeRecord:
    kind: NodeKind
    key: str
    props: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "key": self.key, "props": self.props}


@dataclass(frozen=True)
class EdgeRecord:
    rel: RelKind
    src_kind: NodeKind
    src_key: str
    dst_kind: NodeKind
    dst_key: str
    props: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rel": self.rel.value,
            "src": f"{self.src_kind.value}:{self.src_key}",
            "dst": f"{self.dst_kind.value}:{self.dst_key}",
            "props": self.props,
        }


@dataclass(frozen=True)
class Subgraph:
    """Nodes and relationships, sorted so that two engines' answers compare equal."""

    nodes: list[NodeRecord]
    edges: list[EdgeRecord]

    def as_dict(self) -> dict[str, Any]:
        return {"nodes": [n.as_dict() for n in self.nodes], "edges": [e.as_dict() for e in self.edges]}


@dataclass(frozen=True)
class GraphCounts:
    """Counts by node kind and by relationship type (kinds with none are listed with 0)."""

    nodes: dict[str, int]
    edges: dict[str, int]


def sort_subgraph(nodes: Iterable[NodeRecord], edges: Iterable[EdgeRecord]) -> Subgraph:
    """Order explicitly (kind, key; type, ends) so both engines give the same answer."""
    return Subgraph(
        nodes=sorted(nodes, key=lambda n: (n.kind.value, n.key)),
        edges=sorted(
            edges,
            key=lambda e: (e.rel.value, e.src_kind.value, e.src_key, e.dst_kind.value, e.dst_key),
        ),
    )


#: A relationship's identity: (type, source kind, source key, target kind, target key).
EdgeKey = tuple[RelKind, NodeKind, str, NodeKind, str]


class CurrentState(Protocol):
    """What an engine answers about the committed graph so a batch can be planned."""

    def node(self, kind: NodeKind, key: str) -> dict[str, Any] | None: ...

    def exists(self, kind: NodeKind, key: str) -> bool:
        """The node is stored (asked of a relationship's ends, whose properties the plan does not need)."""
        ...

    def edge(self, edge: EdgeKey) -> dict[str, Any] | None: ...

    def others_at_unique_end(self, edge: EdgeKey, end: Literal["src", "dst"]) -> list[EdgeKey]:
        """Relationships of the same type at ``end`` of ``edge`` that are not ``edge`` itself."""
        ...


@dataclass
class BatchPlan:
    """What a batch will write: final properties of created or updated nodes and relationships,
    relationships to remove, history entries, and the counts. Engines only carry it out."""

    nodes: dict[tuple[NodeKind, str], dict[str, Any]] = field(default_factory=dict)
    history: list[tuple[NodeKind, str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    edges: dict[EdgeKey, dict[str, Any]] = field(default_factory=dict)
    removals: set[EdgeKey] = field(default_factory=set)
    result: WriteResult = field(default_factory=WriteResult)
    #: Which of ``nodes`` and ``edges`` the store does not hold yet (an engine may create them
    #: without looking for them first).
    new_nodes: set[tuple[NodeKind, str]] = field(default_factory=set)
    new_edges: set[EdgeKey] = field(default_factory=set)


class PrefetchedState:
    """The committed state a batch needs, read in bulk (a few queries per node kind and
    relationship type, never one per row) by an engine's three readers, inside its write
    transaction:

    - ``read_nodes(kind, keys)``: ``(key, props)`` of those of ``keys`` stored;
    - ``read_edges(rel, src_kind, dst_kind, pairs)``: ``(src_key, dst_key, props)`` of those of the
      ``(src_key, dst_key)`` pairs stored;
    - ``read_neighbours(rel, src_kind, dst_kind, end, keys)``: ``(key, kind, other_key)`` for every
      ``rel`` at ``end`` ("src" or "dst") of the nodes ``keys``.
    """

    def __init__(
        self,
        batch: WriteBatch,
        read_nodes: Callable[[NodeKind, list[str]], Iterable[tuple[str, dict[str, Any]]]],
        read_edges: Callable[[RelKind, NodeKind, NodeKind, list[tuple[str, str]]], Iterable[tuple[str, str, dict[str, Any]]]],
        read_neighbours: Callable[[RelKind, NodeKind, NodeKind, str, list[str]], Iterable[tuple[str, NodeKind, str]]],
    ):
        self.nodes: dict[tuple[NodeKind, str], dict[str, Any]] = {}
        self.edges: dict[EdgeKey, dict[str, Any]] = {}
        self.others: dict[tuple[EdgeKey, str], list[EdgeKey]] = {}
        keys_by_kind: dict[NodeKind, set[str]] = defaultdict(set)
        for w in batch.nodes:
            keys_by_kind[w.kind].add(w.key)
        # A relationship's ends outside the batch are not read at all (see exists()).
        groups: dict[tuple[RelKind, NodeKind, NodeKind], list[EdgeKey]] = defaultdict(list)
        for e in batch.edges:
            groups[(e.rel, e.src_kind, e.dst_kind)].append((e.rel, e.src_kind, e.src_key, e.dst_kind, e.dst_key))
        for kind, keys in keys_by_kind.items():
            for key, props in read_nodes(kind, sorted(keys)):
                self.nodes[(kind, key)] = props
        # A node the batch brings that the store lacks has no relationships yet: on a first load
        # (every aid record new) that spares a read per relationship.
        absent = {(kind, key) for kind, keys in keys_by_kind.items() for key in keys if (kind, key) not in self.nodes}
        for (rel, sk, dk), edges in groups.items():
            pairs = [(e[2], e[4]) for e in edges if (sk, e[2]) not in absent and (dk, e[4]) not in absent]
            if pairs:
                for skey, dkey, props in read_edges(rel, sk, dk, pairs):
                    self.edges[(rel, sk, skey, dk, dkey)] = props
            end = REL_UNIQUE_END[rel]
            at_end = [e for e in edges if ((sk, e[2]) if end == "src" else (dk, e[4])) not in absent] if end else []
            if not at_end:
                continue
            keys = sorted({e[2] if end == "src" else e[4] for e in at_end})
            neighbours: dict[str, list[tuple[NodeKind, str]]] = defaultdict(list)
            for key, kind, other in read_neighbours(rel, sk, dk, end, keys):
                neighbours[key].append((kind, other))
            for e in at_end:
                if end == "src":
                    found = [(rel, sk, e[2], k, key) for k, key in neighbours.get(e[2], [])]
                else:
                    found = [(rel, k, key, dk, e[4]) for k, key in neighbours.get(e[4], [])]
                self.others[(e, end)] = [f for f in found if f != e]

    def node(self, kind: NodeKind, key: str) -> dict[str, Any] | None:
        return self.nodes.get((kind, key))

    def exists(self, kind: NodeKind, key: str) -> bool:
        # Ends outside the batch are not asked for here: the engine's write matches both ends of
        # every relationship, counts what it wrote, and names a missing end then
        # (missing_end_of_rows). Asking first was a tenth of a first load's time on Neo4j.
        return True

    def edge(self, edge: EdgeKey) -> dict[str, Any] | None:
        return self.edges.get(edge)

    def others_at_unique_end(self, edge: EdgeKey, end: Literal["src", "dst"]) -> list[EdgeKey]:
        return self.others.get((edge, end), [])


def missing_end_of_rows(
    rel: RelKind, sk: NodeKind, dk: NodeKind, pairs: list[tuple[str, str]], existing_keys: Callable[[NodeKind, list[str]], set[str]]
) -> str:
    """The message for a write of ``rel`` relationships (``pairs`` of keys) that matched fewer ends
    than it was given, naming the first missing end as the planner does."""
    missing: set[tuple[NodeKind, str]] = set()
    for kind, keys in ((sk, sorted({p[0] for p in pairs})), (dk, sorted({p[1] for p in pairs}))):
        found = existing_keys(kind, keys)
        missing.update((kind, k) for k in keys if k not in found)
    for skey, dkey in pairs:
        for end in ((sk, skey), (dk, dkey)):
            if end in missing:
                return missing_end_message(rel, sk, skey, dk, dkey, end)
    return f"{rel.value}: a relationship lost an end during the write"


def history_entry(at: str, source: str, kind: str, key: str, before: str | None, after: str) -> dict[str, Any]:
    """A history entry from its stored form (``before`` and ``after`` as JSON text).

    >>> history_entry("t", "f", "Person", "P1", None, '{"name": "甲"}')["after"]
    {'name': '甲'}
    """
    return {
        "at": at,
        "source": source,
        "kind": kind,
        "key": key,
        "before": json.loads(before) if before else None,
        "after": json.loads(after),
    }


def clean_props(props: dict[str, Any]) -> dict[str, Any]:
    """An empty value means "not known": it never erases what is known. Always a copy: the
    caller's dict is not stored.

    >>> clean_props({"name": "甲", "phone": None})
    {'name': '甲'}
    """
    # Rows from an ingest come without empty values (their models leave them out): a plain copy,
    # in C, instead of a comprehension per node and relationship.
    if None in props.values():
        return {k: v for k, v in props.items() if v is not None}
    return dict(props)


def _as_handed_over(props: dict[str, Any]) -> dict[str, Any]:
    return props


def missing_end_message(rel: RelKind, sk: NodeKind, skey: str, dk: NodeKind, dkey: str, missing: tuple[NodeKind, str]) -> str:
    """What both engines say of a relationship whose end ``missing`` does not exist.

    >>> missing_end_message(RelKind.MEMBER_OF, NodeKind.PERSON, "P1", NodeKind.HOUSEHOLD, "H9", (NodeKind.HOUSEHOLD, "H9"))
    'MEMBER_OF from Person:P1 to Household:H9: Household:H9 does not exist'
    """
    return f"{rel.value} from {sk.value}:{skey} to {dk.value}:{dkey}: {missing[0].value}:{missing[1]} does not exist"


def _kinds(kinds: frozenset[NodeKind]) -> str:
    return " or ".join(sorted(k.value for k in kinds))


def _check_model(batch: WriteBatch) -> None:
    """What the model does not hold is refused the same way by every engine (LadybugDB's schema
    would refuse it; Neo4j would keep it): a property a kind does not have, a relationship between
    kinds it does not join."""
    for w in batch.nodes:
        allowed = NODE_PROPS[w.kind]
        if not w.props.keys() <= allowed:
            unknown = ", ".join(sorted(w.props.keys() - allowed))
            raise StoreError(
                f"{w.kind.value}:{w.key} has no property {unknown}; known: {', '.join(sorted(allowed))}", question="write_batch"
            )
    for e in (*batch.edges, *batch.removed_edges):
        sources, targets = REL_ENDPOINTS[e.rel]
        if e.src_kind not in sources or e.dst_kind not in targets:
            raise StoreError(
                f"{e.rel.value} joins {_kinds(sources)} to {_kinds(targets)}, not {e.src_kind.value} to {e.dst_kind.value}",
                question="write_batch",
            )
        if e.props and not e.props.keys() <= REL_PROPS.get(e.rel, {}).keys():
            unknown = ", ".join(sorted(e.props.keys() - REL_PROPS.get(e.rel, {}).keys()))
            raise StoreError(
                f"{e.rel.value} from {e.src_kind.value}:{e.src_key} to {e.dst_kind.value}:{e.dst_key} has no property {unknown}",
                question="write_batch",
            )


def plan_batch(batch: WriteBatch, state: CurrentState) -> BatchPlan:
    """Decide what ``batch`` changes against the committed ``state``: one rule for every engine,
    so that both count and write the same.

    Raises StoreError naming the relationship if one of its ends exists neither in the store nor
    in the batch.
    """
    _check_model(batch)
    plan = BatchPlan()
    result = plan.result
    clean = _as_handed_over if batch.hands_over_props else clean_props
    # (Counters keyed by ``._value_``: the plain string; ``.value`` is a property, a call per row.)
    for w in batch.nodes:
        ident = (w.kind, w.key)
        props = clean(w.props)
        planned = plan.nodes.get(ident)
        current = planned if planned is not None else state.node(w.kind, w.key)
        if current is None:
            plan.nodes[ident] = props
            plan.new_nodes.add(ident)
            result.created[w.kind._value_] += 1
            continue
        merged = {**current, **props}
        if w.create_only or merged == current:
            result.unchanged[w.kind._value_] += 1
            continue
        if planned is None:
            plan.history.append((w.kind, w.key, current, merged))
        plan.nodes[ident] = merged
        result.updated[w.kind._value_] += 1

    # A node this batch creates has no committed relationships: nothing to look up at that end
    # (on a first load that is every record's end, and these lookups were most of the planning).
    new_nodes = plan.new_nodes
    stored_ends: set[tuple[NodeKind, str]] = set()  # asked once a batch: a programme ends thousands
    for e in batch.edges:
        edge: EdgeKey = (e.rel, e.src_kind, e.src_key, e.dst_kind, e.dst_key)
        src, dst = (e.src_kind, e.src_key), (e.dst_kind, e.dst_key)
        for end in (src, dst):
            if end in plan.nodes or end in stored_ends:
                continue
            if state.exists(*end):
                stored_ends.add(end)
            else:
                raise StoreError(missing_end_message(e.rel, e.src_kind, e.src_key, e.dst_kind, e.dst_key, end), question="write_batch")
        unique = REL_UNIQUE_END[e.rel]
        if unique is not None and (src if unique == "src" else dst) not in new_nodes:
            plan.removals.update(state.others_at_unique_end(edge, unique))
        props = clean(e.props)
        current = plan.edges.get(edge)
        if current is None and src not in new_nodes and dst not in new_nodes:
            current = state.edge(edge)
        if current is None:
            plan.edges[edge] = props
            plan.new_edges.add(edge)
            result.created[e.rel._value_] += 1
            continue
        merged = {**current, **props}
        if merged == current:
            result.unchanged[e.rel._value_] += 1
        else:
            plan.edges[edge] = merged
            result.updated[e.rel._value_] += 1
    plan.removals.update((e.rel, e.src_kind, e.src_key, e.dst_kind, e.dst_key) for e in batch.removed_edges)
    plan.removals -= set(plan.edges)
    for removed in plan.removals:
        result.removed[removed[0].value] += 1
    return plan


_LOCK_FOR_LOCKS = threading.Lock()


class GraphStore(abc.ABC):
    """The operations every engine implements. Queries run through :meth:`run`."""

    engine: str = "abstract"

    @abc.abstractmethod
    def write_batch(self, batch: WriteBatch) -> WriteResult:
        """Write nodes then relationships in one transaction; return what changed."""

    @abc.abstractmethod
    def get_node(self, kind: NodeKind, key: str) -> dict[str, Any] | None:
        """The node's properties, or None."""

    @abc.abstractmethod
    def get_nodes(self, kind: NodeKind, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Properties of those of ``keys`` that exist, by key (one round trip)."""

    @abc.abstractmethod
    def iter_nodes(self, kind: NodeKind) -> Iterator[NodeRecord]:
        """Every node of a kind, in key order."""

    @abc.abstractmethod
    def iter_edges(self, rel: RelKind) -> Iterator[EdgeRecord]:
        """Every relationship of a type, in (source, target) order."""

    @abc.abstractmethod
    def neighbourhood(self, kind: NodeKind, key: str, depth: int = 1) -> Subgraph:
        """The node, everything within ``depth`` hops in either direction, and the
        relationships among them. Empty if the node does not exist."""

    @abc.abstractmethod
    def counts(self) -> GraphCounts:
        """Counts by node kind and relationship type."""

    @abc.abstractmethod
    def history(self, kind: NodeKind, key: str) -> list[dict[str, Any]]:
        """Earlier versions of a node, oldest first: ``{at, source, before, after}``."""

    @abc.abstractmethod
    def iter_history(self) -> Iterator[dict[str, Any]]:
        """Every history entry, oldest first: ``{at, source, kind, key, before, after}``."""

    @abc.abstractmethod
    def append_history(self, entries: list[dict[str, Any]]) -> None:
        """Add history entries as they are (used when a store is copied); entries already
        present (same node, time and content) are not added twice."""

    @abc.abstractmethod
    def clear(self) -> None:
        """Delete everything."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the engine."""

    #: Whether each read costs a round trip to a server (Neo4j over Bolt): questions in parts may
    #: then read their one text instead (``queries.registry``).
    round_trips_cost: bool = False

    @abc.abstractmethod
    def reading(self, work: Callable[[Callable[[str, dict[str, Any]], list[dict[str, Any]]]], Any], *, small: bool = False) -> Any:
        """Call ``work(read)`` inside one read transaction, where ``read(cypher, params)`` returns the
        records as dicts, nodes and relationships as dicts of their properties. The one way questions
        (``queries/``) reach the engine. ``small``: the reads are around one thing (a household's
        file), which an engine may run on one thread.

        >>> from graph.stores.ladybug import LadybugStore
        >>> LadybugStore.in_memory().reading(lambda read: read("RETURN 1 + $x AS y", {"x": 1}))
        [{'y': 2}]
        """

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the store's write lock across a read-check-write (accept a match, mark a finding).

        Whatever reads inside the block sees every write committed before it, and no other
        writer (another thread, or on Neo4j another process) commits until the block ends; the
        block's own ``write_batch`` calls go through. Re-entrant.

        >>> from graph.stores.ladybug import LadybugStore
        >>> with LadybugStore.in_memory().exclusive():
        ...     pass
        """
        with self._writer_lock():
            yield

    def _writer_lock(self) -> threading.RLock:
        # One lock per store object, made on first use (the engines' __init__ stay their own).
        lock = self.__dict__.get("_exclusive_lock")
        if lock is None:
            with _LOCK_FOR_LOCKS:
                lock = self.__dict__.setdefault("_exclusive_lock", threading.RLock())
        return lock

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads of this thread inside the block see one state of the store, where the engine can
        promise it (the embedded engine: one read transaction). On Neo4j each read is its own
        transaction: stop writers first for a consistent copy."""
        yield

    def existing_keys(self, kind: NodeKind, keys: Iterable[str]) -> set[str]:
        """Those of ``keys`` that name a node of ``kind``."""
        return set(self.get_nodes(kind, keys))

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
