"""The embedded engine: LadybugDB, an in-process, on-disk property-graph database that speaks Cypher.

The database has a schema: a node table per ``NodeKind`` (its columns are the model's fields,
its primary key the kind's key), a relationship table per ``RelKind`` with its FROM/TO pairs
(``REL_ENDPOINTS``) and properties (``REL_PROPS``), and two tables of its own: the history of
updated nodes and the store's format. Opening a store reads no data: a command answers at once.

A batch is planned by the same rule as on Neo4j (``graph.store.plan_batch``): the committed state
it needs is read in bulk inside the write transaction, then the plan is written with ``UNWIND``:
``CREATE`` for what is new, a key lookup and ``SET`` for what changed (``MERGE`` slows with the
table's size on LadybugDB; a lookup by primary key does not). One batch is one transaction: a
process killed during it leaves the store as it was before it.

A LadybugDB file has one writing process at a time. A second process that opens it is refused
with the first one's PID and command line (see :class:`StoreBusy`).

>>> store = LadybugStore.in_memory()
>>> from graph.store import NodeWrite, WriteBatch
>>> _ = store.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.HOUSEHOLD, "H-1", {"household_id": "H-1", "region_code": "420106"})]))
>>> store.get_node(NodeKind.HOUSEHOLD, "H-1")
{'household_id': 'H-1', 'region_code': '420106'}
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import threading
import types
import typing
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any

from graph.model import EXTRA_NODE_PROPS, NODE_KEY, NODE_MODELS, REL_ENDPOINTS, REL_PROPS, NodeKind, RelKind
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
    fsync_path,
    history_entry,
    missing_end_of_rows,
    plan_batch,
    sort_subgraph,
)

__all__ = ["DATABASE_FILE", "FORMAT", "NODE_COLUMNS", "REL_COLUMNS", "LadybugStore", "StoreBusy", "node_columns", "rel_columns"]

#: The database file inside a store folder.
DATABASE_FILE = "graph.lbug"
#: The store format written in the database (format 2 was networkx + SQLite: ``aidgraph migrate``).
FORMAT = "3"
HISTORY_TABLE = "AidGraphHistory"
META_TABLE = "AidGraphMeta"
_KIND_BY_LABEL = {k.value: k for k in NodeKind}
_REL_BY_LABEL = {r.value: r for r in RelKind}


class StoreBusy(StoreError):
    """The store is open for writing in another process."""


class _Opened:
    """One database file open in this process, shared by every store object on it: LadybugDB locks
    a file against other processes only, and two databases on one file in one process would be
    two writers."""

    def __init__(self, db: Any, database: str, pool_mb: int, read_only: bool):
        self.db = db
        self.database, self.pool_mb, self.read_only = database, pool_mb, read_only  # to open it again (_reopen)
        self.users = 1
        self.writer_lock = threading.RLock()


_log = logging.getLogger("aidgraph.store")

_OPENED: dict[str, _Opened] = {}
_OPENED_LOCK = threading.Lock()


# -- schema ------------------------------------------------------------------------------------


def _column_type(annotation: Any) -> str:
    """The LadybugDB type of a model field: text (codes, names, dates, enums), numbers, flags, lists."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _column_type(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _column_type(inner)
    if annotation is list or origin is list:
        return "STRING[]"
    if annotation is bool:
        return "BOOLEAN"
    if annotation is int:
        return "INT64"
    if annotation is float:
        return "DOUBLE"
    return "STRING"  # str, an Enum, a date (stored as its ISO text), a Literal


def node_columns(kind: NodeKind) -> dict[str, str]:
    """Column name to type of ``kind``'s table, its key first.

    >>> node_columns(NodeKind.ASSET)["quantity"], next(iter(node_columns(NodeKind.ASSET)))
    ('DOUBLE', 'asset_id')
    """
    fields = {name: _column_type(f.annotation) for name, f in NODE_MODELS[kind].model_fields.items()}
    fields.update({name: _column_type(t) for name, t in EXTRA_NODE_PROPS.get(kind, {}).items()})
    key = NODE_KEY[kind]
    return {key: fields.pop(key), **fields}


def rel_columns(rel: RelKind) -> dict[str, str]:
    """Property name to type of ``rel``'s table."""
    return {name: _column_type(t) for name, t in REL_PROPS.get(rel, {}).items()}


NODE_COLUMNS = {kind: node_columns(kind) for kind in NodeKind}
_HISTORY_COLUMNS = {
    "at": "STRING",
    "seq": "INT64",
    "source": "STRING",
    "kind": "STRING",
    "key": "STRING",
    "before": "STRING",
    "after": "STRING",
}
REL_COLUMNS = {rel: rel_columns(rel) for rel in RelKind}
#: Columns a node table gained after format 3 (the service catalogue's codes on needs and resources).
ADDED_COLUMNS: dict[NodeKind, tuple[str, ...]] = {NodeKind.NEED: ("need_type",), NodeKind.RESOURCE: ("market",)}


