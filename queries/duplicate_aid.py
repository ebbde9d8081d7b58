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

from queries.enrolled_twice import ONCE_ONLY_KINDS, enrolled_twice
from queries.findings import Finding, entries, finding_id, overlaps, sort_findings
from queries.registry import question
from queries.shared_identifiers import DEFAULT_GENERIC_THRESHOLD, shared_identifier_rings

__all__ = [
    "DELIVERED_TWICE_CYPHER",
    "EXCLUSIVE_OVERLAP_CYPHER",
    "NEED_PAID_TWICE_CYPHER",
    "PERSON_IN_TWO_HOUSEHOLDS_CYPHER",
    "duplicate_aid",
]

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
    """Rule 1 (see the module docstring).

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> exclusive_overlap(two_cases())  # each family holds one programme of the basic-living group
    []
    """


# -- 2. one person registered in two households --------------------------------------------------

# Group the register first and look at households only for the few names shared: building every
# person's household records before grouping was nine tenths of the time. A person is a member of
# one household at most (MEMBER_OF is unique at the person's end). The grouping collects each
# person's key, and only the few persons of a group of two or more are found again by it: collecting
# the nodes themselves held every property of every person in the grouping (docs/performance.md).
PERSON_IN_TWO_HOUSEHOLDS_CYPHER = """
MATCH (p:Person)
WHERE p.name IS NOT NULL AND p.birth_date IS NOT NULL
WITH p.name AS name, p.birth_date AS birth, p.sex AS sex, collect(p.id_number) AS ids
WHERE size(ids) > 1
UNWIND ids AS id
MATCH (p:Person {id_number: id})-[:MEMBER_OF]->(h:Household)
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
    """Rule 2 (see the module docstring).

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> person_in_two_households(two_cases())  # nobody is registered twice
    []
    """


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
    """Rule 3 (see the module docstring).

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> need_paid_twice(two_cases())  # N-1 and N-3 are each paid by one record; N-2 is served, not paid
    []
    """


# -- 4. one payment delivered twice ----------------------------------------------------------------

# A beneficiary without an ID number is a household: its own id and region are the finding's.
# The grouping collects record ids, not the records (see ``PERSON_IN_TWO_HOUSEHOLDS_CYPHER``).
DELIVERED_TWICE_CYPHER = """
MATCH (r:AidRecord)
WITH r.beneficiary_type AS type, r.beneficiary_ref AS ref, r.program_code AS program, r.amount AS amount,
     r.period_start AS start, coalesce(r.period_end, '') AS until, collect(r.record_id) AS ids
WHERE size(ids) > 1
UNWIND ids AS id
MATCH (r:AidRecord {record_id: id})
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
    """Rule 4 (see the module docstring).

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> delivered_twice(two_cases())
    []
    """


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
