"""Means test, maintenance obligations and tiers (分层), by a region's configured policy.

Two questions gather the facts on either engine: ``means_facts`` (per household: members,
incomes, assets, aid records) and ``kin_links`` (KIN relationships with both ends' household,
birth and incomes). Everything else is plain Python on those rows, the same for both engines:

- **obligations** (赡养 support of parents / 抚养 raising of children / 扶养 between spouses):
  adult children owe parents aged 60+ or without labour capacity; parents owe minor children;
  spouses owe each other, whenever the two live in different households (in one household the
  income is counted together anyway). Where no child can pay (none alive, or none with capacity),
  adult grandchildren owe the grandparent; where no parent can pay a minor, grandparents and adult
  siblings do. What an obligor owes: ``max(0, obligor household per-capita income - k x their
  standard) x share`` a month (``policy.maintenance``), once per dependant household;
- **means test**: current income of the living members, minus exempt kinds and job costs, plus
  imputed farm income (where none is recorded) and maintenance due, per member, against the
  standards; assets against the limits; rigid expenditure (刚性支出) per member by condition;
- **tier**: 特困 (one person, no labour capacity, no income, no obligor able to pay), 低保 (below
  the standard, assets within limits), 低保边缘 (below the marginal multiple), 刚性支出困难 (below
  the standard once rigid expenditure is paid), 防止返贫监测 (below the watch multiple), 其他
  (emergency aid active), or none; each with its explanation (members, items, obligors, thresholds);
- **benefit** for 低保 and 特困: the gap to the standard of each member times the member's
  identity coefficient (分类施保).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, TypedDict

from pydantic import BaseModel

from graph.model import NodeKind, RelKind
from policy.config import PolicyConfig
from queries.findings import FAR_FUTURE, age_on, covers
from queries.regions import region_tree
from queries.registry import question

__all__ = [
    "KIN_LINKS_CYPHER",
    "MEANS_FACTS_CYPHER",
    "Evaluation",
    "Obligation",
    "TierDecision",
    "derive_obligations",
    "evaluate",
    "means_test",
    "write_obligations",
]

ADULT, ELDERLY = 18, 60
SUPPORT_OF_PARENTS, RAISING_OF_CHILDREN, BETWEEN_SPOUSES = "赡养 support of parents", "抚养 raising of children", "扶养 between spouses"


class Obligation(BaseModel):
    """One obligor's monthly maintenance to one dependant household."""

    obligor: str
    obligor_household: str | None
    dependant_household: str
    dependants: list[str]
    kind: str
    basis: str  # which rule made them an obligor
    obligor_household_per_capita_income: float
    obligor_standard: float
    monthly_amount: float
    rule: str  # the amount's formula with the numbers
    #: "law": computed from the obligor's means; "fact": recorded maintenance income used instead.
    by: str = "law"
    computed_amount: float | None = None  # by fact: what the law would have computed
    recorded_incomes: list[str] = []  # by fact: the maintenance_received income items


class TierDecision(BaseModel):
    household_id: str
    region_code: str | None
    tier: str | None
    rule: str  # the rule that decided, in words
    classes: list[str]  # 分类: kinds of need
    members: int
    standard: float
    thresholds: dict[str, float]
    own_income: float
    deductions: float
    imputed_income: float
    maintenance_due: float
    counted_income: float
    per_capita_income: float
    rigid_expenditure: float
    assets_over_limit: list[str]
    benefit: float | None  # 低保/特困 monthly amount, yuan
    rigid_expenditure_deducted: float = 0.0  # 支出型贫困: taken off income before the test
    tekun_members: list[dict[str, Any]] = []  # members who are 特困 on their own, in a household that is not
    single_person_dibao: list[dict[str, Any]] = []  # 单人保: members of a marginal household enrolled alone
    aid_records: list[dict[str, Any]] = []  # the household's and its members' aid records (the audit reads them)
    deceased: list[dict[str, Any]] = []  # members with a date of death: {id, on}
    vulnerable: list[str] = []  # living members severely disabled or seriously ill
    eligible_programs: list[str]  # the policy's programmes whose tiers include this one
    enrolled_since: str | None  # start of the active basic-living aid (低保/特困), if any
    earned_income_since: str | None  # start of the latest current earned income
    review_basis: str  # no_labour_capacity, stable_income or unstable_income: the review cadence
    hardship: dict[str, float]  # the early-warning dimensions (0..1) and their weighted "index"
    facts: list[str]  # what the decision rests on, a line each: members, incomes, assets, active aid
    explanation: dict[str, Any]


class Evaluation(BaseModel):
    as_of: str
    policy: str
    households: list[TierDecision]
    obligations: list[Obligation]


# -- the facts -------------------------------------------------------------------------------

# In parts, one flat row per piece (members, incomes...), grouped by household in Python: collecting
# each piece per household in one text of OPTIONAL MATCHes took three times as long on LadybugDB.
_CHOSEN = "WHERE $every_household OR h.household_id IN $household_ids"
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


