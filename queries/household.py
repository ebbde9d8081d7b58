"""The household view: a household and everything linked to it (members, relatives outside it,
income, assets, aid records by programme and department, needs and who serves them).

One question in parts (a small Cypher text per piece, read by both engines in one transaction);
:func:`_assemble` orders the pieces into the view, so the answers compare equal.
"""

from __future__ import annotations

from typing import Any, TypedDict

from pydantic import BaseModel

from queries.registry import question

__all__ = ["HOUSEHOLD_VIEW_CYPHER", "HOUSEHOLD_VIEW_ONE_TEXT", "HouseholdView", "household_view"]

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
    sending_department: dict[str, Any] | None = None  # the department that sent the record


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


_H = "(:Household {household_id: $household_id})"
_MEMBER = f"(b:Person)-[:MEMBER_OF]->{_H}"
# Each part gathers one piece with a plain MATCH (a piece the household lacks is no rows); the
# follow-up reads the departments of the programmes and senders found. LadybugDB reads these, Neo4j
# the one text below. The regions: the household's own, and those above it each by its shortest
# PART_OF path (in a tree the only one; LadybugDB's ``SHORTEST`` takes no path of length 0). Every
# path of ``PART_OF*0..12`` gives the same regions and was the slowest part (docs/performance.md).
HOUSEHOLD_VIEW_CYPHER = {
    "household": "MATCH (h:Household {household_id: $household_id}) RETURN h AS household",
    "regions": f"MATCH {_H}-[:LIVES_IN]->(r:Region) RETURN r AS region UNION ALL "
    f"MATCH {_H}-[:LIVES_IN]->(:Region)-[:PART_OF* SHORTEST 1..12]->(r:Region) RETURN r AS region",
    "members": f"MATCH (p:Person)-[m:MEMBER_OF]->{_H} RETURN p AS person, m AS member",
    "incomes": f"MATCH (i:Income)<-[:HAS_INCOME]-{_MEMBER} RETURN b.id_number AS holder, i AS income",
    "kin_from": f"MATCH (o:Person)<-[k:KIN]-{_MEMBER} RETURN b.id_number AS member, o AS other, k.relation AS relation",
    "kin_to": f"MATCH (o:Person)-[k:KIN]->{_MEMBER} RETURN b.id_number AS member, o AS other, k.relation AS relation",
    "assets": f"MATCH {_H}-[:OWNS]->(a:Asset) RETURN a AS asset",
    "aid_household": f"MATCH {_H}-[rc:RECEIVES]->(ar:AidRecord) RETURN ar AS record, rc AS link",
    "aid_members": f"MATCH (ar:AidRecord)<-[rc:RECEIVES]-{_MEMBER} RETURN b.id_number AS beneficiary, ar AS record, rc AS link",
    "paid_household": f"MATCH {_H}-[:RECEIVES]->(ar:AidRecord)-[:PAID_BY]->(pg:Program) RETURN ar.record_id AS record_id, pg AS program",
    "paid_members": f"MATCH (pg:Program)<-[:PAID_BY]-(ar:AidRecord)<-[:RECEIVES]-{_MEMBER} RETURN ar.record_id AS record_id, pg AS program",
    "needs": f"MATCH {_H}-[:HAS_NEED]->(n:Need) RETURN n AS need",
    "services": f"MATCH (s:Service)-[:SERVES]->{_H} RETURN s AS service",
    "providers": f"MATCH (res:Resource)-[:PROVIDES]->(s:Service)-[:SERVES]->{_H} RETURN s.service_id AS service_id, res AS resource",
}
_DEPARTMENTS_CYPHER = {
    "administers": "MATCH (d:Department)-[:ADMINISTERS]->(pg:Program) WHERE pg.program_code IN $program_codes "
    "RETURN pg.program_code AS program_code, d AS department",
    "senders": "MATCH (d:Department) WHERE d.department_code IN $department_codes RETURN d AS department",
}


