"""Ingest an exchange-format folder into a store: validate every row, write the good ones in
batches, report the bad ones by file, row and field.

Each file is read and validated whole before any of it is written, so a structurally broken file
stores nothing. Rows are written in batches of ``batch_size``; a batch is one transaction, and a
row's node and its relationships always travel in the same batch, so a crash leaves no half row.
Writing is an upsert by key: ingesting the same folder twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from graph.model import (
    NodeKind,
)
from graph.store import GraphStore, WriteBatch, WriteResult, bulk_load
from graph.stores.staged import RepeatedNode, StagedLoad
from ingest.codes import CatalogueCodes
from ingest.exchange import FILE_KINDS, FILE_SPECS, INGEST_ORDER, FileRejected, FileSpec, check_structure, find_files, read_rows
from ingest.report import MAX_REJECTS_LISTED, FileReport, IngestReport, Reject, _shown
from ingest.rules import _HANDLERS, _NAMED_KINDS, _Context, _FileHandler, _first_error, _RowError

__all__ = [
    "CHUNK_ROWS",
    "DEFAULT_BATCH_SIZE",
    "MAX_REJECTS_LISTED",
    "FileReport",
    "IngestReport",
    "Reject",
    "count_changes",
    "ingest_folder",
]

DEFAULT_BATCH_SIZE = 5000
#: Rows validated, converted and written at a time: a file of any length is ingested in memory
#: bounded by this (plus one key per row, to find keys given twice in a file).
CHUNK_ROWS = 50_000

#: The kinds one file each writes, a key once (checked in the file), that no row names: a first
#: load's stage need not keep their keys (``StagedLoad.given_once``).
_GIVEN_ONCE = frozenset(FILE_KINDS.values()) - _NAMED_KINDS

# -- the pipeline --------------------------------------------------------------------------------


def _row_key(spec: FileSpec, fields: dict[str, Any]) -> str:
    if spec.name == "kinship":
        return "|".join(str(fields.get(c, "")).strip() for c in ("from_id_number", "to_id_number"))
    value = fields.get(spec.key)
    return str(value).strip().upper() if spec.name == "persons" else str(value).strip()


def _repeated_keys(path: Path, spec: FileSpec, encoding: str | None) -> set[str]:
    """The keys (``_row_key``) that more than one row of the file gives. The file is read for each
    row's key hash (8 bytes a row), and again for the texts of the few hashes seen twice: a large
    file's duplicate check then remembers those keys only, not every key with its row (17.6M aid
    records at the prefecture, about 2.4 GB)."""
    from array import array

    import numpy as np

    def keys() -> Iterator[str]:
        for _, fields in read_rows(path, spec, encoding):
            if None not in fields:
                yield _row_key(spec, fields)

    hashes = array("q", map(hash, keys()))
    values, counts = np.unique(np.frombuffer(hashes, dtype=np.int64), return_counts=True)
    clashing = set(values[counts > 1].tolist())
    del hashes, values, counts
    seen: set[str] = set()
    repeated: set[str] = set()
    if clashing:
        for key in keys():
            if hash(key) in clashing:
                (repeated if key in seen else seen).add(key)
    return repeated


class _Rejecter:
    """Records one file's rejects: counts rejected rows, lists the first MAX_REJECTS_LISTED."""

    def __init__(self, path: Path, report: IngestReport, fr: FileReport):
        self.path, self.report, self.fr = path, report, fr
        self.listed = 0
        self.last_row = -1

    def __call__(self, row: int, field_name: str, reason: str, value: Any) -> None:
        if row != self.last_row:  # rows arrive in order: a row with two bad fields counts once
            self.fr.rejected_rows += 1
            self.last_row = row
        if self.listed < MAX_REJECTS_LISTED:
            self.report.rejects.append(Reject(self.path.name, row, field_name, reason, _shown(field_name, value)))
            self.listed += 1
        else:
            self.fr.rejects_unlisted += 1


