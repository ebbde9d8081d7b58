"""Ingest an exchange-format folder into a store: validate every row, write the good ones in
batches, report the bad ones by file, row and field.

Each file is read and validated whole before any of it is written, so a structurally broken file
stores nothing. Rows are written in batches of ``batch_size``; a batch is one transaction, and a
row's node and its relationships always travel in the same batch, so a crash leaves no half row.
Writing is an upsert by key: ingesting the same folder twice changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import operator
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from graph.model import (
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
    RelKind,
    Resource,
    Service,
)
from graph.national_id import IdNumberError, validate_id_number
from graph.privacy import mask_value
from graph.store import EdgeWrite, GraphStore, NodeWrite, WriteBatch, WriteResult, bulk_load
from graph.stores.staged import RepeatedNode
from ingest.exchange import FILE_SPECS, INGEST_ORDER, FileRejected, FileSpec, check_structure, find_files, read_rows

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
#: Rejects kept per file for the report; more are counted, not listed (a wrong file of millions
#: of rows must not exhaust memory with its rejects).
MAX_REJECTS_LISTED = 100_000


def _shown(field_name: str | None, value: Any) -> str:
    """A rejected value as the report shows it: short, and masked if personal."""
    text = "" if value is None else str(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return mask_value(field_name, text)


@dataclass(frozen=True)
class Reject:
    """One bad field of one row (a row with two bad fields gives two)."""

    file: str
    row: int
    field: str
    reason: str
    value: str  # masked

    def line(self) -> str:
        return f"{self.file} row {self.row} field {self.field}: {self.reason} (value: {self.value!r})"


@dataclass
class FileReport:
    file: str
    rows: int = 0
    rejected_rows: int = 0
    rejects_unlisted: int = 0  # rejects past MAX_REJECTS_LISTED: counted only
    written: WriteResult = field(default_factory=WriteResult)


@dataclass
class IngestReport:
    folder: str
    ingest_id: str
    files: list[FileReport] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    files_rejected: list[FileRejected] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def file_summaries(self) -> list[dict[str, Any]]:
        """Per file: rows read, rows rejected, and nodes and relationships created, updated, unchanged, removed."""
        return [
            {
                "file": f.file,
                "rows": f.rows,
                "rejected_rows": f.rejected_rows,
                "rejects_unlisted": f.rejects_unlisted,
                "created": sum(f.written.created.values()),
                "updated": sum(f.written.updated.values()),
                "unchanged": sum(f.written.unchanged.values()),
                "removed": sum(f.written.removed.values()),
            }
            for f in self.files
        ]

    @property
    def rejected_rows(self) -> int:
        return sum(f.rejected_rows for f in self.files)

    @property
    def ok(self) -> bool:
        return not self.rejects and not self.files_rejected and self.rejected_rows == 0

    def write_rejects_csv(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["file", "row", "field", "reason", "value"])
            for fr in self.files_rejected:
                w.writerow([fr.file, "", "", f"file rejected whole: {fr.reason}", ""])
            for r in self.rejects:
                w.writerow([r.file, r.row, r.field, r.reason, r.value])
            for f_ in self.files:
                if f_.rejects_unlisted:
                    w.writerow(
                        [f_.file, "", "", f"{f_.rejects_unlisted:,} more rejects not listed (the first {MAX_REJECTS_LISTED:,} are)", ""]
                    )


class _RowError(Exception):
    def __init__(self, field_name: str, reason: str, value: Any = None):
        super().__init__(reason)
        self.field = field_name
        self.reason = reason
        self.value = value


@dataclass
class _Context:
    """What the rows of one ingest may refer to: the store, plus what this ingest accepted."""

    store: GraphStore
    accepted: dict[NodeKind, set[str]] = field(default_factory=dict)
    region_urban_rural: dict[str, str | None] = field(default_factory=dict)
    today: dt.date = field(default_factory=dt.date.today)
    #: Regions this ingest holds but has not written yet (one-transaction ingests write at the end).
    staged_regions: dict[str, dict[str, Any]] = field(default_factory=dict)

    def known(self, kind: NodeKind, keys: Iterable[str]) -> set[str]:
        keys = set(keys)
        mine = self.accepted.setdefault(kind, set())
        return (keys & mine) | self.store.existing_keys(kind, keys - mine)

    def accept(self, kind: NodeKind, key: str) -> None:
        self.accepted.setdefault(kind, set()).add(key)


def _first_error(exc: ValidationError) -> list[tuple[str, str, Any]]:
    out = []
    for err in exc.errors():
        loc = err.get("loc") or ("?",)
        out.append((str(loc[0]), err.get("msg", "invalid").removeprefix("Value error, "), err.get("input")))
    return out


def _check_period(start: dt.date | None, end: dt.date | None, end_field: str) -> None:
    if start and end and end < start:
        raise _RowError(end_field, f"ends ({end}) before it starts ({start})", end.isoformat())


def _ref(ctx: _Context, kind: NodeKind, key: str | None, field_name: str, known: set[str]) -> None:
    if key is not None and key not in known:
        raise _RowError(field_name, f"unknown {kind.value.lower()} {key}", key)


def _person_stub(id_number: str, ctx: _Context) -> NodeWrite:
    """A person named by a department feed but absent from the register: kept, marked as such."""
    props: dict[str, Any] = {"id_number": id_number, "in_register": False}
    try:
        facts = validate_id_number(id_number, today=ctx.today)
        props.update(sex=facts.sex, birth_date=facts.birth_date.isoformat())
    except IdNumberError:
        props["id_valid"] = False
    return NodeWrite(NodeKind.PERSON, id_number, props, create_only=True)


# Each converter takes a validated row model and returns the nodes and relationships it writes.
_Writes = tuple[list[NodeWrite], list[EdgeWrite]]


def _edge(rel: RelKind, sk: NodeKind, skey: str, dk: NodeKind, dkey: str, **props: Any) -> EdgeWrite:
    # Without empty values: the ingest's batches hand their dicts to the store as they are (a
    # node's come from ``props()``, which leaves them out).
    if props and None in props.values():
        props = {k: v for k, v in props.items() if v is not None}
    return EdgeWrite(rel, sk, skey, dk, dkey, props)


class _FileHandler:
    """Validates one file's rows and turns each into writes. One subclass-free table of them below."""

    def __init__(
        self,
        kind: NodeKind | None,
        model: type[BaseModel],
        refs: Callable[[list[BaseModel], _Context], dict[str, set[str]]],
        convert: Callable[[BaseModel, dict[str, set[str]], _Context], _Writes],
        extra_check: Callable[[BaseModel, _Context], None] | None = None,
    ):
        self.kind = kind
        self.model = model
        self.refs = refs
        self.convert = convert
        self.extra_check = extra_check