# Neo4j's one text (``queries.registry``: over Bolt the 16 parts and the follow-up are 18 round
# trips, several times this text's time; figures in docs/performance.md). Each OPTIONAL
# MATCH gathers one piece and collects it before the next, so that pieces never multiply; a piece a
# household lacks is collected as an entry of nulls, dropped by ``_one_text_parts``.
HOUSEHOLD_VIEW_ONE_TEXT = """
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
OPTIONAL MATCH (sd:Department {department_code: ar.source_department})
WITH h, regions, members, incomes, kin_from, kin_to, assets,
     collect({record: ar, beneficiary: 'household', link: rc, program: pg, department: d, sender: sd}) AS aid_household
OPTIONAL MATCH (b:Person)-[:MEMBER_OF]->(h)
OPTIONAL MATCH (b)-[rc:RECEIVES]->(ar:AidRecord)
OPTIONAL MATCH (ar)-[:PAID_BY]->(pg:Program)
OPTIONAL MATCH (d:Department)-[:ADMINISTERS]->(pg)
OPTIONAL MATCH (sd:Department {department_code: ar.source_department})
WITH h, regions, members, incomes, kin_from, kin_to, assets, aid_household,
     collect({record: ar, beneficiary: b.id_number, link: rc, program: pg, department: d, sender: sd}) AS aid_members
OPTIONAL MATCH (h)-[:HAS_NEED]->(n:Need)
WITH h, regions, members, incomes, kin_from, kin_to, assets, aid_household, aid_members, collect(n) AS needs
OPTIONAL MATCH (s:Service)-[:SERVES]->(h)
OPTIONAL MATCH (res:Resource)-[:PROVIDES]->(s)
RETURN h AS household, regions, members, incomes, kin_from, kin_to, assets, aid_household, aid_members, needs,
       collect({service: s, resource: res}) AS services
"""


