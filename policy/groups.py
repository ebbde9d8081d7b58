"""Which service groups a household belongs to, derived from the graph on a day.

The district of DOMAIN.md serves people in six groups; a household belongs to a group when one of
its living members (or the household as a whole) meets the group's rule, with the ages of the
catalogue's ``[rules]``:

- **elderly** (老年人): a member aged ``elderly_age`` or more;
- **disabled** (残疾人): a member with a disability grade (1 to 4);
- **serious_illness** (大病患者): a member with a major illness;
- **minors** (困境未成年人): a member under ``minor_age`` with no living parent, neither in the
  household (by the relation to the head: the head and spouse are a child's parents, the head's
  parents a head's or sibling's, the head's adult children a grandchild's) nor among the relatives
  the departments name;
- **unemployed** (失业有劳动能力家庭): a member of working age with full or partial labour capacity
  who is unemployed;
- **single_parent** (单亲家庭): a child of the head under ``minor_age`` of whom exactly one parent,
  the head or the spouse, is a living member.

A group the catalogue leaves out is not derived. Each membership names the members it rests on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from pydantic import BaseModel

from policy.catalogue import Catalogue, GroupRules, load_catalogue
from queries.findings import deceased_by
from queries.household import HouseholdView, Member

__all__ = ["GroupMembership", "household_groups"]


class GroupMembership(BaseModel):
    """One group a household belongs to: the catalogue's code and name, the members it rests on, why."""

    group: str
    name: str
    persons: list[str]
    reason: str


def _minor(member: Member, rules: GroupRules) -> bool:
    return member.age is not None and member.age < rules.minor_age


#: Whose relation to the head makes them the parents of a member of this relation.
_PARENTS_BY_RELATION = {
    "child": ("head", "spouse"),
    "head": ("parent",),
    "sibling": ("parent",),
    "grandchild": ("child",),
}


def _parents_in_household(view: HouseholdView, member: Member, rules: GroupRules) -> list[Member]:
    relations = _PARENTS_BY_RELATION.get(member.relation_to_head or "", ())
    return [
        m
        for m in view.members
        if m.living and m.relation_to_head in relations and m is not member and (m.age is None or m.age >= rules.minor_age)
    ]


def _has_living_parent(view: HouseholdView, member: Member, rules: GroupRules, day: dt.date) -> bool:
    if _parents_in_household(view, member, rules):
        return True
    me = member.person["id_number"]
    return any(r.of_member == me and r.relative_is == "parent" and not deceased_by(r.person, day) for r in view.relatives)


def _rule(code: str, rules: GroupRules, view: HouseholdView, day: dt.date) -> tuple[list[Member], str] | None:
    """The members the group ``code`` rests on and the reason, or None if the household is not in it."""
    living = [m for m in view.members if m.living]
    checks: dict[str, tuple[Callable[[Member], bool], str]] = {
        "elderly": (lambda m: m.age is not None and m.age >= rules.elderly_age, f"aged {rules.elderly_age} or over"),
        "disabled": (lambda m: str(m.person.get("disability_grade") or 0) in ("1", "2", "3", "4"), "disability grade 1 to 4"),
        "serious_illness": (lambda m: bool(m.person.get("major_illness")), "major illness"),
        "minors": (
            lambda m: _minor(m, rules) and not _has_living_parent(view, m, rules, day),
            f"under {rules.minor_age} with no living parent in the household or among the relatives",
        ),
        "unemployed": (
            lambda m: (
                m.age is not None
                and rules.working_age_from <= m.age <= rules.working_age_to
                and m.person.get("labour_capacity") in ("full", "partial")
                and m.person.get("employment") == "unemployed"
            ),
            f"able to work, aged {rules.working_age_from} to {rules.working_age_to}, unemployed",
        ),
        "single_parent": (
            lambda m: _minor(m, rules) and m.relation_to_head == "child" and len(_parents_in_household(view, m, rules)) == 1,
            f"a child under {rules.minor_age} living with one parent",
        ),
    }
    test, reason = checks[code]
    found = [m for m in living if test(m)]
    return (found, reason) if found else None


def household_groups(view: HouseholdView, catalogue: Catalogue | None = None, *, as_of: dt.date | None = None) -> list[GroupMembership]:
    """The service groups of the household ``view`` (aged to ``as_of`` by ``as_of_day``), in the catalogue's order.

    Examples
    --------
    The two real cases. The driver (40, ill twice, out of work, partial labour capacity) raises his
    daughter (12) alone, with his parents (71 and 69); the leukaemia patient (10) lives with both
    her parents.

    >>> from queries.examples import two_cases
    >>> from queries.household import household_view
    >>> from queries.household_chain import as_of_day
    >>> day = dt.date(2024, 3, 1)
    >>> for household in ("H-420106-0001", "H-420203-0001"):
    ...     view = as_of_day(household_view(two_cases(), household_id=household), day)
    ...     print(household, [(g.group, len(g.persons)) for g in household_groups(view, as_of=day)])
    H-420106-0001 [('elderly', 2), ('serious_illness', 1), ('unemployed', 1), ('single_parent', 1)]
    H-420203-0001 [('serious_illness', 1)]
    """
    catalogue = catalogue or load_catalogue()
    day = as_of or dt.date.today()
    found = []
    for code, name in catalogue.groups.items():
        hit = _rule(code, catalogue.rules, view, day)
        if hit:
            members, reason = hit
            found.append(GroupMembership(group=code, name=name, persons=[m.person["id_number"] for m in members], reason=reason))
    return found
