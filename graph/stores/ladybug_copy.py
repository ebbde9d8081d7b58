"""The first load of an empty embedded store: validated batches staged as Parquet, then ``COPY``.

Writing batch by batch reads the committed state a batch needs (key lookups, the relationships
at its ends) before writing; on an empty store there is none, and at a million people those reads
were most of an ingest and more than the buffer pool held. So a folder loaded into an empty store
is validated by the loader as always, its nodes and relationships staged in one Parquet file per
node table and per relationship table and end kinds (up to 50,000 rows of each in memory),
and loaded with LadybugDB's ``COPY`` into a new database file that then takes the store's place
(``copy_into``): a first load lands whole or not at all. Later loads, and a first load that gives a
node twice, are written batch by batch.

>>> import tempfile
>>> from graph.store import NodeWrite, WriteBatch
>>> from graph.stores.ladybug import LadybugStore
>>> store = LadybugStore.in_memory()
>>> with tempfile.TemporaryDirectory() as d:
...     stage = CopyTables(Path(d))
...     _ = stage.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.PROGRAM, "DIBAO", {"program_code": "DIBAO", "name": "低保"})]))
...     copy_into(store, stage)
>>> store.get_node(NodeKind.PROGRAM, "DIBAO")
{'program_code': 'DIBAO', 'name': '低保'}
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from graph.model import NODE_KEY, NodeKind, RelKind
from graph.store import StoreError
from graph.stores.ladybug import NODE_COLUMNS, REL_COLUMNS, LadybugStore, _arrow_type, _label, _row
from graph.stores.staged import StagedLoad

__all__ = ["ASIDE", "CopyTables", "copy_into", "held_nodes", "remove_aside"]

#: Rows of one table held in memory before they are written to its Parquet file.
FLUSH_ROWS = 50_000


class _Table:
    """One Parquet file being written: columns named and typed as the database table's."""

    def __init__(self, path: Path, columns: dict[str, str], describe: Callable[[dict[str, Any]], str]):
        import pyarrow as pa

        self.path = path
        self.columns = columns
        self.describe = describe  # a row's name in an error: "Person:4201...", "KIN from Person:... to Person:..."
        self.schema = pa.schema([(name, _arrow_type(type_)) for name, type_ in columns.items()])
        self.names = frozenset(columns)
        self.rows: list[dict[str, Any]] = []
        self.writer: Any = None

    def add(self, props: dict[str, Any]) -> None:
        if not props.keys() <= self.names:
            _row(self.columns, props, self.describe(props))  # raises, naming the property unknown
        self.rows.append(props)
        if len(self.rows) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self.rows:
            return
        try:
            # The loader's values are a validated model's JSON values: Arrow takes them as they are.
            arrays = [pa.array([r.get(name) for r in self.rows], field.type) for name, field in zip(self.columns, self.schema, strict=True)]
        except (pa.ArrowException, TypeError, ValueError):
            # Another caller's (or a wrong) value: coerced one by one as a batch write does, which
            # names the property that cannot be.
            rows = [_row(self.columns, r, self.describe(r)) for r in self.rows]
            arrays = [pa.array([r[name] for r in rows], field.type) for name, field in zip(self.columns, self.schema, strict=True)]
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        self.rows = []
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, self.schema)
        self.writer.write_table(table)

    def close(self) -> None:
        self.flush()
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class CopyTables(StagedLoad):
    """The staged first load as Parquet files for ``COPY``, in ``folder``; values are checked
    against the table's columns as a batch write does (a property the table lacks, or a value
    that is not of its column's type, is refused, naming it)."""

    engine = "ladybug"

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder
        self.node_tables: dict[NodeKind, _Table] = {}
        self.rel_tables: dict[tuple[RelKind, NodeKind, NodeKind], _Table] = {}

    def _add_node(self, kind: NodeKind, props: dict[str, Any]) -> None:
        table = self.node_tables.get(kind)
        if table is None:
            key = NODE_KEY[kind]
            table = self.node_tables[kind] = _Table(
                self.folder / f"{kind.value}.parquet", NODE_COLUMNS[kind], lambda row: f"{kind.value}:{row.get(key)}"
            )
        table.add(props)

    def _add_edge(self, rel: RelKind, src_kind: NodeKind, src_key: str, dst_kind: NodeKind, dst_key: str, props: dict[str, Any]) -> None:
        slot = (rel, src_kind, dst_kind)
        table = self.rel_tables.get(slot)
        if table is None:
            columns = {"from": "STRING", "to": "STRING", **REL_COLUMNS[rel]}
            table = self.rel_tables[slot] = _Table(
                self.folder / f"{rel.value}-{src_kind.value}-{dst_kind.value}.parquet",
                columns,
                lambda row: f"{rel.value} from {src_kind.value}:{row['from']} to {dst_kind.value}:{row['to']}",
            )
        table.add({"from": src_key, "to": dst_key, **props})

    def close(self) -> None:
        for table in [*self.node_tables.values(), *self.rel_tables.values()]:
            table.close()
        super().close()