# -- per-file rules ------------------------------------------------------------------------------


def _regions_refs(rows: list[Any], ctx: _Context) -> dict[str, set[str]]:
    in_file = {r.region_code: r.parent_code for r in rows}
    stored = ctx.known(NodeKind.REGION, {p for p in in_file.values() if p} - set(in_file))
    # A region is accepted once its parent is: the store's, or one of this file's that reaches a
    # root or the store. What never does (a missing parent, a cycle) is rejected.
    known = set(stored)
    changed = True
    while changed:
        changed = False
        for code, parent in in_file.items():
            if code not in known and (parent is None or parent in known):
                known.add(code)
                changed = True
    return {"region": known}


def _regions_check(r: Region, ctx: _Context) -> None:
    if r.parent_code == r.region_code:
        raise _RowError("parent_code", "a region cannot be its own parent", r.parent_code)


def _regions_convert(r: Region, refs: dict[str, set[str]], ctx: _Context) -> _Writes:
    _ref(ctx, NodeKind.REGION, r.parent_code, "parent_code", refs["region"])
    edges = []
    if r.parent_code:
        edges.append(_edge(RelKind.PART_OF, NodeKind.REGION, r.region_code, NodeKind.REGION, r.parent_code))
    return [NodeWrite(NodeKind.REGION, r.region_code, r.props())], edges


