"""The embedded engine: the graph lives in a networkx MultiDiGraph, persisted in SQLite.

Why SQLite: it is in the standard library, and in WAL mode one transaction per batch gives what
the embedded engine promises: a process killed mid-write loses nothing committed and leaves
nothing half-written (the unfinished transaction is rolled back when the file is next opened).
The in-memory graph is only changed after the transaction commits, so it always mirrors the file.

The node and relationship tables are logs (store format 2): a write appends the new state of each
node or relationship it changes, a removed relationship appends a row without properties, and the
latest row of a key is its state. The in-memory graph, not the file, answers "what is stored",
so the file needs no key order: format 1 kept the tables in key order and upserted, and at 1M
people a batch then touched a random page for nearly every row (persons and their aid come in
ID-number order, not key order): committing those pages was 30% of the ingest. Appended rows go
to the end of the file. Superseded rows are dropped when they outnumber the live ones (on open).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from sys import intern
from typing import Any, Literal

import networkx as nx
import orjson

from graph.model import NodeKind, RelKind, node_id, split_node_id
from graph.store import (
    EdgeKey,
    EdgeRecord,
    GraphCounts,
    GraphStore,
    NodeRecord,
    StoreError,
    Subgraph,
    WriteBatch,
    WriteResult,
    bulk_load,
    plan_batch,
    sort_subgraph,
)

__all__ = ["EmbeddedStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL, props TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS edges (
    seq INTEGER PRIMARY KEY, src TEXT NOT NULL, rel TEXT NOT NULL, dst TEXT NOT NULL, props TEXT
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL,
    source TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL, before TEXT, after TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_node ON history (kind, key);
"""
_FORMAT_VERSION = "2"
# Format 1 (key-ordered tables, upserts) is rewritten as format 2 when opened, in one transaction:
# its tables are set aside, _SCHEMA makes the logs, and the rows are copied into them.
_SET_ASIDE_FORMAT_1 = """
ALTER TABLE nodes RENAME TO nodes_format_1;
ALTER TABLE edges RENAME TO edges_format_1;
"""
_COPY_FORMAT_1 = """
INSERT INTO nodes (kind, key, props) SELECT kind, key, props FROM nodes_format_1;
INSERT INTO edges (src, rel, dst, props) SELECT src, rel, dst, props FROM edges_format_1;
DROP TABLE nodes_format_1;
DROP TABLE edges_format_1;
UPDATE meta SET value = '2' WHERE key = 'format';
"""
# Superseded rows are dropped on open once they are more than the live ones (and this many).
_COMPACT_AFTER = 10_000


