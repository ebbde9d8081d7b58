"""Finding households and people: search by region, member name or ID number, and one person's view.

Both answers are small and paged, so the HTTP API can list a caseworker's region without
shipping the graph.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict

from pydantic import BaseModel

from graph.model import NodeKind, RelKind  # noqa: F401  (the doctests')
from queries.household import _RELATIVE_ROLE
from queries.registry import question

__all__ = [
    "HOUSEHOLD_SEARCH_CYPHER",
    "PERSON_VIEW_CYPHER",
    "HouseholdHit",
    "HouseholdSearch",
    "PersonView",
    "household_search",
    "id_parts",
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


_MASKED_ID = re.compile(r"^(\d{6})\*{4,12}(\d{3}[\dX])$")
_ID_TAIL = re.compile(r"^\d{3,5}[\dX]$")
_FULL_ID = re.compile(r"^(\d{17}[\dX]|\d{15})$")


def id_parts(text: str) -> tuple[str | None, str | None, str | None] | None:
    """How a typed ID is searched: (full number, prefix, suffix), or None when it is no ID.

    Examples
    --------
    >>> id_parts("420504********4853"), id_parts("4853"), id_parts("42050419590402451x")
    ((None, '420504', '4853'), (None, None, '4853'), ('42050419590402451X', None, None))
    >>> id_parts("周建军") is None
    True
    """
    text = text.strip().upper().replace(" ", "")
    if _FULL_ID.match(text):
        return text, None, None
    if m := _MASKED_ID.match(text):
        return None, m.group(1), m.group(2)
    if _ID_TAIL.match(text):
        return None, None, text
    return None


# The filter is written twice: once to count every match, once for the page. The page is the last
# rows of the first ``offset + limit`` in order (kept by _search_from_records), not ``SKIP``: on
# LadybugDB 0.22 ``ORDER BY ... SKIP n`` crashed the process for n over about ten thousand.
_SEARCH_FILTER = """(h:Household)
WHERE ($everywhere OR h.region_code IN $region_codes)
  AND (NOT $by_id OR EXISTS { MATCH (:Person {id_number: $id_number})-[:MEMBER_OF]->(h) })
  AND (NOT $by_name OR EXISTS { MATCH (p:Person)-[:MEMBER_OF]->(h) WHERE toLower(p.name) CONTAINS toLower($member_name) })
  AND (NOT $by_id_part OR EXISTS {
    MATCH (p:Person)-[:MEMBER_OF]->(h) WHERE p.id_number STARTS WITH $id_prefix AND p.id_number ENDS WITH $id_suffix })"""
HOUSEHOLD_SEARCH_CYPHER = f"""
MATCH {_SEARCH_FILTER}
WITH count(h) AS total
MATCH {_SEARCH_FILTER}
WITH total, h ORDER BY h.household_id LIMIT $window
WITH total, h ORDER BY h.household_id DESC LIMIT $limit
OPTIONAL MATCH (p:Person)-[m:MEMBER_OF]->(h)
RETURN total, h AS household, collect({{id_number: p.id_number, name: p.name, relation_to_head: m.relation_to_head}}) AS members
"""


def _search_params(params: dict[str, Any]) -> dict[str, Any]:
    """Flags for the filters not asked for: a parameter that is sometimes null has no type on LadybugDB."""
    return {
        "everywhere": params["region_codes"] is None,
        "region_codes": list(params["region_codes"] or []),
        "by_id": params["id_number"] is not None,
        "id_number": params["id_number"] or "",
        "by_id_part": bool(params.get("id_prefix") or params.get("id_suffix")),
        "id_prefix": (params.get("id_prefix") or "").upper(),
        "id_suffix": (params.get("id_suffix") or "").upper(),
        "by_name": params["member_name"] is not None,
        "member_name": params["member_name"] or "",
        "window": params["offset"] + params["limit"],
        "limit": params["limit"],
    }


def _search_from_records(records: list[dict[str, Any]], offset: int, limit: int, **_: Any) -> HouseholdSearch:
    total = records[0]["total"] if records else 0
    # The records are the last ``limit`` of the first ``offset + limit``: those before ``offset``
    # are among them when fewer matched.
    on_page = max(0, min(total, offset + limit) - offset)
    records = sorted(records, key=lambda r: r["household"]["household_id"])[len(records) - on_page :] if on_page else []
    hits = [
        HouseholdHit(
            household=r["household"],
            members=sorted((m for m in r["members"] if m["id_number"]), key=lambda m: m["id_number"]),
        )
        for r in records
    ]
    return HouseholdSearch(total=total, hits=hits)


class HouseholdSearchRow(TypedDict):
    total: int
    household: dict[str, Any]
    members: list[dict[str, Any]]


@question(
    "household_search",
    cypher=HOUSEHOLD_SEARCH_CYPHER,
    row=HouseholdSearchRow,
    from_records=_search_from_records,
    cypher_params=_search_params,
)
def household_search(
    store: Any,
    region_codes: list[str] | None = None,
    member_name: str | None = None,
    id_number: str | None = None,
    offset: int = 0,
    limit: int = 50,
    id_prefix: str | None = None,
    id_suffix: str | None = None,
) -> HouseholdSearch:
    """Households whose region code is one of ``region_codes`` (``queries.regions.codes_within``
    gives those of a region's subtree) with a member whose name contains
    ``member_name`` (any case) or whose ID number is ``id_number``, or begins with ``id_prefix`` and
    ends with ``id_suffix`` (an ID number as AidGraph shows it masked, ``420504********4853``, or its
    last digits: see ``id_parts``); a page of them, by household id.

    Examples
    --------
    >>> from queries.examples import two_cases
    >>> found = household_search(two_cases(), region_codes=["420106005001"], member_name="建军")
    >>> found.total, [(m["name"], m["relation_to_head"]) for m in found.hits[0].members]
    (1, [('周德明', 'parent'), ('李秀兰', 'parent'), ('周建军', 'head'), ('周雨欣', 'child')])
    >>> [h.household["household_id"] for h in household_search(two_cases(), id_prefix="420203", id_suffix="2421").hits]
    ['H-420203-0001']

    Notes
    -----
    By ID number: the person's households only. Otherwise linear in the number of households
    (and, with ``member_name``, their members).
    """


PERSON_VIEW_CYPHER = """
MATCH (p:Person {id_number: $id_number})
OPTIONAL MATCH (p)-[:MEMBER_OF]->(h:Household)
WITH p, collect(h) AS households
OPTIONAL MATCH (p)-[k:KIN]->(o:Person)
WITH p, households, collect({other: o, relation: k.relation, direction: 'in'}) AS kin_from
OPTIONAL MATCH (o:Person)-[k:KIN]->(p)
WITH p, households, kin_from, collect({other: o, relation: k.relation, direction: 'out'}) AS kin_to
OPTIONAL MATCH (p)-[rc:RECEIVES]->(ar:AidRecord)
OPTIONAL MATCH (ar)-[:PAID_BY]->(pg:Program)
WITH p, households, kin_from, kin_to, collect({record: ar, link: rc, program_name: pg.name}) AS aid
OPTIONAL MATCH (p)-[:HAS_INCOME]->(i:Income)
RETURN p AS person, households, kin_from, kin_to, aid, collect(i) AS incomes
"""


def _assemble_person(raw: dict[str, Any]) -> PersonView:
    kin = [
        {
            "person": {k: r["other"][k] for k in _KIN_FIELDS if r["other"].get(k) is not None},
            "relative_is": _RELATIVE_ROLE[(r["relation"], r["direction"])],
        }
        for r in raw["kin_from"] + raw["kin_to"]
        if r["other"]
    ]
    return PersonView(
        person=raw["person"],
        household=(raw["households"] or [None])[0],
        kin=sorted(kin, key=lambda k: (k["relative_is"], k["person"]["id_number"])),
        aid_records=sorted(
            ({"record": a["record"], "link": a["link"] or {}, "program_name": a["program_name"]} for a in raw["aid"] if a["record"]),
            key=lambda a: (a["record"].get("period_start", ""), a["record"]["record_id"]),
        ),
        incomes=sorted(raw["incomes"], key=lambda i: i["income_id"]),
    )


def _person_from_records(records: list[dict[str, Any]], **_: Any) -> PersonView | None:
    return _assemble_person(records[0]) if records else None


_KIN_FIELDS = ("id_number", "name", "household_id", "in_register", "birth_date", "sex")


class PersonViewRow(TypedDict):
    person: dict[str, Any]
    households: list[dict[str, Any]]
    kin_from: list[dict[str, Any]]
    kin_to: list[dict[str, Any]]
    aid: list[dict[str, Any]]
    incomes: list[dict[str, Any]]


@question("person_view", cypher=PERSON_VIEW_CYPHER, row=PersonViewRow, from_records=_person_from_records, small=True)
def person_view(store: Any, id_number: str) -> PersonView | None:
    """One person: their household, kin (what each relative is to them), aid received, incomes.

    Examples
    --------
    >>> from queries.examples import two_cases
    >>> driver = person_view(two_cases(), id_number="420106198305141516")
    >>> sorted((k["person"]["name"], k["relative_is"]) for k in driver.kin)
    [('周德明', 'parent'), ('周雨欣', 'child'), ('李秀兰', 'parent')]
    """