def held_nodes(read: Any) -> int:
    """How many nodes the store holds (its own tables, history and format, left out)."""
    return sum(read(f"MATCH (n:{_label(kind)}) RETURN count(n)")[0][0] for kind in NodeKind)


#: The file a first load is copied into, beside the store's own database file (its name plus this).
ASIDE = ".first-load"


def copy_into(store: LadybugStore, stage: CopyTables) -> None:
    """``COPY`` every staged table into ``store``, node tables first; refused if the store is no
    longer empty (written meanwhile by this process). The load lands whole or not at all.

    A LadybugDB transaction holds what it writes in memory until it commits (at 1M people, the
    whole load in one transaction peaked at 3.2 GB, each table committed on its own at 0.9 GB:
    docs/performance.md). So the tables are copied into a new database file beside the store's,
    each committed on its own, and that file is put in the store's place when every table is in
    (``LadybugStore._reopen``): a process killed before leaves the empty store, and a file that is
    removed when the store is next opened for writing. Where the store cannot be reopened (another user of its file in this
    process, a database in memory), or holds history of its own, the tables are copied into it in
    one transaction instead.
    """
    stage.close()
    with store._writer_lock():
        if not (_can_go_aside(store) and _copy_aside(store, stage)):
            with store._transaction():
                _refuse_if_written(store)
                for statement in _copies(stage):
                    store._write_rows(statement)


def _copies(stage: CopyTables) -> list[str]:
    """The ``COPY`` statements of the stage's tables, node tables first."""
    statements = [f"COPY {_label(kind)} FROM '{table.path}'" for kind, table in stage.node_tables.items() if table.path.exists()]
    statements += [
        f"COPY {_label(rel)} FROM '{table.path}' (from='{src_kind.value}', to='{dst_kind.value}')"
        for (rel, src_kind, dst_kind), table in stage.rel_tables.items()
        if table.path.exists()
    ]
    return statements


def _refuse_if_written(store: LadybugStore) -> None:
    held = held_nodes(store._write_rows)
    if held:
        raise StoreError(
            f"the store at {store.path} received {held} nodes during its first load: run the ingest again", question="write_batch"
        )


def _can_go_aside(store: LadybugStore) -> bool:
    """The store is a file this store object alone uses, holding nothing but its schema."""
    from graph.stores.ladybug import _OPENED_LOCK, HISTORY_TABLE, META_TABLE

    with _OPENED_LOCK, store._connections_lock:
        if not store._only_user():
            return False
    [[history]] = store._write_rows(f"MATCH (h:{HISTORY_TABLE}) RETURN count(h)")
    [[meta]] = store._write_rows(f"MATCH (m:{META_TABLE}) WHERE m.name <> 'format' RETURN count(m)")
    return history == 0 and meta == 0


def remove_aside(database_file: str | Path) -> None:
    """Remove what a first load left beside the database file ``database_file`` (a load killed or
    refused before its file took the store's place).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / f"graph.lbug{ASIDE}").write_bytes(b"half a load")
    ...     remove_aside(Path(d) / "graph.lbug")
    ...     sorted(p.name for p in Path(d).iterdir())
    []
    """
    for leftover in (Path(f"{database_file}{ASIDE}"), Path(f"{database_file}{ASIDE}.wal")):
        leftover.unlink(missing_ok=True)


def _copy_aside(store: LadybugStore, stage: CopyTables) -> bool:
    """Copy the stage into a new file beside the store's and put it in the store's place; False
    if the store could not be reopened meanwhile (nothing changed then)."""
    import ladybug

    from graph.stores.ladybug import make_schema

    assert store._file is not None
    aside = Path(f"{store._file}{ASIDE}")
    remove_aside(store._file)
    db = store._open(ladybug, str(aside), store._opened.pool_mb, False)
    conn = ladybug.Connection(db)
    try:
        make_schema(conn)
        for statement in _copies(stage):
            conn.execute(statement)
        conn.execute("CHECKPOINT")
    except RuntimeError as exc:
        conn.close()
        db.close()
        remove_aside(store._file)
        raise StoreError(f"the embedded store refused a batch: {' '.join(str(exc).split())[:300]}", question="write_batch") from exc
    conn.close()
    db.close()
    try:
        _refuse_if_written(store)
        if store._reopen(replace_with=aside):
            return True
    finally:
        remove_aside(store._file)
    return False
