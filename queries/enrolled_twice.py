"""Rule 6 of duplicate aid (``queries.duplicate_aid``), "one person, one 低保": one person enrolled
in one programme that may be held once only (basic-living and special programmes, unless the policy
file says a programme is repeatable) under two enrolments in overlapping periods: two sending
departments, or two beneficiaries (their household and themselves, two households, or a record
resolved to them from a mistyped ID), whatever the amounts. Two records of one department to one
beneficiary are a ledger, not two enrolments (``delivered_twice`` finds a payment sent twice).
"""

from __future__ import annotations

from typing import Any, TypedDict

from queries.findings import Finding, entries, finding_id, overlaps, sort_findings
from queries.registry import question

__all__ = ["ENROLLED_TWICE_CYPHER", "ONCE_ONLY_KINDS", "enrolled_twice"]


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
    """Rule 6 (see the module docstring).

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> enrolled_twice(two_cases(), kinds=["basic_living", "special"])  # one 低保 per family
    []
    """