# Neo4j's one text for named households (``queries.registry``: 520,000 flat rows through Bolt took
# 13.3 s on the 100k-people store, these 35,000 rows of collected pieces 9.7 s; the whole store at
# 1M people reads the parts, see ``one_text_when`` below); entries of nulls are dropped.
MEANS_FACTS_ONE_TEXT = """
MATCH (h:Household)
WHERE $every_household OR h.household_id IN $household_ids
OPTIONAL MATCH (p:Person)-[m:MEMBER_OF]->(h)
WITH h, collect({id: p.id_number, name: p.name, birth: p.birth_date, sex: p.sex, labour: p.labour_capacity,
     employment: p.employment, disability: p.disability_grade, major: p.major_illness, chronic: p.chronic_illness,
     deceased: p.deceased_on, relation: m.relation_to_head, self_care: p.self_care}) AS members
OPTIONAL MATCH (i:Income)<-[:HAS_INCOME]-(p:Person)-[:MEMBER_OF]->(h)
WITH h, members, collect({id: i.income_id, person: p.id_number, kind: i.kind, amount: i.monthly_amount, start: i.period_start,
     until: i.period_end, department: i.source_department, payer: i.payer_id_number}) AS incomes
OPTIONAL MATCH (h)-[:OWNS]->(a:Asset)
WITH h, members, incomes, collect({id: a.asset_id, kind: a.kind, quantity: a.quantity, value: a.value}) AS assets
OPTIONAL MATCH (g:Program)<-[:PAID_BY]-(r:AidRecord)<-[:RECEIVES]-(h)
WITH h, members, incomes, assets, collect({id: r.record_id, program: g.program_code, kind: g.kind, amount: r.amount,
     start: r.period_start, until: r.period_end, status: r.status}) AS household_records
OPTIONAL MATCH (g:Program)<-[:PAID_BY]-(r:AidRecord)<-[:RECEIVES]-(p:Person)-[:MEMBER_OF]->(h)
WITH h, members, incomes, assets, household_records, collect({id: r.record_id, program: g.program_code, kind: g.kind,
     amount: r.amount, start: r.period_start, until: r.period_end, status: r.status, person: p.id_number}) AS member_records
OPTIONAL MATCH (h)-[:HAS_NEED]->(n:Need)
RETURN h.household_id AS household, h.region_code AS region, h.urban_rural AS urban_rural, members, incomes, assets,
       household_records, member_records,
       collect({id: n.need_id, category: n.category, status: n.status, raised_on: n.raised_on}) AS needs
"""


