"""What each role may see of a response: minors hidden, coordinators de-identified, IDs masked.

Every payload leaves the server through :func:`present`. ID numbers end as first 6 + last 4 at
most and phones as 3 + 4 (``graph.privacy``); a minor's details are shown only to a caseworker of
the minor's region; a charity coordinator sees no ID numbers and names reduced to surname plus
the initial of the given name until a match with their organisation is accepted.

>>> initial_name("周建军"), initial_name("欧阳娜娜"), initial_name("Zhou Jianjun")
('周J.', '欧阳N.', 'Zhou J.')
>>> deidentify({"id_number": "420106198305141516", "name": "周建军", "phone": "13800000001", "category": "medical"})
{'id_number': 'person-1', 'name': '周J.', 'category': 'medical'}
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import Any

from pypinyin import Style, lazy_pinyin

from graph.names import split_chinese_name
from graph.national_id import is_valid_id_number, looks_like_id_number
from graph.privacy import CONTACT_FIELDS, ID_FIELDS, IDENTIFIER_IN_TEXT, mask_text, mask_tree
from graph.regions import STRUCTURAL, RegionTree

__all__ = ["OUTSIDE_RULE", "deidentify", "initial_name", "is_minor", "present"]

ADULT_AGE = 18
#: A hidden minor keeps only these: enough to count household members and follow references.
_MINOR_KEEPS = frozenset({"id_number", "name", "sex", "household_id", "relation_to_head", "in_register"})
_NAME_FIELDS = frozenset({"name", "beneficiary_name", "label", "head_name"})


def initial_name(name: str | None) -> str | None:
    """Surname and the initial of the given name: 周建军 -> 周J.; Latin names keep the first word."""
    if not name:
        return name
    name = name.strip()
    if name.endswith(".") and len(name) <= 6:
        return name  # already reduced
    if " " in name or name.isascii():
        first, _, rest = name.partition(" ")
        return f"{first} {rest[:1].upper()}." if rest else f"{first[:1].upper()}."
    surname, given = split_chinese_name(name)
    if not given:
        return surname
    letter = lazy_pinyin(given[0], style=Style.FIRST_LETTER, errors="ignore")
    return f"{surname}{(letter[0][:1] if letter else '').upper()}."


def _birth(person: dict[str, Any]) -> dt.date | None:
    raw = person.get("birth_date") or person.get("beneficiary_birth_date")
    if raw:
        try:
            return dt.date.fromisoformat(str(raw))
        except ValueError:
            return None
    number = str(person.get("id_number") or person.get("beneficiary_ref") or "")
    if looks_like_id_number(number) and is_valid_id_number(number):
        return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    return None


def is_minor(person: dict[str, Any], today: dt.date) -> bool:
    """Under 18 on ``today``, by the birth date or the ID number."""
    born = _birth(person)
    if born is None:
        return False
    return (today.year - born.year - ((today.month, today.day) < (born.month, born.day))) < ADULT_AGE


def _is_person(d: dict[str, Any]) -> bool:
    return "id_number" in d and any(k in d for k in ("name", "birth_date", "household_id", "in_register", "sex"))


def _walk(obj: Any, visit: Callable[[dict[str, Any]], None]) -> None:
    if isinstance(obj, dict):
        visit(obj)
        for v in obj.values():
            _walk(v, visit)
    elif isinstance(obj, list):
        for v in obj:
            _walk(v, visit)


def present(
    payload: Any,
    *,
    minors_region: str | None,
    household_regions: Callable[[Iterable[str]], dict[str, str | None]],
    today: dt.date | None = None,
    deidentified: bool = False,
    scope_region: str | None = None,
    tree: RegionTree = STRUCTURAL,
) -> Any:
    """``payload`` (plain JSON data) as the caller may see it.

    ``minors_region`` is the region subtree whose minors the caller may see (a caseworker's
    region; None for every other role); ``household_regions`` looks up, in one call, the regions
    of the households the people live in. ``scope_region`` is the caller's region: a person
    living outside it (a relative, an obligor) is shown as a reduced node (relation, surname and
    initial, no health, income or birth date), and an obligation owed from outside it keeps its
    amount but not the obligor household's means.
    """
    today = today or dt.date.today()
    payload = copy.deepcopy(payload)  # the caller's data (perhaps a cached answer) stays as it was
    persons: list[dict[str, Any]] = []
    obligations: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []

    def collect(d: dict[str, Any]) -> None:
        if _is_person(d):
            persons.append(d)
        elif "obligor" in d and "obligor_household" in d:
            obligations.append(d)
        elif isinstance(d.get("evidence"), dict) and "region_codes" in d:
            findings.append(d)

    _walk(payload, collect)
    minors = [p for p in persons if is_minor(p, today)]
    wanted = {p["household_id"] for p in (persons if scope_region is not None else minors) if p.get("household_id")}
    wanted |= {o["obligor_household"] for o in obligations if o.get("obligor_household") and scope_region is not None}
    regions = household_regions(wanted) if wanted else {}

    def region_of(person: dict[str, Any]) -> str:
        return regions.get(person.get("household_id") or "") or person.get("residence_region_code") or person.get("hukou_region_code") or ""

    hidden_ids: set[str] = set()
    hidden_names: dict[str, str | None] = {}
    for m in minors:
        if minors_region is None or not tree.contains(minors_region, region_of(m)):
            hidden_ids.add(str(m["id_number"]))
            if m.get("name"):
                hidden_names[m["name"]] = initial_name(m["name"])
    # People of other regions reached through an edge (a relative, an obligor) are reduced nodes.
    outside = {str(p["id_number"]) for p in persons if scope_region is not None and not tree.contains(scope_region, region_of(p))}
    for o in obligations:
        if scope_region is not None and not tree.contains(scope_region, regions.get(o.get("obligor_household") or "")):
            o.update(obligor_household_per_capita_income=None, obligor_standard=None, rule=OUTSIDE_RULE)
    for f in findings:
        _hide_minor_evidence(f, minors_region, today, tree)

    def hide(d: dict[str, Any]) -> None:
        if _is_person(d) and (str(d["id_number"]) in hidden_ids or str(d["id_number"]) in outside):
            for k in [k for k in d if k not in _MINOR_KEEPS]:
                del d[k]
            d["name"] = initial_name(d.get("name"))
            if str(d["id_number"]) in hidden_ids:
                d["minor"] = True
            if str(d["id_number"]) in outside:
                d["outside_region"] = True
        elif d.get("beneficiary_ref") is not None and (
            str(d["beneficiary_ref"]) in hidden_ids
            or d.get("beneficiary_name") in hidden_names
            # a minor's record the graph could not tie to a person: only a caseworker sees it
            or (minors_region is None and is_minor(d, today))
        ):
            d.pop("beneficiary_birth_date", None)
            d["beneficiary_name"] = initial_name(d.get("beneficiary_name"))
        props = d.get("props")
        if d.get("kind") == "Person" and isinstance(props, dict) and str(props.get("id_number")) in hidden_ids | outside:
            d["label"] = initial_name(props.get("name"))
        for k in _NAME_FIELDS:
            if isinstance(d.get(k), str) and d[k] in hidden_names:
                d[k] = hidden_names[d[k]]

    if hidden_ids or outside or minors_region is None:
        _walk(payload, hide)
    if deidentified:
        payload = deidentify(payload)
    return mask_tree(payload)


OUTSIDE_RULE = "computed from the means of the obligor's household, which lies outside your region"


def _hide_minor_evidence(finding: dict[str, Any], minors_region: str | None, today: dt.date, tree: RegionTree) -> None:
    """A minor named in a finding's evidence: only a caseworker of every region it touches sees them."""
    evidence = finding["evidence"]
    if not evidence.get("name") or not is_minor({"birth_date": evidence.get("birth_date")}, today):
        return
    codes = finding.get("region_codes") or []
    if minors_region is not None and codes and all(tree.contains(minors_region, c) for c in codes):
        return
    evidence["name"] = initial_name(evidence["name"])
    evidence.pop("birth_date", None)
    evidence["minor"] = True


