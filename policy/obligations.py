"""Maintenance obligations (赡养 support of parents / 抚养 raising of children / 扶养 between spouses).

Adult children owe parents aged 60+ or without labour capacity; parents owe minor children;
spouses owe each other, whenever the two live in different households (in one household the
income is counted together anyway). Where no child can pay (none alive, or none with capacity),
adult grandchildren owe the grandparent; where no parent can pay a minor, grandparents and adult
siblings do. What an obligor owes: ``max(0, obligor household per-capita income - k x their
standard) x share`` a month (``policy.maintenance``), once per dependant household; where the
dependant household records maintenance received, that figure is used instead (``by_fact``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from policy.config import PolicyConfig
from policy.income import ADULT, ELDERLY, _alive, _current, _money, _own_income
from queries.findings import age_on

__all__ = ["BETWEEN_SPOUSES", "RAISING_OF_CHILDREN", "SUPPORT_OF_PARENTS", "Obligation", "by_fact", "derive_obligations"]

SUPPORT_OF_PARENTS, RAISING_OF_CHILDREN, BETWEEN_SPOUSES = "赡养 support of parents", "抚养 raising of children", "扶养 between spouses"


class Obligation(BaseModel):
    """One obligor's monthly maintenance to one dependant household."""

    obligor: str
    obligor_household: str | None
    dependant_household: str
    dependants: list[str]
    kind: str
    basis: str  # which rule made them an obligor
    obligor_household_per_capita_income: float
    obligor_standard: float
    monthly_amount: float
    rule: str  # the amount's formula with the numbers
    #: "law": computed from the obligor's means; "fact": recorded maintenance income used instead.
    by: str = "law"
    computed_amount: float | None = None  # by fact: what the law would have computed
    recorded_incomes: list[str] = []  # by fact: the maintenance_received income items


def derive_obligations(facts: list[dict[str, Any]], kin: list[dict[str, Any]], policy: PolicyConfig, on: dt.date) -> list[Obligation]:
    """Who owes maintenance to which household, and how much (see the module docstring).

    Examples
    --------
    >>> from policy.config import load_policy
    >>> from queries.examples import DAY, two_cases
    >>> from queries.means_facts import kin_links, means_facts
    >>> derive_obligations(means_facts(two_cases()), kin_links(two_cases()), load_policy(), DAY)  # every relative lives in the household
    []
    """
    by_household = {f["household"]: f for f in facts}
    persons: dict[str, dict[str, Any]] = {}
    for row in kin:
        for end in (row["src"], row["dst"]):
            persons.setdefault(end["id"], end)
    for f in facts:
        for m in f["members"]:
            persons.setdefault(
                m["id"],
                {
                    "id": m["id"],
                    "birth": m["birth"],
                    "deceased": m["deceased"],
                    "labour": m["labour"],
                    "household": f["household"],
                    "incomes": [],
                },
            )
            persons[m["id"]] = {**persons[m["id"]], "household": f["household"], "labour": m["labour"]}
    children, parents, spouses, siblings = defaultdict(set), defaultdict(set), defaultdict(set), defaultdict(set)
    for row in kin:
        a, b = row["src"]["id"], row["dst"]["id"]
        if row["relation"] == "parent_of":
            children[a].add(b)
            parents[b].add(a)
        elif row["relation"] == "spouse_of":
            spouses[a].add(b)
            spouses[b].add(a)
        elif row["relation"] == "sibling_of":
            siblings[a].add(b)
            siblings[b].add(a)

    capacity_cache: dict[str, tuple[float, float, float]] = {}

    def capacity(obligor: str) -> tuple[float, float, float]:
        """(monthly amount they can owe, their household's per-capita income, their standard)."""
        if obligor in capacity_cache:
            return capacity_cache[obligor]
        p = persons[obligor]
        household = by_household.get(p.get("household") or "")
        if household is not None:
            own = _own_income(household, policy, on)
            per_capita = own["counted"] / max(own["members"], 1)
            standard = policy.standard.for_area(household.get("urban_rural"))
        else:  # known only from another department's records: a household of one
            per_capita = sum(i["amount"] or 0 for i in _current(p["incomes"], on))
            standard = policy.standard.for_area(None)
        rule = policy.maintenance
        owed = _money(max(0.0, per_capita - rule.k * standard) * rule.share)
        capacity_cache[obligor] = (owed, _money(per_capita), standard)
        return capacity_cache[obligor]

    def adult(pid: str) -> bool:
        age = age_on(persons[pid].get("birth"), on)
        return age is not None and age >= ADULT and _alive(persons[pid], on)

    def elsewhere(pid: str, household: str) -> bool:
        return persons[pid].get("household") != household

    def able(candidates: Iterable[str]) -> list[str]:
        return [c for c in candidates if capacity(c)[0] > 0]

    # One obligation per obligor and dependant household: an obligor's capacity counts once there,
    # even if they owe two members on two grounds (a father of a child and son of its grandmother).
    found: dict[tuple[str, str], dict[str, Any]] = {}

    def owe(obligor: str, dependant: str, household: str, kind: str, basis: str) -> None:
        entry = found.setdefault((obligor, household), {"dependants": set(), "kinds": {}, "bases": {}})
        entry["dependants"].add(dependant)
        entry["kinds"][kind] = None
        entry["bases"][basis] = None

    for f in facts:
        hid = f["household"]
        for m in f["members"]:
            d = m["id"]
            if not _alive(m, on):
                continue
            age = age_on(m["birth"], on)
            if age is not None and (age >= ELDERLY or m.get("labour") == "none") and age >= ADULT:
                kids = [c for c in children[d] if adult(c)]
                for c in kids:
                    if elsewhere(c, hid):
                        owe(c, d, hid, SUPPORT_OF_PARENTS, "adult child of a parent aged 60+ or without labour capacity")
                # No child at home and none elsewhere can pay: adult grandchildren do.
                if not any(not elsewhere(c, hid) for c in kids) and not able(c for c in kids if elsewhere(c, hid)):
                    for c in children[d]:
                        for g in children[c]:
                            if adult(g) and elsewhere(g, hid):
                                owe(g, d, hid, SUPPORT_OF_PARENTS, "adult grandchild: no child of the grandparent can pay")
            if age is not None and age < ADULT:
                ps = [p for p in parents[d] if _alive(persons[p], on)]
                for p in ps:
                    if elsewhere(p, hid):
                        owe(p, d, hid, RAISING_OF_CHILDREN, "parent of a minor child")
                # No parent at home and none elsewhere can pay: grandparents and adult siblings do.
                if not any(not elsewhere(p, hid) for p in ps) and not able(p for p in ps if elsewhere(p, hid)):
                    for p in parents[d]:
                        for gp in parents[p]:
                            if _alive(persons[gp], on) and elsewhere(gp, hid):
                                owe(gp, d, hid, RAISING_OF_CHILDREN, "grandparent: no parent of the minor can pay")
                    for s in siblings[d] | {c for p in parents[d] for c in children[p]} - {d}:
                        if adult(s) and elsewhere(s, hid):
                            owe(s, d, hid, RAISING_OF_CHILDREN, "adult sibling: no parent of the minor can pay")
            for s in spouses[d]:
                if _alive(persons[s], on) and elsewhere(s, hid):
                    owe(s, d, hid, BETWEEN_SPOUSES, "spouse living in another household")

    rule = policy.maintenance
    obligations = []
    for (obligor, household), entry in sorted(found.items()):
        owed, per_capita, standard = capacity(obligor)
        kind, basis = "; ".join(entry["kinds"]), "; ".join(entry["bases"])
        obligations.append(
            Obligation(
                obligor=obligor,
                obligor_household=persons[obligor].get("household"),
                dependant_household=household,
                dependants=sorted(entry["dependants"]),
                kind=kind,
                basis=basis,
                obligor_household_per_capita_income=per_capita,
                obligor_standard=standard,
                monthly_amount=owed,
                rule=f"max(0, {per_capita:g} - {rule.k:g} x {standard:g}) x {rule.share:g} = {owed:g}",
            )
        )
    if rule.split == "equal":
        by_dependant: dict[str, list[Obligation]] = defaultdict(list)
        for o in obligations:
            by_dependant[o.dependant_household].append(o)
        for group in by_dependant.values():
            payers = [o for o in group if o.monthly_amount > 0]
            if len(payers) > 1:
                total = sum(o.monthly_amount for o in payers)
                for o in payers:
                    o.monthly_amount = _money(total / len(payers))
                    o.rule += f"; split equally among {len(payers)} obligors: {total:g} / {len(payers)} = {o.monthly_amount:g}"
    return obligations


