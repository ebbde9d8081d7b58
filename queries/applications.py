"""Emergency applications (急难申请) and the emergency aid a person or household already had.

``applications``: the applications, by where they were made, oldest first (the caseworker's queue
is those still ``paid_first`` or ``checked``). ``emergency_aid``: the aid records of emergency
programmes (临时救助, 受灾人员救助: programme kind ``emergency``) that reached a person or a
household, for the duplicate check made after help was given first.
"""

from __future__ import annotations

from typing import Any, TypedDict

from queries.registry import question

__all__ = ["APPLICATIONS_CYPHER", "EMERGENCY_AID_CYPHER", "applications", "emergency_aid"]

APPLICATIONS_CYPHER = """
MATCH (a:Application)
WHERE ($any_household OR a.household_id = $household_id) AND ($any_state OR a.state IN $states)
  AND ($any_applicant OR a.applicant_id = $applicant_id)
RETURN a AS application
"""


class ApplicationsRow(TypedDict):
    application: dict[str, Any]


def _params(given: dict[str, Any]) -> dict[str, Any]:
    household, states, applicant = given.get("household_id"), given.get("states"), given.get("applicant_id")
    return {
        "any_household": household is None,
        "household_id": household or "",
        "any_state": states is None,
        "states": list(states or []),
        "any_applicant": applicant is None,
        "applicant_id": applicant or "",
    }


def _sorted(rows: list[dict[str, Any]], **_: Any) -> list[dict[str, Any]]:
    return sorted((r["application"] for r in rows), key=lambda a: (a["paid_at"], a["application_id"]))


@question("applications", cypher=APPLICATIONS_CYPHER, row=ApplicationsRow, from_records=_sorted, cypher_params=_params)
def applications(
    store: Any, household_id: str | None = None, states: list[str] | None = None, applicant_id: str | None = None
) -> list[dict[str, Any]]:
    """Emergency applications, oldest payment first; only a household's, an applicant's, or those in
    ``states`` (paid_first, checked, decided).

    Examples
    --------
    >>> from queries.examples import two_cases
    >>> applications(two_cases())
    []
    """


EMERGENCY_AID_CYPHER = {
    "person": """
MATCH (x:Person {id_number: $person_id})-[:RECEIVES]->(r:AidRecord)-[:PAID_BY]->(p:Program)
WHERE p.kind = 'emergency'
RETURN r AS record, p.name AS program_name
""",
    "household": """
MATCH (x:Household {household_id: $household_id})-[:RECEIVES]->(r:AidRecord)-[:PAID_BY]->(p:Program)
WHERE p.kind = 'emergency'
RETURN r AS record, p.name AS program_name
""",
}


class EmergencyAidRow(TypedDict):
    record: dict[str, Any]
    program_name: str | None


def _aid_params(given: dict[str, Any]) -> dict[str, Any]:
    return {"person_id": given["person_id"], "household_id": given.get("household_id") or ""}


def _records(parts: dict[str, list[dict[str, Any]]], **_: Any) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for row in (*parts["person"], *parts["household"]):
        seen[row["record"]["record_id"]] = {**row["record"], "program_name": row["program_name"]}
    return sorted(seen.values(), key=lambda r: (str(r["period_start"]), r["record_id"]))


@question(
    "emergency_aid",
    cypher=EMERGENCY_AID_CYPHER,
    row={"person": EmergencyAidRow, "household": EmergencyAidRow},
    from_records=_records,
    cypher_params=_aid_params,
)
def emergency_aid(store: Any, person_id: str, household_id: str | None = None) -> list[dict[str, Any]]:
    """The emergency-programme aid records of a person (by ID number) and of their household, oldest first.

    Examples
    --------
    >>> from queries.examples import two_cases
    >>> emergency_aid(two_cases(), person_id="420106198305141516", household_id="H-420106-0001")
    []
    """
