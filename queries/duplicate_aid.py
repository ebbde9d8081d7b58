"""Duplicate aid (重复救助): the same person or need paid twice, across departments or households.

Six rules, each a registered question with its Cypher and its networkx version side by side.
Both gather the same rows; one function per rule turns rows into findings, so the engines give
equal findings. :func:`duplicate_aid` runs them all.

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

from collections import defaultdict
from typing import Any

import networkx as nx

from graph.model import NodeKind, RelKind, split_node_id
from queries._nx import household_of, inc, nodes_of, out
from queries.findings import Finding, finding_id, overlaps, sort_findings
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
# first pass keeps one row per beneficiary and programme, and records are read only for the few
# people it leaves.
EXCLUSIVE_OVERLAP_CYPHER = """
MATCH (g:Program)<-[:PAID_BY]-(:AidRecord)<-[:RECEIVES]-(b)
WHERE g.exclusive_group IS NOT NULL
WITH DISTINCT b, g
CALL (b) {
  MATCH (b:Person) RETURN b AS p
  UNION
  MATCH (p:Person)-[:MEMBER_OF]->(b:Household) RETURN p
}
WITH p, g.exclusive_group AS grp, collect(DISTINCT g) AS programs
WHERE size(programs) > 1
WITH DISTINCT p
CALL (p) {
  MATCH (g:Program)<-[:PAID_BY]-(r:AidRecord)<-[:RECEIVES]-(p) WHERE g.exclusive_group IS NOT NULL RETURN r, g
  UNION
  MATCH (g:Program)<-[:PAID_BY]-(r:AidRecord)<-[:RECEIVES]-(:Household)<-[:MEMBER_OF]-(p) WHERE g.exclusive_group IS NOT NULL RETURN r, g
}
WITH p, collect({id: r.record_id, program: r.program_code, group: g.exclusive_group, department: r.source_department,
                 amount: r.amount, start: r.period_start, end: r.period_end}) AS records
OPTIONAL MATCH (p)-[:MEMBER_OF]->(h:Household)
RETURN p.id_number AS person, h.household_id AS household, h.region_code AS region, records
"""


def _exclusive_findings(rows: list[dict[str, Any]], **_: Any) -> list[Finding]:
    by_pair: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        records = sorted(row["records"], key=lambda r: r["id"])
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


@question("dup_exclusive_overlap", cypher=EXCLUSIVE_OVERLAP_CYPHER, from_records=_exclusive_findings)
def exclusive_overlap(G: Any) -> list[Finding]:
    """Rule 1 on networkx (see the module docstring)."""
    groups = {g: props["exclusive_group"] for g, props in nodes_of(G, NodeKind.PROGRAM) if props.get("exclusive_group") is not None}
    held: dict[str, set[str]] = defaultdict(set)  # beneficiary -> the exclusive programmes it is paid
    for g in groups:
        for rec in inc(G, g, RelKind.PAID_BY):
            for b in inc(G, rec, RelKind.RECEIVES):
                held[b].add(g)
    people = {p for b in held for p in ([b] if b.startswith("Person:") else inc(G, b, RelKind.MEMBER_OF))}
    rows = []
    for p in people:
        h = household_of(G, p)
        programs = held.get(p, set()) | held.get(h, set())
        if len({groups[g] for g in programs}) == len(programs):
            continue  # no group with two programmes: no overlap possible
        records = []
        for b in (p, h) if h else (p,):
            for rec in out(G, b, RelKind.RECEIVES):
                for g in out(G, rec, RelKind.PAID_BY):
                    if g in groups:
                        records.append(_record_row(G._node[rec], G._node[g]))
        rows.append(
            {
                "person": split_node_id(p)[1],
                "household": G._node[h]["household_id"] if h else None,
                "region": G._node[h].get("region_code") if h else None,
                "records": records,
            }
        )
    return _exclusive_findings(rows)


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
WITH name, birth, sex,
     collect({person: p.id_number, household: h.household_id, region: h.region_code,
              records: [(h)-[:RECEIVES]->(r:AidRecord) | {id: r.record_id, program: r.program_code, amount: r.amount,
                                                          start: r.period_start, end: r.period_end}]}) AS registrations
WHERE size(registrations) > 1
RETURN name, birth, sex, registrations
"""


