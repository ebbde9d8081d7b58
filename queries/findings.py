"""What every audit finding looks like, and the small rules the audit questions share.

A finding has a stable id: the same data gives the same findings with the same ids in the same
order, so an auditor's mark ("confirmed", "dismissed") survives re-ingest and re-audit.

>>> finding_id("delivered_twice", ["MZ-2", "MZ-1"])
'delivered_twice-0b88b1-466610'
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

__all__ = [
    "FAR_FUTURE",
    "Finding",
    "age_on",
    "covers",
    "deceased_by",
    "entries",
    "finding_id",
    "need_is_unserved",
    "overlaps",
    "sort_findings",
]

#: Stands for "ongoing" when periods are compared as ISO date strings.
FAR_FUTURE = "9999-12-31"


class Finding(BaseModel):
    """One duplicate-aid or missed-aid finding, with the evidence that proves it."""

    id: str
    kind: str
    rule: str  # the rule that fired, in words
    persons: list[str]
    households: list[str]
    records: list[str]  # aid record ids
    services: list[str] = []
    needs: list[str] = []
    programs: list[str] = []
    region_code: str | None = None  # the (first) household's region
    #: Every region the finding touches (its households'): it belongs to each of them.
    region_codes: list[str] = []
    amount_at_stake: float = 0.0  # yuan; for recurring aid, per month
    evidence: dict[str, Any] = {}


def finding_id(kind: str, keys: Iterable[str]) -> str:
    """A short id from the finding's kind and the sorted keys of what it is about.

    The digest is split in two so that it never reads as an ID or account number to a masker.

    Examples
    --------
    >>> finding_id("duplicate_aid", ["b", "a"]) == finding_id("duplicate_aid", ["a", "b"])
    True
    >>> import re; bool(re.fullmatch(r"duplicate_aid-[0-9a-f]{6}-[0-9a-f]{6}", finding_id("duplicate_aid", ["a"])))
    True
    """
    digest = hashlib.sha256("|".join([kind, *sorted(keys)]).encode()).hexdigest()
    return f"{kind}-{digest[:6]}-{digest[6:12]}"


def age_on(birth: str | None, day: dt.date) -> int | None:
    """Age in whole years on ``day`` of someone born on ``birth`` (ISO date), None if unknown.

    Examples
    --------
    >>> age_on("2013-07-09", dt.date(2031, 7, 8)), age_on(None, dt.date(2031, 7, 8))
    (17, None)
    """
    if not birth:
        return None
    b = dt.date.fromisoformat(birth)
    return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


def deceased_by(person: dict[str, Any], day: dt.date) -> bool:
    """Whether ``person`` (a node's properties) had died on or before ``day``.

    Examples
    --------
    >>> deceased_by({"deceased_on": "2024-01-05"}, dt.date(2024, 1, 5)), deceased_by({}, dt.date(2024, 1, 5))
    (True, False)
    """
    died = person.get("deceased_on")
    return bool(died) and str(died) <= day.isoformat()


def overlaps(a_start: str, a_end: str | None, b_start: str, b_end: str | None) -> bool:
    """Two periods (ISO dates; an empty end is ongoing) share at least one day.

    Examples
    --------
    >>> overlaps("2023-06-01", None, "2023-09-01", "2023-12-31"), overlaps("2021-01-01", "2023-03-31", "2023-04-01", None)
    (True, False)
    """
    return a_start <= (b_end or FAR_FUTURE) and b_start <= (a_end or FAR_FUTURE)


def covers(start: str | None, end: str | None, day: dt.date) -> bool:
    """A period covers ``day``.

    Examples
    --------
    >>> covers("2023-09-10", "2023-12-31", dt.date(2023, 12, 31)), covers("2023-09-10", "2023-12-31", dt.date(2024, 1, 1))
    (True, False)
    """
    iso = day.isoformat()
    return (start or "0000-01-01") <= iso <= (end or FAR_FUTURE)


def need_is_unserved(status: str | None, links: Iterable[tuple[str | None, str | None]], day: dt.date) -> bool:
    """The unserved-need rule, one place for the audit and the chain: a need not closed that
    nothing serves. A need marked served counts as served if anything ever served it; an open
    need needs a service or aid record whose period covers ``day``.

    Examples
    --------
    >>> need_is_unserved("open", [("2023-01-01", "2023-12-31")], dt.date(2024, 6, 1))
    True
    >>> need_is_unserved("served", [("2023-01-01", "2023-12-31")], dt.date(2024, 6, 1))
    False
    """
    status = status or "open"
    if status == "closed":
        return False
    links = list(links)
    if status == "served":
        return not links
    return not any(covers(start, end, day) for start, end in links)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in the order every report lists them: by kind, region, households, id.

    Examples
    --------
    >>> found = [Finding(id=i, kind=k, rule="", persons=[], households=[h], records=[])
    ...          for i, k, h in (("F-2", "need_paid_twice", "H-2"), ("F-1", "delivered_twice", "H-9"), ("F-3", "delivered_twice", "H-1"))]
    >>> [f.id for f in sort_findings(found)]
    ['F-3', 'F-1', 'F-2']
    """
    return sorted(findings, key=lambda f: (f.kind, f.region_code or "", f.households, f.id))


#: Keys the questions cannot use in a Cypher map (words LadybugDB's Cypher keeps for itself), and
#: the names the rules know them by.
_RENAMED = {"until": "end", "grp": "group"}


def entries(items: Iterable[dict[str, Any]], key: str = "id") -> list[dict[str, Any]]:
    """A collected list as the rules read it: without the entry of nulls an absent optional match
    leaves (its ``key`` is null), and with ``until`` named ``end`` and ``grp`` ``group`` (``end`` and
    ``group`` are words LadybugDB's Cypher keeps for itself).

    Examples
    --------
    >>> entries([{"id": "R1", "until": None}, {"id": None, "until": None}])
    [{'id': 'R1', 'end': None}]
    """
    return [{_RENAMED.get(k, k): v for k, v in item.items()} for item in items if item[key] is not None]
