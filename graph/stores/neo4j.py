"""The Neo4j engine: the same store interface over Bolt, with the official driver.

Every value travels as a ``$parameter``. Labels, relationship types and key property names cannot
be parameters in Cypher; they come only from ``NodeKind``, ``RelKind`` and ``NODE_KEY`` (the
model's constants, never user input) and are backtick-quoted. Writes run in managed write
transactions (``execute_write``: the driver retries transient errors), reads in managed read
transactions, so a cluster reached with ``neo4j://`` routes reads to its secondaries.

A batch is planned by the same rule as on the embedded engine (``graph.store.plan_batch``): the
committed state it needs is read in bulk inside the write transaction (a few ``UNWIND`` queries
per node kind and relationship type, never one per row), then the plan is written with
``UNWIND $rows ... MERGE``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from graph.model import NODE_KEY, NodeKind, RelKind
from graph.store import (
    BatchPlan,
    EdgeRecord,
    GraphCounts,
    GraphStore,
    NodeRecord,
    PrefetchedState,
    StoreError,
    Subgraph,
    WriteBatch,
    WriteResult,
    history_entry,
    missing_end_of_rows,
    plan_batch,
    sort_subgraph,
)

__all__ = ["HISTORY_LABEL", "LOCK_LABEL", "SCHEMA_STATEMENTS", "Neo4jStore"]

#: History of updated nodes lives in nodes of this label, outside the domain's kinds.
HISTORY_LABEL = "AidGraphHistory"
#: One node of this label is the store-wide writer lock: a transaction that sets a property on it
#: holds Neo4j's exclusive lock on it until it ends, across processes.
LOCK_LABEL = "AidGraphLock"
_TAKE_LOCK = f"MERGE (l:`{LOCK_LABEL}` {{name: 'writes'}}) SET l.taken = coalesce(l.taken, 0) + 1"
_KIND_BY_LABEL = {k.value: k for k in NodeKind}


def _label(kind: NodeKind) -> str:
    return f"`{kind.value}`"


def _key(kind: NodeKind) -> str:
    return f"`{NODE_KEY[kind]}`"


def _seek(var: str, kind: NodeKind) -> str:
    """A hint to find ``var`` by a seek of its key's unique index, never a scan.

    The planner plans a query text once and keeps the plan while the counts it saw stay roughly
    true. Planned early in a first ingest, when a label had no nodes yet, the batch queries
    *scanned* that label's index for each of a batch's 5,000 rows once it had grown (50 million
    index entries read for one batch of a 100k-people ingest, most of the ingest's time). A plain
    ``USING INDEX`` hint is met by that scan too; ``USING INDEX SEEK`` is not.
    """
    return f"USING INDEX SEEK {var}:{_label(kind)}({_key(kind)})"


def _by_key(kind: NodeKind, returning: str) -> str:
    """``$keys`` looked up by a seek of ``kind``'s key index, each found node as ``n``."""
    return f"UNWIND $keys AS k MATCH (n:{_label(kind)} {{{_key(kind)}: k}}) {_seek('n', kind)} RETURN {returning}"


def _rel(rel: RelKind) -> str:
    return f"`{rel.value}`"


def _schema() -> list[str]:
    statements = [
        f"CREATE CONSTRAINT {kind.value.lower()}_key IF NOT EXISTS FOR (n:{_label(kind)}) REQUIRE n.{_key(kind)} IS UNIQUE"
        for kind in NodeKind
    ]
    # Properties the questions filter on.
    indexed = [
        (NodeKind.HOUSEHOLD, "region_code"),
        (NodeKind.PERSON, "household_id"),
        (NodeKind.PERSON, "name"),
        (NodeKind.AID_RECORD, "program_code"),
        (NodeKind.AID_RECORD, "beneficiary_ref"),
        (NodeKind.AID_RECORD, "period_start"),
        (NodeKind.AID_RECORD, "period_end"),
        (NodeKind.AID_RECORD, "need_id"),
        (NodeKind.INCOME, "id_number"),
        (NodeKind.NEED, "household_id"),
        (NodeKind.NEED, "category"),
        (NodeKind.RESOURCE, "region_code"),
        (NodeKind.SERVICE, "need_id"),
        (NodeKind.PROGRAM, "exclusive_group"),
    ]
    statements += [
        f"CREATE INDEX {kind.value.lower()}_{prop} IF NOT EXISTS FOR (n:{_label(kind)}) ON (n.`{prop}`)" for kind, prop in indexed
    ]
    # Without it, two first MERGEs of the lock could make two lock nodes.
    statements.append(f"CREATE CONSTRAINT aidgraph_lock IF NOT EXISTS FOR (l:`{LOCK_LABEL}`) REQUIRE l.name IS UNIQUE")
    statements.append(f"CREATE INDEX history_node IF NOT EXISTS FOR (h:`{HISTORY_LABEL}`) ON (h.kind, h.key)")
    return statements


#: Constraints and indexes, created once when a store opens (IF NOT EXISTS: opening is idempotent).
SCHEMA_STATEMENTS = _schema()


def _redact(uri: str) -> str:
    """The URI as shown in messages: never a password, even one written into the URI."""
    parts = urlsplit(uri)
    if parts.password is None and "@" not in parts.netloc:
        return uri
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _prefetched(tx: Any, batch: WriteBatch) -> PrefetchedState:
    """The committed state ``batch`` needs, read inside its write transaction ``tx``."""

    def read_nodes(kind: NodeKind, keys: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        for rec in tx.run(_by_key(kind, "k AS key, properties(n) AS props"), keys=keys):
            yield rec["key"], dict(rec["props"])

    def read_edges(rel: RelKind, sk: NodeKind, dk: NodeKind, pairs: list[tuple[str, str]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
        query = (
            f"UNWIND $pairs AS p MATCH (a:{_label(sk)} {{{_key(sk)}: p.s}})-[r:{_rel(rel)}]->(b:{_label(dk)} {{{_key(dk)}: p.d}}) "
            f"{_seek('a', sk)} {_seek('b', dk)} RETURN p.s AS s, p.d AS d, properties(r) AS props"
        )
        for rec in tx.run(query, pairs=[{"s": s, "d": d} for s, d in pairs]):
            yield rec["s"], rec["d"], dict(rec["props"])

    def read_neighbours(rel: RelKind, sk: NodeKind, dk: NodeKind, end: str, keys: list[str]) -> Iterator[tuple[str, NodeKind, str]]:
        if end == "src":
            query = (
                f"UNWIND $keys AS k MATCH (a:{_label(sk)} {{{_key(sk)}: k}})-[:{_rel(rel)}]->(b) {_seek('a', sk)} "
                "RETURN k AS key, labels(b) AS labels, properties(b) AS props"
            )
        else:
            query = (
                f"UNWIND $keys AS k MATCH (a)-[:{_rel(rel)}]->(b:{_label(dk)} {{{_key(dk)}: k}}) {_seek('b', dk)} "
                "RETURN k AS key, labels(a) AS labels, properties(a) AS props"
            )
        for rec in tx.run(query, keys=keys):
            kind = next(_KIND_BY_LABEL[label] for label in rec["labels"] if label in _KIND_BY_LABEL)
            yield rec["key"], kind, rec["props"][NODE_KEY[kind]]

    return PrefetchedState(batch, read_nodes, read_edges, read_neighbours)


def _carry_out(tx: Any, plan: BatchPlan, source: str) -> None:
    """Write a planned batch: removals, nodes, relationships, history; all in ``tx``."""
    removals: dict[tuple[RelKind, NodeKind, NodeKind], list[dict[str, str]]] = defaultdict(list)
    for rel, sk, skey, dk, dkey in plan.removals:
        removals[(rel, sk, dk)].append({"s": skey, "d": dkey})
    for (rel, sk, dk), pairs in removals.items():
        tx.run(
            f"UNWIND $pairs AS p MATCH (a:{_label(sk)} {{{_key(sk)}: p.s}})-[r:{_rel(rel)}]->(b:{_label(dk)} {{{_key(dk)}: p.d}}) "
            f"{_seek('a', sk)} {_seek('b', dk)} DELETE r",
            pairs=pairs,
        ).consume()
    # What the plan found missing is CREATEd: the write holds the store's lock and read the state
    # under it, so MERGE's second look (and its locks) would only repeat the plan's.
    nodes: dict[tuple[NodeKind, bool], list[dict[str, Any]]] = defaultdict(list)
    for (kind, key), props in plan.nodes.items():
        nodes[(kind, (kind, key) in plan.new_nodes)].append({"key": key, "props": props})
    for (kind, new), rows in nodes.items():
        write = f"CREATE (n:{_label(kind)})" if new else f"MERGE (n:{_label(kind)} {{{_key(kind)}: row.key}})"
        tx.run(f"UNWIND $rows AS row {write} SET n = row.props", rows=rows).consume()
    edges: dict[tuple[RelKind, NodeKind, NodeKind, bool], list[dict[str, Any]]] = defaultdict(list)
    for edge, props in plan.edges.items():
        rel, sk, skey, dk, dkey = edge
        edges[(rel, sk, dk, edge in plan.new_edges)].append({"s": skey, "d": dkey, "props": props})
    for (rel, sk, dk, new), rows in edges.items():
        written = tx.run(
            f"UNWIND $rows AS row MATCH (a:{_label(sk)} {{{_key(sk)}: row.s}}) {_seek('a', sk)} "
            f"MATCH (b:{_label(dk)} {{{_key(dk)}: row.d}}) {_seek('b', dk)} "
            f"{'CREATE' if new else 'MERGE'} (a)-[r:{_rel(rel)}]->(b) SET r = row.props RETURN count(r) AS n",
            rows=rows,
        ).single()["n"]
        if written != len(rows):
            pairs = [(r["s"], r["d"]) for r in rows]
            existing = partial(_existing_keys_in, tx)
            raise StoreError(missing_end_of_rows(rel, sk, dk, pairs, existing), question="write_batch")
    if plan.history:
        at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        rows = [
            {
                "seq": i,
                "kind": kind.value,
                "key": key,
                "before": json.dumps(before, ensure_ascii=False),
                "after": json.dumps(after, ensure_ascii=False),
            }
            for i, (kind, key, before, after) in enumerate(plan.history)
        ]
        tx.run(
            f"UNWIND $rows AS row CREATE (:`{HISTORY_LABEL}` {{at: $at, seq: row.seq, source: $source, kind: row.kind, key: row.key, "
            "before: row.before, after: row.after})",
            rows=rows,
            at=at,
            source=source,
        ).consume()


def _existing_keys_in(tx: Any, kind: NodeKind, keys: list[str]) -> set[str]:
    return {rec["key"] for rec in tx.run(_by_key(kind, "k AS key"), keys=keys)}


def _begin_locked(session: Any) -> Any:
    tx = session.begin_transaction()
    try:
        tx.run(_TAKE_LOCK).consume()
    except BaseException:
        tx.close()
        raise
    return tx


class Neo4jStore(GraphStore):
    """The store interface on Neo4j 5 over Bolt (``bolt://`` for one server, ``neo4j://`` for a cluster)."""

    engine = "neo4j"
    round_trips_cost = True  # each read is a Bolt round trip

    def __init__(
        self,
        uri: str,
        *,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
        retry_s: float = 30.0,
    ):
        import neo4j
        from neo4j import GraphDatabase

        self.uri = uri
        self.shown_uri = _redact(uri)
        self.retry_s = retry_s
        self._held = threading.local()  # this thread's depth inside exclusive()
        self.database = database or None
        auth = (user or "neo4j", password) if password is not None else None
        try:
            # Warnings such as "relationship type does not exist yet" on a fresh database are not
            # the user's business; errors still raise.
            # retry_s: how long a transaction is retried on transient errors (deadlocks, a lost
            # connection, a server restarting) before the error is the caller's.
            self._driver = GraphDatabase.driver(uri, auth=auth, notifications_min_severity="OFF", max_transaction_retry_time=retry_s)
            self._driver.verify_connectivity()
            self._ensure_schema()
        except neo4j.exceptions.AuthError:
            self._close_quietly()
            raise StoreError(f"Neo4j at {self.shown_uri} refused the credentials of user {user or 'neo4j'!r}") from None
        except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.DriverError, OSError, ValueError) as exc:
            self._close_quietly()
            raise StoreError(f"cannot reach Neo4j at {self.shown_uri}: {_one_line(exc)}") from None
        except neo4j.exceptions.Neo4jError as exc:
            self._close_quietly()
            if (exc.code or "").startswith("Neo.ClientError.Security."):
                # Wrong credentials answered as a rate limit after repeated failures: same meaning.
                raise StoreError(f"Neo4j at {self.shown_uri} refused the credentials of user {user or 'neo4j'!r}") from None
            raise StoreError(f"Neo4j at {self.shown_uri} refused the schema: {_one_line(exc)}") from None

    @classmethod
    def from_env(cls, uri: str) -> Neo4jStore:
        """Credentials from ``AIDGRAPH_NEO4J_USER``/``AIDGRAPH_NEO4J_PASSWORD``, database from
        ``AIDGRAPH_NEO4J_DATABASE`` (each optional: a server with auth disabled needs none), the
        retry time of transactions from ``AIDGRAPH_NEO4J_RETRY_S`` (default 30 s)."""
        retry = os.environ.get("AIDGRAPH_NEO4J_RETRY_S", "30")
        try:
            retry_s = float(retry)
        except ValueError:
            raise StoreError(f"AIDGRAPH_NEO4J_RETRY_S must be a number of seconds, not {retry!r}") from None
        return cls(
            uri,
            user=os.environ.get("AIDGRAPH_NEO4J_USER"),
            password=os.environ.get("AIDGRAPH_NEO4J_PASSWORD"),
            database=os.environ.get("AIDGRAPH_NEO4J_DATABASE"),
            retry_s=retry_s,
        )

    def _close_quietly(self) -> None:
        driver = getattr(self, "_driver", None)
        if driver is not None:
            driver.close()

    def _session(self) -> Any:
        return self._driver.session(database=self.database)

    def _ensure_schema(self) -> None:
        with self._session() as session:
            for statement in SCHEMA_STATEMENTS:
                session.run(statement).consume()
            session.run("CALL db.awaitIndexes(300)").consume()

    def _read(self, query: str, **params: Any) -> list[dict[str, Any]]:
        def work(tx: Any) -> list[dict[str, Any]]:
            return [r.data() for r in tx.run(query, params)]

        return self._guard(lambda: self._with_session(lambda s: s.execute_read(work)), "read", params)

    def _with_session(self, fn: Any) -> Any:
        with self._session() as session:
            return fn(session)

    def _guard(self, fn: Any, what: str, params: dict[str, Any] | None = None) -> Any:
        import neo4j

        try:
            return fn()
        except StoreError:
            raise
        except neo4j.exceptions.ConstraintError as exc:
            raise StoreError(
                f"Neo4j at {self.shown_uri}: a constraint was violated: {_one_line(exc)}", question=what, params=params
            ) from exc
        except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.SessionExpired) as exc:
            raise StoreError(f"lost Neo4j at {self.shown_uri}: {_one_line(exc)}", question=what, params=params) from exc
        except neo4j.exceptions.Neo4jError as exc:
            raise StoreError(f"Neo4j at {self.shown_uri} failed the {what}: {_one_line(exc)}", question=what, params=params) from exc

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """The store-wide writer lock, held by an open transaction on the lock node (every
        ``write_batch`` of any process takes the same lock first, so writers take turns)."""
        held = self._held.__dict__
        with self._writer_lock():
            if held.get("depth", 0):
                held["depth"] += 1
                try:
                    yield
                finally:
                    held["depth"] -= 1
                return
            session = self._session()
            try:
                tx = self._guard(lambda: _begin_locked(session), "lock")
                held["depth"] = 1
                try:
                    yield
                finally:
                    held["depth"] = 0
                    tx.rollback()  # nothing was written in it: ending it releases the lock
            finally:
                session.close()

    def write_batch(self, batch: WriteBatch) -> WriteResult:
        lock_first = not self._held.__dict__.get("depth", 0)

        def work(tx: Any) -> WriteResult:
            if lock_first:
                # Taken first, so the state the plan reads cannot change under it.
                tx.run(_TAKE_LOCK).consume()
            plan = plan_batch(batch, _prefetched(tx, batch))
            _carry_out(tx, plan, batch.source)
            return plan.result

        return self._guard(lambda: self._commit_surely(work), "write_batch")

    def _commit_surely(self, work: Any) -> WriteResult:
        """Run ``work`` in a managed write transaction, also again when the connection was lost
        during its commit (the driver does not retry that: it cannot know whether the commit
        landed). A batch may be written twice: it is an upsert by key planned against what the
        server holds, so if the lost commit landed the second run changes nothing and records no
        history (only its counts then say "unchanged" instead of "created" or "updated")."""
        import neo4j

        deadline = time.monotonic() + self.retry_s
        while True:
            try:
                return self._with_session(lambda s: s.execute_write(work))
            except neo4j.exceptions.IncompleteCommit:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def clear(self) -> None:
        def work() -> None:
            with self._session() as session:
                # In chunks, relationships first: detaching a region from a million residents in
                # one inner transaction exceeded a 4 GB server's transaction memory at 1M people.
                session.run("MATCH ()-[r]->() CALL (r) { DELETE r } IN TRANSACTIONS OF 20000 ROWS").consume()
                session.run("MATCH (n) CALL (n) { DELETE n } IN TRANSACTIONS OF 20000 ROWS").consume()

        self._guard(work, "clear")

    def close(self) -> None:
        self._driver.close()

    # -- reading ---------------------------------------------------------------------------

    def get_node(self, kind: NodeKind, key: str) -> dict[str, Any] | None:
        rows = self._read(f"MATCH (n:{_label(kind)} {{{_key(kind)}: $key}}) RETURN properties(n) AS props", key=key)
        return dict(rows[0]["props"]) if rows else None

    def get_nodes(self, kind: NodeKind, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = sorted(set(keys))
        if not keys:
            return {}
        rows = self._read(
            f"UNWIND $keys AS k MATCH (n:{_label(kind)} {{{_key(kind)}: k}}) RETURN k AS key, properties(n) AS props", keys=keys
        )
        return {r["key"]: dict(r["props"]) for r in rows}

    def existing_keys(self, kind: NodeKind, keys: Iterable[str]) -> set[str]:
        # Keys only: an ingest checks hundreds of thousands of references, their properties unneeded.
        keys = sorted(set(keys))
        if not keys:
            return set()
        rows = self._read(f"UNWIND $keys AS k MATCH (n:{_label(kind)} {{{_key(kind)}: k}}) RETURN k AS key", keys=keys)
        return {r["key"] for r in rows}

    def iter_nodes(self, kind: NodeKind) -> Iterator[NodeRecord]:
        # Paged by key so that a large store streams instead of arriving in one answer.
        last = None
        while True:
            rows = self._read(
                f"MATCH (n:{_label(kind)}) WHERE $last IS NULL OR n.{_key(kind)} > $last "
                f"RETURN n.{_key(kind)} AS key, properties(n) AS props ORDER BY key LIMIT 10000",
                last=last,
            )
            for r in rows:
                yield NodeRecord(kind, r["key"], dict(r["props"]))
            if len(rows) < 10000:
                return
            last = rows[-1]["key"]

    def iter_edges(self, rel: RelKind) -> Iterator[EdgeRecord]:
        rows = self._read(
            f"MATCH (a)-[r:{_rel(rel)}]->(b) RETURN labels(a) AS sl, properties(a) AS sp, labels(b) AS dl, properties(b) AS dp, "
            "properties(r) AS props"
        )
        records = [self._edge_record(rel, r["sl"], r["sp"], r["dl"], r["dp"], r["props"]) for r in rows]
        records.sort(key=lambda e: (e.src_kind.value, e.src_key, e.dst_kind.value, e.dst_key))
        yield from records

    @staticmethod
    def _node_ref(labels: list[str], props: dict[str, Any]) -> tuple[NodeKind, str]:
        kind = next(_KIND_BY_LABEL[label] for label in labels if label in _KIND_BY_LABEL)
        return kind, props[NODE_KEY[kind]]

    def _edge_record(self, rel: RelKind, sl: list[str], sp: dict, dl: list[str], dp: dict, props: dict) -> EdgeRecord:
        sk, skey = self._node_ref(sl, sp)
        dk, dkey = self._node_ref(dl, dp)
        return EdgeRecord(rel, sk, skey, dk, dkey, dict(props))

    def neighbourhood(self, kind: NodeKind, key: str, depth: int = 1) -> Subgraph:
        start = self._read(
            f"MATCH (n:{_label(kind)} {{{_key(kind)}: $key}}) RETURN elementId(n) AS id, properties(n) AS props",
            key=key,
        )
        if not start:
            return Subgraph([], [])
        # Breadth first, one query per hop, exactly as the embedded engine walks.
        seen: dict[str, tuple[NodeKind, str, dict[str, Any]]] = {start[0]["id"]: (kind, key, dict(start[0]["props"]))}
        edges: dict[str, EdgeRecord] = {}
        frontier = [start[0]["id"]]
        for _ in range(depth):
            if not frontier:
                break
            rows = self._read(
                "UNWIND $ids AS id MATCH (n) WHERE elementId(n) = id MATCH (n)-[r]-(m) "
                "RETURN DISTINCT elementId(r) AS rid, type(r) AS rel, elementId(startNode(r)) AS sid, elementId(endNode(r)) AS did, "
                "labels(startNode(r)) AS sl, properties(startNode(r)) AS sp, labels(endNode(r)) AS dl, properties(endNode(r)) AS dp, "
                "properties(r) AS props",
                ids=frontier,
            )
            next_frontier = []
            for r in rows:
                edges[r["rid"]] = self._edge_record(RelKind(r["rel"]), r["sl"], r["sp"], r["dl"], r["dp"], r["props"])
                for nid, labels, props in ((r["sid"], r["sl"], r["sp"]), (r["did"], r["dl"], r["dp"])):
                    if nid not in seen:
                        nk, nkey = self._node_ref(labels, props)
                        seen[nid] = (nk, nkey, dict(props))
                        next_frontier.append(nid)
            frontier = next_frontier
        keys = {(k, key) for k, key, _ in seen.values()}
        kept = [e for e in edges.values() if (e.src_kind, e.src_key) in keys and (e.dst_kind, e.dst_key) in keys]
        return sort_subgraph([NodeRecord(k, key, props) for k, key, props in seen.values()], kept)

    def counts(self) -> GraphCounts:
        nodes = {k.value: self._read(f"MATCH (n:{_label(k)}) RETURN count(n) AS n")[0]["n"] for k in NodeKind}
        edges = {r.value: self._read(f"MATCH ()-[r:{_rel(r)}]->() RETURN count(r) AS n")[0]["n"] for r in RelKind}
        return GraphCounts(nodes=nodes, edges=edges)

    def history(self, kind: NodeKind, key: str) -> list[dict[str, Any]]:
        rows = self._read(
            f"MATCH (h:`{HISTORY_LABEL}` {{kind: $kind, key: $key}}) RETURN h.at AS at, h.source AS source, h.before AS before, "
            "h.after AS after ORDER BY h.at, h.seq",
            kind=kind.value,
            key=key,
        )
        return [
            {
                "at": r["at"],
                "source": r["source"],
                "before": json.loads(r["before"]) if r["before"] else None,
                "after": json.loads(r["after"]),
            }
            for r in rows
        ]

    def iter_history(self) -> Iterator[dict[str, Any]]:
        rows = self._read(
            f"MATCH (h:`{HISTORY_LABEL}`) RETURN h.at AS at, h.source AS source, h.kind AS kind, h.key AS key, "
            "h.before AS before, h.after AS after ORDER BY h.at, h.seq"
        )
        for r in rows:
            yield history_entry(**r)

    def append_history(self, entries: list[dict[str, Any]]) -> None:
        rows = [
            {
                "seq": i,
                "at": e["at"],
                "source": e["source"],
                "kind": e["kind"],
                "key": e["key"],
                "before": json.dumps(e["before"], ensure_ascii=False) if e["before"] is not None else None,
                "after": json.dumps(e["after"], ensure_ascii=False),
            }
            for i, e in enumerate(entries)
        ]

        def work(tx: Any) -> None:
            # MERGE on the entry's identity: copying a store twice does not double its history.
            tx.run(
                f"UNWIND $rows AS row MERGE (h:`{HISTORY_LABEL}` {{kind: row.kind, key: row.key, at: row.at, after: row.after}}) "
                "ON CREATE SET h.seq = row.seq, h.source = row.source, h.before = row.before",
                rows=rows,
            ).consume()

        self._guard(lambda: self._with_session(lambda s: s.execute_write(work)), "append_history")

    def reading(self, work: Any, *, small: bool = False) -> Any:
        def in_transaction(tx: Any) -> Any:
            return work(lambda query, params: [{k: _plain(v) for k, v in r.items()} for r in tx.run(query, params)])

        return self._guard(lambda: self._with_session(lambda s: s.execute_read(in_transaction)), "read")


def _plain(value: Any) -> Any:
    """A query's value as both engines give it: a node or relationship is the dict of its properties."""
    from neo4j.graph import Node, Relationship

    if isinstance(value, (Node, Relationship)):
        return dict(value.items())
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())[:300]