def _two_household_findings(rows: list[dict[str, Any]], **_: Any) -> list[Finding]:
    findings = []
    for row in rows:
        regs = [r for r in row["registrations"] if r["records"]]
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


@question("dup_person_in_two_households", cypher=PERSON_IN_TWO_HOUSEHOLDS_CYPHER, from_records=_two_household_findings)
def person_in_two_households(G: Any) -> list[Finding]:
    """Rule 2 on networkx."""
    people: dict[tuple[Any, Any, Any], list[str]] = defaultdict(list)
    for p, props in nodes_of(G, NodeKind.PERSON):
        name, birth = props.get("name"), props.get("birth_date")
        if name is not None and birth is not None:
            people[(name, birth, props.get("sex"))].append(p)
    rows = []
    for (name, birth, sex), group in people.items():
        if len(group) < 2:
            continue
        registrations = [
            {
                "person": G._node[p]["id_number"],
                "household": G._node[h]["household_id"],
                "region": G._node[h].get("region_code"),
                "records": [
                    {
                        "id": r["record_id"],
                        "program": r["program_code"],
                        "amount": r["amount"],
                        "start": r["period_start"],
                        "end": r.get("period_end"),
                    }
                    for r in (G._node[x] for x in out(G, h, RelKind.RECEIVES))
                ],
            }
            for p in group
            for h in out(G, p, RelKind.MEMBER_OF)
        ]
        if len(registrations) > 1:
            rows.append({"name": name, "birth": birth, "sex": sex, "registrations": registrations})
    return _two_household_findings(rows)


# -- 3. one need paid twice ------------------------------------------------------------------

NEED_PAID_TWICE_CYPHER = """
MATCH (h:Household)-[:HAS_NEED]->(n:Need)
CALL (n) {
  MATCH (r:AidRecord)-[:FOR_NEED]->(n) WHERE r.amount > 0
  RETURN {id: r.record_id, via: 'record', payer: r.source_department, payer_type: 'department', amount: r.amount,
          start: r.period_start, end: r.period_end} AS payment
  UNION
  MATCH (res:Resource)-[:PROVIDES]->(s:Service)-[:FOR_NEED]->(n) WHERE s.amount > 0
  RETURN {id: s.service_id, via: 'service', payer: res.resource_id, payer_type: res.provider_type, amount: s.amount,
          start: s.start, end: s.end} AS payment
}
WITH h, n, collect(payment) AS payments
WHERE size(payments) > 1
RETURN n.need_id AS need, n.person_ref AS person, h.household_id AS household, h.region_code AS region, payments
"""


def _need_findings(rows: list[dict[str, Any]], **_: Any) -> list[Finding]:
    findings = []
    for row in rows:
        pays = sorted(row["payments"], key=lambda p: p["id"])
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


@question("dup_need_paid_twice", cypher=NEED_PAID_TWICE_CYPHER, from_records=_need_findings)
def need_paid_twice(G: Any) -> list[Finding]:
    """Rule 3 on networkx."""
    rows = []
    for n, need in nodes_of(G, NodeKind.NEED):
        payments = []
        for src in inc(G, n, RelKind.FOR_NEED):
            p = G._node[src]
            if src.startswith("AidRecord:") and p["amount"] > 0:
                payments.append(
                    {
                        "id": p["record_id"],
                        "via": "record",
                        "payer": p["source_department"],
                        "payer_type": "department",
                        "amount": p["amount"],
                        "start": p["period_start"],
                        "end": p.get("period_end"),
                    }
                )
            elif src.startswith("Service:") and p.get("amount", 0) > 0:
                for res in inc(G, src, RelKind.PROVIDES):
                    payments.append(
                        {
                            "id": p["service_id"],
                            "via": "service",
                            "payer": G._node[res]["resource_id"],
                            "payer_type": G._node[res]["provider_type"],
                            "amount": p["amount"],
                            "start": p["start"],
                            "end": p.get("end"),
                        }
                    )
        if len(payments) > 1:
            for h in inc(G, n, RelKind.HAS_NEED):
                rows.append(
                    {
                        "need": need["need_id"],
                        "person": need.get("person_ref"),
                        "household": G._node[h]["household_id"],
                        "region": G._node[h].get("region_code"),
                        "payments": payments,
                    }
                )
    return _need_findings(rows)


