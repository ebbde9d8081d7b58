"""The exchange format's files: which exist, their required columns, and reading their rows.

A file is ``NAME.csv`` (UTF-8, BOM allowed, RFC 4180) or ``NAME.jsonl``. Reading yields
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

__all__ = ["FILE_SPECS", "INGEST_ORDER", "FileRejected", "FileSpec", "find_files", "read_rows"]


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


def _spec(name: str, columns: str) -> FileSpec:
    """Columns in the documented order; a trailing ``*`` marks a required one."""
    cols = columns.split()
    return FileSpec(
        name=name,
        key=cols[0].rstrip("*"),
        required=tuple(c.rstrip("*") for c in cols if c.endswith("*")),
        optional=tuple(c for c in cols if not c.endswith("*")),
        order=tuple(c.rstrip("*") for c in cols),
    )


FILE_SPECS: dict[str, FileSpec] = {
    s.name: s
    for s in [
        _spec("regions", "region_code* name* level* parent_code urban_rural"),
        _spec("departments", "department_code* name*"),
        _spec("programs", "program_code* name* department_code* kind* target* exclusive_group description"),
        _spec("households", "household_id* region_code* address urban_rural registered_size"),
        _spec(
            "persons",
            "id_number* name* sex* birth_date* household_id* relation_to_head* hukou_region_code "
            "residence_region_code disability_grade chronic_illness major_illness labour_capacity employment "
            "phone bank_account deceased_on",
        ),
        _spec("kinship", "from_id_number* to_id_number* relation*"),
        _spec("incomes", "income_id* id_number* kind* monthly_amount* source_department period_start period_end"),
        _spec("assets", "asset_id* household_id* kind* quantity* value note"),
        _spec(
            "aid_records",
            "record_id* source_department* program_code* beneficiary_type* beneficiary_ref* beneficiary_name "
            "beneficiary_birth_date amount* period_start* period_end status need_id",
        ),
        _spec("needs", "need_id* household_id* person_ref category* urgency* raised_on* status description"),
        _spec(
            "resources",
            "resource_id* provider_name* provider_type* categories* region_code* capacity* funds_left satisfaction skills languages",
        ),
        _spec("services", "service_id* resource_id* household_id* need_id start* end amount"),
    ]
}

#: Files are read in this order, so that every reference points to something already stored.
INGEST_ORDER = [
    "regions",
    "departments",
    "programs",
    "households",
    "persons",
    "kinship",
    "incomes",
    "assets",
    "needs",
    "aid_records",
    "resources",
    "services",
]


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


def _decode(path: Path) -> str:
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRejected(path.name, "is UTF-16; the exchange format is UTF-8 (save it as UTF-8)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        try:
            data.decode("gb18030")
            hint = "it looks like GBK/GB18030, as Chinese government systems often export: save it as UTF-8"
        except UnicodeDecodeError:
            hint = "save it as UTF-8"
        raise FileRejected(path.name, f"is not UTF-8 (first bad byte on line {line}); {hint}") from None


def read_rows(path: Path, spec: FileSpec) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(row_number, fields)``; raise FileRejected before the first row if the file's
    structure is broken. Rows with the wrong number of cells come with a ``None`` key listing
    the extra cells, for the caller to reject."""
    text = _decode(path)
    if path.suffix == ".jsonl":
        yield from _read_jsonl(path, text)
        return
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
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
    rows: list[tuple[int, dict[str, Any]]] = []
    number = 1
    try:
        for cells in reader:
            number += 1
            if not cells or all(c.strip() == "" for c in cells):
                continue
            fields: dict[str, Any] = dict(zip(header, cells, strict=False))
            if len(cells) != len(header):
                fields[None] = f"{len(cells)} cells, the header has {len(header)}"  # type: ignore[index]
            rows.append((number, fields))
    except csv.Error as exc:
        raise FileRejected(path.name, f"row {number + 1} is not valid CSV: {exc}") from None
    yield from rows


def _read_jsonl(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(text.splitlines(), start=1):
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
