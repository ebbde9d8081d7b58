"""Needs not closed that nobody serves on a day (rule 4 of the missed-aid audit, ``policy.missed_aid``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict

from queries.findings import Finding, finding_id, need_is_unserved, sort_findings
from queries.registry import question

__all__ = ["UNSERVED_NEEDS_CYPHER", "unserved_needs"]


UNSERVED_NEEDS_CYPHER = """
MATCH (h:Household)-[:HAS_NEED]->(n:Need)
WHERE coalesce(n.status, 'open') <> 'closed'
OPTIONAL MATCH (x)-[:FOR_NEED]->(n)
RETURN n.need_id AS need, n.status AS status, n.category AS category, n.urgency AS urgency, n.raised_on AS raised_on,
       n.person_ref AS person, h.household_id AS household, h.region_code AS region,
       collect({by: coalesce(x.service_id, x.record_id), start: coalesce(x.start, x.period_start), until: coalesce(x.`end`, x.period_end)}) AS links
"""


def _need_findings(rows: list[dict[str, Any]], as_of: str, **_: Any) -> list[Finding]:
    day = dt.date.fromisoformat(as_of)
    findings = []
    for row in rows:
        links = [link for link in row["links"] if link["by"] is not None]
        if not need_is_unserved(row["status"], [(link["start"], link["until"]) for link in links], day):
            continue
        findings.append(
            Finding(
                id=finding_id("unserved_need", [row["need"]]),
                kind="unserved_need",
                rule="a need that is not closed and that no service or aid record serves",
                persons=[row["person"]] if row["person"] else [],
                households=[row["household"]],
                records=[],
                needs=[row["need"]],
                region_code=row["region"],
                evidence={
                    "category": row["category"],
                    "urgency": row["urgency"],
                    "raised_on": row["raised_on"],
                    "status": row["status"] or "open",
                    "links": len(links),
                },
            )
        )
    return sort_findings(findings)


class MissedUnservedNeedsRow(TypedDict):
    need: str
    status: str
    category: str
    urgency: str
    raised_on: str
    person: str | None
    household: str
    region: str
    links: list[dict[str, Any]]


@question("missed_unserved_needs", cypher=UNSERVED_NEEDS_CYPHER, row=MissedUnservedNeedsRow, from_records=_need_findings)
def unserved_needs(store: Any, as_of: str) -> list[Finding]:
    """Rule 4: needs not closed that no service or aid record serves on ``as_of``.

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> unserved_needs(two_cases(), as_of="2026-06-30")  # N-1 and N-3 were paid, N-2 is tutored
    []
    """
