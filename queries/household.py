"""The household view: a household and everything linked to it (members, relatives outside it,
income, assets, aid records by programme and department, needs and who serves them).

One Cypher text gathers the pieces on both engines; :func:`_assemble` orders them into the view,
so the answers compare equal.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from graph.model import NodeKind, RelKind  # noqa: F401  (the doctest's)
from queries.registry import question

__all__ = ["HOUSEHOLD_VIEW_CYPHER", "HouseholdView", "household_view"]

_LEVEL_ORDER = {"village": 0, "township": 1, "county": 2, "city": 3, "province": 4}
_ROLE_ORDER = ["head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other"]
# How a relative stands to a member, from the KIN relation and its direction.
_RELATIVE_ROLE = {
    ("parent_of", "out"): "parent",
    ("parent_of", "in"): "child",
    ("spouse_of", "out"): "spouse",
    ("spouse_of", "in"): "spouse",
    ("sibling_of", "out"): "sibling",
    ("sibling_of", "in"): "sibling",
}


class Member(BaseModel):
    person: dict[str, Any]
    relation_to_head: str | None
    incomes: list[dict[str, Any]]
    age: int | None = None  # on the day the view is of (``household_chain``'s ``as_of``)
    living: bool = True  # on that day


class Relative(BaseModel):
    """A kinsman of a member who lives outside the household (or only in another department's records)."""

    person: dict[str, Any]
    relative_is: str  # parent, child, spouse, sibling: what the relative is to the member
    of_member: str  # the member's ID number


class AidLine(BaseModel):
    record: dict[str, Any]
    beneficiary: str  # "household" or the member's ID number
    link: dict[str, Any]  # the RECEIVES relationship's properties (how it was matched)
    program: dict[str, Any] | None
    department: dict[str, Any] | None  # the department administering the programme
    sending_department: dict[str, Any] | None = None  # the department that sent the record (``household_chain``)


class ServiceLine(BaseModel):
    service: dict[str, Any]
    resource: dict[str, Any] | None


class NeedLine(BaseModel):
    need: dict[str, Any]
    services: list[ServiceLine]
    aid_record_ids: list[str]


class HouseholdView(BaseModel):
    """Everything AidGraph holds about one household, ordered the same way on every engine."""

    household: dict[str, Any]
    region_path: list[dict[str, Any]]
    members: list[Member]
    relatives: list[Relative]
    assets: list[dict[str, Any]]
    aid_records: list[AidLine]
    needs: list[NeedLine]
    services: list[ServiceLine]


# Each OPTIONAL MATCH gathers one piece and collects it before the next, so that pieces never
# multiply; a piece a household lacks is collected as an entry of nulls, dropped in _assemble.
HOUSEHOLD_VIEW_CYPHER = """
MATCH (h:Household {household_id: $household_id})
OPTIONAL MATCH (h)-[:LIVES_IN]->(:Region)-[:PART_OF*0..12]->(r:Region)
WITH h, collect(DISTINCT r) AS regions
OPTIONAL MATCH (p:Person)-[m:MEMBER_OF]->(h)
WITH h, regions, collect({person: p, member: m}) AS members
OPTIONAL MATCH (p:Person)-[:MEMBER_OF]->(h)
OPTIONAL MATCH (p)-[:HAS_INCOME]->(i:Income)
WITH h, regions, members, collect({holder: p.id_number, income: i}) AS incomes
OPTIONAL MATCH (p:Person)-[:MEMBER_OF]->(h)
OPTIONAL MATCH (p)-[k:KIN]->(o:Person)
WITH h, regions, members, incomes, collect({member: p.id_number, other: o, relation: k.relation, direction: 'in'}) AS kin_from
OPTIONAL MATCH (p:Person)-[:MEMBER_OF]->(h)
OPTIONAL MATCH (o:Person)-[k:KIN]->(p)
WITH h, regions, members, incomes, kin_from, collect({member: p.id_number, other: o, relation: k.relation, direction: 'out'}) AS kin_to
OPTIONAL MATCH (h)-[:OWNS]->(a:Asset)
WITH h, regions, members, incomes, kin_from, kin_to, collect(a) AS assets
OPTIONAL MATCH (h)-[rc:RECEIVES]->(ar:AidRecord)
OPTIONAL MATCH (ar)-[:PAID_BY]->(pg:Program)
OPTIONAL MATCH (d:Department)-[:ADMINISTERS]->(pg)
WITH h, regions, members, incomes, kin_from, kin_to, assets,
     collect({record: ar, beneficiary: 'household', link: rc, program: pg, department: d}) AS aid_household
OPTIONAL MATCH (b:Person)-[:MEMBER_OF]->(h)
OPTIONAL MATCH (b)-[rc:RECEIVES]->(ar:AidRecord)
OPTIONAL MATCH (ar)-[:PAID_BY]->(pg:Program)
OPTIONAL MATCH (d:Department)-[:ADMINISTERS]->(pg)
WITH h, regions, members, incomes, kin_from, kin_to, assets, aid_household,
     collect({record: ar, beneficiary: b.id_number, link: rc, program: pg, department: d}) AS aid_members
OPTIONAL MATCH (h)-[:HAS_NEED]->(n:Need)
WITH h, regions, members, incomes, kin_from, kin_to, assets, aid_household, aid_members, collect(n) AS needs
OPTIONAL MATCH (s:Service)-[:SERVES]->(h)
OPTIONAL MATCH (res:Resource)-[:PROVIDES]->(s)
RETURN h AS household, regions, members, incomes, kin_from, kin_to, assets, aid_household, aid_members, needs,
       collect({service: s, resource: res}) AS services
"""


def _gathered(record: dict[str, Any]) -> dict[str, Any]:
    """The view's pieces from the question's one record, without the entries of nulls an absent piece leaves."""
    return {
        "household": record["household"],
        "regions": [r for r in record["regions"] if r],
        "members": [m for m in record["members"] if m["person"]],
        "incomes": [i for i in record["incomes"] if i["income"]],
        "kin": [k for k in record["kin_from"] + record["kin_to"] if k["other"]],
        "assets": [a for a in record["assets"] if a],
        "aid": [a for a in record["aid_household"] + record["aid_members"] if a["record"]],
        "needs": [n for n in record["needs"] if n],
        "services": [s for s in record["services"] if s["service"]],
    }


def _assemble(raw: dict[str, Any]) -> HouseholdView:
    """Order the gathered pieces into the view (shared by both engines)."""
    members = raw["members"]
    member_ids = {m["person"]["id_number"] for m in members}
    incomes: dict[str, list[dict[str, Any]]] = {}
    for item in raw["incomes"]:
        incomes.setdefault(item["holder"], []).append(item["income"])

    def member_order(m: dict[str, Any]) -> tuple:
        role = m["member"].get("relation_to_head") or "other"
        rank = _ROLE_ORDER.index(role) if role in _ROLE_ORDER else len(_ROLE_ORDER)
        return (rank, m["person"].get("birth_date") or "", m["person"]["id_number"])

    relatives = [
        Relative(person=k["other"], relative_is=_RELATIVE_ROLE[(k["relation"], k["direction"])], of_member=k["member"])
        for k in raw["kin"]
        if k["other"]["id_number"] not in member_ids
    ]
    aid = [
        AidLine(record=a["record"], beneficiary=a["beneficiary"], link=a["link"] or {}, program=a["program"], department=a["department"])
        for a in raw["aid"]
    ]
    aid.sort(key=lambda a: (a.record.get("period_start", ""), a.record["record_id"]))
    services = [ServiceLine(service=s["service"], resource=s["resource"]) for s in raw["services"]]
    services.sort(key=lambda s: (s.service.get("start", ""), s.service["service_id"]))
    needs = [
        NeedLine(
            need=n,
            services=[s for s in services if s.service.get("need_id") == n["need_id"]],
            aid_record_ids=[a.record["record_id"] for a in aid if a.record.get("need_id") == n["need_id"]],
        )
        for n in sorted(raw["needs"], key=lambda n: (n.get("raised_on", ""), n["need_id"]))
    ]
    return HouseholdView(
        household=raw["household"],
        region_path=sorted(raw["regions"], key=lambda r: (_LEVEL_ORDER.get(r.get("level", ""), 9), r["region_code"])),
        members=[
            Member(
                person=m["person"],
                relation_to_head=m["member"].get("relation_to_head"),
                incomes=sorted(incomes.get(m["person"]["id_number"], []), key=lambda i: i["income_id"]),
            )
            for m in sorted(members, key=member_order)
        ],
        relatives=sorted(relatives, key=lambda r: (r.of_member, r.relative_is, r.person["id_number"])),
        assets=sorted(raw["assets"], key=lambda a: a["asset_id"]),
        aid_records=aid,
        needs=needs,
        services=services,
    )


def _from_records(records: list[dict[str, Any]], household_id: str) -> HouseholdView | None:
    if not records:
        return None
    return _assemble(_gathered(records[0]))


@question("household_view", cypher=HOUSEHOLD_VIEW_CYPHER, from_records=_from_records)
def household_view(store: Any, household_id: str) -> HouseholdView | None:
    """The household ``household_id`` and everything linked to it, or None if unknown.

    Examples
    --------
    >>> from graph.stores.ladybug import LadybugStore
    >>> from graph.store import WriteBatch, NodeWrite, EdgeWrite
    >>> s = LadybugStore.in_memory()
    >>> _ = s.write_batch(WriteBatch(
    ...     nodes=[NodeWrite(NodeKind.HOUSEHOLD, "H-1", {"household_id": "H-1", "region_code": "420106"}),
    ...            NodeWrite(NodeKind.PERSON, "P1", {"id_number": "P1", "name": "周建军"})],
    ...     edges=[EdgeWrite(RelKind.MEMBER_OF, NodeKind.PERSON, "P1", NodeKind.HOUSEHOLD, "H-1", {"relation_to_head": "head"})]))
    >>> [m.person["name"] for m in s.run("household_view", household_id="H-1").members]
    ['周建军']

    Notes
    -----
    Linear in the size of the household's neighbourhood (two hops).
    """
