"""The facts the rules read, gathered by two questions on either engine: ``means_facts`` (per
household: members, incomes, assets, aid records, needs) and ``kin_links`` (KIN relationships with
both ends' household, birth and incomes). The rules themselves are in ``policy/``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any, TypedDict

from queries.registry import question

__all__ = ["HOUSEHOLD_ORDER_CYPHER", "KIN_LINKS_CYPHER", "MEANS_FACTS_CYPHER", "household_order", "kin_links", "means_facts"]


# In parts, one flat row per piece (members, incomes...), grouped by household in Python: collecting
# each piece per household in one text of OPTIONAL MATCHes took three times as long on LadybugDB.
# A range of household ids reads a slice of the store: LadybugDB scans for a long list of ids (50,000
# took over a hundred times a range's time, docs/performance.md), and the evaluation reads in slices.
_CHOSEN = (
    "WHERE ($every_household OR h.household_id IN $household_ids)"
    " AND h.household_id >= $household_from AND ($to_end OR h.household_id < $household_to)"
)
MEANS_FACTS_CYPHER = {
    "households": f"MATCH (h:Household) {_CHOSEN} RETURN h.household_id AS household, h.region_code AS region, h.urban_rural AS urban_rural",
    "members": f"""MATCH (p:Person)-[m:MEMBER_OF]->(h:Household) {_CHOSEN}
RETURN h.household_id AS household, p.id_number AS id, p.name AS name, p.birth_date AS birth, p.sex AS sex,
       p.labour_capacity AS labour, p.employment AS employment, p.disability_grade AS disability, p.major_illness AS major,
       p.chronic_illness AS chronic, p.deceased_on AS deceased, m.relation_to_head AS relation, p.self_care AS self_care""",
    "incomes": f"""MATCH (i:Income)<-[:HAS_INCOME]-(p:Person)-[:MEMBER_OF]->(h:Household) {_CHOSEN}
RETURN h.household_id AS household, i.income_id AS id, p.id_number AS person, i.kind AS kind, i.monthly_amount AS amount,
       i.period_start AS start, i.period_end AS until, i.source_department AS department, i.payer_id_number AS payer""",
    "assets": f"""MATCH (h:Household)-[:OWNS]->(a:Asset) {_CHOSEN}
RETURN h.household_id AS household, a.asset_id AS id, a.kind AS kind, a.quantity AS quantity, a.value AS value""",
    "household_records": f"""MATCH (g:Program)<-[:PAID_BY]-(r:AidRecord)<-[:RECEIVES]-(h:Household) {_CHOSEN}
RETURN h.household_id AS household, r.record_id AS id, g.program_code AS program, g.kind AS kind, r.amount AS amount,
       r.period_start AS start, r.period_end AS until, r.status AS status""",
    "member_records": f"""MATCH (g:Program)<-[:PAID_BY]-(r:AidRecord)<-[:RECEIVES]-(p:Person)-[:MEMBER_OF]->(h:Household) {_CHOSEN}
RETURN h.household_id AS household, r.record_id AS id, g.program_code AS program, g.kind AS kind, r.amount AS amount,
       r.period_start AS start, r.period_end AS until, r.status AS status, p.id_number AS person""",
    "needs": f"""MATCH (h:Household)-[:HAS_NEED]->(n:Need) {_CHOSEN}
RETURN h.household_id AS household, n.need_id AS id, n.category AS category, n.status AS status, n.raised_on AS raised_on""",
}


# Neo4j's one text for named households (``queries.registry``: through Bolt, fifteen times fewer
# rows of collected pieces read faster than the flat parts; figures in docs/performance.md; the
# whole store reads the parts, see ``one_text_when`` below); entries of nulls are dropped.
MEANS_FACTS_ONE_TEXT = f"""
MATCH (h:Household)
{_CHOSEN}
OPTIONAL MATCH (p:Person)-[m:MEMBER_OF]->(h)
WITH h, collect({{id: p.id_number, name: p.name, birth: p.birth_date, sex: p.sex, labour: p.labour_capacity,
     employment: p.employment, disability: p.disability_grade, major: p.major_illness, chronic: p.chronic_illness,
     deceased: p.deceased_on, relation: m.relation_to_head, self_care: p.self_care}}) AS members