def _schema() -> list[str]:
    statements = []
    for kind, columns in NODE_COLUMNS.items():
        cols = ", ".join(f"`{name}` {type_}" for name, type_ in columns.items())
        statements.append(f"CREATE NODE TABLE IF NOT EXISTS `{kind.value}` ({cols}, PRIMARY KEY (`{NODE_KEY[kind]}`))")
    for rel in RelKind:
        sources, targets = REL_ENDPOINTS[rel]
        pairs = [f"FROM `{s.value}` TO `{t.value}`" for s in sorted(sources) for t in sorted(targets)]
        props = "".join(f", `{name}` {type_}" for name, type_ in REL_COLUMNS[rel].items())
        statements.append(f"CREATE REL TABLE IF NOT EXISTS `{rel.value}` ({', '.join(pairs)}{props})")
    statements.append(
        f"CREATE NODE TABLE IF NOT EXISTS {HISTORY_TABLE} (id SERIAL, at STRING, seq INT64, source STRING, kind STRING, "
        "key STRING, before STRING, after STRING, PRIMARY KEY (id))"
    )
    statements.append(f"CREATE NODE TABLE IF NOT EXISTS {META_TABLE} (name STRING, value STRING, PRIMARY KEY (name))")
    # Columns added to a table after format 3: a store made before gets them (empty) when opened for writing.
    for kind, names in ADDED_COLUMNS.items():
        statements += [f"ALTER TABLE `{kind.value}` ADD IF NOT EXISTS `{n}` {NODE_COLUMNS[kind][n]}" for n in names]
    return statements


SCHEMA_STATEMENTS = _schema()


def make_schema(conn: Any) -> None:
    """Give the database of connection ``conn`` AidGraph's tables and format (what it lacks of them)."""
    for statement in SCHEMA_STATEMENTS:
        conn.execute(statement)
    conn.execute(f"MERGE (m:{META_TABLE} {{name: 'format'}}) ON CREATE SET m.value = $v", {"v": FORMAT})


def _coerce(value: Any, type_: str, where: str) -> Any:
    """A property's value as its column holds it; a value of the wrong shape is the caller's error."""
    if value is None:
        return None
    if isinstance(value, Enum):
        value = value.value
    try:
        if type_ == "STRING":
            if isinstance(value, dt.date):
                return value.isoformat()
            if isinstance(value, (list, dict)):
                raise TypeError(type(value).__name__)
            return str(value)
        if type_ == "DOUBLE":
            if isinstance(value, bool):
                raise TypeError("bool")
            return float(value)
        if type_ == "INT64":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise TypeError(type(value).__name__)
            return int(value)
        if type_ == "BOOLEAN":
            if not isinstance(value, bool):
                raise TypeError(type(value).__name__)
            return value
        if type_ == "STRING[]":
            if not isinstance(value, (list, tuple)):
                raise TypeError(type(value).__name__)
            return [str(v.value if isinstance(v, Enum) else v) for v in value]
    except (TypeError, ValueError) as exc:
        raise StoreError(f"{where}: {value!r} is not a {type_.lower()} ({exc})", question="write_batch") from None
    raise AssertionError(type_)


def _row(columns: dict[str, str], props: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = props.keys() - columns.keys()
    if unknown:
        raise StoreError(f"{where} has no property {', '.join(sorted(unknown))}; known: {', '.join(columns)}", question="write_batch")
    return {name: _coerce(props.get(name), type_, f"{where}.{name}") for name, type_ in columns.items()}


def _props(value: dict[str, Any]) -> dict[str, Any]:
    """A node or relationship as the database returns it, as the store's properties (unset ones left out)."""
    return {k: v for k, v in value.items() if v is not None and not k.startswith("_")}


# Column types read through Arrow as the same Python values as row by row.
_SCALAR_TYPES = frozenset({"STRING", "DOUBLE", "INT64", "BOOL"})
_ARROW_CHUNK = 100_000
#: A relationship table read whole for a batch when this many times its size is at most its ends' node tables.
_WHOLE_TABLE_SHARE = 10


def arrow_rows(table: Any) -> list[dict[str, Any]]:
    """An Arrow table's rows as dicts, a string repeated down a column shared as one object.

    A column where most values repeat (dates, statuses, codes) is dictionary-encoded first, so a
    whole store's facts hold each distinct text once, in less memory than ``to_pylist`` and no
    slower (docs/performance.md).

    >>> import pyarrow as pa
    >>> table = pa.table({"day": ["2026-06-30", None, "2026-06-30", "2026-06-30"], "n": [1, 2, None, 4]})
    >>> rows = arrow_rows(table)
    >>> rows == table.to_pylist(), rows[0]["day"] is rows[3]["day"], rows[1]["day"]
    (True, True, None)
    """
    names = table.column_names
    columns = [_arrow_values(table.column(n)) for n in names]  # each as long as the table
    return [dict(zip(names, values)) for values in zip(*columns)]  # noqa: B905  (checking lengths slows the loop)


#: The first values of a text column that tell whether encoding it is worth its cost (a column of
#: ids, each different, costs more to encode than to convert whole: docs/performance.md).
_SAMPLE = 10_000


def _repeats(sample: Any) -> bool:
    """Whether under half of these texts are distinct (a null is none of them).

    >>> import pyarrow as pa
    >>> _repeats(pa.chunked_array([["R1", "R2", "R3", None]])), _repeats(pa.chunked_array([["paid", "paid", "paid", None]]))
    (False, True)
    """
    import pyarrow.compute as pc

    return pc.count_distinct(sample).as_py() * 2 < len(sample)


def _arrow_values(column: Any) -> list[Any]:
    import numpy as np
    import pyarrow as pa

    if (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)) and _repeats(column.slice(0, _SAMPLE)):
        encoded = column.combine_chunks().dictionary_encode()
        if len(encoded.dictionary) * 2 < len(encoded):
            # Each distinct text made once, then picked by index in C (a null is the last entry).
            texts = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
            return texts[encoded.indices.fill_null(len(texts) - 1).to_numpy()].tolist()
    return column.to_pylist()


