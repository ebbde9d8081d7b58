"""Per exchange file: the references a row's checks need, its own checks, and the nodes and
relationships a valid row becomes (``_HANDLERS``, read by ``ingest.loader``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
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
from graph.store import EdgeWrite, GraphStore, NodeWrite
from ingest.exchange import FILE_SPECS, FileSpec

__all__ = ["FILE_SPECS_BY_KIND"]


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