# -- 4. one payment delivered twice ----------------------------------------------------------------

DELIVERED_TWICE_CYPHER = """
MATCH (r:AidRecord)
WITH r.beneficiary_type AS type, r.beneficiary_ref AS ref, r.program_code AS program, r.amount AS amount,
     r.period_start AS start, coalesce(r.period_end, '') AS end, collect(r) AS records
WHERE size(records) > 1
UNWIND records AS r
OPTIONAL MATCH (r)<-[:RECEIVES]-(b)
OPTIONAL MATCH (b)-[:MEMBER_OF]->(m:Household)
WITH type, ref, program, amount, start, end, r, b, CASE WHEN b:Household THEN b ELSE m END AS h
RETURN type, ref, program, amount, start, end,
       collect({id: r.record_id, department: r.source_department, household: h.household_id, region: h.region_code,
                person: CASE WHEN b:Person THEN b.id_number END}) AS records
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
                    "period_end": row["end"] or None,
                    "departments": sorted({r["department"] for r in recs}),
                },
            )
        )
    return sort_findings(findings)


@question("dup_delivered_twice", cypher=DELIVERED_TWICE_CYPHER, from_records=_delivered_findings)
def delivered_twice(G: Any) -> list[Finding]:
    """Rule 4 on networkx."""
    groups: dict[tuple[Any, ...], list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for rec, r in nodes_of(G, NodeKind.AID_RECORD):
        groups[
            (r["beneficiary_type"], r["beneficiary_ref"], r["program_code"], r["amount"], r["period_start"], r.get("period_end") or "")
        ].append((rec, r))
    rows = []
    for (type_, ref, program, amount, start, end), members in groups.items():
        if len(members) < 2:
            continue
        records = []
        for rec, r in members:
            beneficiaries = inc(G, rec, RelKind.RECEIVES)
            b = beneficiaries[0] if beneficiaries else None
            h = household_of(G, b) if b else None
            records.append(
                {
                    "id": r["record_id"],
                    "department": r["source_department"],
                    "household": G._node[h]["household_id"] if h else None,
                    "region": G._node[h].get("region_code") if h else None,
                    "person": split_node_id(b)[1] if b and b.startswith("Person:") else None,
                }
            )
        rows.append({"type": type_, "ref": ref, "program": program, "amount": amount, "start": start, "end": end, "records": records})
    return _delivered_findings(rows)


# -- 6. one person enrolled twice in one programme ---------------------------------------------------

# A record reaches a person directly (their ID, or resolved to them from a mistyped one) or through
# their household. Only people with two or more records of one once-only programme are returned.
ENROLLED_TWICE_CYPHER = """
MATCH (g:Program)
WHERE g.kind IN $kinds AND NOT g.program_code IN $repeatable
MATCH (g)<-[:PAID_BY]-(r:AidRecord)<-[:RECEIVES]-(b)
CALL (b) {
  MATCH (b:Person) RETURN b AS p
  UNION
  MATCH (p:Person)-[:MEMBER_OF]->(b:Household) RETURN p
}
WITH p, g, collect({id: r.record_id, department: r.source_department, ref: r.beneficiary_ref, type: r.beneficiary_type,
                    beneficiary: CASE WHEN b:Household THEN 'household:' + b.household_id ELSE 'person:' + b.id_number END,
                    amount: r.amount, start: r.period_start, end: r.period_end, status: r.status}) AS records
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
        records = sorted(row["records"], key=lambda r: r["id"])
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
    """The Cypher's parameters, the defaults (None) filled in as the networkx version fills them."""
    return {**params, "kinds": list(params.get("kinds") or ONCE_ONLY_KINDS), "repeatable": list(params.get("repeatable") or ())}


