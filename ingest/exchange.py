"""The exchange format's files: which exist, their required columns, and reading their rows.

A file is ``NAME.csv`` (UTF-8, BOM allowed, RFC 4180) or ``NAME.jsonl``, read streamed, a line
at a time (a file of any size is read in constant memory). A UTF-16 file with a BOM is read as
such; GBK is detected and explained (``encoding='gb18030'`` reads it). Reading yields
``(row_number, fields)``: for CSV the header is row 1, so row numbers match what a spreadsheet
shows; for JSONL the row number is the line number.

>>> spec = FILE_SPECS["regions"]
>>> spec.key, spec.required[:2]
('region_code', ('region_code', 'name'))
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from graph.model import (
    NODE_MODELS,
    AidRecord,
    Asset,
    Department,
    Household,
    Income,
    Kinship,
    Need,
    NodeKind,
    Person,
    Program,
    Region,
    Resource,
    Service,
    file_columns,
    refs_of,
)

__all__ = [
    "FILE_MODELS",
    "FILE_SPECS",
    "INGEST_ORDER",
    "MAX_LINE_CHARS",
    "FileRejected",
    "FileSpec",
    "check_structure",
    "find_files",
    "ingest_order",
    "read_rows",
    "spec_of",
]


@dataclass(frozen=True)
class FileSpec:
    name: str
    key: str  # the first column: the entity's key
    required: tuple[str, ...]
    optional: tuple[str, ...]
    order: tuple[str, ...]  # every column, in the order the format documents them

    @property
    def columns(self) -> tuple[str, ...]:
        return self.order


#: The exchange files and the model of a row of each, in the order the format documents them.
FILE_MODELS: dict[str, type[BaseModel]] = {
    "regions": Region,
    "departments": Department,
    "programs": Program,
    "households": Household,
    "persons": Person,
    "kinship": Kinship,
    "incomes": Income,
    "assets": Asset,
    "aid_records": AidRecord,
    "needs": Need,
    "resources": Resource,
    "services": Service,
}


def spec_of(name: str, model: type[BaseModel]) -> FileSpec:
    """A file's columns from its row model: every field the file carries, required first as the
    model requires them (or marks them required in the file), in the model's order.

    Examples
    --------
    >>> spec_of("assets", Asset).required
    ('asset_id', 'household_id', 'kind', 'quantity')
    """
    required, optional = file_columns(model)
    order = tuple(n for n in model.model_fields if n in required or n in optional)
    return FileSpec(name=name, key=order[0], required=tuple(required), optional=tuple(optional), order=order)


FILE_SPECS: dict[str, FileSpec] = {name: spec_of(name, model) for name, model in FILE_MODELS.items()}

#: The node kind each file's rows are (kinship rows are relationships).
FILE_KINDS: dict[str, NodeKind] = {name: kind for kind, model in NODE_MODELS.items() for name, m in FILE_MODELS.items() if m is model}


def ingest_order(models: dict[str, type[BaseModel]]) -> list[str]:
    """The files in an order where every file comes after the files of the kinds its rows name
    (``Ref`` fields): a topological sort, files free to go at once kept in the order given. Only
    references among the files given count.

    Examples
    --------
    >>> ingest_order({"services": Service, "resources": Resource, "regions": Region})
    ['regions', 'resources', 'services']
    """
    made_by = {FILE_KINDS[n]: n for n in models if n in FILE_KINDS}
    needs = {n: {made_by[r.kind] for _, r in refs_of(m) if r.kind in made_by} - {n} for n, m in models.items()}
    order: list[str] = []
    while len(order) < len(models):
        ready = [n for n in models if n not in order and needs[n] <= set(order)]
        if not ready:
            raise ValueError(f"the files' references form a cycle: {sorted(set(models) - set(order))}")
        order.append(ready[0])
    return order


#: Files are read in this order, so that every reference points to something already stored.
INGEST_ORDER = ingest_order(FILE_MODELS)


class FileRejected(Exception):
    """A file that is structurally broken (encoding, header, shape): rejected whole."""

    def __init__(self, file: str, reason: str):
        super().__init__(f"{file}: {reason}")
        self.file = file
        self.reason = reason


def find_files(folder: Path) -> tuple[dict[str, Path], list[FileRejected], list[str]]:
    """The exchange files in ``folder``: found by kind, kinds rejected, names ignored."""
    found: dict[str, Path] = {}
    rejected: list[FileRejected] = []
    ignored: list[str] = []
    for name in FILE_SPECS:
        paths = [p for p in (folder / f"{name}.csv", folder / f"{name}.jsonl") if p.is_file()]
        if len(paths) == 2:
            rejected.append(FileRejected(f"{name}.csv", f"both {name}.csv and {name}.jsonl are present: deliver one"))
        elif paths:
            found[name] = paths[0]
    for p in sorted(folder.iterdir()):
        if p.suffix in (".csv", ".jsonl") and p.stem not in FILE_SPECS:
            ignored.append(p.name)
    return found, rejected, ignored


#: A physical line longer than this is refused (a file with no line breaks, a binary file): the
#: reader never holds more than one line of a file in memory, whatever the file's size.
MAX_LINE_CHARS = 1 << 20
#: What the exchange format is; ``--encoding`` reads a file delivered otherwise (gb18030 reads GBK too).
DEFAULT_ENCODING = "utf-8"


def _open_text(path: Path, encoding: str | None) -> io.TextIOWrapper:
    """The file as text, streamed: BOMs are honoured (UTF-8 and UTF-16 files with a BOM say what
    they are); anything else is read as ``encoding`` (UTF-8 unless told)."""
    raw = path.open("rb")
    head = raw.read(3)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        chosen, skip = "utf-16", 0  # the codec reads the BOM and the byte order from it
    elif head.startswith(b"\xef\xbb\xbf"):
        chosen, skip = "utf-8", 3
    else:
        chosen, skip = encoding or DEFAULT_ENCODING, 0
    raw.seek(skip)
    try:
        return io.TextIOWrapper(raw, encoding=chosen, errors="strict", newline="")
    except LookupError:
        raw.close()
        raise FileRejected(path.name, f"unknown encoding {chosen!r}") from None


def _not_decodable(path: Path, line: int, encoding: str | None) -> FileRejected:
    hint = "save it as UTF-8"
    if (encoding or DEFAULT_ENCODING).lower().replace("-", "") == "utf8":
        with path.open("rb") as f:
            sample = f.read(1 << 20)
        try:
            sample.decode("gb18030")
            hint = (
                "it looks like GBK/GB18030, as Chinese government systems often export: save it as UTF-8, "
                "or ingest it with --encoding gb18030"
            )
        except UnicodeDecodeError:
            pass
    return FileRejected(path.name, f"is not {encoding or 'UTF-8'} (first bad byte on line {line}); {hint}")


def _lines(path: Path, encoding: str | None) -> Iterator[str]:
    """Physical lines (line breaks kept), each at most MAX_LINE_CHARS long, streamed."""
    number = 0
    with _open_text(path, encoding) as f:
        while True:
            try:
                line = f.readline(MAX_LINE_CHARS + 1)
            except UnicodeDecodeError:
                raise _not_decodable(path, number + 1, encoding) from None
            if not line:
                return
            number += 1
            if len(line) > MAX_LINE_CHARS:
                raise FileRejected(
                    path.name, f"line {number} is longer than {MAX_LINE_CHARS:,} characters (a binary file, or no line breaks?)"
                )
            if "\x00" in line:
                raise FileRejected(path.name, f"line {number} holds NUL bytes: a binary file, not text")
            yield line


def _csv_header(path: Path, reader: Any, spec: FileSpec) -> list[str]:
    try:
        header = next(reader)
    except StopIteration:
        raise FileRejected(path.name, "is empty: a header row is required") from None
    except csv.Error as exc:
        raise FileRejected(path.name, f"header is not valid CSV: {exc}") from None
    header = [h.strip() for h in header]
    missing = [c for c in spec.required if c not in header]
    if missing:
        hint = ""
        if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
            hint = " (the file seems to use ';' or tabs: the delimiter must be a comma)"
        raise FileRejected(path.name, f"missing required column(s) {', '.join(missing)}{hint}")
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise FileRejected(path.name, f"column(s) {', '.join(dupes)} appear twice in the header")
    return header


def _csv_rows(path: Path, spec: FileSpec, encoding: str | None) -> Iterator[tuple[int, list[str], list[str]]]:
    reader = csv.reader(_lines(path, encoding), strict=True)
    header = _csv_header(path, reader, spec)
    number = 1
    try:
        for cells in reader:
            number += 1
            yield number, header, cells
    except csv.Error as exc:
        raise FileRejected(path.name, f"row {number + 1} is not valid CSV: {exc}") from None


def check_structure(path: Path, spec: FileSpec, encoding: str | None = None) -> int:
    """Read the whole file once for its structure only (encoding, header, CSV quoting, line
    lengths) and return its number of lines or rows; raise FileRejected if it is broken. Run
    before anything of the file is stored, so a broken file stores nothing, in constant memory."""
    if path.suffix == ".jsonl":
        return sum(1 for _ in _lines(path, encoding))
    return sum(1 for _ in _csv_rows(path, spec, encoding))


def read_rows(path: Path, spec: FileSpec, encoding: str | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(row_number, fields)``, streamed; raise FileRejected if the file's structure is
    broken (call :func:`check_structure` first to know that before the first row). Rows with
    the wrong number of cells come with a ``None`` key describing it, for the caller to reject."""
    if path.suffix == ".jsonl":
        yield from _read_jsonl(_lines(path, encoding))
        return
    for number, header, cells in _csv_rows(path, spec, encoding):
        if not "".join(cells).strip():  # no cells, or only blank ones (one C call, not a call per cell)
            continue
        fields: dict[str, Any] = dict(zip(header, cells, strict=False))
        if len(cells) != len(header):
            fields[None] = f"{len(cells)} cells, the header has {len(header)}"  # type: ignore[index]
        yield number, fields


def _read_jsonl(lines: Iterator[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, {None: f"not valid JSON: {exc.msg}"}
            continue
        if not isinstance(obj, dict):
            yield number, {None: "each line must be one JSON object"}
            continue
        yield number, obj