def _one_text_parts(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The parts from the one text's record (none when the household is unknown)."""
    if not records:
        return {part: [] for part in HOUSEHOLD_VIEW_CYPHER}
    r = records[0]
    aid = [a for a in r["aid_household"] + r["aid_members"] if a["record"]]
    return {
        "household": [{"household": r["household"]}],
        "regions": [{"region": x} for x in r["regions"] if x],
        "members": [m for m in r["members"] if m["person"]],
        "incomes": [i for i in r["incomes"] if i["income"]],
        "kin_from": [{k: x[k] for k in ("member", "other", "relation")} for x in r["kin_from"] if x["other"]],
        "kin_to": [{k: x[k] for k in ("member", "other", "relation")} for x in r["kin_to"] if x["other"]],
        "assets": [{"asset": x} for x in r["assets"] if x],
        "aid_household": [{"record": a["record"], "link": a["link"]} for a in aid if a["beneficiary"] == "household"],
        "aid_members": [
            {"beneficiary": a["beneficiary"], "record": a["record"], "link": a["link"]} for a in aid if a["beneficiary"] != "household"
        ],
        "paid_household": [],
        "paid_members": [{"record_id": a["record"]["record_id"], "program": a["program"]} for a in aid if a["program"]],
        "needs": [{"need": x} for x in r["needs"] if x],
        "services": [{"service": x["service"]} for x in r["services"] if x["service"]],
        "providers": [
            {"service_id": x["service"]["service_id"], "resource": x["resource"]} for x in r["services"] if x["service"] and x["resource"]
        ],
        "administers": [
            {"program_code": a["program"]["program_code"], "department": a["department"]} for a in aid if a["program"] and a["department"]
        ],
        "senders": [{"department": a["sender"]} for a in aid if a["sender"]],
    }


def _departments(records: dict[str, list[dict[str, Any]]], params: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """The follow-up: the departments administering the programmes found, and those that sent the records."""
    programs = {r["program"]["program_code"] for r in records["paid_household"] + records["paid_members"]}
    senders = {r["record"].get("source_department") for r in records["aid_household"] + records["aid_members"]} - {None}
    if not programs and not senders:
        return {}, {}
    return _DEPARTMENTS_CYPHER, {"program_codes": sorted(programs), "department_codes": sorted(senders)}


def _gathered(parts: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The view's pieces from the question's parts."""
    program_of = {r["record_id"]: r["program"] for r in parts["paid_household"] + parts["paid_members"]}
    administering = {r["program_code"]: r["department"] for r in parts.get("administers", [])}
    senders = {r["department"]["department_code"]: r["department"] for r in parts.get("senders", [])}
    aid = []
    for a in [{"beneficiary": "household", **r} for r in parts["aid_household"]] + parts["aid_members"]:
        program = program_of.get(a["record"]["record_id"])
        aid.append(
            {
                **a,
                "program": program,
                "department": administering.get(program["program_code"]) if program else None,
                "sending_department": senders.get(a["record"].get("source_department") or ""),
            }
        )
    resources = {r["service_id"]: r["resource"] for r in parts["providers"]}
    return {
        "household": parts["household"][0]["household"],
        # A region reached along two paths (never in a tree) is one region of the path.
        "regions": list({r["region"]["region_code"]: r["region"] for r in parts["regions"]}.values()),
        "members": parts["members"],
        "incomes": parts["incomes"],
        "kin": [{**k, "direction": "in"} for k in parts["kin_from"]] + [{**k, "direction": "out"} for k in parts["kin_to"]],
        "assets": [r["asset"] for r in parts["assets"]],
        "aid": aid,
        "needs": [r["need"] for r in parts["needs"]],
        "services": [{"service": r["service"], "resource": resources.get(r["service"]["service_id"])} for r in parts["services"]],
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
        AidLine(
            record=a["record"],
            beneficiary=a["beneficiary"],
            link=a["link"] or {},
            program=a["program"],
            department=a["department"],
            sending_department=a["sending_department"],
        )
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


def _from_records(parts: dict[str, list[dict[str, Any]]], household_id: str) -> HouseholdView | None:
    if not parts["household"]:
        return None
    return _assemble(_gathered(parts))


class HouseholdViewHouseholdRow(TypedDict):
    household: dict[str, Any]


class HouseholdViewRegionsRow(TypedDict):
    region: dict[str, Any]


class HouseholdViewMembersRow(TypedDict):
    person: dict[str, Any]
    member: dict[str, Any]


class HouseholdViewIncomesRow(TypedDict):
    holder: str
    income: dict[str, Any]


class HouseholdViewKinFromRow(TypedDict):
    member: str
    other: dict[str, Any]
    relation: str


class HouseholdViewKinToRow(TypedDict):
    member: str
    other: dict[str, Any]
    relation: str


class HouseholdViewAssetsRow(TypedDict):
    asset: dict[str, Any]


class HouseholdViewAidHouseholdRow(TypedDict):
    record: dict[str, Any]
    link: dict[str, Any]


class HouseholdViewAidMembersRow(TypedDict):
    beneficiary: str
    record: dict[str, Any]
    link: dict[str, Any]


class HouseholdViewPaidHouseholdRow(TypedDict):
    record_id: str
    program: dict[str, Any]


class HouseholdViewPaidMembersRow(TypedDict):
    record_id: str
    program: dict[str, Any]


class HouseholdViewNeedsRow(TypedDict):
    need: dict[str, Any]


class HouseholdViewServicesRow(TypedDict):
    service: dict[str, Any]


class HouseholdViewProvidersRow(TypedDict):
    service_id: str
    resource: dict[str, Any]


class HouseholdViewAdministersRow(TypedDict):
    program_code: str
    department: dict[str, Any]


class HouseholdViewSendersRow(TypedDict):
    department: dict[str, Any]


HOUSEHOLD_VIEW_ROWS: dict[str, type] = {
    "household": HouseholdViewHouseholdRow,
    "regions": HouseholdViewRegionsRow,
    "members": HouseholdViewMembersRow,
    "incomes": HouseholdViewIncomesRow,
    "kin_from": HouseholdViewKinFromRow,
    "kin_to": HouseholdViewKinToRow,
    "assets": HouseholdViewAssetsRow,
    "aid_household": HouseholdViewAidHouseholdRow,
    "aid_members": HouseholdViewAidMembersRow,
    "paid_household": HouseholdViewPaidHouseholdRow,
    "paid_members": HouseholdViewPaidMembersRow,
    "needs": HouseholdViewNeedsRow,
    "services": HouseholdViewServicesRow,
    "providers": HouseholdViewProvidersRow,
    "administers": HouseholdViewAdministersRow,
    "senders": HouseholdViewSendersRow,
}


@question(
    "household_view",
    cypher=HOUSEHOLD_VIEW_CYPHER,
    row=HOUSEHOLD_VIEW_ROWS,
    from_records=_from_records,
    follow_up=_departments,
    one_text=(HOUSEHOLD_VIEW_ONE_TEXT, _one_text_parts),
    small=True,
)
def household_view(store: Any, household_id: str) -> HouseholdView | None:
    """The household ``household_id`` and everything linked to it, or None if unknown.

    Examples
    --------
    >>> from queries.examples import two_cases
    >>> [m.person["name"] for m in household_view(two_cases(), household_id="H-420106-0001").members]
    ['周建军', '周雨欣', '周德明', '李秀兰']

    Notes
    -----
    Linear in the size of the household's neighbourhood (two hops).
    """