OPTIONAL MATCH (i:Income)<-[:HAS_INCOME]-(p:Person)-[:MEMBER_OF]->(h)
WITH h, members, collect({{id: i.income_id, person: p.id_number, kind: i.kind, amount: i.monthly_amount, start: i.period_start,
     until: i.period_end, department: i.source_department, payer: i.payer_id_number}}) AS incomes
OPTIONAL MATCH (h)-[:OWNS]->(a:Asset)
WITH h, members, incomes, collect({{id: a.asset_id, kind: a.kind, quantity: a.quantity, value: a.value}}) AS assets
OPTIONAL MATCH (g:Program)<-[:PAID_BY]-(r:AidRecord)<-[:RECEIVES]-(h)
WITH h, members, incomes, assets, collect({{id: r.record_id, program: g.program_code, kind: g.kind, amount: r.amount,
     start: r.period_start, until: r.period_end, status: r.status}}) AS household_records
OPTIONAL MATCH (g:Program)<-[:PAID_BY]-(r:AidRecord)<-[:RECEIVES]-(p:Person)-[:MEMBER_OF]->(h)
WITH h, members, incomes, assets, household_records, collect({{id: r.record_id, program: g.program_code, kind: g.kind,
     amount: r.amount, start: r.period_start, until: r.period_end, status: r.status, person: p.id_number}}) AS member_records
OPTIONAL MATCH (h)-[:HAS_NEED]->(n:Need)
RETURN h.household_id AS household, h.region_code AS region, h.urban_rural AS urban_rural, members, incomes, assets,
       household_records, member_records,
       collect({{id: n.need_id, category: n.category, status: n.status, raised_on: n.raised_on}}) AS needs
"""


def _facts_one_text_parts(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    parts: dict[str, list[dict[str, Any]]] = {part: [] for part in MEANS_FACTS_CYPHER}
    for r in records:
        parts["households"].append({"household": r["household"], "region": r["region"], "urban_rural": r["urban_rural"]})
        for part in ("members", "incomes", "assets", "household_records", "member_records", "needs"):
            parts[part].extend({"household": r["household"], **item} for item in r[part] if item["id"] is not None)
    return parts


_BY_ID = itemgetter("id")


def _record_order(record: dict[str, Any]) -> tuple[str, str]:
    return (record["id"], record["person"] or "")


def _sorted_facts(facts: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The facts in household order, each one's lists in id order; sorted in place, as they are
    this question's own (docs/performance.md: a copy of each household cost a store's facts time)."""
    out = [facts[household] for household in sorted(facts)]
    for fact in out:
        for part in ("members", "incomes", "assets", "needs"):
            if len(fact[part]) > 1:
                fact[part].sort(key=_BY_ID)
        if len(fact["records"]) > 1:
            fact["records"].sort(key=_record_order)
    return out


def _facts_from_records(parts: dict[str, list[dict[str, Any]]], **_: Any) -> list[dict[str, Any]]:
    facts = {h["household"]: {**h, "members": [], "incomes": [], "assets": [], "records": [], "needs": []} for h in parts["households"]}
    # The parts are plain rows (no entry of nulls to drop); ``until`` is named ``end`` in place.
    for part in ("incomes", "household_records", "member_records"):
        for item in parts[part]:
            item["end"] = item.pop("until")
    for part in ("members", "incomes", "assets", "needs"):
        for item in parts[part]:
            facts[item.pop("household")][part].append(item)
    for item in parts["household_records"]:
        item["person"] = None
        facts[item.pop("household")]["records"].append(item)
    for item in parts["member_records"]:
        facts[item.pop("household")]["records"].append(item)
    return _sorted_facts(facts)


