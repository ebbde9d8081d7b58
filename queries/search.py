"""Finding households and people: search by region, member name or ID number, and one person's view.

Both answers are small and paged, so the HTTP API can list a caseworker's region without
shipping the graph.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from graph.model import NodeKind, RelKind, node_id
from queries._nx import inc, nodes_of, out
from queries.household import _RELATIVE_ROLE
from queries.registry import question

__all__ = [
    "HOUSEHOLD_SEARCH_CYPHER",
    "PERSON_VIEW_CYPHER",
    "HouseholdHit",
    "HouseholdSearch",
    "PersonView",
    "household_search",
    "person_view",
]


class HouseholdHit(BaseModel):
    household: dict[str, Any]
    members: list[dict[str, Any]]  # id_number, name, relation_to_head; by ID number


class HouseholdSearch(BaseModel):
    total: int  # every match, not only this page
    hits: list[HouseholdHit]  # by household id


class PersonView(BaseModel):
    person: dict[str, Any]
    household: dict[str, Any] | None
    kin: list[dict[str, Any]]  # {person: {id_number, name, household_id, in_register}, relative_is}
    aid_records: list[dict[str, Any]]  # {record, link, program_name}
    incomes: list[dict[str, Any]]


HOUSEHOLD_SEARCH_CYPHER = """
CALL () {
  WITH $id_number AS wanted WHERE wanted IS NOT NULL
  MATCH (:Person {id_number: wanted})-[:MEMBER_OF]->(h:Household)
  RETURN h
  UNION
  WITH $id_number AS wanted WHERE wanted IS NULL
  MATCH (h:Household)
  RETURN h
}
WITH h WHERE ($region_codes IS NULL OR h.region_code IN $region_codes)
  AND ($member_name IS NULL OR EXISTS { MATCH (p:Person)-[:MEMBER_OF]->(h) WHERE toLower(p.name) CONTAINS toLower($member_name) })