#: Programme kinds held once only unless the policy file lists a programme as repeatable.
ONCE_ONLY_KINDS = ("basic_living", "special")


@question("dup_enrolled_twice", cypher=ENROLLED_TWICE_CYPHER, from_records=_enrolled_twice_findings, cypher_params=_once_only_params)
def enrolled_twice(G: Any, kinds: list[str] | None = None, repeatable: list[str] | None = None) -> list[Finding]:
    """Rule 6 on networkx."""
    kinds_, skip = set(kinds or ONCE_ONLY_KINDS), set(repeatable or ())
    held: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for g, prog in nodes_of(G, NodeKind.PROGRAM):
        if prog.get("kind") not in kinds_ or prog["program_code"] in skip:
            continue
        for rec in inc(G, g, RelKind.PAID_BY):
            r = G._node[rec]
            for b in inc(G, rec, RelKind.RECEIVES):
                is_household = b.startswith("Household:")
                row = {
                    "id": r["record_id"],
                    "department": r["source_department"],
                    "ref": r["beneficiary_ref"],
                    "type": r["beneficiary_type"],
                    "beneficiary": ("household:" if is_household else "person:") + split_node_id(b)[1],
                    "amount": r["amount"],
                    "start": r["period_start"],
                    "end": r.get("period_end"),
                    "status": r.get("status"),
                }
                for p in inc(G, b, RelKind.MEMBER_OF) if is_household else [b]:
                    held[(p, prog["program_code"])].append(row)
    rows = []
    for (p, program), records in held.items():
        if len(records) < 2:
            continue
        h = household_of(G, p)
        rows.append(
            {
                "person": split_node_id(p)[1],
                "program": program,
                "household": G._node[h]["household_id"] if h else None,
                "region": G._node[h].get("region_code") if h else None,
                "records": records,
            }
        )
    return _enrolled_twice_findings(rows)


# -- 5. households joined by shared identifiers ------------------------------------------------

# As in rule 2: the register is grouped by identifier first, households are looked up only for the
# identifiers two people share.
_SHARED_BY_TWO = """
MATCH (p:Person)
UNWIND [['phone', p.phone], ['bank_account', p.bank_account]] AS identifier
WITH identifier[0] AS kind, identifier[1] AS value, p
WHERE value IS NOT NULL
WITH kind, value, collect(p) AS people
WHERE size(people) > 1
UNWIND people AS p
MATCH (p)-[:MEMBER_OF]->(h:Household)
"""

SHARED_IDENTIFIERS_CYPHER = (
    _SHARED_BY_TWO
    + """
WITH kind, value, collect(DISTINCT h) AS households, collect(DISTINCT p.id_number) AS persons
WHERE size(households) > 1
RETURN kind, value, persons,
       [h IN households | {household: h.household_id, region: h.region_code,
         aid: [(h)-[:RECEIVES]->(r:AidRecord) | r.amount] + [(h)<-[:MEMBER_OF]-(:Person)-[:RECEIVES]->(r:AidRecord) | r.amount]}]
       AS households
"""
)


def _ring_findings(rows: list[dict[str, Any]], generic_threshold: int = DEFAULT_GENERIC_THRESHOLD, **_: Any) -> list[Finding]:
    graph = nx.Graph()
    info: dict[str, dict[str, Any]] = {}
    for row in rows:
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