def _programs_refs(rows: list[Any], ctx: _Context) -> dict[str, set[str]]:
    return {"department": ctx.known(NodeKind.DEPARTMENT, {r.department_code for r in rows})}


def _programs_convert(p: Program, refs: dict[str, set[str]], ctx: _Context) -> _Writes:
    _ref(ctx, NodeKind.DEPARTMENT, p.department_code, "department_code", refs["department"])
    return [NodeWrite(NodeKind.PROGRAM, p.program_code, p.props())], [
        _edge(RelKind.ADMINISTERS, NodeKind.DEPARTMENT, p.department_code, NodeKind.PROGRAM, p.program_code)
    ]


def _households_refs(rows: list[Any], ctx: _Context) -> dict[str, set[str]]:
    codes = {r.region_code for r in rows}
    known = ctx.known(NodeKind.REGION, codes)
    _load_urban_rural(ctx, known)
    return {"region": known}


def _load_urban_rural(ctx: _Context, codes: set[str]) -> None:
    """Urban/rural of each region, inherited from the nearest ancestor that says."""
    pending = {c for c in codes if c not in ctx.region_urban_rural}
    regions: dict[str, dict[str, Any]] = {}
    while pending:
        found = {c: ctx.staged_regions[c] for c in pending if c in ctx.staged_regions}
        found.update(ctx.store.get_nodes(NodeKind.REGION, pending - set(found)))
        regions.update(found)
        pending = {r["parent_code"] for r in found.values() if r.get("parent_code") and r["parent_code"] not in regions}
    for code in codes:
        c: str | None = code
        seen = set()
        while c and c in regions and c not in seen:
            seen.add(c)
            if regions[c].get("urban_rural"):
                ctx.region_urban_rural[code] = regions[c]["urban_rural"]
                break
            c = regions[c].get("parent_code")
        else:
            ctx.region_urban_rural.setdefault(code, None)


def _households_convert(h: Household, refs: dict[str, set[str]], ctx: _Context) -> _Writes:
    _ref(ctx, NodeKind.REGION, h.region_code, "region_code", refs["region"])
    props = h.props()
    if h.urban_rural is None and ctx.region_urban_rural.get(h.region_code):
        props["urban_rural"] = ctx.region_urban_rural[h.region_code]
    return [NodeWrite(NodeKind.HOUSEHOLD, h.household_id, props)], [
        _edge(RelKind.LIVES_IN, NodeKind.HOUSEHOLD, h.household_id, NodeKind.REGION, h.region_code)
    ]


def _persons_refs(rows: list[Any], ctx: _Context) -> dict[str, set[str]]:
    regions = {c for r in rows for c in (r.hukou_region_code, r.residence_region_code) if c}
    return {
        "household": ctx.known(NodeKind.HOUSEHOLD, {r.household_id for r in rows if r.household_id}),
        "region": ctx.known(NodeKind.REGION, regions),
    }


def _persons_check(p: Person, ctx: _Context) -> None:
    try:
        facts = validate_id_number(p.id_number, today=ctx.today)
    except IdNumberError as exc:
        raise _RowError("id_number", f"not a valid ID number: {exc.reason}", p.id_number) from None
    if p.birth_date and p.birth_date != facts.birth_date:
        raise _RowError("birth_date", f"does not match the ID number, which says {facts.birth_date}", p.birth_date.isoformat())
    if p.sex and p.sex.value != facts.sex:
        raise _RowError("sex", f"does not match the ID number, which says {facts.sex}", p.sex.value)
    if p.deceased_on and p.deceased_on > ctx.today:
        raise _RowError("deceased_on", "is in the future", p.deceased_on.isoformat())
    if p.deceased_on and p.birth_date and p.deceased_on < p.birth_date:
        raise _RowError("deceased_on", "is before the birth date", p.deceased_on.isoformat())


