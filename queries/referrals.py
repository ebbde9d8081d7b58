"""Referral records (转介): each household's path from the village window up, step by step.

Each step is a Referral node (``graph.model.Referral``): the level it went to, who sent it, when,
why, and the level's answer; ``actions.referrals`` writes them, ``policy.referrals`` says which
unresolved steps are due to go up.
"""

from __future__ import annotations

from typing import Any, TypedDict

from queries.registry import question

__all__ = ["REFERRALS_CYPHER", "referrals"]

REFERRALS_CYPHER = """
MATCH (r:Referral)
WHERE ($any_household OR r.household_id = $household_id) AND ($any_state OR r.state IN $states)
OPTIONAL MATCH (h:Household {household_id: r.household_id})
RETURN r AS referral, h.region_code AS region
"""


class ReferralsRow(TypedDict):
    referral: dict[str, Any]
    region: str | None


def _params(given: dict[str, Any]) -> dict[str, Any]:
    household, states = given.get("household_id"), given.get("states")
    return {
        "any_household": household is None,
        "household_id": household or "",
        "any_state": states is None,
        "states": list(states or []),
    }


def _steps(rows: list[dict[str, Any]], **_: Any) -> list[dict[str, Any]]:
    steps = [{**row["referral"], "region_code": row["region"]} for row in rows]
    return sorted(steps, key=lambda r: (r["household_id"], r["referred_at"], r["referral_id"]))


@question("referrals", cypher=REFERRALS_CYPHER, row=ReferralsRow, from_records=_steps, cypher_params=_params)
def referrals(store: Any, household_id: str | None = None, states: list[str] | None = None) -> list[dict[str, Any]]:
    """Referral steps, by household and then in the order they were made, each with the household's
    region; only a household's, or only those in ``states`` (open, answered, resolved, escalated).

    Examples
    --------
    >>> from queries.examples import two_cases
    >>> referrals(two_cases(), household_id="H-420106-0001")  # the cases' files record no referral
    []
    """