WITH h ORDER BY h.household_id
WITH collect(h) AS found
WITH size(found) AS total, found[$offset..$offset + $limit] AS page
CALL (page) {
  UNWIND page AS h
  OPTIONAL MATCH (p:Person)-[m:MEMBER_OF]->(h)
  WITH h, collect(CASE WHEN p IS NULL THEN NULL ELSE {id_number: p.id_number, name: p.name, relation_to_head: m.relation_to_head} END) AS members
  RETURN collect({household: h {.*}, members: members}) AS hits
}
RETURN total, hits
"""


def _search_from_records(records: list[dict[str, Any]], **_: Any) -> HouseholdSearch:
    row = records[0]
    hits = [
        HouseholdHit(household=h["household"], members=sorted(h["members"], key=lambda m: m["id_number"]))
        for h in sorted(row["hits"], key=lambda h: h["household"]["household_id"])
    ]
    return HouseholdSearch(total=row["total"], hits=hits)


@question("household_search", cypher=HOUSEHOLD_SEARCH_CYPHER, from_records=_search_from_records)
def household_search(
    G: Any,
    region_codes: list[str] | None = None,
    member_name: str | None = None,
    id_number: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> HouseholdSearch:
    """Households whose region code is one of ``region_codes`` (``queries.regions.codes_within``
    gives those of a region's subtree) with a member whose name contains
    ``member_name`` (any case) or whose ID number is ``id_number``; a page of them, by household id.

    Examples
    --------
    >>> from graph.stores.embedded import EmbeddedStore
    >>> from graph.store import WriteBatch, NodeWrite, EdgeWrite
    >>> s = EmbeddedStore.in_memory()
    >>> _ = s.write_batch(WriteBatch(
    ...     nodes=[NodeWrite(NodeKind.HOUSEHOLD, "H-1", {"household_id": "H-1", "region_code": "420106005001"}),
    ...            NodeWrite(NodeKind.PERSON, "P1", {"id_number": "P1", "name": "周建军"})],
    ...     edges=[EdgeWrite(RelKind.MEMBER_OF, NodeKind.PERSON, "P1", NodeKind.HOUSEHOLD, "H-1", {"relation_to_head": "head"})]))
    >>> found = s.run("household_search", region_codes=["420106005001"], member_name="建军")
    >>> found.total, found.hits[0].members
    (1, [{'id_number': 'P1', 'name': '周建军', 'relation_to_head': 'head'}])

    Notes
    -----
    By ID number: the person's households only. Otherwise linear in the number of households
    (and, with ``member_name``, their members).
    """
    if id_number is not None:
        person = node_id(NodeKind.PERSON, id_number)
        candidates = [(h, G.nodes[h]) for h in out(G, person, RelKind.MEMBER_OF)] if person in G else []
    else:
        candidates = list(nodes_of(G, NodeKind.HOUSEHOLD))
    wanted = member_name.lower() if member_name is not None else None
    found = []
    codes = None if region_codes is None else set(region_codes)
    for h, props in candidates:
        if codes is not None and props.get("region_code") not in codes:
            continue
        members = inc(G, h, RelKind.MEMBER_OF)
        if wanted is not None and not any(wanted in str(G.nodes[p].get("name") or "").lower() for p in members):
            continue
        found.append((props["household_id"], h, props, members))
    found.sort(key=lambda f: f[0])
    hits = [
        HouseholdHit(
            household=dict(props),
            members=sorted(
                (
                    {
                        "id_number": G.nodes[p]["id_number"],
                        "name": G.nodes[p].get("name"),
                        "relation_to_head": G.edges[p, h, RelKind.MEMBER_OF.value].get("relation_to_head"),
                    }
                    for p in members
                ),
                key=lambda m: m["id_number"],
            ),
        )
        for _, h, props, members in found[offset : offset + limit]
    ]
    return HouseholdSearch(total=len(found), hits=hits)


PERSON_VIEW_CYPHER = """
MATCH (p:Person {id_number: $id_number})
CALL (p) {
  OPTIONAL MATCH (p)-[:MEMBER_OF]->(h:Household)
  RETURN collect(h {.*}) AS households }
CALL (p) {
  MATCH (p)-[k:KIN]-(o:Person)
  RETURN collect({other: o {.id_number, .name, .household_id, .in_register, .birth_date, .sex}, relation: k.relation,
                  direction: CASE WHEN startNode(k) = o THEN 'out' ELSE 'in' END}) AS kin }
CALL (p) {
  MATCH (p)-[rc:RECEIVES]->(ar:AidRecord)
  OPTIONAL MATCH (ar)-[:PAID_BY]->(pg:Program)
  RETURN collect({record: ar {.*}, link: rc {.*}, program_name: pg.name}) AS aid }
CALL (p) {
  MATCH (p)-[:HAS_INCOME]->(i:Income)
  RETURN collect(i {.*}) AS incomes }
RETURN p {.*} AS person, households, kin, aid, incomes
"""


def _assemble_person(raw: dict[str, Any]) -> PersonView:
    kin = [
        {"person": {k: v for k, v in r["other"].items() if v is not None}, "relative_is": _RELATIVE_ROLE[(r["relation"], r["direction"])]}
        for r in raw["kin"]
    ]
    return PersonView(
        person=raw["person"],
        household=(raw["households"] or [None])[0],
        kin=sorted(kin, key=lambda k: (k["relative_is"], k["person"]["id_number"])),
        aid_records=sorted(
            ({"record": a["record"], "link": a["link"] or {}, "program_name": a["program_name"]} for a in raw["aid"]),
            key=lambda a: (a["record"].get("period_start", ""), a["record"]["record_id"]),
        ),
        incomes=sorted(raw["incomes"], key=lambda i: i["income_id"]),
    )


def _person_from_records(records: list[dict[str, Any]], **_: Any) -> PersonView | None:
    return _assemble_person(records[0]) if records else None


_KIN_FIELDS = ("id_number", "name", "household_id", "in_register", "birth_date", "sex")


@question("person_view", cypher=PERSON_VIEW_CYPHER, from_records=_person_from_records)
def person_view(G: Any, id_number: str) -> PersonView | None:
    """One person: their household, kin (what each relative is to them), aid received, incomes.

    Examples
    --------
    >>> from graph.stores.embedded import EmbeddedStore
    >>> from graph.store import WriteBatch, NodeWrite, EdgeWrite
    >>> s = EmbeddedStore.in_memory()
    >>> _ = s.write_batch(WriteBatch(
    ...     nodes=[NodeWrite(NodeKind.PERSON, "P1", {"id_number": "P1", "name": "周德明"}),
    ...            NodeWrite(NodeKind.PERSON, "P2", {"id_number": "P2", "name": "周建军"})],
    ...     edges=[EdgeWrite(RelKind.KIN, NodeKind.PERSON, "P1", NodeKind.PERSON, "P2", {"relation": "parent_of"})]))
    >>> s.run("person_view", id_number="P2").kin
    [{'person': {'id_number': 'P1', 'name': '周德明'}, 'relative_is': 'parent'}]
    """
    p = node_id(NodeKind.PERSON, id_number)
    if p not in G:
        return None
    props = G.nodes

    def brief(o: str) -> dict[str, Any]:
        return {k: props[o][k] for k in _KIN_FIELDS if props[o].get(k) is not None}

    kin = [{"other": brief(o), "relation": G.edges[p, o, "KIN"]["relation"], "direction": "in"} for o in out(G, p, RelKind.KIN)]
    kin += [{"other": brief(o), "relation": G.edges[o, p, "KIN"]["relation"], "direction": "out"} for o in inc(G, p, RelKind.KIN)]
    aid = []
    for rec in out(G, p, RelKind.RECEIVES):
        programs = out(G, rec, RelKind.PAID_BY)
        aid.append(
            {
                "record": dict(props[rec]),
                "link": dict(G.edges[p, rec, RelKind.RECEIVES.value]),
                "program_name": props[programs[0]].get("name") if programs else None,
            }
        )
    return _assemble_person(
        {
            "person": dict(props[p]),
            "households": [dict(props[h]) for h in out(G, p, RelKind.MEMBER_OF)],
            "kin": kin,
            "aid": aid,
            "incomes": [dict(props[i]) for i in out(G, p, RelKind.HAS_INCOME)],
        }
    )