def _persons_convert(p: Person, refs: dict[str, set[str]], ctx: _Context) -> _Writes:
    _ref(ctx, NodeKind.HOUSEHOLD, p.household_id, "household_id", refs["household"])
    key = p.id_number.upper()
    props = {**p.props(), "id_number": key, "in_register": True}
    edges = [
        _edge(
            RelKind.MEMBER_OF,
            NodeKind.PERSON,
            key,
            NodeKind.HOUSEHOLD,
            p.household_id,  # type: ignore[arg-type]
            relation_to_head=p.relation_to_head.value if p.relation_to_head else None,
        )
    ]
    # A hukou or residence region outside the delivered tree (people registered elsewhere) is kept
    # as a code; the relationship is drawn only where the region is known.
    if p.hukou_region_code in refs["region"]:
        edges.append(_edge(RelKind.REGISTERED_IN, NodeKind.PERSON, key, NodeKind.REGION, p.hukou_region_code))  # type: ignore[arg-type]
    if p.residence_region_code in refs["region"]:
        edges.append(_edge(RelKind.LIVES_IN, NodeKind.PERSON, key, NodeKind.REGION, p.residence_region_code))  # type: ignore[arg-type]
    return [NodeWrite(NodeKind.PERSON, key, props)], edges


def _kinship_refs(rows: list[Any], ctx: _Context) -> dict[str, set[str]]:
    return {"person": ctx.known(NodeKind.PERSON, {i for r in rows for i in (r.from_id_number, r.to_id_number)})}


def _kinship_check(k: Kinship, ctx: _Context) -> None:
    if k.from_id_number == k.to_id_number:
        raise _RowError("to_id_number", "a person cannot be their own kin", k.to_id_number)


def _kinship_convert(k: Kinship, refs: dict[str, set[str]], ctx: _Context) -> _Writes:
    nodes = []
    for ident in (k.from_id_number, k.to_id_number):
        if ident not in refs["person"]:
            nodes.append(_person_stub(ident, ctx))
            refs["person"].add(ident)
    return nodes, [_edge(RelKind.KIN, NodeKind.PERSON, k.from_id_number, NodeKind.PERSON, k.to_id_number, relation=k.relation.value)]


def _incomes_refs(rows: list[Any], ctx: _Context) -> dict[str, set[str]]:
    return {
        "person": ctx.known(NodeKind.PERSON, {r.id_number for r in rows}),
        "department": ctx.known(NodeKind.DEPARTMENT, {r.source_department for r in rows if r.source_department}),
    }


def _incomes_convert(i: Income, refs: dict[str, set[str]], ctx: _Context) -> _Writes:
    _check_period(i.period_start, i.period_end, "period_end")
    _ref(ctx, NodeKind.DEPARTMENT, i.source_department, "source_department", refs["department"])
    edges = []
    # A department's ID that matches no person is kept on the income for identity resolution.
    if i.id_number in refs["person"]:
        edges.append(_edge(RelKind.HAS_INCOME, NodeKind.PERSON, i.id_number, NodeKind.INCOME, i.income_id))
    return [NodeWrite(NodeKind.INCOME, i.income_id, i.props())], edges


def _assets_refs(rows: list[Any], ctx: _Context) -> dict[str, set[str]]:
    return {"household": ctx.known(NodeKind.HOUSEHOLD, {r.household_id for r in rows})}


def _assets_convert(a: Asset, refs: dict[str, set[str]], ctx: _Context) -> _Writes:
    _ref(ctx, NodeKind.HOUSEHOLD, a.household_id, "household_id", refs["household"])
    return [NodeWrite(NodeKind.ASSET, a.asset_id, a.props())], [
        _edge(RelKind.OWNS, NodeKind.HOUSEHOLD, a.household_id, NodeKind.ASSET, a.asset_id)
    ]


def _needs_refs(rows: list[Any], ctx: _Context) -> dict[str, set[str]]:
    return {
        "household": ctx.known(NodeKind.HOUSEHOLD, {r.household_id for r in rows}),
        "person": ctx.known(NodeKind.PERSON, {r.person_ref for r in rows if r.person_ref}),
    }


def _needs_check(n: Need, ctx: _Context) -> None:
    if n.raised_on > ctx.today:
        raise _RowError("raised_on", "is in the future", n.raised_on.isoformat())