def _validated_chunks(
    path: Path,
    spec: FileSpec,
    handler: _FileHandler,
    ctx: _Context,
    reject: _Rejecter,
    fr: FileReport,
    encoding: str | None,
    chunk_rows: int,
    lines: int,
) -> Iterator[list[tuple[int, BaseModel]]]:
    """The file's good rows, validated, CHUNK_ROWS at a time; bad rows go to ``reject``. A file of
    more than ``chunk_rows`` ``lines`` is read for its repeated keys first, and only those are
    remembered with the row that first gave them."""
    good: list[tuple[int, BaseModel]] = []
    first_seen: dict[str, int] = {}
    repeated = _repeated_keys(path, spec, encoding) if lines > chunk_rows else None
    # The required cells of a row, as a tuple, in one C call (a comprehension per row was 5% of an
    # ingest). The first column is asked twice so that a file with one required column gets a tuple too.
    required = operator.itemgetter(*spec.required, spec.required[0])
    for number, fields in read_rows(path, spec, encoding):
        fr.rows += 1
        if None in fields:
            reject(number, "(row)", str(fields[None]), "")
            continue
        try:
            cells = required(fields)
            filled = all(cells) and not any(map(str.isspace, cells))
        except (KeyError, TypeError):  # a JSON line without the field, or with a number in it
            filled = False
        if not filled:
            empty = [c for c in spec.required if fields.get(c) is None or str(fields.get(c)).strip() == ""]
            if empty:
                for c in empty:
                    reject(number, c, "is required and empty", "")
                continue
        try:
            model = handler.model.model_validate(fields)
        except ValidationError as exc:
            for field_name, reason, value in _first_error(exc):
                reject(number, field_name, reason, value)
            continue
        if handler.extra_check is not None:
            try:
                handler.extra_check(model, ctx)
            except _RowError as exc:
                reject(number, exc.field, exc.reason, exc.value)
                continue
        key = _row_key(spec, fields)
        if repeated is None or key in repeated:
            if key in first_seen:
                reject(number, spec.key, f"duplicate key in this file (first at row {first_seen[key]})", key)
                continue
            first_seen[key] = number
        good.append((number, model))
        if len(good) >= chunk_rows:
            yield good
            good = []
    if good:
        yield good


