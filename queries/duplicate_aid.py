"""Duplicate aid (重复救助): the same person or need paid twice, across departments or households.

Six rules, each a registered question: one Cypher text both engines run, and one function per
rule that turns its rows into findings, so the engines give equal findings (networkx finds the
rings of rule 5 among the rows: connected components). :func:`duplicate_aid` runs them all.

1. ``exclusive_overlap``: one person receives, directly or through their household, two
   programmes of one exclusive group (programme config) in overlapping periods.
2. ``person_in_two_households``: one person (same name, birth date and sex under two register
   entries; identity resolution never merges two register entries, so this stays an exact match)
   is a member of two households that both receive household-level aid in overlapping periods.
3. ``need_paid_twice``: one need paid by two departments, a department and a charity, or two
   charities, in overlapping periods (payments of zero do not count).
4. ``delivered_twice``: one payment delivered twice: two records with the same beneficiary,
   programme, amount and period.
6. ``enrolled_twice`` ("one person, one 低保"): one person enrolled in one programme that may be
   held once only (basic-living and special programmes, unless the policy file says a programme is
   repeatable) under two enrolments in overlapping periods: two sending departments, or two
   beneficiaries (their household and themselves, two households, or a record resolved to them
   from a mistyped ID), whatever the amounts. Two records of one department to one beneficiary
   are a ledger, not two enrolments (``delivered_twice`` finds a payment sent twice).
5. ``shared_identifier_ring``: households that each receive aid and are joined by a phone or a bank
   account their members share; an identifier shared by more than ``generic_threshold``
   households is generic (a village office phone) and is listed, not trusted.
"""

from __future__ import annotations

from typing import Any, TypedDict

import networkx as nx

from queries.findings import Finding, entries, finding_id, overlaps, sort_findings
from queries.registry import question

__all__ = [
    "DEFAULT_GENERIC_THRESHOLD",
    "DELIVERED_TWICE_CYPHER",
    "ENROLLED_TWICE_CYPHER",
    "EXCLUSIVE_OVERLAP_CYPHER",
    "NEED_PAID_TWICE_CYPHER",
    "PERSON_IN_TWO_HOUSEHOLDS_CYPHER",
    "SHARED_IDENTIFIERS_CYPHER",
    "duplicate_aid",
]

#: An identifier shared by more households than this is generic: discounted, not evidence.
DEFAULT_GENERIC_THRESHOLD = 8


def _record_row(r: dict[str, Any], program: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": r["record_id"],
        "program": r["program_code"],
        "group": (program or {}).get("exclusive_group"),
        "department": r["source_department"],
        "amount": r["amount"],
        "start": r["period_start"],
        "end": r.get("period_end"),
    }


# -- 1. exclusive programmes overlapping --------------------------------------------------------

# Programmes first, records after: a beneficiary paid monthly has a record a month (a payment
# ledger), but only someone who holds two programmes of one group can hold an overlap. So the
# first parts give one row per person, group and programme held (directly, or through the person's
# household), and records are read only for the few people holding two (the follow-up).
# One pattern over any beneficiary, ``(b)<-[:MEMBER_OF*0..1]-(p)``, took thirty times as long on
# LadybugDB as the two labelled ones; it stays only for the few people of the follow-up, where it is
# the beneficiary itself when that is a person, and the person's household otherwise.
EXCLUSIVE_OVERLAP_CYPHER = {
    "held_directly": """MATCH (g:Program)<-[:PAID_BY]-(:AidRecord)<-[:RECEIVES]-(p:Person)
WHERE g.exclusive_group IS NOT NULL
RETURN DISTINCT p.id_number AS person, g.exclusive_group AS grp, g.program_code AS program""",
    "held_by_household": """MATCH (g:Program)<-[:PAID_BY]-(:AidRecord)<-[:RECEIVES]-(h:Household)
WHERE g.exclusive_group IS NOT NULL
WITH DISTINCT h, g.exclusive_group AS grp, g.program_code AS program
MATCH (p:Person)-[:MEMBER_OF]->(h)
RETURN DISTINCT p.id_number AS person, grp, program""",
}
_EXCLUSIVE_RECORDS_CYPHER = {
    "records": """MATCH (p:Person) WHERE p.id_number IN $people
MATCH (g:Program)<-[:PAID_BY]-(r:AidRecord)<-[:RECEIVES]-(b)<-[:MEMBER_OF*0..1]-(p)
WHERE g.exclusive_group IS NOT NULL
WITH p, collect(DISTINCT {id: r.record_id, program: r.program_code, grp: g.exclusive_group, department: r.source_department,
                          amount: r.amount, start: r.period_start, until: r.period_end}) AS records
OPTIONAL MATCH (p)-[:MEMBER_OF]->(h:Household)
RETURN p.id_number AS person, h.household_id AS household, h.region_code AS region, records""",
}