def _needs_convert(n: Need, refs: dict[str, set[str]], ctx: _Context) -> _Writes:
    _ref(ctx, NodeKind.HOUSEHOLD, n.household_id, "household_id", refs["household"])
    edges = [_edge(RelKind.HAS_NEED, NodeKind.HOUSEHOLD, n.household_id, NodeKind.NEED, n.need_id)]
    if n.person_ref and n.person_ref in refs["person"]:
        edges.append(_edge(RelKind.CONCERNS, NodeKind.NEED, n.need_id, NodeKind.PERSON, n.person_ref))
    return [NodeWrite(NodeKind.NEED, n.need_id, n.props())], edges


def _aid_refs(rows: list[Any], ctx: _Context) -> dict[str, set[str]]:
    return {
        "department": ctx.known(NodeKind.DEPARTMENT, {r.source_department for r in rows}),
        "program": ctx.known(NodeKind.PROGRAM, {r.program_code for r in rows}),
        "need": ctx.known(NodeKind.NEED, {r.need_id for r in rows if r.need_id}),
        "household": ctx.known(NodeKind.HOUSEHOLD, {r.beneficiary_ref for r in rows if r.beneficiary_type.value == "household"}),
        "person": ctx.known(NodeKind.PERSON, {r.beneficiary_ref for r in rows if r.beneficiary_type.value == "person"}),
    }


def _aid_convert(a: AidRecord, refs: dict[str, set[str]], ctx: _Context) -> _Writes:
    _ref(ctx, NodeKind.DEPARTMENT, a.source_department, "source_department", refs["department"])
    _ref(ctx, NodeKind.PROGRAM, a.program_code, "program_code", refs["program"])
    _ref(ctx, NodeKind.NEED, a.need_id, "need_id", refs["need"])
    _check_period(a.period_start, a.period_end, "period_end")
    edges = [_edge(RelKind.PAID_BY, NodeKind.AID_RECORD, a.record_id, NodeKind.PROGRAM, a.program_code)]
    if a.need_id:
        edges.append(_edge(RelKind.FOR_NEED, NodeKind.AID_RECORD, a.record_id, NodeKind.NEED, a.need_id))
    # The beneficiary is linked only on an exact match here; anything else stays a department
    # reference on the record, for identity resolution to link with a score.
    kind = NodeKind.HOUSEHOLD if a.beneficiary_type.value == "household" else NodeKind.PERSON
    if a.beneficiary_ref in refs[kind.value.lower()]:
        edges.append(_edge(RelKind.RECEIVES, kind, a.beneficiary_ref, NodeKind.AID_RECORD, a.record_id, match="exact", score=1.0))
    return [NodeWrite(NodeKind.AID_RECORD, a.record_id, a.props())], edges


def _resources_refs(rows: list[Any], ctx: _Context) -> dict[str, set[str]]:
    return {"region": ctx.known(NodeKind.REGION, {r.region_code for r in rows})}


def _resources_convert(r: Resource, refs: dict[str, set[str]], ctx: _Context) -> _Writes:
    _ref(ctx, NodeKind.REGION, r.region_code, "region_code", refs["region"])
    return [NodeWrite(NodeKind.RESOURCE, r.resource_id, r.props())], [
        _edge(RelKind.BASED_IN, NodeKind.RESOURCE, r.resource_id, NodeKind.REGION, r.region_code)
    ]


def _services_refs(rows: list[Any], ctx: _Context) -> dict[str, set[str]]:
    return {
        "resource": ctx.known(NodeKind.RESOURCE, {r.resource_id for r in rows}),
        "household": ctx.known(NodeKind.HOUSEHOLD, {r.household_id for r in rows}),
        "need": ctx.known(NodeKind.NEED, {r.need_id for r in rows if r.need_id}),
    }