def _shared_by_two(G: Any) -> dict[tuple[str, str], list[str]]:
    """Person nodes by ``(kind, value)`` of the phones and bank accounts two people or more share."""
    people: dict[tuple[str, str], list[str]] = defaultdict(list)
    for p, props in nodes_of(G, NodeKind.PERSON):
        for kind in ("phone", "bank_account"):
            value = props.get(kind)
            if value is not None:
                people[(kind, value)].append(p)
    return {identifier: group for identifier, group in people.items() if len(group) > 1}


@question("dup_shared_identifiers", cypher=SHARED_IDENTIFIERS_CYPHER, from_records=_ring_findings)
def shared_identifier_rings(G: Any, generic_threshold: int = DEFAULT_GENERIC_THRESHOLD) -> list[Finding]:
    """Rule 5 on networkx."""
    shared: dict[tuple[str, str], tuple[set[str], set[str]]] = {}
    for (kind, value), people in _shared_by_two(G).items():
        for p in people:
            for h in out(G, p, RelKind.MEMBER_OF):
                households, persons = shared.setdefault((kind, value), (set(), set()))
                households.add(h)
                persons.add(G._node[p]["id_number"])
    rows = []
    for (kind, value), (households, persons) in shared.items():
        if len(households) < 2:
            continue
        entries = []
        for h in households:
            aid = [G._node[r]["amount"] for r in out(G, h, RelKind.RECEIVES)]
            aid += [G._node[r]["amount"] for m in inc(G, h, RelKind.MEMBER_OF) for r in out(G, m, RelKind.RECEIVES)]
            entries.append({"household": G._node[h]["household_id"], "region": G._node[h].get("region_code"), "aid": aid})
        rows.append({"kind": kind, "value": value, "persons": sorted(persons), "households": entries})
    return _ring_findings(rows, generic_threshold)


def generic_identifiers(store: Any, threshold: int = DEFAULT_GENERIC_THRESHOLD) -> list[dict[str, Any]]:
    """Identifiers shared by more than ``threshold`` households: listed so an auditor sees them."""
    rows = store.run("dup_identifier_counts")
    return [r for r in rows if r["households"] > threshold]


IDENTIFIER_COUNTS_CYPHER = (
    _SHARED_BY_TWO
    + """
WITH kind, value, count(DISTINCT h) AS households
WHERE households > 1
RETURN kind, value, households ORDER BY households DESC, kind, value
"""
)


@question("dup_identifier_counts", cypher=IDENTIFIER_COUNTS_CYPHER, from_records=lambda rows, **_: rows)
def identifier_counts(G: Any) -> list[dict[str, Any]]:
    """Identifiers shared by two households or more, most shared first."""
    households: dict[tuple[str, str], set[str]] = defaultdict(set)
    for identifier, people in _shared_by_two(G).items():
        for p in people:
            households[identifier].update(out(G, p, RelKind.MEMBER_OF))
    rows = [{"kind": k, "value": v, "households": len(hs)} for (k, v), hs in households.items() if len(hs) > 1]
    return sorted(rows, key=lambda r: (-r["households"], r["kind"], r["value"]))


def duplicate_aid(store: Any, *, generic_threshold: int = DEFAULT_GENERIC_THRESHOLD, repeatable: list[str] | None = None) -> list[Finding]:
    """Every duplicate-aid finding on ``store``, in a stable order; ``repeatable``: programmes the
    policy lets one person hold more than once (``enrolled_twice`` skips them).

    Examples
    --------
    >>> from graph.stores.embedded import EmbeddedStore
    >>> duplicate_aid(EmbeddedStore.in_memory())
    []
    """
    findings: list[Finding] = []
    for name in ("dup_exclusive_overlap", "dup_person_in_two_households", "dup_need_paid_twice", "dup_delivered_twice"):
        findings += store.run(name)
    findings += store.run("dup_enrolled_twice", kinds=list(ONCE_ONLY_KINDS), repeatable=sorted(repeatable or ()))
    findings += store.run("dup_shared_identifiers", generic_threshold=generic_threshold)
    return sort_findings(findings)