def _chunks(cursor: sqlite3.Cursor, size: int = 50_000) -> Iterator[list[Any]]:
    while rows := cursor.fetchmany(size):
        yield rows


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """The statements of ``script`` inside the caller's transaction (executescript would commit it)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _dumps(props: dict[str, Any]) -> str:
    # orjson: a third of the time json's encoder took, for the same JSON (compact, keys sorted,
    # characters as they are; a float may be spelled differently, and reads back the same).
    return orjson.dumps(props, option=orjson.OPT_SORT_KEYS).decode()


def _loads(texts: list[str | None]) -> list[Any]:
    """Decode many JSON texts with one call (``None`` gives ``None``): the per-call overhead was
    most of the time when each row was decoded on its own."""
    return orjson.loads("[" + ",".join(t if t is not None else "null" for t in texts) + "]")


class _GraphState:
    """The committed graph, as the batch planner asks about it."""

    def __init__(self, g: nx.MultiDiGraph):
        self.g = g

    def node(self, kind: NodeKind, key: str) -> dict[str, Any] | None:
        return self.g._node.get(node_id(kind, key))

    def exists(self, kind: NodeKind, key: str) -> bool:
        return node_id(kind, key) in self.g._node

    def edge(self, edge: EdgeKey) -> dict[str, Any] | None:
        rel, sk, skey, dk, dkey = edge
        return self.g._succ.get(node_id(sk, skey), {}).get(node_id(dk, dkey), {}).get(rel.value)

    def others_at_unique_end(self, edge: EdgeKey, end: Literal["src", "dst"]) -> list[EdgeKey]:
        rel, sk, skey, dk, dkey = edge
        if end == "src":
            out = self.g._succ.get(node_id(sk, skey), {})
            return [(rel, sk, skey, *split_node_id(d)) for d, keys in out.items() if rel.value in keys and d != node_id(dk, dkey)]
        inc = self.g._pred.get(node_id(dk, dkey), {})
        return [(rel, *split_node_id(s), dk, dkey) for s, keys in inc.items() if rel.value in keys and s != node_id(sk, skey)]


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
            # 128 MB of page cache instead of SQLite's 2 MB (the graph in memory is far larger anyway).
            self._db.execute("PRAGMA cache_size=-131072")
            self._prepare_file(database)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open the store at {database}: {exc}") from exc
        self.graph = nx.MultiDiGraph()
        # Node ids by kind (an ordered set per kind): questions read it through queries._nx.nodes_of.
        self._kinds: dict[str, dict[str, None]] = {k.value: {} for k in NodeKind}
        self.graph.graph["kinds"] = self._kinds
        with bulk_load():  # opening a 1M-people store: 58.6 s with full collections, 42.1 s without
            self._load()

    def _prepare_file(self, database: str) -> None:
        """Create the tables of a new file; rewrite a format 1 file as format 2 (one transaction)."""
        db = self._db
        with self._immediate():  # two processes opening a new or old file: one prepares it
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            version = db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
            if version is None:
                db.execute("INSERT INTO meta VALUES ('format', ?)", (_FORMAT_VERSION,))
            elif version[0] not in ("1", _FORMAT_VERSION):
                raise StoreError(f"{database} has store format {version[0]}, expected {_FORMAT_VERSION}")
            from_format_1 = version is not None and version[0] == "1"
            if from_format_1:
                _run_script(db, _SET_ASIDE_FORMAT_1)
            _run_script(db, _SCHEMA)
            if from_format_1:
                _run_script(db, _COPY_FORMAT_1)

    @contextmanager
    def _immediate(self) -> Iterator[None]:
        """One write transaction, taken at once: committed at the end, rolled back on any error."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

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
        kinds = self._kinds
        # Each node id is one string object, shared by every dict that holds it (interned, as
        # ``_write_batch`` does): a copy per relationship end was about a gigabyte at 1M people.
        # Relationship types likewise: one string per type.
        types = {r.value: r.value for r in RelKind}
        rows_read = 0
        superseded = 0  # rows a later row of the same key replaced, and removals with what they removed
        # Rows in the order they were written: a later row of a key is a later state of it.
        for rows in _chunks(self._db.execute("SELECT kind || ':' || key, props FROM nodes ORDER BY seq")):
            rows_read += len(rows)
            for (nid, _), props in zip(rows, _loads([p for _, p in rows]), strict=True):
                if nid in node:
                    node[nid] = props
                    superseded += 1
                    continue
                nid = intern(nid)
                node[nid] = props
                succ[nid] = {}
                pred[nid] = {}
                kinds[nid.partition(":")[0]][nid] = None
        for rows in _chunks(self._db.execute("SELECT src, rel, dst, props FROM edges ORDER BY seq")):
            rows_read += len(rows)
            for (src_read, rel_read, dst_read, _), props in zip(rows, _loads([p for _, _, _, p in rows]), strict=True):
                src, dst, rel = intern(src_read), intern(dst_read), types.get(rel_read, rel_read)
                if src not in node or dst not in node:
                    raise StoreError(f"the store file has a relationship {rel} from {src_read} to {dst_read} whose end is missing")
                keydict = succ[src].get(dst)
                if props is None:  # removed
                    superseded += 1
                    if keydict is not None and keydict.pop(rel, None) is not None:
                        superseded += 1
                        if not keydict:
                            del succ[src][dst], pred[dst][src]
                    continue
                if keydict is None:
                    keydict = succ[src][dst] = pred[dst][src] = {}
                elif rel in keydict:
                    superseded += 1
                keydict[rel] = props
        if superseded > max(rows_read - superseded, _COMPACT_AFTER):  # more dead rows than live ones
            self._compact()

    def _compact(self) -> None:
        """Drop the rows a later row of the same key superseded, and removed relationships."""
        with self._immediate():
            self._db.execute("DELETE FROM nodes WHERE seq NOT IN (SELECT max(seq) FROM nodes GROUP BY kind, key)")
            self._db.execute("DELETE FROM edges WHERE seq NOT IN (SELECT max(seq) FROM edges GROUP BY src, rel, dst)")
            self._db.execute("DELETE FROM edges WHERE props IS NULL")

    # -- writing ---------------------------------------------------------------------------

    def write_batch(self, batch: WriteBatch) -> WriteResult:
        # Writers take turns (a thread inside ``exclusive()`` goes first); readers are the
        # caller's business (the API's readers-writer gate).
        with self._writer_lock():
            return self._write_batch(batch)

    def _write_batch(self, batch: WriteBatch) -> WriteResult:
        g = self.graph
        plan = plan_batch(batch, _GraphState(g))
        removals = [(sk + ":" + skey, rel._value_, dk + ":" + dkey) for rel, sk, skey, dk, dkey in plan.removals]
        # Node ids are interned (here and when the file is read): the adjacency dicts then hold one
        # string per node, not a copy per relationship end (about a gigabyte at 1M people).
        edges = [
            ((intern(sk + ":" + skey), rel._value_, intern(dk + ":" + dkey)), props)
            for (rel, sk, skey, dk, dkey), props in plan.edges.items()
        ]
        try:
            self._db.execute("BEGIN IMMEDIATE")
            # Appended: the latest row of a key is its state (see the module's docstring).
            self._db.executemany(
                "INSERT INTO nodes (kind, key, props) VALUES (?, ?, ?)",
                [(kind._value_, key, _dumps(props)) for (kind, key), props in plan.nodes.items()],
            )
            self._db.executemany("INSERT INTO edges (src, rel, dst, props) VALUES (?, ?, ?, NULL)", removals)
            self._db.executemany(
                "INSERT INTO edges (src, rel, dst, props) VALUES (?, ?, ?, ?)", [(s, r, d, _dumps(p)) for (s, r, d), p in edges]
            )
            at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
            self._db.executemany(
                "INSERT INTO history (at, source, kind, key, before, after) VALUES (?, ?, ?, ?, ?, ?)",
                [(at, batch.source, kind._value_, key, _dumps(before), _dumps(after)) for kind, key, before, after in plan.history],
            )
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise StoreError(f"write failed, nothing of this batch was stored: {exc}", question="write_batch") from exc

        # Only now that the file holds the batch does the in-memory graph follow it: filled in
        # networkx's own MultiDiGraph layout directly, as _load does (add_edge checks and
        # creates per call, a quarter of the ingest's time).
        node, succ, pred = g._node, g._succ, g._pred
        for (kind, key), props in plan.nodes.items():
            nid = intern(kind + ":" + key)
            current = node.get(nid)
            if current is not None:
                current.clear()
                current.update(props)
            else:
                node[nid] = props
                succ[nid] = {}
                pred[nid] = {}
                self._kinds[kind._value_][nid] = None
        for s, r, d in removals:
            g.remove_edge(s, d, key=r)
        for (s, r, d), props in edges:
            keydict = succ[s].get(d)
            if keydict is None:
                keydict = succ[s][d] = pred[d][s] = {}
            current = keydict.get(r)
            if current is not None:
                current.clear()
                current.update(props)
            else:
                keydict[r] = props
        return plan.result

    def clear(self) -> None:
        with self._immediate():
            for table in ("nodes", "edges", "history"):
                self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        self.graph.clear()
        self._kinds = {k.value: {} for k in NodeKind}
        self.graph.graph["kinds"] = self._kinds

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

    def existing_keys(self, kind: NodeKind, keys: Iterable[str]) -> set[str]:
        # Membership only: an ingest checks every reference, and copying properties was waste.
        node = self.graph._node
        return {key for key in keys if node_id(kind, key) in node}

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
        nodes = {kind: len(ids) for kind, ids in self._kinds.items()}
        edges = {r.value: 0 for r in RelKind}
        for _, _, rel in self.graph.edges(keys=True):
            edges[rel] += 1
        return GraphCounts(nodes=nodes, edges=edges)

    def history(self, kind: NodeKind, key: str) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT at, source, before, after FROM history WHERE kind = ? AND key = ? ORDER BY id", (kind.value, key))
        return [
            {"at": at, "source": source, "before": orjson.loads(before) if before else None, "after": orjson.loads(after)}
            for at, source, before, after in rows
        ]

    def iter_history(self) -> Iterator[dict[str, Any]]:
        rows = self._db.execute("SELECT at, source, kind, key, before, after FROM history ORDER BY id").fetchall()
        for at, source, kind, key, before, after in rows:
            yield {
                "at": at,
                "source": source,
                "kind": kind,
                "key": key,
                "before": orjson.loads(before) if before else None,
                "after": orjson.loads(after),
            }

    def append_history(self, entries: list[dict[str, Any]]) -> None:
        present = {(e["kind"], e["key"], e["at"], _dumps(e["after"])) for e in self.iter_history()}
        rows = [
            (e["at"], e["source"], e["kind"], e["key"], _dumps(e["before"]) if e["before"] is not None else None, _dumps(e["after"]))
            for e in entries
            if (e["kind"], e["key"], e["at"], _dumps(e["after"])) not in present
        ]
        with self._db:
            self._db.executemany("INSERT INTO history (at, source, kind, key, before, after) VALUES (?, ?, ?, ?, ?, ?)", rows)

    def _run_question(self, question: Any, params: dict[str, Any]) -> Any:
        return question.networkx(self.graph, **params)