def _services_convert(s: Service, refs: dict[str, set[str]], ctx: _Context) -> _Writes:
    _ref(ctx, NodeKind.RESOURCE, s.resource_id, "resource_id", refs["resource"])
    _ref(ctx, NodeKind.HOUSEHOLD, s.household_id, "household_id", refs["household"])
    _ref(ctx, NodeKind.NEED, s.need_id, "need_id", refs["need"])
    _check_period(s.start, s.end, "end")
    edges = [
        _edge(RelKind.PROVIDES, NodeKind.RESOURCE, s.resource_id, NodeKind.SERVICE, s.service_id),
        _edge(RelKind.SERVES, NodeKind.SERVICE, s.service_id, NodeKind.HOUSEHOLD, s.household_id),
    ]
    if s.need_id:
        edges.append(_edge(RelKind.FOR_NEED, NodeKind.SERVICE, s.service_id, NodeKind.NEED, s.need_id))
    return [NodeWrite(NodeKind.SERVICE, s.service_id, s.props())], edges


def _no_refs(rows: list[Any], ctx: _Context) -> dict[str, set[str]]:
    return {}


def _simple(kind: NodeKind) -> Callable[[BaseModel, dict[str, set[str]], _Context], _Writes]:
    def convert(m: BaseModel, refs: dict[str, set[str]], ctx: _Context) -> _Writes:
        return [NodeWrite(kind, getattr(m, FILE_SPECS_BY_KIND[kind].key), m.props())], []  # type: ignore[attr-defined]

    return convert


FILE_SPECS_BY_KIND: dict[NodeKind, FileSpec] = {}

_HANDLERS: dict[str, _FileHandler] = {
    "regions": _FileHandler(NodeKind.REGION, Region, _regions_refs, _regions_convert, _regions_check),
    "departments": _FileHandler(NodeKind.DEPARTMENT, Department, _no_refs, _simple(NodeKind.DEPARTMENT)),
    "programs": _FileHandler(NodeKind.PROGRAM, Program, _programs_refs, _programs_convert),
    "households": _FileHandler(NodeKind.HOUSEHOLD, Household, _households_refs, _households_convert),
    "persons": _FileHandler(NodeKind.PERSON, Person, _persons_refs, _persons_convert, _persons_check),
    "kinship": _FileHandler(None, Kinship, _kinship_refs, _kinship_convert, _kinship_check),
    "incomes": _FileHandler(NodeKind.INCOME, Income, _incomes_refs, _incomes_convert),
    "assets": _FileHandler(NodeKind.ASSET, Asset, _assets_refs, _assets_convert),
    "needs": _FileHandler(NodeKind.NEED, Need, _needs_refs, _needs_convert, _needs_check),
    "aid_records": _FileHandler(NodeKind.AID_RECORD, AidRecord, _aid_refs, _aid_convert),
    "resources": _FileHandler(NodeKind.RESOURCE, Resource, _resources_refs, _resources_convert),
    "services": _FileHandler(NodeKind.SERVICE, Service, _services_refs, _services_convert),
}
for _name, _handler in _HANDLERS.items():
    if _handler.kind is not None:
        FILE_SPECS_BY_KIND[_handler.kind] = FILE_SPECS[_name]


# -- the pipeline --------------------------------------------------------------------------------


def _row_key(spec: FileSpec, fields: dict[str, Any]) -> str:
    if spec.name == "kinship":
        return "|".join(str(fields.get(c, "")).strip() for c in ("from_id_number", "to_id_number"))
    value = fields.get(spec.key)
    return str(value).strip().upper() if spec.name == "persons" else str(value).strip()


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
) -> Iterator[list[tuple[int, BaseModel]]]:
    """The file's good rows, validated, CHUNK_ROWS at a time; bad rows go to ``reject``."""
    good: list[tuple[int, BaseModel]] = []
    first_seen: dict[str, int] = {}
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
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")

    def load(into: GraphStore) -> IngestReport:
        return _ingest_folder(into, folder, batch_size, progress, today, encoding, chunk_rows, one_transaction, check)

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
) -> IngestReport:
    ingest_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    report = IngestReport(folder=str(folder), ingest_id=ingest_id)
    found, rejected, report.ignored = find_files(folder)
    report.files_rejected.extend(rejected)
    ctx = _Context(store=store, today=today or dt.date.today())
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
        chunks = _validated_chunks(path, spec, handler, ctx, reject, fr, encoding, chunk_rows if name != "regions" else 1 << 62)
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
