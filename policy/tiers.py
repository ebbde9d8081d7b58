"""Who belongs to which class of people (分类施保), and who is 特困 (extremely poor and supported):
one person, no labour capacity, no income, no obligor able to pay.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from policy.config import PolicyConfig
from policy.income import ADULT, ELDERLY, _money
from policy.obligations import Obligation
from queries.findings import age_on

__all__ = ["member_categories"]


def member_categories(m: dict[str, Any], on: dt.date, *, traditional: bool = False, in_difficulty: bool = False) -> list[str]:
    """The identity categories (分类施保) a member falls in, by what the graph holds of them.

    Codes a policy may give coefficients to: serious_illness, severe_disability, mild_disability,
    lost_labour, elderly_80, men_60, women_50, student, retiree, able_to_work, and, as the caller
    judged them, traditional (传统民政对象: the "three withouts", no labour capacity, no income, no
    able obligor) and minor_orphan (困境儿童: a minor whose recorded parents are all dead, or
    severely disabled or seriously ill).

    Examples
    --------
    >>> import datetime as dt
    >>> daughter = {"id": "420203201307092421", "birth": "2013-07-09", "labour": "none", "employment": "student",
    ...             "disability": 0, "major": True, "chronic": False, "deceased": None}
    >>> member_categories(daughter, dt.date(2026, 6, 30))
    ['serious_illness', 'student']
    """
    age = age_on(m.get("birth"), on)
    found = ["traditional"] if traditional else []
    if in_difficulty:
        found.append("minor_orphan")
    if m.get("major"):
        found.append("serious_illness")
    if m.get("disability") in (1, 2):
        found.append("severe_disability")
    elif m.get("disability") in (3, 4):
        found.append("mild_disability")
    if m.get("labour") == "none" and age is not None and ADULT <= age < ELDERLY:
        found.append("lost_labour")
    if age is not None and age >= 80:
        found.append("elderly_80")
    if age is not None and age >= 60 and m.get("sex") == "M":
        found.append("men_60")
    if age is not None and age >= 50 and m.get("sex") == "F":
        found.append("women_50")
    if m.get("employment") == "student":
        found.append("student")
    if m.get("employment") == "retired":
        found.append("retiree")
    if m.get("labour") == "full" and not found:
        found.append("able_to_work")
    return found


def _kin_map(facts: list[dict[str, Any]], kin: list[dict[str, Any]]) -> dict[str, Any]:
    """Each person's parents, children, spouses and siblings, and what is known of every one of them."""
    rel: dict[str, Any] = {k: defaultdict(set) for k in ("parents", "children", "spouses", "siblings")}
    people: dict[str, dict[str, Any]] = {}
    for row in kin:
        a, b = row["src"]["id"], row["dst"]["id"]
        for end in (row["src"], row["dst"]):
            people.setdefault(end["id"], dict(end))
        if row["relation"] == "parent_of":
            rel["children"][a].add(b)
            rel["parents"][b].add(a)
        elif row["relation"] == "spouse_of":
            rel["spouses"][a].add(b)
            rel["spouses"][b].add(a)
        elif row["relation"] == "sibling_of":
            rel["siblings"][a].add(b)
            rel["siblings"][b].add(a)
    for f in facts:
        for m in f["members"]:
            people[m["id"]] = {**people.get(m["id"], {}), **m}
    return {**rel, "people": people}


def _no_labour_capacity(m: dict[str, Any], age: int | None) -> bool:
    """特困's "no labour capacity": aged 60 or over, severely disabled (grade 1-2), under 16 (under 18
    in school), unless the register says the person can fully work."""
    in_class = m.get("disability") in (1, 2) or (
        age is not None and (age >= ELDERLY or age < 16 or (age < ADULT and m.get("employment") == "student"))
    )
    return in_class and m.get("labour") != "full"


def _child_in_difficulty(m: dict[str, Any], ages: dict[str, int | None], kin: dict[str, Any]) -> bool:
    """困境儿童: a minor with recorded parents, every one dead, severely disabled or seriously ill."""
    age = ages.get(m["id"])
    parents = [kin["people"].get(p, {}) for p in kin.get("parents", {}).get(m["id"], ())] if kin else []
    return (
        age is not None
        and age < ADULT
        and bool(parents)
        and all(p.get("deceased") or p.get("disability") in (1, 2) or p.get("major") for p in parents)
    )


def _tekun_members(
    living: list[dict[str, Any]],
    ages: dict[str, int | None],
    owed: list[Obligation],
    own: dict[str, Any],
    kin: dict[str, Any],
    policy: PolicyConfig,
    standard: float,
    over: list[str],
) -> dict[str, dict[str, Any]]:
    """The living members who are 特困 on their own, person by person, with their support.

    特困: no labour capacity (``_no_labour_capacity``), own income below the standard, and the
    household's per-capita income below it too (one does not live without a source of living in a
    household that has one), household assets within the limits, and no obligor able to support them: none outside the household owes
    an amount (by law or by fact), and none inside it (spouse, adult child or grandchild; for a
    minor, parent, grandparent or adult sibling) has labour capacity or the means to pay.
    Support: ``tekun.basic_multiple`` x the standard, plus the care allowance of their self-care
    ability (recorded, else fully dependent at disability grade 1, partly at grade 2).
    """
    if over or not living or own["counted"] / len(living) >= standard:
        return {}
    home = {m["id"]: m for m in living}
    income_of: dict[str, float] = defaultdict(float)
    for i in own["items"]:
        if i["counted"]:
            income_of[i["person"]] += i["amount"]
    rule = policy.maintenance

    def able_at_home(pid: str) -> bool:
        m = home[pid]
        if not _no_labour_capacity(m, ages[pid]) and m.get("labour") != "none" and (ages[pid] or 0) >= ADULT:
            return True
        return max(0.0, income_of[pid] - rule.k * standard) * rule.share > 0

    found = {}
    for m in living:
        pid, age = m["id"], ages[m["id"]]
        if not _no_labour_capacity(m, age) or income_of[pid] >= standard:
            continue
        if any((o.monthly_amount > 0 or o.by == "fact") and pid in o.dependants for o in owed):
            continue  # an obligor elsewhere owes them, or pays (recorded maintenance)
        children, spouses = kin.get("children", {}).get(pid, set()), kin.get("spouses", {}).get(pid, set())
        obligors = set(spouses) | set(children) | {g for c in children for g in kin.get("children", {}).get(c, set())}
        if age is not None and age < ADULT:
            parents = kin.get("parents", {}).get(pid, set())
            obligors |= set(parents) | {g for p in parents for g in kin.get("parents", {}).get(p, set())}
            obligors |= set(kin.get("siblings", {}).get(pid, set()))
        if any(o in home and o != pid and able_at_home(o) for o in obligors):
            continue
        care_level = m.get("self_care") or {1: "fully_dependent", 2: "partly_dependent"}.get(m.get("disability") or 0, "able")
        basic = _money(policy.tekun.basic_multiple * standard)
        care = policy.tekun.care.get(care_level, 0.0)
        found[pid] = {
            "person": pid,
            "basic": basic,
            "care_level": care_level,
            "care": care,
            "amount": _money(basic + care),
            "rule": f"{policy.tekun.basic_multiple:g} x {standard:g} + care allowance ({care_level}) {care:g}",
        }
    return found
