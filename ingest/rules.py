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
    Household,
    Kinship,
    Need,
    NodeKind,
    Person,
    Ref,
    Region,
    RelKind,
    Resource,
    refs_of,
)
from graph.national_id import IdNumberError, validate_id_number
from graph.store import EdgeWrite, GraphStore, NodeWrite
from ingest.codes import CatalogueCodes
from ingest.exchange import FILE_KINDS, FILE_MODELS

__all__: list[str] = []  # read by ingest.loader only


class _RowError(Exception):
    def __init__(self, field_name: str, reason: str, value: Any = None):
        super().__init__(reason)
        self.field = field_name
        self.reason = reason
        self.value = value


def _named_kinds() -> frozenset[NodeKind]:
    """The kinds a row may name: its references' (a reference whose row says which, both), the
    persons of kinship and the parents of regions. An ingest remembers the keys it accepted of
    these only: no row asks after an aid record, an income or an asset (17.6M aid records at the
    prefecture)."""
    named = {NodeKind.PERSON, NodeKind.REGION}
    for model in FILE_MODELS.values():
        for _, ref in refs_of(model):
            named.update((NodeKind.PERSON, NodeKind.HOUSEHOLD) if ref.kind_from else (ref.kind,))
    return frozenset(named)


@dataclass
class _Context:
    """What the rows of one ingest may refer to: the store, plus what this ingest accepted."""

    store: GraphStore
    accepted: dict[NodeKind, set[str]] = field(default_factory=dict)
    region_urban_rural: dict[str, str | None] = field(default_factory=dict)
    today: dt.date = field(default_factory=dt.date.today)
    #: Regions this ingest holds but has not written yet (one-transaction ingests write at the end).
    staged_regions: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The service catalogue's codes the need and resource files are checked against (None: not checked).
    codes: CatalogueCodes | None = None

    def known(self, kind: NodeKind, keys: Iterable[str]) -> set[str]:
        if kind not in _NAMED_KINDS:
            raise ValueError(f"an ingest does not keep the {kind.value} keys it accepted: no exchange row names one (graph.model.Ref)")
        keys = set(keys)
        mine = self.accepted.setdefault(kind, set())
        return (keys & mine) | self.store.existing_keys(kind, keys - mine)

    def accept(self, kind: NodeKind, key: str) -> None:
        if kind in _NAMED_KINDS:
            self.accepted.setdefault(kind, set()).add(key)


_NAMED_KINDS = _named_kinds()


def _first_error(exc: ValidationError) -> list[tuple[str, str, Any]]:
    out = []
    for err in exc.errors():
        loc = err.get("loc") or ("?",)
        out.append((str(loc[0]), err.get("msg", "invalid").removeprefix("Value error, "), err.get("input")))
    return out


def _check_period(start: dt.date | None, end: dt.date | None, end_field: str) -> None:
    if start and end and end < start:
        raise _RowError(end_field, f"ends ({end}) before it starts ({start})", end.isoformat())


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
    """Validates one file's rows and turns each into writes: its model, the references its rows'
    checks need (``refs``), a row's own checks, and what a valid row becomes (``convert``)."""

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


# -- derived from the models' references (``Ref`` in graph.model) ------------------------------


def _target(row: BaseModel, ref: Ref) -> NodeKind:
    """The kind a reference names in this row (``kind_from``: the row says, person or household)."""
    if ref.kind_from is None:
        return ref.kind
    return NodeKind.HOUSEHOLD if getattr(row, ref.kind_from).value == "household" else NodeKind.PERSON


def _refs_for(model: type[BaseModel]) -> Callable[[list[Any], _Context], dict[str, set[str]]]:
    """The keys the rows name that exist (stored, or accepted by this ingest), per field and kind."""
    fields = refs_of(model)

    def refs(rows: list[Any], ctx: _Context) -> dict[str, set[str]]:
        wanted: dict[tuple[str, NodeKind], set[str]] = {}
        for r in rows:
            for name, ref in fields:
                value = getattr(r, name)
                if value is not None:
                    wanted.setdefault((name, _target(r, ref)), set()).add(value)
        return {f"{name}:{kind.value}": ctx.known(kind, keys) for (name, kind), keys in wanted.items()}

    return refs


def _converter(
    kind: NodeKind,
    model: type[BaseModel],
    *,
    key: Callable[[Any], str] | None = None,
    props: Callable[[Any, _Context], dict[str, Any]] | None = None,
    edge_props: Callable[[Any, str], dict[str, Any]] | None = None,
) -> Callable[[Any, dict[str, set[str]], _Context], _Writes]:
    """A row's node and the relationships its references draw; an unknown required reference
    rejects the row, naming the field (``unknown household H-1``)."""
    fields, key_field = refs_of(model), next(iter(model.model_fields))

    def convert(row: Any, refs: dict[str, set[str]], ctx: _Context) -> _Writes:
        own = key(row) if key else getattr(row, key_field)
        edges = []
        for name, ref in fields:
            value = getattr(row, name)
            if value is None:
                continue
            target = _target(row, ref)
            if value not in refs.get(f"{name}:{target.value}", ()):
                if ref.required:
                    raise _RowError(name, f"unknown {target.value.lower()} {value}", value)
                continue  # kept as a code on the node, for identity resolution or another region
            if ref.rel is not None:
                ends = (kind, own, target, value) if ref.outgoing else (target, value, kind, own)
                edges.append(_edge(ref.rel, *ends, **(edge_props(row, name) if edge_props else {})))
        return [NodeWrite(kind, own, props(row, ctx) if props else row.props())], edges

    return convert