def _all_or_some(name: str, flag: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The Cypher parameters of a list parameter that may be None (all): the list, and ``flag`` true
    for None (a parameter that is sometimes null has no type on LadybugDB)."""

    def params(given: dict[str, Any]) -> dict[str, Any]:
        return {flag: given[name] is None, name: list(given[name] or [])}

    return params


_household_list = _all_or_some("household_ids", "every_household")


def _household_params(given: dict[str, Any]) -> dict[str, Any]:
    to = given.get("household_to")
    return {**_household_list(given), "household_from": given.get("household_from") or "", "to_end": to is None, "household_to": to or ""}


class MeansFactsHouseholdsRow(TypedDict):
    household: str
    region: str
    urban_rural: str


class MeansFactsMembersRow(TypedDict):
    household: str
    id: str
    name: str
    birth: str
    sex: str
    labour: str
    employment: str
    disability: int | None
    major: bool
    chronic: bool
    deceased: str | None
    relation: str
    self_care: str | None


class MeansFactsIncomesRow(TypedDict):
    household: str
    id: str
    person: str
    kind: str
    amount: float
    start: str
    until: str | None
    department: str
    payer: str | None


class MeansFactsAssetsRow(TypedDict):
    household: str
    id: str
    kind: str
    quantity: float
    value: float | None


class MeansFactsHouseholdRecordsRow(TypedDict):
    household: str
    id: str
    program: str
    kind: str
    amount: float
    start: str
    until: str | None
    status: str


class MeansFactsMemberRecordsRow(MeansFactsHouseholdRecordsRow):
    person: str


class MeansFactsNeedsRow(TypedDict):
    household: str
    id: str
    category: str
    status: str
    raised_on: str


MEANS_FACTS_ROWS: dict[str, type] = {
    "households": MeansFactsHouseholdsRow,
    "members": MeansFactsMembersRow,
    "incomes": MeansFactsIncomesRow,
    "assets": MeansFactsAssetsRow,
    "household_records": MeansFactsHouseholdRecordsRow,
    "member_records": MeansFactsMemberRecordsRow,
    "needs": MeansFactsNeedsRow,
}


@question(
    "means_facts",
    cypher=MEANS_FACTS_CYPHER,
    row=MEANS_FACTS_ROWS,
    from_records=_facts_from_records,
    cypher_params=_household_params,
    one_text=(MEANS_FACTS_ONE_TEXT, _facts_one_text_parts),
    # Not for the whole store: collected per household, a million people's facts passed Neo4j's
    # transaction memory and the read failed (docs/performance.md); the flat parts stream.
    one_text_when=lambda params: params.get("household_ids") is not None,
)
def means_facts(
    store: Any, household_ids: list[str] | None = None, household_from: str | None = None, household_to: str | None = None
) -> list[dict[str, Any]]:
    """Per household (all, or those of ``household_ids``; of those, the ids from ``household_from``
    and before ``household_to`` where given): members, incomes, assets, aid records, needs.

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> [fact] = means_facts(two_cases(), household_ids=["H-420203-0001"])
    >>> fact["urban_rural"], [m["name"] for m in fact["members"]], [(i["id"], i["amount"]) for i in fact["incomes"]]
    ('rural', ['王付红', '陈桂芳', '王小美'], [('INC-4', 1800.0), ('INC-5', 1200.0)])
    """


# In parts, as the facts: the links, then their ends' households and incomes as flat rows (one text
# of OPTIONAL MATCHes collecting incomes per link took four times as long on LadybugDB).
_TOUCHING = "WHERE $everyone OR a.id_number IN $person_ids OR b.id_number IN $person_ids"
KIN_LINKS_CYPHER = {
    "links": f"""MATCH (a:Person)-[k:KIN]->(b:Person) {_TOUCHING}
RETURN k.relation AS relation, a.id_number AS src, b.id_number AS dst""",
    "people": f"""MATCH (a:Person)-[:KIN]-(b:Person) {_TOUCHING}
WITH DISTINCT a
RETURN a.id_number AS id, a.birth_date AS birth, a.deceased_on AS deceased, a.labour_capacity AS labour""",
    "households": f"""MATCH (a:Person)-[:KIN]-(b:Person) {_TOUCHING}
WITH DISTINCT a
MATCH (a)-[:MEMBER_OF]->(h:Household)
RETURN a.id_number AS person, h.household_id AS household""",
    "incomes": f"""MATCH (a:Person)-[:KIN]-(b:Person) {_TOUCHING}
WITH DISTINCT a
MATCH (a)-[:HAS_INCOME]->(i:Income)
RETURN a.id_number AS person, i.monthly_amount AS amount, i.kind AS kind, i.period_start AS start, i.period_end AS until""",
}


def _sorted_kin(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=_kin_order)


def _kin_order(r: dict[str, Any]) -> tuple[str, str, str]:
    return (r["src"]["id"], r["dst"]["id"], r["relation"])


def _kin_from_records(parts: dict[str, list[dict[str, Any]]], **_: Any) -> list[dict[str, Any]]:
    # The records are this call's own: each is completed in place and each part let go once used
    # (a whole prefecture's kinship is millions of them).
    household = {r["person"]: r["household"] for r in parts.pop("households")}
    incomes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in parts.pop("incomes"):
        r["end"] = r.pop("until")
        incomes[r.pop("person")].append(r)
    people = {}
    for p in parts.pop("people"):
        p["household"] = household.pop(p["id"], None)
        p["incomes"] = sorted(incomes.pop(p["id"], ()), key=_income_order)
        people[p["id"]] = p
    links = parts.pop("links")
    for r in links:
        r["src"], r["dst"] = people[r["src"]], people[r["dst"]]
    links.sort(key=_kin_order)
    return links


def _income_order(i: dict[str, Any]) -> tuple[str, str, float]:
    return (i["start"] or "", i["kind"] or "", i["amount"] or 0)


_person_params = _all_or_some("person_ids", "everyone")


class KinLinksLinksRow(TypedDict):
    relation: str
    src: str
    dst: str


class KinLinksPeopleRow(TypedDict):
    id: str
    birth: str
    deceased: str | None
    labour: str


class KinLinksHouseholdsRow(TypedDict):
    person: str
    household: str


class KinLinksIncomesRow(TypedDict):
    person: str
    amount: float
    kind: str
    start: str
    until: str | None


KIN_LINKS_ROWS: dict[str, type] = {
    "links": KinLinksLinksRow,
    "people": KinLinksPeopleRow,
    "households": KinLinksHouseholdsRow,
    "incomes": KinLinksIncomesRow,
}


@question(
    "kin_links",
    cypher=KIN_LINKS_CYPHER,
    row=KIN_LINKS_ROWS,
    from_records=_kin_from_records,
    cypher_params=_person_params,
)
def kin_links(store: Any, person_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """KIN relationships (all, or those touching ``person_ids``) with both ends' household, birth and incomes.

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> [(k["src"]["id"], k["relation"]) for k in kin_links(two_cases(), person_ids=["420203201307092421"])]
    [('420203197506111710', 'parent_of'), ('420203197802041825', 'parent_of')]
    """


# A whole evaluation reads the facts a slice of households at a time, by ranges of ids: in the
# database's own order of text, so that the ranges never overlap nor leave a gap.
HOUSEHOLD_ORDER_CYPHER = "MATCH (h:Household) RETURN h.household_id AS household ORDER BY household"


class HouseholdOrderRow(TypedDict):
    household: str


def _order_from_records(records: list[dict[str, Any]], **_: Any) -> list[str]:
    return [r["household"] for r in records]


@question("household_order", cypher=HOUSEHOLD_ORDER_CYPHER, row=HouseholdOrderRow, from_records=_order_from_records)
def household_order(store: Any) -> list[str]:
    """Every household's id, in the database's order.

    Examples
    --------
    >>> from queries.examples import two_cases
    >>> household_order(two_cases())
    ['H-420106-0001', 'H-420203-0001']
    """
