"""Writes are scoped like reads: every node a write creates or changes lies in the caller's region,
before the write and after it.

Where a node lies follows what it refers to: a household its ``region_code``; a person their
household (else where they live or are registered); an income its person; an asset, need or
service its household; an aid record its beneficiary; a region or resource its own code.
Programmes and departments lie nowhere: a region-scoped key may send them unchanged (a delivery
repeats its reference data) but never create or change them. A relationship between two existing
people (kinship) needs one of them in the region.

>>> from graph.stores.ladybug import LadybugStore
>>> store = LadybugStore.in_memory()
>>> _ = store.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.HOUSEHOLD, "H-1", {"household_id": "H-1", "region_code": "420502"})]))
>>> moved = WriteBatch(nodes=[NodeWrite(NodeKind.HOUSEHOLD, "H-1", {"household_id": "H-1", "region_code": "420504"})])
>>> write_scope_violations(store, moved, lambda code: (code or "").startswith("420504"))
['Household H-1: lies in 420502 before this write, outside your region']
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from graph.model import NodeKind, RelKind
from graph.store import GraphStore, NodeWrite, WriteBatch  # noqa: F401 (NodeWrite: the doctest)

__all__ = ["WriteOutOfScope", "write_scope_violations"]

#: The property naming the household a node of each kind belongs to.
_HOUSEHOLD_OF = {NodeKind.ASSET: "household_id", NodeKind.NEED: "household_id", NodeKind.SERVICE: "household_id"}
#: Shown to the caller: enough to find the rows, not a list of thousands.
_MAX_REASONS = 20


class WriteOutOfScope(Exception):
    """A write would create or change something outside the caller's region: nothing was written."""

    def __init__(self, reasons: list[str]):
        more = f" (and {len(reasons) - _MAX_REASONS} more)" if len(reasons) > _MAX_REASONS else ""
        super().__init__("; ".join(reasons[:_MAX_REASONS]) + more)
        self.reasons = reasons


class _Lookup:
    """Households and persons as they stand before the write (``stored``) or after it (``after``)."""

    def __init__(self, store: GraphStore, after: dict[NodeKind, dict[str, dict[str, Any]]]):
        self.store, self.after = store, after
        self.stored: dict[NodeKind, dict[str, dict[str, Any]]] = defaultdict(dict)

    def fetch(self, kind: NodeKind, keys: set[str]) -> None:
        missing = {k for k in keys if k and k not in self.stored[kind]}
        if missing:
            self.stored[kind].update(self.store.get_nodes(kind, missing))

    def node(self, kind: NodeKind, key: str | None, *, after: bool) -> dict[str, Any] | None:
        if key is None:
            return None
        if after and key in self.after.get(kind, {}):
            return self.after[kind][key]
        return self.stored[kind].get(key)


def _person_region(person: dict[str, Any] | None, look: _Lookup, *, after: bool) -> str | None:
    if person is None:
        return None
    household = look.node(NodeKind.HOUSEHOLD, person.get("household_id"), after=after)
    if household is not None:
        return household.get("region_code")
    return person.get("residence_region_code") or person.get("hukou_region_code")


def _region(kind: NodeKind, props: dict[str, Any], look: _Lookup, *, after: bool) -> str | None:
    if kind in (NodeKind.HOUSEHOLD, NodeKind.REGION, NodeKind.RESOURCE):
        return props.get("region_code")
    if kind is NodeKind.PERSON:
        return _person_region(props, look, after=after)
    if kind is NodeKind.INCOME:
        return _person_region(look.node(NodeKind.PERSON, props.get("id_number"), after=after), look, after=after)
    if kind is NodeKind.AID_RECORD:
        ref = props.get("beneficiary_ref")
        if props.get("beneficiary_type") == "household":
            household = look.node(NodeKind.HOUSEHOLD, ref, after=after)
            return household.get("region_code") if household else None
        return _person_region(look.node(NodeKind.PERSON, ref, after=after), look, after=after)
    if kind in _HOUSEHOLD_OF:
        household = look.node(NodeKind.HOUSEHOLD, props.get(_HOUSEHOLD_OF[kind]), after=after)
        return household.get("region_code") if household else None
    return None  # programmes, departments, marks, reviews: shared, in no region