def _period(start: str, end: str) -> Callable[[Any, _Context], None]:
    def check(row: Any, ctx: _Context) -> None:
        _check_period(getattr(row, start), getattr(row, end), end)

    return check


# -- what is particular to a file ------------------------------------------------------------------


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
    return {"parent_code:Region": known}


def _regions_check(r: Region, ctx: _Context) -> None:
    if r.parent_code == r.region_code:
        raise _RowError("parent_code", "a region cannot be its own parent", r.parent_code)


_household_refs = _refs_for(Household)


def _households_refs(rows: list[Any], ctx: _Context) -> dict[str, set[str]]:
    refs = _household_refs(rows, ctx)
    _load_urban_rural(ctx, refs.get("region_code:Region", set()))
    return refs


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


def _household_props(h: Household, ctx: _Context) -> dict[str, Any]:
    props = h.props()
    if h.urban_rural is None and ctx.region_urban_rural.get(h.region_code):
        props["urban_rural"] = ctx.region_urban_rural[h.region_code]
    return props


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


def _kinship_refs(rows: list[Any], ctx: _Context) -> dict[str, set[str]]:
    return {"person": ctx.known(NodeKind.PERSON, {i for r in rows for i in (r.from_id_number, r.to_id_number)})}


def _kinship_check(k: Kinship, ctx: _Context) -> None:
    if k.from_id_number == k.to_id_number:
        raise _RowError("to_id_number", "a person cannot be their own kin", k.to_id_number)


def _kinship_convert(k: Kinship, refs: dict[str, set[str]], ctx: _Context) -> _Writes:
    # A kinship row is a relationship: a person it names that nobody registered is kept as such.
    nodes = []
    for ident in (k.from_id_number, k.to_id_number):
        if ident not in refs["person"]:
            nodes.append(_person_stub(ident, ctx))
            refs["person"].add(ident)
    return nodes, [_edge(RelKind.KIN, NodeKind.PERSON, k.from_id_number, NodeKind.PERSON, k.to_id_number, relation=k.relation.value)]


def _needs_check(n: Need, ctx: _Context) -> None:
    if n.raised_on > ctx.today:
        raise _RowError("raised_on", "is in the future", n.raised_on.isoformat())
    if n.need_type is not None and ctx.codes is not None and (problem := ctx.codes.need_type_problem(n.need_type, n.category.value)):
        raise _RowError("need_type", problem, n.need_type)


def _resources_check(r: Resource, ctx: _Context) -> None:
    if r.market and ctx.codes is not None and (problem := ctx.codes.market_problem(r.market)):
        raise _RowError("market", problem, ";".join(r.market))


def _handler(name: str, **particular: Any) -> _FileHandler:
    """The file's handler: derived from its model, with what is particular to it."""
    model, kind = FILE_MODELS[name], FILE_KINDS.get(name)
    convert = particular.pop("convert", None) or _converter(kind, model, **particular.pop("converter", {}))  # type: ignore[arg-type]
    return _FileHandler(kind, model, particular.pop("refs", None) or _refs_for(model), convert, particular.pop("check", None))


_HANDLERS: dict[str, _FileHandler] = {
    "regions": _handler("regions", refs=_regions_refs, check=_regions_check),
    "departments": _handler("departments"),
    "programs": _handler("programs"),
    "households": _handler("households", refs=_households_refs, converter={"props": _household_props}),
    "persons": _handler(
        "persons",
        check=_persons_check,
        converter={
            "key": lambda p: p.id_number.upper(),
            "props": lambda p, ctx: {**p.props(), "id_number": p.id_number.upper(), "in_register": True},
            "edge_props": lambda p, name: (
                {"relation_to_head": p.relation_to_head.value if p.relation_to_head else None} if name == "household_id" else {}
            ),
        },
    ),
    "kinship": _handler("kinship", refs=_kinship_refs, convert=_kinship_convert, check=_kinship_check),
    "incomes": _handler("incomes", check=_period("period_start", "period_end")),
    "assets": _handler("assets"),
    "needs": _handler("needs", check=_needs_check),
    # The beneficiary is linked only on an exact match here; anything else stays a department
    # reference on the record, for identity resolution to link with a score.
    "aid_records": _handler(
        "aid_records",
        check=_period("period_start", "period_end"),
        converter={"edge_props": lambda a, name: {"match": "exact", "score": 1.0} if name == "beneficiary_ref" else {}},
    ),
    "resources": _handler("resources", check=_resources_check),
    "services": _handler("services", check=_period("start", "end")),
}