def _id_shaped(m: re.Match[str]) -> bool:
    digits = m.group(2) or ""
    return len(digits) in (15, 18) or (len(digits) == 17 and bool(m.group(3)))


def deidentify(obj: Any) -> Any:
    """A copy with no ID numbers or contact details, and people's names reduced to surname + initial.

    Each ID number becomes a pseudonym for this answer only (``person-1``, ``person-2``, ...), so
    "who is the beneficiary of this record" still reads, without the number.
    """
    pseudonyms: dict[str, str] = {}

    def pseudonym(value: str) -> str:
        return pseudonyms.setdefault(value, f"person-{len(pseudonyms) + 1}")

    def walk(o: Any, key: str | None = None, in_person: bool = False) -> Any:
        if isinstance(o, dict):
            person = _is_person(o) or (o.get("kind") == "Person" and "props" in o)
            return {
                k: walk(v, k, person or (in_person and k == "props"))
                for k, v in o.items()
                if k not in CONTACT_FIELDS and k not in ("birth_date", "beneficiary_birth_date", "address")
            }
        if isinstance(o, list):
            return [walk(v, key, in_person) for v in o]
        if not isinstance(o, str):
            return o
        if key in ID_FIELDS or key in ("persons", "dependant", "of_member", "beneficiary", "holder") or looks_like_id_number(o):
            return o if o in ("household",) or o.startswith("H-") else pseudonym(o)
        if (key == "name" and in_person) or key in ("beneficiary_name", "head_name") or (key == "label" and in_person):
            return initial_name(o)
        if key == "id" and o.startswith("Person:"):
            return "Person:" + pseudonym(o.removeprefix("Person:"))
        return IDENTIFIER_IN_TEXT.sub(lambda m: pseudonym(m.group(0)) if _id_shaped(m) else mask_text(m.group(0)), o)

    return walk(obj)