def _references(kind: NodeKind, props: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(persons, households) a node of ``kind`` refers to."""
    if kind is NodeKind.PERSON:
        return set(), {props.get("household_id")} - {None}
    if kind is NodeKind.INCOME:
        return {props.get("id_number")} - {None}, set()
    if kind is NodeKind.AID_RECORD:
        ref = props.get("beneficiary_ref")
        return (set(), {ref}) if props.get("beneficiary_type") == "household" else ({ref}, set())
    if kind in _HOUSEHOLD_OF:
        return set(), {props.get(_HOUSEHOLD_OF[kind])} - {None}
    return set(), set()


def write_scope_violations(store: GraphStore, batch: WriteBatch, sees: Callable[[str | None], bool]) -> list[str]:
    """Why ``batch`` reaches outside the region ``sees`` accepts: one reason per node, empty if it does not."""
    after: dict[NodeKind, dict[str, dict[str, Any]]] = defaultdict(dict)
    create_only: dict[tuple[NodeKind, str], bool] = {}
    for w in batch.nodes:
        after[w.kind][w.key] = {**after[w.kind].get(w.key, {}), **w.props}
        create_only[(w.kind, w.key)] = create_only.get((w.kind, w.key), True) and w.create_only
    look = _Lookup(store, after)
    for kind, nodes in after.items():
        look.fetch(kind, set(nodes))
    # What the nodes refer to, before and after: persons first (their households follow).
    persons, households = set(), set()
    for kind, nodes in list(after.items()):
        for key, props in nodes.items():
            for state in (props, look.stored[kind].get(key) or {}):
                p, h = _references(kind, state)
                persons |= p
                households |= h
    look.fetch(NodeKind.PERSON, persons)
    for key in persons:
        for state in (look.stored[NodeKind.PERSON].get(key), after[NodeKind.PERSON].get(key)):
            if state and state.get("household_id"):
                households.add(state["household_id"])
    look.fetch(NodeKind.HOUSEHOLD, households)

    reasons: list[str] = []
    changed: set[tuple[NodeKind, str]] = set()
    for kind, nodes in after.items():
        for key, props in nodes.items():
            before = look.stored[kind].get(key)
            if before is not None and (create_only[(kind, key)] or {**before, **props} == before):
                continue  # unchanged: sending it again is no write
            changed.add((kind, key))
            was = _region(kind, before, look, after=False) if before is not None else None
            will = _region(kind, {**(before or {}), **props}, look, after=True)
            if before is not None and not sees(was):
                reasons.append(f"{kind.value} {key}: lies in {was or 'no region'} before this write, outside your region")
            elif not sees(will):
                reasons.append(f"{kind.value} {key}: would lie in {will or 'no region'}, outside your region")
    reasons.extend(_kinship_violations(store, batch, look, sees, changed))
    return reasons


def _kinship_violations(
    store: GraphStore, batch: WriteBatch, look: _Lookup, sees: Callable[[str | None], bool], changed: set[tuple[NodeKind, str]]
) -> list[str]:
    """Kinship drawn between two people of other regions changes their obligations: refused."""
    kin = [e for e in batch.edges if e.rel is RelKind.KIN]
    look.fetch(NodeKind.PERSON, {k for e in kin for k in (e.src_key, e.dst_key)})
    look.fetch(NodeKind.HOUSEHOLD, {p.get("household_id") for p in look.stored[NodeKind.PERSON].values()} - {None})
    out = []
    for e in kin:
        ends = [look.node(NodeKind.PERSON, k, after=True) for k in (e.src_key, e.dst_key)]
        if any(sees(_person_region(p, look, after=True)) for p in ends):
            continue
        existing = store.neighbourhood(NodeKind.PERSON, e.src_key, 1).edges if (NodeKind.PERSON, e.src_key) not in changed else []
        if any(r.rel is RelKind.KIN and {r.src_key, r.dst_key} == {e.src_key, e.dst_key} for r in existing):
            continue
        out.append(f"KIN {e.src_key} - {e.dst_key}: neither person lies in your region")
    return out
