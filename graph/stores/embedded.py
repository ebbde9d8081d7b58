"""The embedded engine: the graph lives in a networkx MultiDiGraph, persisted in SQLite.

Why SQLite: it is in the standard library, and in WAL mode one transaction per batch gives what
the embedded engine promises: a process killed mid-write loses nothing committed and leaves
nothing half-written (the unfinished transaction is rolled back when the file is next opened).
The in-memory graph is only changed after the transaction commits, so it always mirrors the file.
"""

from __future__ import annotations

import json
import sqlite3
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import networkx as nx

from graph.model import REL_UNIQUE_END, NodeKind, RelKind, node_id, split_node_id
from graph.store import (
    EdgeRecord,
    GraphCounts,
    GraphStore,
    NodeRecord,
    StoreError,
    Subgraph,
    WriteBatch,
    WriteResult,
    sort_subgraph,
)

__all__ = ["EmbeddedStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    kind TEXT NOT NULL, key TEXT NOT NULL, props TEXT NOT NULL, PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS edges (
    src TEXT NOT NULL, rel TEXT NOT NULL, dst TEXT NOT NULL, props TEXT NOT NULL,
    PRIMARY KEY (src, rel, dst)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    source TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, before TEXT, after TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_node ON history (kind, key);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_FORMAT_VERSION = "1"


def _chunks(cursor: sqlite3.Cursor, size: int = 50_000) -> Iterator[list[Any]]:
    while rows := cursor.fetchmany(size):
        yield rows


def _dumps(props: dict[str, Any]) -> str:
    return json.dumps(props, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _clean(props: dict[str, Any]) -> dict[str, Any]:
    # An empty cell means "not known": it never erases what is known.
    return {k: v for k, v in props.items() if v is not None}


class EmbeddedStore(GraphStore):
    """networkx in memory, SQLite (WAL) on disk. ``path`` is a folder; the file is graph.sqlite.

    >>> store = EmbeddedStore.in_memory()
    >>> store.counts().nodes["Household"]
    0
    """

    engine = "embedded"

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path is not None else None
        if self.path is None:
            database = ":memory:"
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            database = str(self.path / "graph.sqlite")
        try:
            self._db = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed batch survives a power cut too, not only a killed process.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.executescript(_SCHEMA)
            version = self._db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
            if version is None:
                self._db.execute("INSERT INTO meta VALUES ('format', ?)", (_FORMAT_VERSION,))
            elif version[0] != _FORMAT_VERSION:
                raise StoreError(f"{database} has store format {version[0]}, expected {_FORMAT_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the store at {database}: {exc}") from exc
        self.graph = nx.MultiDiGraph()
        self._load()

    @classmethod
    def in_memory(cls) -> EmbeddedStore:
        """A throw-away store (tests and doctests)."""
        return cls(None)

    def _load(self) -> None:
        """Fill the in-memory graph from the file.

        networkx's ``add_edges_from`` checks and creates nodes edge by edge, which made opening a
        100k-household store three times slower than reading it; the file already guarantees
        that every edge's ends exist (a batch is one transaction), so the adjacency dicts are
        filled directly, in networkx's own layout for a MultiDiGraph (``_succ[u][v]`` and
        ``_pred[v][u]`` share one key dict). ``tests/graph/test_store.py`` checks the result
        against ``add_edges_from``.
        """
        g = self.graph
        node, succ, pred = g._node, g._succ, g._pred
        # One json.loads per chunk, not per row: the per-call overhead was most of the time.
        for rows in _chunks(self._db.execute("SELECT kind || ':' || key, props FROM nodes")):
            for (nid, _), props in zip(rows, json.loads("[" + ",".join(p for _, p in rows) + "]"), strict=True):
                node[nid] = props
                succ[nid] = {}
                pred[nid] = {}
        for rows in _chunks(self._db.execute("SELECT src, rel, dst, props FROM edges")):
            decoded = json.loads("[" + ",".join(p for _, _, _, p in rows) + "]")
            for (src, rel, dst, _), props in zip(rows, decoded, strict=True):
                if src not in node or dst not in node:
                    raise StoreError(f"the store file has a relationship {rel} from {src} to {dst} whose end is missing")
                keydict = succ[src].get(dst)
                if keydict is None:
                    keydict = succ[src][dst] = pred[dst][src] = {}
                keydict[rel] = props

    # -- writing ---------------------------------------------------------------------------

    def write_batch(self, batch: WriteBatch) -> WriteResult:
        g = self.graph
        result = WriteResult()
        node_rows: dict[str, tuple[str, str, dict[str, Any]]] = {}  # nid -> (kind, key, props)
        history_rows: list[tuple[str, str, str, str | None, str]] = []
        for w in batch.nodes:
            nid = node_id(w.kind, w.key)
            props = _clean(w.props)
            if nid in node_rows:
                current: dict[str, Any] | None = node_rows[nid][2]
            else:
                current = g.nodes[nid] if nid in g else None
            if current is None:
                node_rows[nid] = (w.kind.value, w.key, props)
                result.created[w.kind.value] += 1
                continue
            merged = {**current, **props}
            if w.create_only or merged == current:
                result.unchanged[w.kind.value] += 1
                continue
            if nid not in node_rows:
                history_rows.append((batch.source, w.kind.value, w.key, _dumps(current), _dumps(merged)))
            node_rows[nid] = (w.kind.value, w.key, merged)
            result.updated[w.kind.value] += 1

        edge_rows: dict[tuple[str, str, str], dict[str, Any]] = {}
        removals: set[tuple[str, str, str]] = set()
        for e in batch.edges:
            src, dst = node_id(e.src_kind, e.src_key), node_id(e.dst_kind, e.dst_key)
            for end in (src, dst):
                if end not in g and end not in node_rows:
                    raise StoreError(f"{e.rel.value} from {src} to {dst}: {end} does not exist", question="write_batch")
            ident = (src, e.rel.value, dst)
            unique = REL_UNIQUE_END[e.rel]
            if unique == "src" and src in g:
                removals.update((src, e.rel.value, d) for _, d, k in g.out_edges(src, keys=True) if k == e.rel.value and d != dst)
            elif unique == "dst" and dst in g:
                removals.update((s, e.rel.value, dst) for s, _, k in g.in_edges(dst, keys=True) if k == e.rel.value and s != src)
            props = _clean(e.props)
            if ident in edge_rows:
                current = edge_rows[ident]
            else:
                current = g.edges[src, dst, e.rel.value] if g.has_edge(src, dst, e.rel.value) else None
            if current is None:
                edge_rows[ident] = props
                result.created[e.rel.value] += 1
            else:
                merged = {**current, **props}
                if merged == current:
                    result.unchanged[e.rel.value] += 1
                else:
                    edge_rows[ident] = merged
                    result.updated[e.rel.value] += 1
        removals -= set(edge_rows)
        for _, rel, _ in removals:
            result.removed[rel] += 1

        try:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT INTO nodes (kind, key, props) VALUES (?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET props = excluded.props",
                [(kind, key, _dumps(props)) for kind, key, props in node_rows.values()],
            )
            self._db.executemany("DELETE FROM edges WHERE src = ? AND rel = ? AND dst = ?", list(removals))
            self._db.executemany(
                "INSERT INTO edges (src, rel, dst, props) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (src, rel, dst) DO UPDATE SET props = excluded.props",
                [(s, r, d, _dumps(p)) for (s, r, d), p in edge_rows.items()],
            )
            self._db.executemany("INSERT INTO history (source, kind, key, before, after) VALUES (?, ?, ?, ?, ?)", history_rows)
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise StoreError(f"write failed, nothing of this batch was stored: {exc}", question="write_batch") from exc

        # Only now that the file holds the batch does the in-memory graph follow it.
        for nid, (_, _, props) in node_rows.items():
            if nid in g:
                g.nodes[nid].clear()
                g.nodes[nid].update(props)
            else:
                g.add_node(nid, **props)
        for s, r, d in removals:
            g.remove_edge(s, d, key=r)
        for (s, r, d), props in edge_rows.items():
            if g.has_edge(s, d, r):
                g.edges[s, d, r].clear()
                g.edges[s, d, r].update(props)
            else:
                g.add_edge(s, d, key=r, **props)
        return result

    def clear(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        for table in ("nodes", "edges", "history"):
            self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        self._db.execute("COMMIT")
        self.graph.clear()

    def close(self) -> None:
        self._db.close()

    # -- reading ---------------------------------------------------------------------------

    def get_node(self, kind: NodeKind, key: str) -> dict[str, Any] | None:
        nid = node_id(kind, key)
        return dict(self.graph.nodes[nid]) if nid in self.graph else None

    def get_nodes(self, kind: NodeKind, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        g = self.graph
        out = {}
        for key in keys:
            nid = node_id(kind, key)
            if nid in g:
                out[key] = dict(g.nodes[nid])
        return out

    def iter_nodes(self, kind: NodeKind) -> Iterator[NodeRecord]:
        prefix = kind.value + ":"
        keys = sorted(nid[len(prefix) :] for nid in self.graph if nid.startswith(prefix))
        for key in keys:
            yield NodeRecord(kind, key, dict(self.graph.nodes[prefix + key]))

    def iter_edges(self, rel: RelKind) -> Iterator[EdgeRecord]:
        rows = sorted((s, d) for s, d, k in self.graph.edges(keys=True) if k == rel.value)
        for s, d in rows:
            yield self._edge_record(s, d, rel.value)

    def _edge_record(self, s: str, d: str, rel: str) -> EdgeRecord:
        sk, skey = split_node_id(s)
        dk, dkey = split_node_id(d)
        return EdgeRecord(RelKind(rel), sk, skey, dk, dkey, dict(self.graph.edges[s, d, rel]))

    def neighbourhood(self, kind: NodeKind, key: str, depth: int = 1) -> Subgraph:
        g = self.graph
        start = node_id(kind, key)
        if start not in g:
            return Subgraph([], [])
        seen = {start: 0}
        queue = deque([start])
        edges: set[tuple[str, str, str]] = set()
        while queue:
            nid = queue.popleft()
            if seen[nid] == depth:
                continue
            for s, d, rel in [*g.out_edges(nid, keys=True), *g.in_edges(nid, keys=True)]:
                edges.add((s, d, rel))
                other = d if s == nid else s
                if other not in seen:
                    seen[other] = seen[nid] + 1
                    queue.append(other)
        # Relationships among the nodes reached, as Cypher's path expansion would return them.
        edges = {(s, d, r) for s, d, r in edges if s in seen and d in seen}
        nodes = [NodeRecord(*split_node_id(n), dict(g.nodes[n])) for n in seen]
        return sort_subgraph(nodes, [self._edge_record(s, d, r) for s, d, r in edges])

    def counts(self) -> GraphCounts:
        nodes = {k.value: 0 for k in NodeKind}
        for nid in self.graph:
            nodes[nid.partition(":")[0]] += 1
        edges = {r.value: 0 for r in RelKind}
        for _, _, rel in self.graph.edges(keys=True):
            edges[rel] += 1
        return GraphCounts(nodes=nodes, edges=edges)

    def history(self, kind: NodeKind, key: str) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT at, source, before, after FROM history WHERE kind = ? AND key = ? ORDER BY id", (kind.value, key))
        return [
            {"at": at, "source": source, "before": json.loads(before) if before else None, "after": json.loads(after)}
            for at, source, before, after in rows
        ]

    def _run_question(self, question: Any, params: dict[str, Any]) -> Any:
        return question.networkx(self.graph, **params)