def _facts_one_text_parts(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    parts: dict[str, list[dict[str, Any]]] = {part: [] for part in MEANS_FACTS_CYPHER}
    for r in records:
        parts["households"].append({"household": r["household"], "region": r["region"], "urban_rural": r["urban_rural"]})
        for part in ("members", "incomes", "assets", "household_records", "member_records", "needs"):
            parts[part].extend({"household": r["household"], **item} for item in r[part] if item["id"] is not None)
    return parts


def _sorted_facts(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out_rows = []
    for r in sorted(rows, key=lambda r: r["household"]):
        out_rows.append(
            {
                **r,
                "members": sorted(r["members"], key=lambda m: m["id"]),
                "incomes": sorted(r["incomes"], key=lambda i: i["id"]),
                "assets": sorted(r["assets"], key=lambda a: a["id"]),
                "records": sorted(r["records"], key=lambda x: (x["id"], x["person"] or "")),
                "needs": sorted(r["needs"], key=lambda n: n["id"]),
            }
        )
    return out_rows


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
    return _sorted_facts(facts.values())


def _household_params(params: dict[str, Any]) -> dict[str, Any]:
    """``household_ids`` None (every household) as a flag: a parameter that is sometimes null has no type on LadybugDB."""
    return {"every_household": params["household_ids"] is None, "household_ids": list(params["household_ids"] or [])}


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


class MeansFactsMemberRecordsRow(TypedDict):
    household: str
    id: str
    program: str
    kind: str
    amount: float
    start: str
    until: str | None
    status: str
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
    # Not for the whole store: collected per household, 350,000 households' facts passed Neo4j's
    # transaction memory (2.8 GiB of a 4 GB heap) and the read failed; the flat parts stream.
    one_text_when=lambda params: params.get("household_ids") is not None,
)
def means_facts(store: Any, household_ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Per household (all, or those of ``household_ids``): members, incomes, assets, aid records, needs."""


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
    return sorted(rows, key=lambda r: (r["src"]["id"], r["dst"]["id"], r["relation"]))


def _kin_from_records(parts: dict[str, list[dict[str, Any]]], **_: Any) -> list[dict[str, Any]]:
    household = {r["person"]: r["household"] for r in parts["households"]}
    incomes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in parts["incomes"]:
        incomes[r.pop("person")].append({"amount": r["amount"], "kind": r["kind"], "start": r["start"], "end": r["until"]})
    people = {
        p["id"]: {**p, "household": household.get(p["id"]), "incomes": sorted(incomes[p["id"]], key=_income_order)} for p in parts["people"]
    }
    return _sorted_kin({"relation": r["relation"], "src": people[r["src"]], "dst": people[r["dst"]]} for r in parts["links"])


def _income_order(i: dict[str, Any]) -> tuple[str, str, float]:
    return (i["start"] or "", i["kind"] or "", i["amount"] or 0)


def _person_params(params: dict[str, Any]) -> dict[str, Any]:
    return {"everyone": params["person_ids"] is None, "person_ids": list(params["person_ids"] or [])}


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
    """KIN relationships (all, or those touching ``person_ids``) with both ends' household, birth and incomes."""


# -- the rules -------------------------------------------------------------------------------


def _alive(p: dict[str, Any], on: dt.date) -> bool:
    return not p.get("deceased") or p["deceased"] > on.isoformat()


def _current(items: Iterable[dict[str, Any]], on: dt.date) -> list[dict[str, Any]]:
    """The items whose period covers ``on`` (``covers`` inlined: this runs for every household)."""
    iso = on.isoformat()
    return [i for i in items if (i.get("start") or "0000-01-01") <= iso <= (i.get("end") or FAR_FUTURE)]


def _money(x: float) -> float:
    return round(x + 0.0, 2)


def _own_income(fact: dict[str, Any], policy: PolicyConfig, on: dt.date) -> dict[str, Any]:
    """A household's own counted income (no maintenance): items, deductions, imputed farm income."""
    living = {m["id"] for m in fact["members"] if _alive(m, on)}
    rules = policy.income
    items, earned_by = [], defaultdict(float)
    for i in _current(fact["incomes"], on):
        if i["person"] not in living:
            continue
        counted = i["kind"] not in rules.exempt_kinds
        items.append(
            {
                "id": i["id"],
                "person": i["person"],
                "kind": i["kind"],
                "amount": i["amount"],
                "counted": counted,
                "department": i.get("department"),
            }
        )
        if counted and i["kind"] in rules.earned_kinds:
            earned_by[i["person"]] += i["amount"]
    deductions = {}
    for person, earned in sorted(earned_by.items()):
        cut = earned * rules.job_cost_share
        if rules.job_cost_max:
            cut = min(cut, rules.job_cost_max)
        if cut:
            deductions[person] = _money(cut)
    imputed = []
    if not any(i["kind"] == "farm" for i in items):
        for a in fact["assets"]:
            per_unit = rules.farm_per_unit.get(a["kind"])
            if per_unit:
                imputed.append(
                    {
                        "asset": a["id"],
                        "kind": a["kind"],
                        "quantity": a["quantity"],
                        "per_unit": per_unit,
                        "amount": _money(a["quantity"] * per_unit),
                    }
                )
    own = sum(i["amount"] for i in items if i["counted"])
    total = own - sum(deductions.values()) + sum(x["amount"] for x in imputed)
    return {
        "members": len(living),
        "items": items,
        "own": _money(own),
        "deductions": deductions,
        "imputed": imputed,
        "counted": _money(max(0.0, total)),
    }


def derive_obligations(facts: list[dict[str, Any]], kin: list[dict[str, Any]], policy: PolicyConfig, on: dt.date) -> list[Obligation]:
    """Who owes maintenance to which household, and how much (see the module docstring)."""
    by_household = {f["household"]: f for f in facts}
    persons: dict[str, dict[str, Any]] = {}
    for row in kin:
        for end in (row["src"], row["dst"]):
            persons.setdefault(end["id"], end)
    for f in facts:
        for m in f["members"]:
            persons.setdefault(
                m["id"],
                {
                    "id": m["id"],
                    "birth": m["birth"],
                    "deceased": m["deceased"],
                    "labour": m["labour"],
                    "household": f["household"],
                    "incomes": [],
                },
            )
            persons[m["id"]] = {**persons[m["id"]], "household": f["household"], "labour": m["labour"]}
    children, parents, spouses, siblings = defaultdict(set), defaultdict(set), defaultdict(set), defaultdict(set)
    for row in kin:
        a, b = row["src"]["id"], row["dst"]["id"]
        if row["relation"] == "parent_of":
            children[a].add(b)
            parents[b].add(a)
        elif row["relation"] == "spouse_of":
            spouses[a].add(b)
            spouses[b].add(a)
        elif row["relation"] == "sibling_of":
            siblings[a].add(b)
            siblings[b].add(a)

    capacity_cache: dict[str, tuple[float, float, float]] = {}

    def capacity(obligor: str) -> tuple[float, float, float]:
        """(monthly amount they can owe, their household's per-capita income, their standard)."""
        if obligor in capacity_cache:
            return capacity_cache[obligor]
        p = persons[obligor]
        household = by_household.get(p.get("household") or "")
        if household is not None:
            own = _own_income(household, policy, on)
            per_capita = own["counted"] / max(own["members"], 1)
            standard = policy.standard.for_area(household.get("urban_rural"))
        else:  # known only from another department's records: a household of one
            per_capita = sum(i["amount"] or 0 for i in _current(p["incomes"], on))
            standard = policy.standard.for_area(None)
        rule = policy.maintenance
        owed = _money(max(0.0, per_capita - rule.k * standard) * rule.share)
        capacity_cache[obligor] = (owed, _money(per_capita), standard)
        return capacity_cache[obligor]

    def adult(pid: str) -> bool:
        age = age_on(persons[pid].get("birth"), on)
        return age is not None and age >= ADULT and _alive(persons[pid], on)

    def elsewhere(pid: str, household: str) -> bool:
        return persons[pid].get("household") != household

    def able(candidates: Iterable[str]) -> list[str]:
        return [c for c in candidates if capacity(c)[0] > 0]

    # One obligation per obligor and dependant household: an obligor's capacity counts once there,
    # even if they owe two members on two grounds (a father of a child and son of its grandmother).
    found: dict[tuple[str, str], dict[str, Any]] = {}

    def owe(obligor: str, dependant: str, household: str, kind: str, basis: str) -> None:
        entry = found.setdefault((obligor, household), {"dependants": set(), "kinds": {}, "bases": {}})
        entry["dependants"].add(dependant)
        entry["kinds"][kind] = None
        entry["bases"][basis] = None

    for f in facts:
        hid = f["household"]
        for m in f["members"]:
            d = m["id"]
            if not _alive(m, on):
                continue
            age = age_on(m["birth"], on)
            if age is not None and (age >= ELDERLY or m.get("labour") == "none") and age >= ADULT:
                kids = [c for c in children[d] if adult(c)]
                for c in kids:
                    if elsewhere(c, hid):
                        owe(c, d, hid, SUPPORT_OF_PARENTS, "adult child of a parent aged 60+ or without labour capacity")
                # No child at home and none elsewhere can pay: adult grandchildren do.
                if not any(not elsewhere(c, hid) for c in kids) and not able(c for c in kids if elsewhere(c, hid)):
                    for c in children[d]:
                        for g in children[c]:
                            if adult(g) and elsewhere(g, hid):
                                owe(g, d, hid, SUPPORT_OF_PARENTS, "adult grandchild: no child of the grandparent can pay")
            if age is not None and age < ADULT:
                ps = [p for p in parents[d] if _alive(persons[p], on)]
                for p in ps:
                    if elsewhere(p, hid):
                        owe(p, d, hid, RAISING_OF_CHILDREN, "parent of a minor child")
                # No parent at home and none elsewhere can pay: grandparents and adult siblings do.
                if not any(not elsewhere(p, hid) for p in ps) and not able(p for p in ps if elsewhere(p, hid)):
                    for p in parents[d]:
                        for gp in parents[p]:
                            if _alive(persons[gp], on) and elsewhere(gp, hid):
                                owe(gp, d, hid, RAISING_OF_CHILDREN, "grandparent: no parent of the minor can pay")
                    for s in siblings[d] | {c for p in parents[d] for c in children[p]} - {d}:
                        if adult(s) and elsewhere(s, hid):
                            owe(s, d, hid, RAISING_OF_CHILDREN, "adult sibling: no parent of the minor can pay")
            for s in spouses[d]:
                if _alive(persons[s], on) and elsewhere(s, hid):
                    owe(s, d, hid, BETWEEN_SPOUSES, "spouse living in another household")

    rule = policy.maintenance
    obligations = []
    for (obligor, household), entry in sorted(found.items()):
        owed, per_capita, standard = capacity(obligor)
        kind, basis = "; ".join(entry["kinds"]), "; ".join(entry["bases"])
        obligations.append(
            Obligation(
                obligor=obligor,
                obligor_household=persons[obligor].get("household"),
                dependant_household=household,
                dependants=sorted(entry["dependants"]),
                kind=kind,
                basis=basis,
                obligor_household_per_capita_income=per_capita,
                obligor_standard=standard,
                monthly_amount=owed,
                rule=f"max(0, {per_capita:g} - {rule.k:g} x {standard:g}) x {rule.share:g} = {owed:g}",
            )
        )
    if rule.split == "equal":
        by_dependant: dict[str, list[Obligation]] = defaultdict(list)
        for o in obligations:
            by_dependant[o.dependant_household].append(o)
        for group in by_dependant.values():
            payers = [o for o in group if o.monthly_amount > 0]
            if len(payers) > 1:
                total = sum(o.monthly_amount for o in payers)
                for o in payers:
                    o.monthly_amount = _money(total / len(payers))
                    o.rule += f"; split equally among {len(payers)} obligors: {total:g} / {len(payers)} = {o.monthly_amount:g}"
    return obligations


_CLASS_OF_PROGRAM_KIND = {"basic_living": "basic living", "emergency": "temporary"}
_CLASS_OF_NEED = {
    "medical": "medical",
    "schooling": "education",
    "housing": "housing",
    "employment": "employment",
    "disaster": "disaster",
    "care": "services",
    "psychological": "services",
    "visits": "services",
}


def member_categories(m: dict[str, Any], on: dt.date, *, traditional: bool = False, in_difficulty: bool = False) -> list[str]:
    """The identity categories (分类施保) a member falls in, by what the graph holds of them.

    Codes a policy may give coefficients to: serious_illness, severe_disability, mild_disability,
    lost_labour, elderly_80, men_60, women_50, student, retiree, able_to_work, and, as the caller
    judged them, traditional (传统民政对象: the "three withouts", no labour capacity, no income, no
    able obligor) and minor_orphan (困境儿童: a minor whose recorded parents are all dead, or
    severely disabled or seriously ill).
    """
    age = age_on(m.get("birth"), on)
    found = ["traditional"] if traditional else []
    if in_difficulty:
        found.append("minor_orphan")
    if m.get("major"):
        found.append("serious_illness")
    if m.get("disability") in (1, 2):
        found.append("severe_disability")
    elif m.get("disability") in (3, 4):
        found.append("mild_disability")
    if m.get("labour") == "none" and age is not None and ADULT <= age < ELDERLY:
        found.append("lost_labour")
    if age is not None and age >= 80:
        found.append("elderly_80")
    if age is not None and age >= 60 and m.get("sex") == "M":
        found.append("men_60")
    if age is not None and age >= 50 and m.get("sex") == "F":
        found.append("women_50")
    if m.get("employment") == "student":
        found.append("student")
    if m.get("employment") == "retired":
        found.append("retiree")
    if m.get("labour") == "full" and not found:
        found.append("able_to_work")
    return found


def _kin_map(facts: list[dict[str, Any]], kin: list[dict[str, Any]]) -> dict[str, Any]:
    """Each person's parents, children, spouses and siblings, and what is known of every one of them."""
    rel: dict[str, Any] = {k: defaultdict(set) for k in ("parents", "children", "spouses", "siblings")}
    people: dict[str, dict[str, Any]] = {}
    for row in kin:
        a, b = row["src"]["id"], row["dst"]["id"]
        for end in (row["src"], row["dst"]):
            people.setdefault(end["id"], dict(end))
        if row["relation"] == "parent_of":
            rel["children"][a].add(b)
            rel["parents"][b].add(a)
        elif row["relation"] == "spouse_of":
            rel["spouses"][a].add(b)
            rel["spouses"][b].add(a)
        elif row["relation"] == "sibling_of":
            rel["siblings"][a].add(b)
            rel["siblings"][b].add(a)
    for f in facts:
        for m in f["members"]:
            people[m["id"]] = {**people.get(m["id"], {}), **m}
    return {**rel, "people": people}


def _no_labour_capacity(m: dict[str, Any], age: int | None) -> bool:
    """特困's "no labour capacity": aged 60 or over, severely disabled (grade 1-2), under 16 (under 18
    in school), unless the register says the person can fully work."""
    in_class = m.get("disability") in (1, 2) or (
        age is not None and (age >= ELDERLY or age < 16 or (age < ADULT and m.get("employment") == "student"))
    )
    return in_class and m.get("labour") != "full"


def _child_in_difficulty(m: dict[str, Any], ages: dict[str, int | None], kin: dict[str, Any]) -> bool:
    """困境儿童: a minor with recorded parents, every one dead, severely disabled or seriously ill."""
    age = ages.get(m["id"])
    parents = [kin["people"].get(p, {}) for p in kin.get("parents", {}).get(m["id"], ())] if kin else []
    return (
        age is not None
        and age < ADULT
        and bool(parents)
        and all(p.get("deceased") or p.get("disability") in (1, 2) or p.get("major") for p in parents)
    )


def _tekun_members(
    living: list[dict[str, Any]],
    ages: dict[str, int | None],
    owed: list[Obligation],
    own: dict[str, Any],
    kin: dict[str, Any],
    policy: PolicyConfig,
    standard: float,
    over: list[str],
) -> dict[str, dict[str, Any]]:
    """The living members who are 特困 on their own, person by person, with their support.

    特困: no labour capacity (``_no_labour_capacity``), own income below the standard, and the
    household's per-capita income below it too (one does not live without a source of living in a
    household that has one), household assets within the limits, and no obligor able to support them: none outside the household owes
    an amount (by law or by fact), and none inside it (spouse, adult child or grandchild; for a
    minor, parent, grandparent or adult sibling) has labour capacity or the means to pay.
    Support: ``tekun.basic_multiple`` x the standard, plus the care allowance of their self-care
    ability (recorded, else fully dependent at disability grade 1, partly at grade 2).
    """
    if over or not living or own["counted"] / len(living) >= standard:
        return {}
    home = {m["id"]: m for m in living}
    income_of: dict[str, float] = defaultdict(float)
    for i in own["items"]:
        if i["counted"]:
            income_of[i["person"]] += i["amount"]
    rule = policy.maintenance

    def able_at_home(pid: str) -> bool:
        m = home[pid]
        if not _no_labour_capacity(m, ages[pid]) and m.get("labour") != "none" and (ages[pid] or 0) >= ADULT:
            return True
        return max(0.0, income_of[pid] - rule.k * standard) * rule.share > 0

    found = {}
    for m in living:
        pid, age = m["id"], ages[m["id"]]
        if not _no_labour_capacity(m, age) or income_of[pid] >= standard:
            continue
        if any((o.monthly_amount > 0 or o.by == "fact") and pid in o.dependants for o in owed):
            continue  # an obligor elsewhere owes them, or pays (recorded maintenance)
        children, spouses = kin.get("children", {}).get(pid, set()), kin.get("spouses", {}).get(pid, set())
        obligors = set(spouses) | set(children) | {g for c in children for g in kin.get("children", {}).get(c, set())}
        if age is not None and age < ADULT:
            parents = kin.get("parents", {}).get(pid, set())
            obligors |= set(parents) | {g for p in parents for g in kin.get("parents", {}).get(p, set())}
            obligors |= set(kin.get("siblings", {}).get(pid, set()))
        if any(o in home and o != pid and able_at_home(o) for o in obligors):
            continue
        care_level = m.get("self_care") or {1: "fully_dependent", 2: "partly_dependent"}.get(m.get("disability") or 0, "able")
        basic = _money(policy.tekun.basic_multiple * standard)
        care = policy.tekun.care.get(care_level, 0.0)
        found[pid] = {
            "person": pid,
            "basic": basic,
            "care_level": care_level,
            "care": care,
            "amount": _money(basic + care),
            "rule": f"{policy.tekun.basic_multiple:g} x {standard:g} + care allowance ({care_level}) {care:g}",
        }
    return found


def means_test(
    fact: dict[str, Any], owed: list[Obligation], policy: PolicyConfig, on: dt.date, kin: dict[str, dict[str, Any]] | None = None
) -> TierDecision:
    """The tier of one household (its facts as ``means_facts`` gives them), with the explanation.

    ``kin``: each member's relatives (``_kin_map``), for the 特困 test of obligors in the household
    and the 困境儿童 category.
    """
    living = [m for m in fact["members"] if _alive(m, on)]
    n = max(len(living), 1)
    own = _own_income(fact, policy, on)
    # Maintenance by law only: maintenance by fact is a recorded income, counted already.
    maintenance = _money(sum(o.monthly_amount for o in owed if o.by == "law"))
    counted = _money(own["counted"] + maintenance)
    thresholds = policy.thresholds(fact.get("urban_rural"))
    standard = thresholds["standard"]

    # Assets against the limits.
    over = []
    if policy.assets.deposit_months is not None:
        deposits = sum(a.get("value") or a.get("quantity") or 0 for a in fact["assets"] if a["kind"] == "deposit")
        limit = policy.assets.deposit_months * standard * n
        if deposits > limit:
            over.append(f"deposits {deposits:g} > {policy.assets.deposit_months:g} months x {standard:g} x {n} = {limit:g}")
    for kind, most in sorted(policy.assets.max_units.items()):
        units = sum(a.get("quantity") or 0 for a in fact["assets"] if a["kind"] == kind)
        if units > most:
            over.append(f"{kind}: {units:g} > {most:g}")

    # Rigid expenditure, per member by condition; the deducted conditions come off income first.
    rigid_rules = policy.rigid_expenditure
    rigid_items = []
    for m in living:
        for condition, key, amount, applies in (
            ("major illness", "major_illness", rigid_rules.major_illness, bool(m.get("major"))),
            ("severe disability", "severe_disability", rigid_rules.severe_disability, m.get("disability") in (1, 2)),
            ("student", "student", rigid_rules.student, m.get("employment") == "student"),
        ):
            if applies and amount:
                rigid_items.append({"person": m["id"], "condition": condition, "amount": amount, "deducted": key in rigid_rules.deducted})
    rigid = _money(sum(i["amount"] for i in rigid_items))
    rigid_deducted = _money(sum(i["amount"] for i in rigid_items if i["deducted"]))
    tested = _money(max(0.0, counted - rigid_deducted))
    per_capita = _money(tested / n)
    after_deduction = f" after deducting rigid expenditure of {rigid_deducted:g}" if rigid_deducted else ""

    active = [r for r in fact["records"] if r.get("status") not in ("ended", "suspended") and covers(r.get("start"), r.get("end"), on)]
    ages = {m["id"]: age_on(m.get("birth"), on) for m in living}
    tekun = _tekun_members(living, ages, owed, own, kin or {}, policy, standard, over)
    if not living:
        tier, rule = None, "no living member"
    elif tekun and len(tekun) == len(living):
        who = "the one member" if len(living) == 1 else f"each of the {len(living)} members"
        tier, rule = "特困", f"{who}: without labour capacity, income below the standard {standard:g}, no obligor able to support them"
    elif per_capita < standard and not over:
        tier, rule = "低保", f"per-capita income {per_capita:g}{after_deduction} below the standard {standard:g}, assets within limits"
    elif per_capita < thresholds["marginal"] and not over:
        tier, rule = (
            "低保边缘",
            f"per-capita income {per_capita:g}{after_deduction} below {policy.multiples.marginal:g} x the standard = {thresholds['marginal']:g}",
        )
    elif rigid and (counted - rigid) / n < standard:
        tier, rule = (
            "刚性支出困难",
            f"after rigid expenditure of {rigid:g}, per-capita income {_money((counted - rigid) / n):g} is below the standard {standard:g}",
        )
    elif per_capita < thresholds["watch"]:
        tier, rule = (
            "防止返贫监测",
            f"per-capita income {per_capita:g} below {policy.multiples.watch:g} x the standard = {thresholds['watch']:g}",
        )
    elif any(r["kind"] == "emergency" for r in active):
        tier, rule = "其他", "emergency aid (急难) active"
    else:
        tier, rule = (
            None,
            f"per-capita income {per_capita:g} at or above {policy.multiples.watch:g} x the standard = {thresholds['watch']:g}"
            + (f"; assets over limits: {'; '.join(over)}" if over else ""),
        )
    if over and tier == "防止返贫监测" and per_capita < thresholds["marginal"]:
        rule += f" (income alone would qualify; assets over limits: {'; '.join(over)})"

    categories = {
        m["id"]: member_categories(m, on, traditional=m["id"] in tekun, in_difficulty=_child_in_difficulty(m, ages, kin or {}))
        for m in living
    }
    benefit = None
    benefit_lines = []
    if tier == "特困":
        for m in living:
            benefit_lines.append(tekun[m["id"]])
        benefit = _money(sum(x["amount"] for x in benefit_lines))
    elif tier == "低保":
        gap = max(0.0, standard - per_capita)
        total = 0.0
        for m in living:
            coefficient = policy.coefficient(categories[m["id"]])
            total += gap * coefficient
            benefit_lines.append(
                {
                    "person": m["id"],
                    "gap": _money(gap),
                    "categories": categories[m["id"]],
                    "coefficient": coefficient,
                    "amount": _money(gap * coefficient),
                }
            )
        benefit = _money(total)
    # 单人保: a severely disabled or seriously ill member of a marginal household, enrolled alone.
    single = []
    if tier == "低保边缘" and policy.dibao.single_person:
        for m in living:
            if m.get("disability") in (1, 2) or m.get("major"):
                own_items = _money(sum(i["amount"] for i in own["items"] if i["person"] == m["id"] and i["counted"]))
                coefficient = policy.coefficient(categories[m["id"]])
                single.append(
                    {
                        "person": m["id"],
                        "own_income": own_items,
                        "coefficient": coefficient,
                        "amount": _money(max(0.0, standard - own_items) * coefficient),
                        "rule": f"单人保: max(0, {standard:g} - own income {own_items:g}) x {coefficient:g}",
                    }
                )
    individual_tekun = [] if tier == "特困" else [tekun[k] for k in sorted(tekun)]

    classes = sorted(
        {_CLASS_OF_PROGRAM_KIND[r["kind"]] for r in active if r["kind"] in _CLASS_OF_PROGRAM_KIND}
        | {_CLASS_OF_NEED.get(x["category"], "services") for x in fact["needs"] if (x.get("status") or "open") != "closed"}
        | ({"basic living"} if tier in ("特困", "低保") else set())
    )
    explanation = {
        "members": [
            {
                "id": m["id"],
                "name": m.get("name"),
                "relation": m.get("relation"),
                "age": age_on(m.get("birth"), on),
                "labour": m.get("labour"),
                "categories": categories[m["id"]],
            }
            for m in living
        ],
        "income_items": own["items"],
        "job_cost_deductions": own["deductions"],
        "imputed_income": own["imputed"],
        "obligors": [o.model_dump() for o in owed],
        "rigid_expenditure": rigid_items,
        "thresholds": thresholds,
        "benefit": benefit_lines,
        "rigid_expenditure_deducted": rigid_deducted,
        "tekun_members": individual_tekun,
        "single_person_dibao": single,
        "policy": policy.name,
    }
    enrolled_since = min((r["start"] for r in active if r["kind"] == "basic_living" and r.get("start")), default=None)
    earned = [
        i for i in _current(fact["incomes"], on) if i["kind"] in policy.income.earned_kinds and i["person"] in {m["id"] for m in living}
    ]
    earned_since = max((i["start"] for i in earned if i.get("start")), default=None)

    def dependent_by_nature(m: dict[str, Any]) -> bool:
        age = ages[m["id"]]
        return m.get("labour") == "none" or m.get("disability") in (1, 2) or (age is not None and (age < 16 or age >= ELDERLY))

    if all(dependent_by_nature(m) for m in living):
        review_basis = "no_labour_capacity"
    elif any(i["kind"] in policy.review.unstable_kinds and i["counted"] for i in own["items"]):
        review_basis = "unstable_income"
    else:
        review_basis = "stable_income"
    hardship = _hardship(fact, living, ages, own, per_capita, thresholds, rigid, counted, policy, on)
    fact_lines = [
        f"member {m['id']} {m.get('relation') or ''} born {m.get('birth') or '?'} labour {m.get('labour') or '?'}"
        + (f" disability {m['disability']}" if m.get("disability") else "")
        + (" major illness" if m.get("major") else "")
        for m in living
    ]
    fact_lines += [f"deceased {m['id']} on {m['deceased']}" for m in fact["members"] if not _alive(m, on)]
    fact_lines += [f"income {i['id']} {i['person']} {i['kind']} {i['amount']:g}" for i in own["items"]]
    fact_lines += [f"asset {a['id']} {a['kind']} x{a['quantity']:g}" for a in fact["assets"]]
    fact_lines += [f"aid {r['id']} {r['program']} since {r.get('start')}" for r in active]
    return TierDecision(
        household_id=fact["household"],
        region_code=fact.get("region"),
        tier=tier,
        rule=rule,
        classes=classes,
        members=len(living),
        standard=standard,
        thresholds=thresholds,
        own_income=own["own"],
        deductions=_money(sum(own["deductions"].values())),
        imputed_income=_money(sum(x["amount"] for x in own["imputed"])),
        maintenance_due=maintenance,
        counted_income=counted,
        per_capita_income=per_capita,
        rigid_expenditure=rigid,
        assets_over_limit=over,
        benefit=benefit,
        rigid_expenditure_deducted=rigid_deducted,
        tekun_members=individual_tekun,
        single_person_dibao=single,
        aid_records=fact["records"],
        deceased=[{"id": m["id"], "on": m["deceased"]} for m in fact["members"] if m.get("deceased")],
        vulnerable=sorted(m["id"] for m in living if m.get("disability") in (1, 2) or m.get("major")),
        eligible_programs=sorted(code for code, program in policy.programs.items() if tier in program.tiers),
        enrolled_since=enrolled_since,
        earned_income_since=earned_since,
        review_basis=review_basis,
        hardship=hardship,
        facts=fact_lines,
        explanation=explanation,
    )


RECENT_DAYS = 90


def _hardship(
    fact: dict[str, Any],
    living: list[dict[str, Any]],
    ages: dict[str, int | None],
    own: dict[str, Any],
    per_capita: float,
    thresholds: dict[str, float],
    rigid: float,
    counted: float,
    policy: PolicyConfig,
    on: dt.date,
) -> dict[str, float]:
    """The early-warning dimensions, each 0..1, and the index: their weighted mean (``policy.warning.weights``).

    income_gap: how far per-capita income falls below the watch line (0 at or above it, 1 at
    nothing); age_structure: the share of members under 16 or 60 and over; health: seriously ill
    or severely disabled members count 1, chronically ill 0.5, over the members; dependency: the
    share of members without an income of their own; recent_events: 1 if in the last 90 days an
    income ended (a lost job), special or emergency aid started, or a medical need was raised;
    expenditure: rigid expenditure over counted income (at most 1).
    """
    n = max(len(living), 1)
    recent = (on - dt.timedelta(days=RECENT_DAYS)).isoformat()
    today = on.isoformat()
    earners = {i["person"] for i in own["items"] if i["counted"] and i["amount"]}
    events = (
        any(i.get("end") and recent <= i["end"] < today for i in fact["incomes"])
        or any(_aid_started(r, fact["records"], recent, today) for r in fact["records"])
        or any(x.get("category") == "medical" and x.get("raised_on") and recent <= x["raised_on"] <= today for x in fact["needs"])
    )
    scores = {
        "income_gap": max(0.0, 1 - per_capita / thresholds["watch"]) if thresholds["watch"] else 0.0,
        "age_structure": sum(1 for a in ages.values() if a is not None and (a < 16 or a >= ELDERLY)) / n,
        "health": min(
            1.0, sum(1.0 if (m.get("major") or m.get("disability") in (1, 2)) else 0.5 if m.get("chronic") else 0.0 for m in living) / n
        ),
        "dependency": 1 - len(earners & {m["id"] for m in living}) / n,
        "recent_events": 1.0 if events else 0.0,
        "expenditure": min(1.0, rigid / counted) if counted else (1.0 if rigid else 0.0),
    }
    weights = policy.warning.weights
    total = sum(weights.values()) or 1.0
    scores = {k: round(v, 4) for k, v in scores.items()}
    scores["index"] = round(sum(weights.get(k, 0.0) * v for k, v in scores.items()) / total, 4)
    return scores


def _aid_started(record: dict[str, Any], records: list[dict[str, Any]], since: str, until: str) -> bool:
    """Whether special or emergency ``record`` is aid that started between ``since`` and ``until``.

    A record that continues another of the same programme to the same beneficiary (a month's
    line of an allowance paid for years, a renewal) is no new event: one of those covers the day
    before it starts.

    >>> line = {"program": "CANJI_HULI", "kind": "special", "person": "P", "start": "2026-05-01", "end": "2026-05-31"}
    >>> enrolment = {"program": "CANJI_HULI", "kind": "special", "person": "P", "start": "2024-03-09", "end": None}
    >>> _aid_started(line, [line, enrolment], "2026-04-01", "2026-06-30"), _aid_started(line, [line], "2026-04-01", "2026-06-30")
    (False, True)
    """
    start = record.get("start")
    if record["kind"] not in ("special", "emergency") or not start or not since <= start <= until:
        return False
    before = (dt.date.fromisoformat(start) - dt.timedelta(days=1)).isoformat()
    return not any(
        r is not record
        and r["program"] == record["program"]
        and r.get("person") == record.get("person")
        and (r.get("start") or "") <= before
        and (not r.get("end") or r["end"] >= before)
        for r in records
    )


def by_fact(obligations: list[Obligation], facts: list[dict[str, Any]], on: dt.date) -> None:
    """Maintenance "by law and by fact" (依法据实): where a dependant household records maintenance
    received (``maintenance_received`` income current on ``on``) from a named obligor, that figure
    replaces the computed one for that obligor; recorded with no payer named, it replaces the
    computed amounts of all the household's obligors (the figure cannot be split among them). The
    recorded income is counted as income, so a replaced obligation adds nothing again.
    """
    received: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in facts:
        living = {m["id"] for m in f["members"] if _alive(m, on)}
        received[f["household"]] = [i for i in _current(f["incomes"], on) if i["kind"] == "maintenance_received" and i["person"] in living]
    for o in obligations:
        items = received.get(o.dependant_household) or []
        named = [i for i in items if i.get("payer") == o.obligor]
        unnamed = [i for i in items if not i.get("payer")]
        used = named or unnamed
        if not used:
            continue
        recorded = _money(sum(i["amount"] for i in used))
        o.by, o.computed_amount, o.recorded_incomes = "fact", o.monthly_amount, sorted(i["id"] for i in used)
        why = (
            f"recorded maintenance from this obligor ({', '.join(o.recorded_incomes)}: {recorded:g})"
            if named
            else f"recorded maintenance with no payer named ({', '.join(o.recorded_incomes)}: {recorded:g}), taken as all the household receives"
        )
        o.rule = f"by fact: {why} used instead of the computed {o.rule}; counted once, as income"
        o.monthly_amount = recorded if named else 0.0


def evaluate(
    store: Any, policy: PolicyConfig, *, as_of: dt.date | None = None, household_ids: list[str] | None = None, region: str | None = None
) -> Evaluation:
    """Obligations and tiers of every household (or of ``household_ids``, or of a ``region``).

    Examples
    --------
    >>> from graph.stores.ladybug import LadybugStore
    >>> from policy.config import load_policy
    >>> evaluate(LadybugStore.in_memory(), load_policy(), as_of=dt.date(2026, 6, 30)).households
    []
    """
    day = as_of or dt.date.today()
    if household_ids is None:
        facts = means_facts(store, household_ids=None)
        kin = kin_links(store, person_ids=None)
        inside = region_tree(store).within(region)
        targets = [f for f in facts if inside(f.get("region"))]
    else:
        targets = means_facts(store, household_ids=sorted(set(household_ids)))
        members = sorted({m["id"] for f in targets for m in f["members"]})
        kin = kin_links(store, person_ids=members) if members else []
        # Two steps out: grandchildren of a grandparent, grandparents and siblings of a minor.
        second = sorted({e["id"] for row in kin for e in (row["src"], row["dst"])} - set(members))
        if second:
            known = {(r["src"]["id"], r["dst"]["id"], r["relation"]) for r in kin}
            kin = _sorted_kin(
                [
                    *kin,
                    *(r for r in kin_links(store, person_ids=second) if (r["src"]["id"], r["dst"]["id"], r["relation"]) not in known),
                ]
            )
        others = sorted(
            {e["household"] for row in kin for e in (row["src"], row["dst"]) if e["household"]} - {f["household"] for f in targets}
        )
        facts = targets + (means_facts(store, household_ids=others) if others else [])
    obligations = derive_obligations(facts, kin, policy, day)
    by_fact(obligations, facts, day)
    owed_to: dict[str, list[Obligation]] = defaultdict(list)
    for o in obligations:
        owed_to[o.dependant_household].append(o)
    relatives = _kin_map(facts, kin)
    decisions = [means_test(f, owed_to[f["household"]], policy, day, relatives) for f in targets]
    wanted = {f["household"] for f in targets}
    return Evaluation(
        as_of=day.isoformat(),
        policy=policy.name,
        households=decisions,
        obligations=[o for o in obligations if o.dependant_household in wanted],
    )


def write_obligations(store: Any, obligations: list[Obligation], *, by: str = "evaluate") -> dict[str, int]:
    """Make the store's OBLIGED_TO_SUPPORT relationships these (one per obligor and dependant), in one batch.

    Relationships no longer owed are removed; the amounts and the rule travel on the relationship.
    """
    from graph.store import EdgeWrite, WriteBatch

    wanted: dict[tuple[str, str], dict[str, Any]] = {}
    for o in obligations:
        for d in o.dependants:
            wanted[(o.obligor, d)] = {
                "kind": o.kind,
                "monthly_amount": o.monthly_amount,
                "rule": o.rule,
                "basis": o.basis,
                "dependant_household": o.dependant_household,
            }
    existing = {(e.src_key, e.dst_key) for e in store.iter_edges(RelKind.OBLIGED_TO_SUPPORT)}
    rel, person = RelKind.OBLIGED_TO_SUPPORT, NodeKind.PERSON
    batch = WriteBatch(
        edges=[EdgeWrite(rel, person, a, person, b, props) for (a, b), props in sorted(wanted.items())],
        removed_edges=[EdgeWrite(rel, person, a, person, b) for a, b in sorted(existing - set(wanted))],
        source=f"obligations by {by}",
    )
    result = store.write_batch(batch)
    return {
        "created": result.created[rel.value],
        "updated": result.updated[rel.value],
        "unchanged": result.unchanged[rel.value],
        "removed": result.removed[rel.value],
    }
