"""The household view: a household and everything linked to it (members, relatives outside it,
income, assets, aid records by programme and department, needs and who serves them).

Both engines gather the same raw pieces (Cypher below, networkx in :func:`household_view`) and
one function, :func:`_assemble`, orders them into the view, so the answers compare equal.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from graph.model import NodeKind, RelKind, node_id, split_node_id
from queries._nx import inc, out
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


HOUSEHOLD_VIEW_CYPHER = """
MATCH (h:Household {household_id: $household_id})
CALL (h) {
  MATCH (h)-[:LIVES_IN]->(:Region)-[:PART_OF*0..]->(r:Region)
  RETURN collect(DISTINCT r {.*}) AS regions }
CALL (h) {
  MATCH (p:Person)-[m:MEMBER_OF]->(h)
  RETURN collect({person: p {.*}, member: m {.*}}) AS members }
CALL (h) {
  MATCH (p:Person)-[:MEMBER_OF]->(h)
  MATCH (p)-[:HAS_INCOME]->(i:Income)
  RETURN collect({holder: p.id_number, income: i {.*}}) AS incomes }
CALL (h) {
  MATCH (p:Person)-[:MEMBER_OF]->(h)
  MATCH (p)-[k:KIN]-(o:Person)
  RETURN collect({member: p.id_number, other: o {.*}, relation: k.relation,
                  direction: CASE WHEN startNode(k) = o THEN 'out' ELSE 'in' END}) AS kin }
CALL (h) {
  MATCH (h)-[:OWNS]->(a:Asset)
  RETURN collect(a {.*}) AS assets }
CALL (h) {
  // From the household and its members outward: anchoring on (b) unbound would scan every aid record.
  CALL (h) {
    MATCH (h)-[rc:RECEIVES]->(ar:AidRecord) RETURN h AS b, rc, ar
    UNION ALL
    MATCH (b:Person)-[:MEMBER_OF]->(h)
    MATCH (b)-[rc:RECEIVES]->(ar:AidRecord) RETURN b, rc, ar }
  OPTIONAL MATCH (ar)-[:PAID_BY]->(pg:Program)
  OPTIONAL MATCH (d:Department)-[:ADMINISTERS]->(pg)
  RETURN collect({record: ar {.*}, beneficiary: CASE WHEN b = h THEN 'household' ELSE b.id_number END,
                  link: rc {.*}, program: pg {.*}, department: d {.*}}) AS aid }
CALL (h) {
  MATCH (h)-[:HAS_NEED]->(n:Need)
  RETURN collect(n {.*}) AS needs }
CALL (h) {
  MATCH (s:Service)-[:SERVES]->(h)
  OPTIONAL MATCH (res:Resource)-[:PROVIDES]->(s)
  RETURN collect({service: s {.*}, resource: res {.*}}) AS services }
RETURN h {.*} AS household, regions, members, incomes, kin, assets, aid, needs, services
"""


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
    return _assemble(records[0])


def _administering(G: Any, program: str) -> list[str]:
    """The department administering ``program``.

    Asked from the department's side: a programme's incoming relationships are its million
    payment records, and scanning them for the one ADMINISTERS took seconds per household chain
    at 1M people. The department named by the programme's ``department_code`` is checked for the
    relationship; the scan is left only for a programme whose code does not lead to it.
    """
    code = G._node[program].get("department_code")
    department = f"{NodeKind.DEPARTMENT.value}:{code}"
    if code is not None and RelKind.ADMINISTERS._value_ in G._succ.get(department, {}).get(program, ()):
        return [department]
    return inc(G, program, RelKind.ADMINISTERS)


@question("household_view", cypher=HOUSEHOLD_VIEW_CYPHER, from_records=_from_records)
def household_view(G: Any, household_id: str) -> HouseholdView | None:
    """The household ``household_id`` and everything linked to it, or None if unknown.

    Examples
    --------
    >>> from graph.stores.embedded import EmbeddedStore
    >>> from graph.store import WriteBatch, NodeWrite, EdgeWrite
    >>> s = EmbeddedStore.in_memory()
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
    h = node_id(NodeKind.HOUSEHOLD, household_id)
    if h not in G:
        return None
    props = G.nodes
    regions: list[dict[str, Any]] = []
    for region in out(G, h, RelKind.LIVES_IN):
        seen = set()
        while region is not None and region not in seen:
            seen.add(region)
            regions.append(dict(props[region]))
            parents = out(G, region, RelKind.PART_OF)
            region = parents[0] if parents else None
    member_ids = inc(G, h, RelKind.MEMBER_OF)
    members = [{"person": dict(props[p]), "member": dict(G.edges[p, h, RelKind.MEMBER_OF.value])} for p in member_ids]
    incomes = [{"holder": split_node_id(p)[1], "income": dict(props[i])} for p in member_ids for i in out(G, p, RelKind.HAS_INCOME)]
    kin = []
    for p in member_ids:
        for o in out(G, p, RelKind.KIN):
            kin.append(
                {"member": split_node_id(p)[1], "other": dict(props[o]), "relation": G.edges[p, o, "KIN"]["relation"], "direction": "in"}
            )
        for o in inc(G, p, RelKind.KIN):
            kin.append(
                {"member": split_node_id(p)[1], "other": dict(props[o]), "relation": G.edges[o, p, "KIN"]["relation"], "direction": "out"}
            )
    aid = []
    for b in [h, *member_ids]:
        for rec in out(G, b, RelKind.RECEIVES):
            programs = out(G, rec, RelKind.PAID_BY)
            program = programs[0] if programs else None
            departments = _administering(G, program) if program else []
            aid.append(
                {
                    "record": dict(props[rec]),
                    "beneficiary": "household" if b == h else split_node_id(b)[1],
                    "link": dict(G.edges[b, rec, RelKind.RECEIVES.value]),
                    "program": dict(props[program]) if program else None,
                    "department": dict(props[departments[0]]) if departments else None,
                }
            )
    services = []
    for s in inc(G, h, RelKind.SERVES):
        providers = inc(G, s, RelKind.PROVIDES)
        services.append({"service": dict(props[s]), "resource": dict(props[providers[0]]) if providers else None})
    return _assemble(
        {
            "household": dict(props[h]),
            "regions": regions,
            "members": members,
            "incomes": incomes,
            "kin": kin,
            "assets": [dict(props[a]) for a in out(G, h, RelKind.OWNS)],
            "aid": aid,
            "needs": [dict(props[n]) for n in out(G, h, RelKind.HAS_NEED)],
            "services": services,
        }
    )