def _holding_two(parts: dict[str, list[dict[str, Any]]], params: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """The follow-up: the records of the people holding two programmes of one exclusive group."""
    held: dict[tuple[str, str], set[str]] = {}
    for row in parts["held_directly"] + parts["held_by_household"]:
        held.setdefault((row["person"], row["grp"]), set()).add(row["program"])
    people = sorted({person for (person, _), programs in held.items() if len(programs) > 1})
    return (_EXCLUSIVE_RECORDS_CYPHER, {"people": people}) if people else ({}, {})


def _exclusive_findings(parts: dict[str, list[dict[str, Any]]], **_: Any) -> list[Finding]:
    by_pair: dict[tuple[str, str], dict[str, Any]] = {}
    for row in parts.get("records", []):
        records = sorted(entries(row["records"]), key=lambda r: r["id"])
        for i, a in enumerate(records):
            for b in records[i + 1 :]:
                if a["group"] != b["group"] or a["program"] == b["program"] or not overlaps(a["start"], a["end"], b["start"], b["end"]):
                    continue
                entry = by_pair.setdefault((a["id"], b["id"]), {"a": a, "b": b, "persons": set(), "households": {}})
                entry["persons"].add(row["person"])
                if row["household"]:
                    entry["households"][row["household"]] = row["region"]
    findings = []
    for (a_id, b_id), e in by_pair.items():
        a, b, households = e["a"], e["b"], sorted(e["households"])
        findings.append(
            Finding(
                id=finding_id("exclusive_overlap", [a_id, b_id]),
                kind="exclusive_overlap",
                rule=f"programmes {a['program']} and {b['program']} are exclusive (group {a['group']}) and their periods overlap",
                persons=sorted(e["persons"]),
                households=households,
                records=[a_id, b_id],
                programs=sorted({a["program"], b["program"]}),
                region_code=e["households"].get(households[0]) if households else None,
                amount_at_stake=min(a["amount"], b["amount"]),
                evidence={"group": a["group"], "records": [a, b], "cross_department": a["department"] != b["department"]},
            )
        )
    return sort_findings(findings)


class DupExclusiveOverlapHeldDirectlyRow(TypedDict):
    person: str
    grp: str
    program: str


class DupExclusiveOverlapHeldByHouseholdRow(TypedDict):
    person: str
    grp: str
    program: str


class DupExclusiveOverlapRecordsRow(TypedDict):
    person: str
    household: str
    region: str
    records: list[dict[str, Any]]


DUP_EXCLUSIVE_OVERLAP_ROWS: dict[str, type] = {
    "held_directly": DupExclusiveOverlapHeldDirectlyRow,
    "held_by_household": DupExclusiveOverlapHeldByHouseholdRow,
    "records": DupExclusiveOverlapRecordsRow,
}


@question(
    "dup_exclusive_overlap",
    cypher=EXCLUSIVE_OVERLAP_CYPHER,
    row=DUP_EXCLUSIVE_OVERLAP_ROWS,
    from_records=_exclusive_findings,
    follow_up=_holding_two,
)
def exclusive_overlap(store: Any) -> list[Finding]:
    """Rule 1 (see the module docstring)."""


# -- 2. one person registered in two households --------------------------------------------------

# Group the register first and look at households only for the few names shared: building every
# person's household records before grouping was nine tenths of the time. A person is a member of
# one household at most (MEMBER_OF is unique at the person's end).
PERSON_IN_TWO_HOUSEHOLDS_CYPHER = """
MATCH (p:Person)
WHERE p.name IS NOT NULL AND p.birth_date IS NOT NULL
WITH p.name AS name, p.birth_date AS birth, p.sex AS sex, collect(p) AS people
WHERE size(people) > 1
UNWIND people AS p
MATCH (p)-[:MEMBER_OF]->(h:Household)
OPTIONAL MATCH (h)-[:RECEIVES]->(r:AidRecord)
WITH name, birth, sex, p, h,
     collect({id: r.record_id, program: r.program_code, amount: r.amount, start: r.period_start, until: r.period_end}) AS records
RETURN name, birth, sex, collect({person: p.id_number, household: h.household_id, region: h.region_code, records: records}) AS registrations
"""


def _two_household_findings(rows: list[dict[str, Any]], **_: Any) -> list[Finding]:
    findings = []
    for row in rows:
        regs = [{**r, "records": entries(r["records"])} for r in row["registrations"]]
        regs = [r for r in regs if r["records"]]
        households = {r["household"] for r in regs}
        if len(households) < 2:
            continue
        # Aid to two of the households in the same period: the person is counted twice.
        pairs = [
            (a, b, ra, rb)
            for i, a in enumerate(regs)
            for b in regs[i + 1 :]
            if a["household"] != b["household"]
            for ra in a["records"]
            for rb in b["records"]
            if overlaps(ra["start"], ra["end"], rb["start"], rb["end"])
        ]
        if not pairs:
            continue
        involved = sorted({x["household"] for a, b, _, _ in pairs for x in (a, b)})
        records = sorted({r["id"] for _, _, ra, rb in pairs for r in (ra, rb)})
        persons = sorted({x["person"] for a, b, _, _ in pairs for x in (a, b)})
        region = next(r["region"] for r in regs if r["household"] == involved[0])
        findings.append(
            Finding(
                id=finding_id("person_in_two_households", persons + involved),
                kind="person_in_two_households",
                rule="one person (same name, birth date and sex, two register entries) is a member of two households that both receive household aid in the same period",
                persons=persons,
                households=involved,
                records=records,
                programs=sorted({r["program"] for _, _, ra, rb in pairs for r in (ra, rb)}),
                region_code=region,
                amount_at_stake=min(min(ra["amount"], rb["amount"]) for _, _, ra, rb in pairs),
                evidence={"name": row["name"], "birth_date": row["birth"], "sex": row["sex"], "match": "exact name, birth date and sex"},
            )
        )
    return sort_findings(findings)


class DupPersonInTwoHouseholdsRow(TypedDict):
    name: str
    birth: str
    sex: str
    registrations: list[dict[str, Any]]


@question(
    "dup_person_in_two_households",
    cypher=PERSON_IN_TWO_HOUSEHOLDS_CYPHER,
    row=DupPersonInTwoHouseholdsRow,
    from_records=_two_household_findings,
)
def person_in_two_households(store: Any) -> list[Finding]:
    """Rule 2 (see the module docstring)."""


# -- 3. one need paid twice ------------------------------------------------------------------

NEED_PAID_TWICE_CYPHER = """
MATCH (h:Household)-[:HAS_NEED]->(n:Need)
OPTIONAL MATCH (r:AidRecord)-[:FOR_NEED]->(n) WHERE r.amount > 0
WITH h, n, collect({id: r.record_id, via: 'record', payer: r.source_department, payer_type: 'department', amount: r.amount,
                    start: r.period_start, until: r.period_end}) AS by_records
OPTIONAL MATCH (res:Resource)-[:PROVIDES]->(s:Service)-[:FOR_NEED]->(n) WHERE s.amount > 0
WITH h, n, by_records, collect({id: s.service_id, via: 'service', payer: res.resource_id, payer_type: res.provider_type,
                                amount: s.amount, start: s.start, until: s.`end`}) AS by_services
RETURN n.need_id AS need, n.person_ref AS person, h.household_id AS household, h.region_code AS region, by_records, by_services
"""


def _need_findings(rows: list[dict[str, Any]], **_: Any) -> list[Finding]:
    findings = []
    for row in rows:
        pays = sorted(entries(row["by_records"]) + entries(row["by_services"]), key=lambda p: p["id"])
        pairs = [
            (a, b)
            for i, a in enumerate(pays)
            for b in pays[i + 1 :]
            if (
                {a["payer_type"], b["payer_type"]} in ({"department", "charity"}, {"charity"})
                or (a["payer_type"] == b["payer_type"] == "department" and a["payer"] != b["payer"])
            )
            and overlaps(a["start"], a["end"], b["start"], b["end"])
        ]
        if not pairs:
            continue
        involved = {p["id"]: p for pair in pairs for p in pair}
        findings.append(
            Finding(
                id=finding_id("need_paid_twice", [row["need"]]),
                kind="need_paid_twice",
                rule="one need paid by two payers (two departments, a department and a charity, or two charities) in the same period",
                persons=[row["person"]] if row["person"] else [],
                households=[row["household"]],
                records=sorted(k for k, p in involved.items() if p["via"] == "record"),
                services=sorted(k for k, p in involved.items() if p["via"] == "service"),
                needs=[row["need"]],
                region_code=row["region"],
                amount_at_stake=min(min(a["amount"], b["amount"]) for a, b in pairs),
                evidence={"payments": [involved[k] for k in sorted(involved)]},
            )
        )
    return sort_findings(findings)


class DupNeedPaidTwiceRow(TypedDict):
    need: str
    person: str | None
    household: str
    region: str
    by_records: list[dict[str, Any]]
    by_services: list[dict[str, Any]]


@question("dup_need_paid_twice", cypher=NEED_PAID_TWICE_CYPHER, row=DupNeedPaidTwiceRow, from_records=_need_findings)
def need_paid_twice(store: Any) -> list[Finding]:
    """Rule 3 (see the module docstring)."""


# -- 4. one payment delivered twice ----------------------------------------------------------------

# A beneficiary without an ID number is a household: its own id and region are the finding's.
DELIVERED_TWICE_CYPHER = """
MATCH (r:AidRecord)
WITH r.beneficiary_type AS type, r.beneficiary_ref AS ref, r.program_code AS program, r.amount AS amount,
     r.period_start AS start, coalesce(r.period_end, '') AS until, collect(r) AS records
WHERE size(records) > 1
UNWIND records AS r
OPTIONAL MATCH (r)<-[:RECEIVES]-(b)
OPTIONAL MATCH (b)-[:MEMBER_OF]->(m:Household)
RETURN type, ref, program, amount, start, until,
       collect({id: r.record_id, department: r.source_department,
                household: CASE WHEN b.id_number IS NULL THEN b.household_id ELSE m.household_id END,
                region: CASE WHEN b.id_number IS NULL THEN b.region_code ELSE m.region_code END,
                person: b.id_number}) AS records
"""


def _delivered_findings(rows: list[dict[str, Any]], **_: Any) -> list[Finding]:
    findings = []
    for row in rows:
        recs = sorted(row["records"], key=lambda r: r["id"])
        households = sorted({r["household"] for r in recs if r["household"]})
        findings.append(
            Finding(
                id=finding_id("delivered_twice", [r["id"] for r in recs]),
                kind="delivered_twice",
                rule="the same beneficiary, programme, amount and period delivered under more than one record",
                persons=sorted({r["person"] for r in recs if r["person"]}),
                households=households,
                records=[r["id"] for r in recs],
                programs=[row["program"]],
                region_code=next((r["region"] for r in recs if r["household"] == households[0]), None) if households else None,
                amount_at_stake=row["amount"] * (len(recs) - 1),
                evidence={
                    "beneficiary_type": row["type"],
                    "beneficiary_ref": row["ref"],
                    "amount": row["amount"],
                    "period_start": row["start"],
                    "period_end": row["until"] or None,
                    "departments": sorted({r["department"] for r in recs}),
                },
            )
        )
    return sort_findings(findings)


class DupDeliveredTwiceRow(TypedDict):
    type: str
    ref: str
    program: str
    amount: float
    start: str
    until: str
    records: list[dict[str, Any]]


@question("dup_delivered_twice", cypher=DELIVERED_TWICE_CYPHER, row=DupDeliveredTwiceRow, from_records=_delivered_findings)
def delivered_twice(store: Any) -> list[Finding]:
    """Rule 4 (see the module docstring)."""


# -- 6. one person enrolled twice in one programme ---------------------------------------------------

# A record reaches a person directly (their ID, or resolved to them from a mistyped one) or through
# their household. A finding needs two records of one person and programme that differ in department
# or beneficiary, so the first pass keeps the people with two departments or two beneficiaries for
# a programme (grouped by beneficiary first: a household paid monthly has a record a month), and
# only their records are read. Gathering every ledger's records first took seven times as long.
ENROLLED_TWICE_CYPHER = """
MATCH (g:Program)
WHERE g.kind IN $kinds AND NOT g.program_code IN $repeatable
MATCH (g)<-[:PAID_BY]-(r:AidRecord)<-[:RECEIVES]-(b)
WITH g, b, count(DISTINCT r.source_department) AS departments
MATCH (b)<-[:MEMBER_OF*0..1]-(p:Person)
WITH p, g, count(DISTINCT b) AS beneficiaries, max(departments) AS departments
WHERE beneficiaries > 1 OR departments > 1
WITH p, g
MATCH (g)<-[:PAID_BY]-(r:AidRecord)<-[:RECEIVES]-(b)<-[:MEMBER_OF*0..1]-(p)
WITH p, g, collect({id: r.record_id, department: r.source_department, ref: r.beneficiary_ref, type: r.beneficiary_type,
                    beneficiary: CASE WHEN b.id_number IS NULL THEN 'household:' + b.household_id ELSE 'person:' + b.id_number END,
                    amount: r.amount, start: r.period_start, until: r.period_end, status: r.status}) AS records
WHERE size(records) > 1
OPTIONAL MATCH (p)-[:MEMBER_OF]->(h:Household)
RETURN p.id_number AS person, g.program_code AS program, h.household_id AS household, h.region_code AS region, records
"""


def _same_payment(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two records ``delivered_twice`` reports: one beneficiary, amount and period."""
    return (a["type"], a["ref"], a["amount"], a["start"], a["end"] or "") == (b["type"], b["ref"], b["amount"], b["start"], b["end"] or "")


def _enrolled_twice_findings(rows: list[dict[str, Any]], **_: Any) -> list[Finding]:
    by_pair: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        records = sorted(entries(row["records"]), key=lambda r: r["id"])
        for i, a in enumerate(records):
            for b in records[i + 1 :]:
                if a["status"] == "suspended" or b["status"] == "suspended":
                    continue
                if (a["department"], a["beneficiary"]) == (b["department"], b["beneficiary"]) or _same_payment(a, b):
                    continue
                if not overlaps(a["start"], a["end"], b["start"], b["end"]):
                    continue
                entry = by_pair.setdefault(
                    (a["id"], b["id"]), {"a": a, "b": b, "program": row["program"], "persons": set(), "households": {}}
                )
                entry["persons"].add(row["person"])
                if row["household"]:
                    entry["households"][row["household"]] = row["region"]
                for x in (a, b):
                    if x["beneficiary"].startswith("household:"):
                        entry["households"].setdefault(x["beneficiary"][10:], None)
    findings = []
    for (a_id, b_id), e in sorted(by_pair.items()):
        a, b, households = e["a"], e["b"], sorted(e["households"])
        two = [
            w
            for w, differ in (("departments", a["department"] != b["department"]), ("beneficiaries", a["beneficiary"] != b["beneficiary"]))
            if differ
        ]
        findings.append(
            Finding(
                id=finding_id("enrolled_twice", [a_id, b_id]),
                kind="enrolled_twice",
                rule=f"one person enrolled twice in {e['program']}, which may be held once, in overlapping periods (two {' and two '.join(two)})",
                persons=sorted(e["persons"]),
                households=households,
                records=[a_id, b_id],
                programs=[e["program"]],
                region_code=next((r for r in (e["households"].get(h) for h in households) if r), None),
                amount_at_stake=min(a["amount"], b["amount"]),
                evidence={"records": [a, b], "cross_department": a["department"] != b["department"]},
            )
        )
    return sort_findings(findings)


def _once_only_params(params: dict[str, Any]) -> dict[str, Any]:
    """The Cypher's parameters, the defaults (None) filled in: the once-only kinds, no repeatable programme."""
    return {**params, "kinds": list(params.get("kinds") or ONCE_ONLY_KINDS), "repeatable": list(params.get("repeatable") or ())}


#: Programme kinds held once only unless the policy file lists a programme as repeatable.
ONCE_ONLY_KINDS = ("basic_living", "special")


class DupEnrolledTwiceRow(TypedDict):
    person: str
    program: str
    household: str
    region: str
    records: list[dict[str, Any]]


@question(
    "dup_enrolled_twice",
    cypher=ENROLLED_TWICE_CYPHER,
    row=DupEnrolledTwiceRow,
    from_records=_enrolled_twice_findings,
    cypher_params=_once_only_params,
)
def enrolled_twice(store: Any, kinds: list[str] | None = None, repeatable: list[str] | None = None) -> list[Finding]:
    """Rule 6 (see the module docstring)."""


# -- 5. households joined by shared identifiers ------------------------------------------------


# As in rule 2: the register is grouped by identifier first, households are looked up only for the
# identifiers two people share.
# One branch per identifier (a list indexed in Cypher counts from 0 on Neo4j and from 1 on
# LadybugDB). Each branch names its variables apart: LadybugDB 0.22 answered the second branch of
# a UNION ALL wrongly when both used the same names (400 households for one bank account shared by
# 3), and matched a household's members' records from every household when they were gathered in a
# second OPTIONAL MATCH after the household's own: one pattern gathers both.
def _shared_by_two(identifier: str) -> str:
    v = identifier[0]  # p_p, h_p for phones; p_b, h_b for bank accounts
    return f"""
MATCH (p_{v}:Person) WHERE p_{v}.{identifier} IS NOT NULL
WITH p_{v}.{identifier} AS value, collect(p_{v}) AS people_{v}
WHERE size(people_{v}) > 1
UNWIND people_{v} AS q_{v}
MATCH (q_{v})-[:MEMBER_OF]->(h_{v}:Household)
"""


_SHARED_IDENTIFIERS_BRANCH = """
WITH value, collect(DISTINCT h_{v}) AS households_{v}, collect(DISTINCT q_{v}.id_number) AS persons
WHERE size(households_{v}) > 1
UNWIND households_{v} AS g_{v}
OPTIONAL MATCH (g_{v})<-[:MEMBER_OF*0..1]-(b_{v})-[:RECEIVES]->(r_{v}:AidRecord)
WITH value, persons, g_{v}, collect(r_{v}.amount) AS aid_{v}
RETURN '{identifier}' AS kind, value, persons, collect({{household: g_{v}.household_id, region: g_{v}.region_code, aid: aid_{v}}}) AS households
"""

SHARED_IDENTIFIERS_CYPHER = "UNION ALL".join(
    _shared_by_two(i) + _SHARED_IDENTIFIERS_BRANCH.format(identifier=i, v=i[0]) for i in ("phone", "bank_account")
)


def _ring_findings(rows: list[dict[str, Any]], generic_threshold: int = DEFAULT_GENERIC_THRESHOLD, **_: Any) -> list[Finding]:
    graph = nx.Graph()
    info: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (r["kind"], r["value"])):
        row = {**row, "persons": sorted(row["persons"])}
        if len(row["households"]) > generic_threshold:
            continue  # generic: shared by too many households to say anything about them
        aided = [h for h in row["households"] if h["aid"]]
        for h in aided:
            info[h["household"]] = h
        ident = f"{row['kind']}:{row['value']}"
        for h in aided:
            graph.add_edge(("household", h["household"]), ("identifier", ident), persons=row["persons"])
    findings = []
    for component in nx.connected_components(graph):
        households = sorted(k for t, k in component if t == "household")
        if len(households) < 2:
            continue
        identifiers = sorted(k for t, k in component if t == "identifier")
        # Weight: an identifier shared by fewer households says more.
        weight = sum(1 / (graph.degree(("identifier", i)) - 1) for i in identifiers if graph.degree(("identifier", i)) > 1)
        persons = sorted({p for i in identifiers for _, _, d in graph.edges(("identifier", i), data=True) for p in d["persons"]})
        findings.append(
            Finding(
                id=finding_id("shared_identifier_ring", households),
                kind="shared_identifier_ring",
                rule=f"households that each receive aid share identifiers (generic ones, shared by more than {generic_threshold} households, discounted)",
                persons=persons,
                households=households,
                records=[],
                region_code=info[households[0]]["region"],
                amount_at_stake=round(sum(sum(info[h]["aid"]) for h in households), 2),
                evidence={"identifiers": identifiers, "weight": round(weight, 3)},
            )
        )
    return sort_findings(findings)


class DupSharedIdentifiersRow(TypedDict):
    kind: str
    value: str
    persons: list[str]
    households: list[dict[str, Any]]


@question("dup_shared_identifiers", cypher=SHARED_IDENTIFIERS_CYPHER, row=DupSharedIdentifiersRow, from_records=_ring_findings)
def shared_identifier_rings(store: Any, generic_threshold: int = DEFAULT_GENERIC_THRESHOLD) -> list[Finding]:
    """Rule 5 (see the module docstring)."""


def generic_identifiers(store: Any, threshold: int = DEFAULT_GENERIC_THRESHOLD) -> list[dict[str, Any]]:
    """Identifiers shared by more than ``threshold`` households: listed so an auditor sees them."""
    rows = identifier_counts(store)
    return [r for r in rows if r["households"] > threshold]


IDENTIFIER_COUNTS_CYPHER = "UNION ALL".join(
    _shared_by_two(i)
    + f"""
WITH value, count(DISTINCT h_{i[0]}) AS households
WHERE households > 1
RETURN '{i}' AS kind, value, households
"""
    for i in ("phone", "bank_account")
)


def _by_households(rows: list[dict[str, Any]], **_: Any) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (-r["households"], r["kind"], r["value"]))


class DupIdentifierCountsRow(TypedDict):
    kind: str
    value: str
    households: int


@question("dup_identifier_counts", cypher=IDENTIFIER_COUNTS_CYPHER, row=DupIdentifierCountsRow, from_records=_by_households)
def identifier_counts(store: Any) -> list[dict[str, Any]]:
    """Identifiers shared by two households or more, most shared first."""


def duplicate_aid(store: Any, *, generic_threshold: int = DEFAULT_GENERIC_THRESHOLD, repeatable: list[str] | None = None) -> list[Finding]:
    """Every duplicate-aid finding on ``store``, in a stable order; ``repeatable``: programmes the
    policy lets one person hold more than once (``enrolled_twice`` skips them).

    Examples
    --------
    >>> from graph.stores.ladybug import LadybugStore
    >>> duplicate_aid(LadybugStore.in_memory())
    []
    """
    findings: list[Finding] = []
    for ask in (exclusive_overlap, person_in_two_households, need_paid_twice, delivered_twice):
        findings += ask(store)
    findings += enrolled_twice(store, kinds=list(ONCE_ONLY_KINDS), repeatable=sorted(repeatable or ()))
    findings += shared_identifier_rings(store, generic_threshold=generic_threshold)
    return sort_findings(findings)