#: A first load's stage in the temporary folder: the prefix, the loading process's id, a dash.
STAGE_PREFIX = "aidgraph-first-load-"


def remove_dead_stages(folder: Path) -> list[str]:
    """Remove the stages in ``folder`` left by first loads whose process has died (a killed load
    cannot remove its own); a stage of a living process, or of no known process, stays.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     (Path(d) / f"{STAGE_PREFIX}{os.getpid()}-abc").mkdir()
    ...     remove_dead_stages(Path(d)), sorted(p.name[len(STAGE_PREFIX) :] == f"{os.getpid()}-abc" for p in Path(d).iterdir())
    ([], [True])
    """
    import shutil

    removed = []
    for stage in sorted(folder.glob(f"{STAGE_PREFIX}*-*")):
        pid = stage.name[len(STAGE_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(stage, ignore_errors=True)
            removed.append(stage.name)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def plain(value: Any) -> Any:
    """A query's value as both engines give it: a node or relationship is the dict of its set properties.

    >>> plain({"_ID": {"offset": 0, "table": 1}, "_LABEL": "Person", "name": "甲", "phone": None})
    {'name': '甲'}
    """
    if isinstance(value, dict):
        if "_LABEL" in value:
            return _props(value)
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _arrow_type(type_: str) -> Any:
    import pyarrow as pa

    return {"STRING": pa.string(), "DOUBLE": pa.float64(), "INT64": pa.int64(), "BOOLEAN": pa.bool_(), "STRING[]": pa.list_(pa.string())}[
        type_
    ]


def _arrow(columns: dict[str, str], rows: list[dict[str, Any]]) -> Any:
    """``rows`` as an Arrow table whose columns are ``c0, c1, ...`` (the names of ``columns`` in
    order, typed): a batch travels to the database as one table, read with ``LOAD FROM``, not as
    a list of maps (the driver inspected every value of a list parameter: a tenth of an ingest),
    and a column named like a word of Cypher (``end``) cannot clash."""
    import pyarrow as pa

    return pa.table({f"c{i}": pa.array([r[name] for r in rows], _arrow_type(type_)) for i, (name, type_) in enumerate(columns.items())})


def _keys_table(**columns: list[str]) -> Any:
    import pyarrow as pa

    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


def _pool_full(exc: BaseException) -> bool:
    """Whether LadybugDB refused a statement for want of buffer pool memory."""
    return "buffer pool is full" in str(exc) or (exc.__cause__ is not None and "buffer pool is full" in str(exc.__cause__))


def _label(kind: NodeKind | RelKind) -> str:
    return f"`{kind.value}`"


def _count_cypher(kind: NodeKind | RelKind) -> str:
    pattern = f"()-[x:{_label(kind)}]->()" if isinstance(kind, RelKind) else f"(x:{_label(kind)})"
    return f"MATCH {pattern} RETURN count(*)"


def _key(kind: NodeKind) -> str:
    return f"`{NODE_KEY[kind]}`"


# -- who holds the file ------------------------------------------------------------------------

_LOCK_PID = re.compile(r"Lock is held by PID (\d+)")


def _holder(message: str) -> str:
    """ "process 123 (aidgraph serve ...)" from LadybugDB's lock error, as far as it can be told."""
    found = _LOCK_PID.search(message)
    if not found:
        return "another process"
    pid = found.group(1)
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        cmdline = ""
    return f"process {pid} ({cmdline[:200]})" if cmdline else f"process {pid}"


def _default_pool_mb() -> int:
    """A quarter of the machine's memory, at least 1 GB: whole-graph questions (the facts of every
    household) are gathered in the buffer pool, and 1 GB was too little for 35,000 households."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 1024
    return max(1024, total // 4 >> 20)


class LadybugStore(GraphStore):
    """The store interface on LadybugDB. ``path`` is the store's folder (the file is ``graph.lbug``);
    None keeps the database in memory (tests, doctests). A folder holding a store of the former
    embedded engine is refused with the command that moves it over, unless ``beside_former`` (that
    command writing the new store beside the old one).

    The buffer pool (LadybugDB's page cache, its working memory, and all of an in-memory database)
    is ``$AIDGRAPH_BUFFER_POOL_MB`` megabytes, a quarter of the machine's memory unless set; a database may grow to
    ``$AIDGRAPH_MAX_DB_GB`` gigabytes, 256 unless set (LadybugDB reserves that much address space
    for each open database: its own default, 8 TB, let a process open only about fifteen).
    """

    engine = "embedded"

    def __init__(self, path: str | Path | None, *, read_only: bool = False, beside_former: bool = False):
        import ladybug

        self.path = Path(path) if path is not None else None
        self.read_only = read_only
        pool_mb = int(os.environ.get("AIDGRAPH_BUFFER_POOL_MB", "0")) or _default_pool_mb()
        if self.path is None:
            database = ":memory:"
        else:
            if not beside_former and (self.path / "graph.sqlite").exists() and not (self.path / DATABASE_FILE).exists():
                raise StoreError(
                    f"{self.path} holds a store of the former embedded engine (networkx and SQLite, format 2); "
                    f"move it over with: aidgraph migrate --from {self.path} --store NEW_FOLDER"
                )
            if not read_only:
                self.path.mkdir(parents=True, exist_ok=True)
            database = str(self.path / DATABASE_FILE)
        self._file = None if self.path is None else str((self.path / DATABASE_FILE).resolve())
        with _OPENED_LOCK:
            opened = _OPENED.get(self._file) if self._file else None
            if opened is not None:
                if opened.read_only and not read_only:
                    raise StoreBusy(f"the store at {self.path} is open read-only in this process; close it before writing to it")
                opened.users += 1
            else:
                opened = _Opened(self._open(ladybug, database, pool_mb, read_only), database, pool_mb, read_only)
                if self._file:
                    _OPENED[self._file] = opened
                    if not read_only:  # a first load killed before its file took this one's place
                        from graph.stores.ladybug_copy import remove_aside

                        remove_aside(self._file)
        self._opened = opened
        self._db = opened.db
        self._local = threading.local()
        self._counts: dict[NodeKind | RelKind, int] = {}  # see _count
        self._connections: list[Any] = []
        self._connections_lock = threading.Lock()
        self._writer = self._connect()
        if not read_only:
            make_schema(self._writer)

    def _open(self, ladybug: Any, database: str, pool_mb: int, read_only: bool) -> Any:
        try:
            max_gb = int(os.environ.get("AIDGRAPH_MAX_DB_GB", "256"))
            # A process killed while writing leaves a torn last record in the WAL: the transaction it
            # belonged to never committed. LadybugDB 0.22 refuses the whole file for it by default
            # (the CI's crash test met it once in its 24 kills); replaying the WAL up to that record,
            # as LadybugDB's own WAL tests do and its later releases default to, keeps every
            # committed transaction and drops the torn one.
            return ladybug.Database(
                database,
                buffer_pool_size=pool_mb << 20,
                max_db_size=max_gb << 30,
                read_only=read_only,
                throw_on_wal_replay_failure=False,
            )
        except RuntimeError as exc:
            message = str(exc)
            if "lock" in message.lower():
                raise StoreBusy(
                    f"the store at {self.path} is open in {_holder(message)}; a store has one writing process at a time: "
                    "stop that process, or send the work to it (the API server takes uploads at POST /api/v1/ingest)"
                ) from None
            raise StoreError(f"cannot open the store at {self.path}: {' '.join(message.split())[:300]}") from None

    @classmethod
    def in_memory(cls) -> LadybugStore:
        return cls(None)

    def _writer_lock(self) -> threading.RLock:
        # One lock for every store object on the file: one write transaction at a time.
        return self._opened.writer_lock

    def _connect(self) -> Any:
        import ladybug

        conn = ladybug.Connection(self._db)
        with self._connections_lock:
            self._connections.append(conn)
        return conn

    def _reader(self) -> Any:
        # A connection per thread: the API server's threads read side by side, and a batch being
        # written on the writer's connection is not seen until it commits.
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            [[setting]] = conn.execute("CALL current_setting('threads') RETURN *").get_all()
            self._local.threads = int(setting)  # the connection's own
        return conn

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read of this thread inside the block sees one state of the store (one read
        transaction), however many writes commit meanwhile."""
        conn = self._reader()
        if getattr(self._local, "in_snapshot", False):  # already inside one: it holds
            yield
            return
        conn.execute("BEGIN TRANSACTION READ ONLY")
        self._local.in_snapshot = True
        try:
            yield
        finally:
            self._local.in_snapshot = False
            # A read that failed (a full buffer pool) ended the transaction itself: its own error
            # is the one to see, not COMMIT's "no active transaction".
            try:
                conn.execute("COMMIT")
            except RuntimeError as exc:
                if "No active transaction" not in str(exc):
                    raise

    def _again_if_pool_full(self, call: Callable[[], Any]) -> Any:
        """``call()``; refused for a full buffer pool, called once more on the database opened
        again, where that can be (``_reopen``). ``call`` is a read, or a write that rolled back whole."""
        try:
            return call()
        except RuntimeError as exc:
            if not _pool_full(exc) or not self._reopen():
                raise
        return call()

    def _execute(self, query: str, params: dict[str, Any]) -> Any:
        """A statement on this thread's reading connection, run again if the pool was full."""
        return self._again_if_pool_full(lambda: self._reader().execute(query, params))

    def _read(self, query: str, **params: Any) -> list[list[Any]]:
        try:
            return self._execute(query, params).get_all()
        except RuntimeError as exc:
            raise StoreError(f"the embedded store failed a read: {' '.join(str(exc).split())[:300]}", params=params) from exc

    def _write_rows(self, query: str, **params: Any) -> list[list[Any]]:
        return self._writer.execute(query, params).get_all()

    def _prefetched(self, batch: WriteBatch) -> PrefetchedState:
        """The committed state ``batch`` needs, read on the writer's connection inside its transaction."""

        def read_nodes(kind: NodeKind, keys: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
            query = f"LOAD FROM $t MATCH (n:{_label(kind)} {{{_key(kind)}: k}}) RETURN k, n"
            for key, node in self._write_rows(query, t=_keys_table(k=keys)):
                yield key, _props(node)

        def read_edges(rel: RelKind, sk: NodeKind, dk: NodeKind, pairs: list[tuple[str, str]]) -> Iterator[tuple[str, str, dict[str, Any]]]:
            if self._reads_whole(rel, sk, dk):
                yield from self._scan_edges(rel, sk, dk, set(pairs))
                return
            query = f"LOAD FROM $t MATCH (a:{_label(sk)} {{{_key(sk)}: s}})-[r:{_label(rel)}]->(b:{_label(dk)} {{{_key(dk)}: d}}) RETURN s, d, r"
            for s, d, r in self._write_rows(query, t=_keys_table(s=[p[0] for p in pairs], d=[p[1] for p in pairs])):
                yield s, d, _props(r)

        def read_neighbours(rel: RelKind, sk: NodeKind, dk: NodeKind, end: str, keys: list[str]) -> Iterator[tuple[str, NodeKind, str]]:
            if end == "src":
                query = f"LOAD FROM $t MATCH (a:{_label(sk)} {{{_key(sk)}: k}})-[:{_label(rel)}]->(b) RETURN k, label(b), b"
            else:
                query = f"LOAD FROM $t MATCH (a)-[:{_label(rel)}]->(b:{_label(dk)} {{{_key(dk)}: k}}) RETURN k, label(a), a"
            for key, label, node in self._write_rows(query, t=_keys_table(k=keys)):
                kind = _KIND_BY_LABEL[label]
                yield key, kind, node[NODE_KEY[kind]]

        return PrefetchedState(batch, read_nodes, read_edges, read_neighbours)

    def _reads_whole(self, rel: RelKind, sk: NodeKind, dk: NodeKind) -> bool:
        """Whether a batch's stored ``rel`` relationships are best read by reading the table whole:
        when it is much smaller than the node tables a lookup by key joins with. The join keeps a
        hash table of every node of both ends (at the prefecture, 6.3M persons for a few thousand
        obligations, which filled the buffer pool: docs/performance.md); the table read whole only
        costs its own rows. Either way the same rows are found."""
        return self._count(rel) * _WHOLE_TABLE_SHARE <= self._count(sk) + self._count(dk)

    def _count(self, kind: NodeKind | RelKind) -> int:
        # Read once per kind, then kept by the batches this store writes (the only writer of its file).
        if kind not in self._counts:
            [[self._counts[kind]]] = self._write_rows(_count_cypher(kind))
        return self._counts[kind]

    def _scan_edges(
        self, rel: RelKind, sk: NodeKind, dk: NodeKind, wanted: set[tuple[str, str]]
    ) -> Iterator[tuple[str, str, dict[str, Any]]]:
        columns = "".join(f", r.`{c}` AS `{c}`" for c in REL_COLUMNS[rel])
        query = f"MATCH (a:{_label(sk)})-[r:{_label(rel)}]->(b:{_label(dk)}) RETURN a.{_key(sk)} AS `_s`, b.{_key(dk)} AS `_d`{columns}"
        for row in arrow_rows(self._writer.execute(query).get_as_arrow(_ARROW_CHUNK)):
            if (row["_s"], row["_d"]) in wanted:
                yield row["_s"], row["_d"], _props(row)

    def _counted(self, plan: BatchPlan) -> None:
        """Keep the counts ``_count`` read up to date with a batch just committed."""
        changes: Counter[NodeKind | RelKind] = Counter(kind for kind, _ in plan.new_nodes)
        changes.update(edge[0] for edge in plan.new_edges)
        changes.subtract(edge[0] for edge in plan.removals)
        for kind, change in changes.items():
            if kind in self._counts:
                self._counts[kind] += change

    def _existing_keys_in_transaction(self, kind: NodeKind, keys: list[str]) -> set[str]:
        query = f"LOAD FROM $t MATCH (n:{_label(kind)} {{{_key(kind)}: k}}) RETURN k"
        return {k for (k,) in self._write_rows(query, t=_keys_table(k=keys))}

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction on the writer's connection, under the writer lock: committed
        when the block ends, rolled back if it raises (a database error as a StoreError)."""
        if self.read_only:
            raise StoreError(f"the store at {self.path} was opened read-only", question="write_batch")
        with self._writer_lock():
            self._writer.execute("BEGIN TRANSACTION")
            self._local.writing = True  # a read failing inside it must not close the database
            try:
                yield
            except BaseException as exc:
                self._rollback()
                if isinstance(exc, RuntimeError) and not isinstance(exc, StoreError):
                    raise StoreError(
                        f"the embedded store refused a batch: {' '.join(str(exc).split())[:300]}", question="write_batch"
                    ) from exc
                raise
            finally:
                self._local.writing = False
            self._writer.execute("COMMIT")

    # -- writing ---------------------------------------------------------------------------

    @contextmanager
    def first_load(self) -> Iterator[Any]:
        """A stage for the loader if the store holds no node (else None): what the loader writes to
        it is loaded with ``COPY`` in one transaction when the block ends without an error and the
        stage was not abandoned (``graph.stores.ladybug_copy``)."""
        import tempfile

        from graph.stores.ladybug_copy import CopyTables, copy_into, held_nodes

        if self.read_only or held_nodes(self._read):
            yield None
            return
        remove_dead_stages(Path(tempfile.gettempdir()))
        with tempfile.TemporaryDirectory(prefix=f"{STAGE_PREFIX}{os.getpid()}-") as folder:
            stage = CopyTables(Path(folder))
            try:
                yield stage
            finally:
                stage.close()
            if not stage.abandoned:
                copy_into(self, stage)
                self._counts.clear()

    def write_batch(self, batch: WriteBatch) -> WriteResult:
        # A batch refused rolls back whole: written again on the database opened again.
        return self._again_if_pool_full(lambda: self._write_batch(batch))

    def _write_batch(self, batch: WriteBatch) -> WriteResult:
        with self._transaction():
            plan = plan_batch(batch, self._prefetched(batch))
            self._carry_out(plan, batch.source)
        self._counted(plan)
        return plan.result

    def _reopen(self, replace_with: Path | None = None) -> bool:
        """Close the database and open it again, if this store object is its only user on this
        thread; return whether it did. LadybugDB 0.22 fails a statement (a write, or a large read)
        with "the buffer pool is full" when the pool is full of what earlier reads left; a
        database opened again starts with an empty pool (docs/performance.md). Another store
        object, another thread's connection or a read transaction open on the file keeps it as it
        is, and so does a database in memory, which closing would empty.

        ``replace_with``: a database file, checkpointed and closed, put in this one's place between
        the close and the open (a first load built beside the store, ``ladybug_copy.copy_into``).
        This file is checkpointed first, so a process killed at any point leaves one whole file or
        the other, and no write-ahead log of the one to be replayed into the other."""
        import ladybug

        # The writer lock first, as a write transaction takes it before the connections' lock: no
        # other thread is inside a write transaction while the database is closed.
        with self._writer_lock(), _OPENED_LOCK, self._connections_lock:
            if not self._only_user():
                return False
            opened = self._opened
            if replace_with is not None:
                self._writer.execute("CHECKPOINT")
            for conn in self._connections:
                conn.close()
            self._connections = []
            self._local.conn = None
            opened.db.close()
            if replace_with is not None:
                Path(f"{self._file}.wal").unlink(missing_ok=True)
                os.replace(replace_with, self._file)
                fsync_path(Path(self._file).parent)
            opened.db = self._db = self._open(ladybug, opened.database, opened.pool_mb, opened.read_only)
        self._writer = self._connect()
        if replace_with is None:
            _log.info("opened %s again: a statement found its buffer pool full; asking it again", self.path)
        return True

    def _only_user(self) -> bool:
        """This store object, on this thread, is the only user of a database file (the caller
        holds ``_OPENED_LOCK`` and the connections' lock)."""
        mine = {id(self._writer), id(getattr(self._local, "conn", None))}
        return (
            self._file is not None
            and self._opened.users == 1
            and not getattr(self._local, "in_snapshot", False)
            and not getattr(self._local, "writing", False)
            and all(id(conn) in mine for conn in self._connections)
        )

    def _rollback(self) -> None:
        # A statement that fails rolls its transaction back itself; ROLLBACK is then refused.
        try:
            self._writer.execute("ROLLBACK")
        except RuntimeError as exc:
            if "No active transaction" not in str(exc):
                raise

    def _carry_out(self, plan: BatchPlan, source: str) -> None:
        removals: dict[tuple[RelKind, NodeKind, NodeKind], list[tuple[str, str]]] = defaultdict(list)
        for rel, sk, skey, dk, dkey in plan.removals:
            removals[(rel, sk, dk)].append((skey, dkey))
        for (rel, sk, dk), pairs in removals.items():
            self._write_rows(
                f"LOAD FROM $t MATCH (a:{_label(sk)} {{{_key(sk)}: s}})-[r:{_label(rel)}]->(b:{_label(dk)} {{{_key(dk)}: d}}) DELETE r",
                t=_keys_table(s=[p[0] for p in pairs], d=[p[1] for p in pairs]),
            )
        nodes: dict[tuple[NodeKind, bool], list[dict[str, Any]]] = defaultdict(list)
        for (kind, key), props in plan.nodes.items():
            nodes[(kind, (kind, key) in plan.new_nodes)].append(_row(NODE_COLUMNS[kind], props, f"{kind.value}:{key}"))
        for (kind, new), rows in nodes.items():
            columns = NODE_COLUMNS[kind]
            if new:
                assigned = ", ".join(f"`{c}`: c{i}" for i, c in enumerate(columns))
                self._write_rows(f"LOAD FROM $t CREATE (n:{_label(kind)} {{{assigned}}})", t=_arrow(columns, rows))
            else:
                assigned = ", ".join(f"n.`{c}` = c{i}" for i, c in enumerate(columns) if i)
                self._write_rows(f"LOAD FROM $t MATCH (n:{_label(kind)} {{{_key(kind)}: c0}}) SET {assigned}", t=_arrow(columns, rows))
        edges: dict[tuple[RelKind, NodeKind, NodeKind, bool], list[dict[str, Any]]] = defaultdict(list)
        for edge, props in plan.edges.items():
            rel, sk, skey, dk, dkey = edge
            row = _row(REL_COLUMNS[rel], props, f"{rel.value} from {sk.value}:{skey} to {dk.value}:{dkey}")
            edges[(rel, sk, dk, edge in plan.new_edges)].append({"_s": skey, "_d": dkey, **row})
        for (rel, sk, dk, new), rows in edges.items():
            columns = {"_s": "STRING", "_d": "STRING", **REL_COLUMNS[rel]}
            props = [c for c in columns if not c.startswith("_")]
            if new:
                assigned = ", ".join(f"`{c}`: c{i + 2}" for i, c in enumerate(props))
                write = (
                    f"MATCH (a:{_label(sk)} {{{_key(sk)}: c0}}) MATCH (b:{_label(dk)} {{{_key(dk)}: c1}}) "
                    f"CREATE (a)-[r:{_label(rel)}{f' {{{assigned}}}' if props else ''}]->(b)"
                )
            else:
                assigned = ", ".join(f"r.`{c}` = c{i + 2}" for i, c in enumerate(props))
                write = f"MATCH (a:{_label(sk)} {{{_key(sk)}: c0}})-[r:{_label(rel)}]->(b:{_label(dk)} {{{_key(dk)}: c1}}) SET {assigned}"
            (written,) = self._write_rows(f"LOAD FROM $t {write} RETURN count(r)", t=_arrow(columns, rows))[0]
            if written != len(rows):
                pairs = [(r["_s"], r["_d"]) for r in rows]
                raise StoreError(missing_end_of_rows(rel, sk, dk, pairs, self._existing_keys_in_transaction), question="write_batch")
        if plan.history:
            at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
            self._append_history_rows(
                [
                    {
                        "at": at,
                        "seq": i,
                        "source": source,
                        "kind": kind.value,
                        "key": key,
                        "before": json.dumps(before, ensure_ascii=False),
                        "after": json.dumps(after, ensure_ascii=False),
                    }
                    for i, (kind, key, before, after) in enumerate(plan.history)
                ]
            )

    def _append_history_rows(self, rows: list[dict[str, Any]]) -> None:
        self._write_rows(
            f"LOAD FROM $t CREATE (:{HISTORY_TABLE} {{at: c0, seq: c1, source: c2, kind: c3, key: c4, before: c5, after: c6}})",
            t=_arrow(_HISTORY_COLUMNS, rows),
        )

    def clear(self) -> None:
        with self._transaction():
            for rel in RelKind:
                self._writer.execute(f"MATCH ()-[r:{_label(rel)}]->() DELETE r")
            for kind in NodeKind:
                self._writer.execute(f"MATCH (n:{_label(kind)}) DELETE n")
            self._writer.execute(f"MATCH (h:{HISTORY_TABLE}) DELETE h")
        self._counts.clear()

    def close(self) -> None:
        with self._connections_lock:
            connections, self._connections = self._connections, []
        if not connections:
            return  # closed already
        for conn in connections:
            conn.close()
        with _OPENED_LOCK:
            self._opened.users -= 1
            if self._opened.users == 0:
                if self._file:
                    _OPENED.pop(self._file, None)
                self._db.close()

    # -- reading ---------------------------------------------------------------------------

    def get_node(self, kind: NodeKind, key: str) -> dict[str, Any] | None:
        rows = self._read(f"MATCH (n:{_label(kind)} {{{_key(kind)}: $key}}) RETURN n", key=key)
        return _props(rows[0][0]) if rows else None

    def get_nodes(self, kind: NodeKind, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = sorted(set(keys))
        if not keys:
            return {}
        rows = self._read(f"UNWIND $keys AS k MATCH (n:{_label(kind)} {{{_key(kind)}: k}}) RETURN k, n", keys=keys)
        return {k: _props(n) for k, n in rows}

    def existing_keys(self, kind: NodeKind, keys: Iterable[str]) -> set[str]:
        keys = sorted(set(keys))
        if not keys:
            return set()
        return {k for (k,) in self._read(f"UNWIND $keys AS k MATCH (n:{_label(kind)} {{{_key(kind)}: k}}) RETURN k", keys=keys)}

    def iter_nodes(self, kind: NodeKind) -> Iterator[NodeRecord]:
        key = NODE_KEY[kind]
        result = self._execute(f"MATCH (n:{_label(kind)}) RETURN n ORDER BY n.`{key}`", {})
        while result.has_next():
            props = _props(result.get_next()[0])
            yield NodeRecord(kind, props[key], props)

    def iter_edges(self, rel: RelKind) -> Iterator[EdgeRecord]:
        # By each pair of kinds the type joins: the ends' keys only, not the whole nodes.
        sources, targets = REL_ENDPOINTS[rel]
        records = []
        for sk in sources:
            for dk in targets:
                rows = self._read(f"MATCH (a:{_label(sk)})-[r:{_label(rel)}]->(b:{_label(dk)}) RETURN a.{_key(sk)}, b.{_key(dk)}, r")
                records += [EdgeRecord(rel, sk, s, dk, d, _props(r)) for s, d, r in rows]
        records.sort(key=lambda e: (e.src_kind.value, e.src_key, e.dst_kind.value, e.dst_key))
        yield from records

    @staticmethod
    def _edge_record(rel: RelKind, sl: str, s: dict, dl: str, d: dict, r: dict) -> EdgeRecord:
        sk, dk = _KIND_BY_LABEL[sl], _KIND_BY_LABEL[dl]
        return EdgeRecord(rel, sk, s[NODE_KEY[sk]], dk, d[NODE_KEY[dk]], _props(r))

    def neighbourhood(self, kind: NodeKind, key: str, depth: int = 1) -> Subgraph:
        start = self.get_node(kind, key)
        if start is None:
            return Subgraph([], [])
        # Breadth first, one query per hop and kind, as the Neo4j engine walks.
        seen: dict[tuple[NodeKind, str], dict[str, Any]] = {(kind, key): start}
        edges: dict[tuple[RelKind, NodeKind, str, NodeKind, str], EdgeRecord] = {}
        frontier = [(kind, key)]
        for _ in range(depth):
            by_kind: dict[NodeKind, list[str]] = defaultdict(list)
            for k, kk in frontier:
                by_kind[k].append(kk)
            found: list[EdgeRecord] = []
            for k, keys in by_kind.items():
                for pattern in (f"(a:{_label(k)} {{{_key(k)}: k}})-[r]->(b)", f"(a)-[r]->(b:{_label(k)} {{{_key(k)}: k}})"):
                    rows = self._read(f"UNWIND $keys AS k MATCH {pattern} RETURN label(r), label(a), a, label(b), b, r", keys=keys)
                    found += [self._edge_record(_REL_BY_LABEL[rl], sl, s, dl, d, r) for rl, sl, s, dl, d, r in rows if rl in _REL_BY_LABEL]
            next_frontier = []
            for e in found:
                edges[(e.rel, e.src_kind, e.src_key, e.dst_kind, e.dst_key)] = e
                for end in ((e.src_kind, e.src_key), (e.dst_kind, e.dst_key)):
                    if end not in seen:
                        seen[end] = {}
                        next_frontier.append(end)
            frontier = next_frontier
            if not frontier:
                break
        by_kind_all: dict[NodeKind, list[str]] = defaultdict(list)
        for k, kk in seen:
            if not seen[(k, kk)]:
                by_kind_all[k].append(kk)
        for k, keys in by_kind_all.items():
            for kk, props in self.get_nodes(k, keys).items():
                seen[(k, kk)] = props
        kept = [e for e in edges.values() if (e.src_kind, e.src_key) in seen and (e.dst_kind, e.dst_key) in seen]
        return sort_subgraph([NodeRecord(k, kk, props) for (k, kk), props in seen.items()], kept)

    def counts(self) -> GraphCounts:
        nodes = {k.value: self._read(_count_cypher(k))[0][0] for k in NodeKind}
        edges = {r.value: self._read(_count_cypher(r))[0][0] for r in RelKind}
        return GraphCounts(nodes=nodes, edges=edges)

    def history(self, kind: NodeKind, key: str) -> list[dict[str, Any]]:
        rows = self._read(
            f"MATCH (h:{HISTORY_TABLE}) WHERE h.kind = $kind AND h.key = $key RETURN h.at, h.source, h.before, h.after ORDER BY h.at, h.seq, h.id",
            kind=kind.value,
            key=key,
        )
        return [
            {"at": at, "source": source, "before": json.loads(before) if before else None, "after": json.loads(after)}
            for at, source, before, after in rows
        ]

    def iter_history(self) -> Iterator[dict[str, Any]]:
        rows = self._read(f"MATCH (h:{HISTORY_TABLE}) RETURN h.at, h.source, h.kind, h.key, h.before, h.after ORDER BY h.at, h.seq, h.id")
        for row in rows:
            yield history_entry(*row)

    def append_history(self, entries: list[dict[str, Any]]) -> None:
        if not entries:
            return
        with self._writer_lock():
            present = {
                (kind, key, at, after)
                for kind, key, at, after in self._write_rows(f"MATCH (h:{HISTORY_TABLE}) RETURN h.kind, h.key, h.at, h.after")
            }
            rows = []
            for i, e in enumerate(entries):
                after = json.dumps(e["after"], ensure_ascii=False)
                ident = (e["kind"], e["key"], e["at"], after)
                if ident in present:
                    continue
                present.add(ident)
                before = json.dumps(e["before"], ensure_ascii=False) if e["before"] is not None else None
                rows.append(
                    {"at": e["at"], "seq": i, "source": e["source"], "kind": e["kind"], "key": e["key"], "before": before, "after": after}
                )
            if rows:
                with self._transaction():
                    self._append_history_rows(rows)

    def reading(self, work: Any, *, small: bool = False) -> Any:
        # A question only reads: asked again whole if the pool was full.
        return self._again_if_pool_full(lambda: self._reading(work, small))

    def _reading(self, work: Any, small: bool) -> Any:
        conn = self._reader()
        # A household's file on one thread: its small reads are quicker so, while the audit's
        # scans are slower (docs/performance.md).
        conn.set_max_threads_for_exec(1 if small else self._local.threads)

        def read(query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
            result = conn.execute(query, params)
            names = result.get_column_names()
            types = result.get_column_data_types()
            if all(t in _SCALAR_TYPES for t in types):
                # Flat rows of plain values: through Arrow, a third faster than row by row.
                return arrow_rows(result.get_as_arrow(_ARROW_CHUNK))
            # Only columns that hold nodes or relationships need turning into property dicts: walking
            # the facts of every household for none was a third of the question's time.
            walk = [i for i, t in enumerate(types) if "NODE" in t or "REL" in t]
            rows = result.get_all()
            if walk:
                for row in rows:
                    for i in walk:
                        row[i] = plain(row[i])
            return [dict(zip(names, row, strict=True)) for row in rows]

        with self.snapshot():  # joins the thread's snapshot if it is inside one
            return work(read)