def ingest_folder(
    store: GraphStore,
    folder: str | Path,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[str, int, int], None] | None = None,
    today: dt.date | None = None,
    encoding: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
    one_transaction: bool = False,
    check: Callable[[WriteBatch], None] | None = None,
    in_batches: bool = False,
    codes: CatalogueCodes | None = None,
) -> IngestReport:
    """Ingest every exchange file in ``folder`` into ``store``.

    ``progress(file, done, total)`` is called after each batch (``total`` counts the file's
    lines). Bad rows are reported, never raised; a file whose structure is broken is rejected
    before anything of it is stored; a folder that does not exist raises FileNotFoundError.
    ``encoding`` reads files that carry no BOM in another encoding than UTF-8 (gb18030 for GBK).

    ``one_transaction`` validates and plans every file first and writes all of it as one batch
    at the end, so the ingest lands whole or not at all (an upload through the API); ``check``,
    if given, sees that batch before it is written and refuses it by raising. A kind written by
    two files (person stubs named by a feed) is counted under the first of them.

    An empty store whose engine has a bulk loader (``store.first_load()``: LadybugDB's ``COPY``)
    is loaded through it, the whole folder in one transaction, unless ``in_batches`` (each batch
    its own transaction: a run stopped midway keeps the batches it wrote).

    ``codes``: the service catalogue's (``Catalogue.codes()``); a need whose ``need_type``, or a
    resource whose ``market``, the catalogue does not define is a bad row, with the reason.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")

    def load(into: GraphStore) -> IngestReport:
        if isinstance(into, StagedLoad):  # LadybugDB's first load, or Neo4j's import files
            into.given_once(_GIVEN_ONCE)
        return _ingest_folder(into, folder, batch_size, progress, today, encoding, chunk_rows, one_transaction, check, codes)

    with bulk_load():
        if not (one_transaction or in_batches):
            report = _first_load(store, load)
            if report is not None:
                return report
        return load(store)


def _first_load(store: GraphStore, load: Callable[[Any], IngestReport]) -> IngestReport | None:
    """``load`` (the folder's ingest) into the store's bulk loader, or None if the store is not
    empty, has none, or the folder gives a node twice (the batch-by-batch ingest merges the two)."""
    first_load = getattr(store, "first_load", None)
    if first_load is None:
        return None
    with first_load() as stage:
        if stage is None:
            return None
        try:
            return load(stage)
        except RepeatedNode:
            stage.abandon()
            return None


def _ingest_folder(
    store: GraphStore,
    folder: Path,
    batch_size: int,
    progress: Callable[[str, int, int], None] | None,
    today: dt.date | None,
    encoding: str | None,
    chunk_rows: int,
    one_transaction: bool = False,
    check: Callable[[WriteBatch], None] | None = None,
    codes: CatalogueCodes | None = None,
) -> IngestReport:
    ingest_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    report = IngestReport(folder=str(folder), ingest_id=ingest_id)
    found, rejected, report.ignored = find_files(folder)
    report.files_rejected.extend(rejected)
    ctx = _Context(store=store, today=today or dt.date.today(), codes=codes)
    whole = WriteBatch(source=f"ingest {ingest_id} (one transaction)", hands_over_props=True)
    kinds_by_file: dict[str, set[str]] = {}

    def write(batch: WriteBatch, fr: FileReport) -> None:
        if not one_transaction:
            fr.written.add(store.write_batch(batch))
            return
        whole.nodes.extend(batch.nodes)
        whole.edges.extend(batch.edges)
        mine = kinds_by_file.setdefault(fr.file, set())
        mine.update(n.kind.value for n in batch.nodes)
        mine.update(e.rel.value for e in batch.edges)
        ctx.staged_regions.update((n.key, n.props) for n in batch.nodes if n.kind is NodeKind.REGION)

    for name in INGEST_ORDER:
        if name not in found:
            continue
        path, spec, handler = found[name], FILE_SPECS[name], _HANDLERS[name]
        fr = FileReport(path.name)
        try:
            total = check_structure(path, spec, encoding)
        except FileRejected as exc:
            report.files_rejected.append(exc)
            continue
        report.files.append(fr)
        reject = _Rejecter(path, report, fr)
        # Regions are written parents first, so their file is one chunk (a prefecture has a few thousand).
        chunks = _validated_chunks(path, spec, handler, ctx, reject, fr, encoding, chunk_rows if name != "regions" else 1 << 62, total)
        batch = WriteBatch(source=f"ingest {ingest_id} {path.name}", hands_over_props=True)
        rows_in_batch = 0
        done = 0
        for good in chunks:
            if name == "regions":
                good.sort(key=lambda item: (len(item[1].region_code), item[1].region_code))
            refs = handler.refs([m for _, m in good], ctx)
            for number, model in good:
                try:
                    nodes, edges = handler.convert(model, refs, ctx)
                except _RowError as exc:
                    reject(number, exc.field, exc.reason, exc.value)
                    continue
                batch.nodes.extend(nodes)
                batch.edges.extend(edges)
                for n in nodes:
                    ctx.accept(n.kind, n.key)
                rows_in_batch += 1
                if rows_in_batch >= batch_size:
                    write(batch, fr)
                    done += rows_in_batch
                    rows_in_batch = 0
                    batch = WriteBatch(source=batch.source, hands_over_props=True)
                    if progress:
                        progress(path.name, done, total)
        if rows_in_batch:
            write(batch, fr)
            done += rows_in_batch
        if progress:
            progress(path.name, done, total)
    if one_transaction and (whole.nodes or whole.edges):
        if check is not None:
            check(whole)
        _count_by_file(store.write_batch(whole), report.files, kinds_by_file)
    report.rejects.sort(key=lambda r: (INGEST_ORDER.index(Path(r.file).stem) if Path(r.file).stem in INGEST_ORDER else 99, r.row, r.field))
    return report


def _count_by_file(result: WriteResult, files: list[FileReport], kinds_by_file: dict[str, set[str]]) -> None:
    """Share one batch's counts among the files that wrote it, by kind (the first file a kind's)."""
    owner: dict[str, FileReport] = {}
    for fr in files:
        for kind in kinds_by_file.get(fr.file, ()):
            owner.setdefault(kind, fr)
    for counts, into in (
        (result.created, "created"),
        (result.updated, "updated"),
        (result.unchanged, "unchanged"),
        (result.removed, "removed"),
    ):
        for kind, n in counts.items():
            if kind in owner:
                getattr(owner[kind].written, into)[kind] += n


def count_changes(report: IngestReport) -> Counter:
    """Created plus updated plus removed, over all files (0 means the ingest changed nothing)."""
    total: Counter = Counter()
    for fr in report.files:
        total.update(fr.written.created)
        total.update(fr.written.updated)
        total.update(fr.written.removed)
    return total