def by_fact(obligations: list[Obligation], facts: list[dict[str, Any]], on: dt.date) -> None:
    """Maintenance "by law and by fact" (依法据实): where a dependant household records maintenance
    received (``maintenance_received`` income current on ``on``) from a named obligor, that figure
    replaces the computed one for that obligor; recorded with no payer named, it replaces the
    computed amounts of all the household's obligors (the figure cannot be split among them). The
    recorded income is counted as income, so a replaced obligation adds nothing again.

    Examples
    --------
    >>> import datetime as dt
    >>> owed = [Obligation(obligor="P-SON", obligor_household="H-2", dependant_household="H-1", dependants=["P-MOTHER"],
    ...                    kind=SUPPORT_OF_PARENTS, basis="adult child", obligor_household_per_capita_income=2000.0,
    ...                    obligor_standard=800.0, monthly_amount=300.0, rule="computed")]
    >>> received = {"id": "INC-9", "person": "P-MOTHER", "kind": "maintenance_received", "amount": 200.0, "start": "2026-01-01",
    ...             "end": None, "payer": "P-SON"}
    >>> by_fact(owed, [{"household": "H-1", "members": [{"id": "P-MOTHER"}], "incomes": [received]}], dt.date(2026, 6, 30))
    >>> owed[0].by, owed[0].computed_amount, owed[0].monthly_amount
    ('fact', 300.0, 200.0)
    """
    received: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for f in facts:
        living = {m["id"] for m in f["members"] if _alive(m, on)}
        received[f["household"]] = [i for i in _current(f["incomes"], on) if i["kind"] == "maintenance_received" and i["person"] in living]
    for o in obligations:
        items = received.get(o.dependant_household) or []
        named = [i for i in items if i.get("payer") == o.obligor]
        unnamed = [i for i in items if not i.get("payer")]
        used = named or unnamed
        if not used:
            continue
        recorded = _money(sum(i["amount"] for i in used))
        o.by, o.computed_amount, o.recorded_incomes = "fact", o.monthly_amount, sorted(i["id"] for i in used)
        why = (
            f"recorded maintenance from this obligor ({', '.join(o.recorded_incomes)}: {recorded:g})"
            if named
            else f"recorded maintenance with no payer named ({', '.join(o.recorded_incomes)}: {recorded:g}), taken as all the household receives"
        )
        o.rule = f"by fact: {why} used instead of the computed {o.rule}; counted once, as income"
        o.monthly_amount = recorded if named else 0.0
