"""Means test, maintenance obligations and tiers (分层), by a region's configured policy.

Two questions gather the facts on either engine: ``means_facts`` (per household: members,
incomes, assets, aid records) and ``kin_links`` (KIN relationships with both ends' household,
birth and incomes). Everything else is plain Python on those rows, the same for both engines:

- **obligations** (赡养 support of parents / 抚养 raising of children / 扶养 between spouses):
  adult children owe parents aged 60+ or without labour capacity; parents owe minor children;
  spouses owe each other, whenever the two live in different households (in one household the
  income is counted together anyway). Where no child can pay (none alive, or none with capacity),
  adult grandchildren owe the grandparent; where no parent can pay a minor, grandparents and adult
  siblings do. What an obligor owes: ``max(0, obligor household per-capita income - k x their
  standard) x share`` a month (``policy.maintenance``), once per dependant household;
- **means test**: current income of the living members, minus exempt kinds and job costs, plus
  imputed farm income (where none is recorded) and maintenance due, per member, against the
  standards; assets against the limits; rigid expenditure (刚性支出) per member by condition;
- **tier**: 特困 (one person, no labour capacity, no income, no obligor able to pay), 低保 (below
  the standard, assets within limits), 低保边缘 (below the marginal multiple), 刚性支出困难 (below
  the standard once rigid expenditure is paid), 防止返贫监测 (below the watch multiple), 其他
  (emergency aid active), or none; each with its explanation (members, items, obligors, thresholds);
- **benefit** for 低保 and 特困: the gap to the standard of each member times the member's
  identity coefficient (分类施保).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterator
from operator import attrgetter, itemgetter
from typing import Any

from networkx.utils import UnionFind
from pydantic import BaseModel

from graph.store import bulk_load
from policy.config import PolicyConfig
from policy.hardship import _hardship
from policy.income import ELDERLY, _alive, _current, _money, _own_income
from policy.obligations import Obligation, by_fact, derive_obligations
from policy.tiers import _child_in_difficulty, _kin_map, _tekun_members, member_categories
from queries.findings import age_on, covers
from queries.means_facts import _sorted_kin, household_order, kin_links, means_facts
from queries.regions import region_tree

__all__ = ["Evaluation", "TierDecision", "evaluate", "evaluate_in_parts", "household_slices", "means_test"]


#: The classes of aid a household receives or needs, named as the tier decision lists them.
_CLASS_OF_PROGRAM_KIND = {"basic_living": "basic living", "emergency": "temporary"}
_CLASS_OF_NEED = {
    "medical": "medical",
    "schooling": "education",
    "housing": "housing",
    "employment": "employment",
    "disaster": "disaster",
    "care": "services",
    "psychological": "services",
    "visits": "services",
}


class TierDecision(BaseModel):
    household_id: str
    region_code: str | None
    tier: str | None
    rule: str  # the rule that decided, in words
    classes: list[str]  # 分类: kinds of need
    members: int
    standard: float
    thresholds: dict[str, float]
    own_income: float
    deductions: float
    imputed_income: float
    maintenance_due: float
    counted_income: float
    per_capita_income: float
    rigid_expenditure: float
    assets_over_limit: list[str]
    benefit: float | None  # 低保/特困 monthly amount, yuan
    rigid_expenditure_deducted: float = 0.0  # 支出型贫困: taken off income before the test
    tekun_members: list[dict[str, Any]] = []  # members who are 特困 on their own, in a household that is not
    single_person_dibao: list[dict[str, Any]] = []  # 单人保: members of a marginal household enrolled alone
    aid_records: list[dict[str, Any]] = []  # the household's and its members' aid records (the audit reads them)
    deceased: list[dict[str, Any]] = []  # members with a date of death: {id, on}
    vulnerable: list[str] = []  # living members severely disabled or seriously ill
    eligible_programs: list[str]  # the policy's programmes whose tiers include this one
    enrolled_since: str | None  # start of the active basic-living aid (低保/特困), if any
    earned_income_since: str | None  # start of the latest current earned income
    review_basis: str  # no_labour_capacity, stable_income or unstable_income: the review cadence
    hardship: dict[str, float]  # the early-warning dimensions (0..1) and their weighted "index"
    facts: list[str]  # what the decision rests on, a line each: members, incomes, assets, active aid
    explanation: dict[str, Any]


class Evaluation(BaseModel):
    as_of: str
    policy: str
    households: list[TierDecision]
    obligations: list[Obligation]


def means_test(
    fact: dict[str, Any], owed: list[Obligation], policy: PolicyConfig, on: dt.date, kin: dict[str, dict[str, Any]] | None = None
) -> TierDecision:
    """The tier of one household (its facts as ``means_facts`` gives them), with the explanation.

    ``kin``: each member's relatives (``_kin_map``), for the 特困 test of obligors in the household
    and the 困境儿童 category.

    Examples
    --------
    >>> from policy.config import load_policy
    >>> from queries.examples import DAY, two_cases
    >>> from queries.means_facts import means_facts
    >>> [fact] = means_facts(two_cases(), household_ids=["H-420203-0001"])
    >>> decision = means_test(fact, [], load_policy(), DAY)  # (1,800 + 1,200) / 3 = 1,000 a head; rural standard 666
    >>> decision.tier, decision.per_capita_income, decision.thresholds["watch"]
    ('防止返贫监测', 1000.0, 1332.0)
    """
    living = [m for m in fact["members"] if _alive(m, on)]
    n = max(len(living), 1)
    own = _own_income(fact, policy, on)
    # Maintenance by law only: maintenance by fact is a recorded income, counted already.
    maintenance = _money(sum(o.monthly_amount for o in owed if o.by == "law"))
    counted = _money(own["counted"] + maintenance)
    thresholds = policy.thresholds(fact.get("urban_rural"))
    standard = thresholds["standard"]

    # Assets against the limits.
    over = []
    if policy.assets.deposit_months is not None:
        deposits = sum(a.get("value") or a.get("quantity") or 0 for a in fact["assets"] if a["kind"] == "deposit")
        limit = policy.assets.deposit_months * standard * n
        if deposits > limit:
            over.append(f"deposits {deposits:g} > {policy.assets.deposit_months:g} months x {standard:g} x {n} = {limit:g}")
    for kind, most in sorted(policy.assets.max_units.items()):
        units = sum(a.get("quantity") or 0 for a in fact["assets"] if a["kind"] == kind)
        if units > most:
            over.append(f"{kind}: {units:g} > {most:g}")

    # Rigid expenditure, per member by condition; the deducted conditions come off income first.
    rigid_rules = policy.rigid_expenditure
    rigid_items = []
    for m in living:
        for condition, key, amount, applies in (
            ("major illness", "major_illness", rigid_rules.major_illness, bool(m.get("major"))),
            ("severe disability", "severe_disability", rigid_rules.severe_disability, m.get("disability") in (1, 2)),
            ("student", "student", rigid_rules.student, m.get("employment") == "student"),
        ):
            if applies and amount:
                rigid_items.append({"person": m["id"], "condition": condition, "amount": amount, "deducted": key in rigid_rules.deducted})
    rigid = _money(sum(i["amount"] for i in rigid_items))
    rigid_deducted = _money(sum(i["amount"] for i in rigid_items if i["deducted"]))
    tested = _money(max(0.0, counted - rigid_deducted))
    per_capita = _money(tested / n)
    after_deduction = f" after deducting rigid expenditure of {rigid_deducted:g}" if rigid_deducted else ""

    active = [r for r in fact["records"] if r.get("status") not in ("ended", "suspended") and covers(r.get("start"), r.get("end"), on)]
    ages = {m["id"]: age_on(m.get("birth"), on) for m in living}
    tekun = _tekun_members(living, ages, owed, own, kin or {}, policy, standard, over)
    if not living:
        tier, rule = None, "no living member"
    elif tekun and len(tekun) == len(living):
        who = "the one member" if len(living) == 1 else f"each of the {len(living)} members"
        tier, rule = "特困", f"{who}: without labour capacity, income below the standard {standard:g}, no obligor able to support them"
    elif per_capita < standard and not over:
        tier, rule = "低保", f"per-capita income {per_capita:g}{after_deduction} below the standard {standard:g}, assets within limits"
    elif per_capita < thresholds["marginal"] and not over:
        tier, rule = (
            "低保边缘",
            f"per-capita income {per_capita:g}{after_deduction} below {policy.multiples.marginal:g} x the standard = {thresholds['marginal']:g}",
        )
    elif rigid and (counted - rigid) / n < standard:
        tier, rule = (
            "刚性支出困难",
            f"after rigid expenditure of {rigid:g}, per-capita income {_money((counted - rigid) / n):g} is below the standard {standard:g}",
        )
    elif per_capita < thresholds["watch"]:
        tier, rule = (
            "防止返贫监测",
            f"per-capita income {per_capita:g} below {policy.multiples.watch:g} x the standard = {thresholds['watch']:g}",
        )
    elif any(r["kind"] == "emergency" for r in active):
        tier, rule = "其他", "emergency aid (急难) active"
    else:
        tier, rule = (
            None,
            f"per-capita income {per_capita:g} at or above {policy.multiples.watch:g} x the standard = {thresholds['watch']:g}"
            + (f"; assets over limits: {'; '.join(over)}" if over else ""),
        )
    if over and tier == "防止返贫监测" and per_capita < thresholds["marginal"]:
        rule += f" (income alone would qualify; assets over limits: {'; '.join(over)})"

    categories = {
        m["id"]: member_categories(m, on, traditional=m["id"] in tekun, in_difficulty=_child_in_difficulty(m, ages, kin or {}))
        for m in living
    }
    benefit = None
    benefit_lines = []
    if tier == "特困":
        for m in living:
            benefit_lines.append(tekun[m["id"]])
        benefit = _money(sum(x["amount"] for x in benefit_lines))
    elif tier == "低保":
        gap = max(0.0, standard - per_capita)
        total = 0.0
        for m in living:
            coefficient = policy.coefficient(categories[m["id"]])
            total += gap * coefficient
            benefit_lines.append(
                {
                    "person": m["id"],
                    "gap": _money(gap),
                    "categories": categories[m["id"]],
                    "coefficient": coefficient,
                    "amount": _money(gap * coefficient),
                }
            )
        benefit = _money(total)
    # 单人保: a severely disabled or seriously ill member of a marginal household, enrolled alone.
    single = []
    if tier == "低保边缘" and policy.dibao.single_person:
        for m in living:
            if m.get("disability") in (1, 2) or m.get("major"):
                own_items = _money(sum(i["amount"] for i in own["items"] if i["person"] == m["id"] and i["counted"]))
                coefficient = policy.coefficient(categories[m["id"]])
                single.append(
                    {
                        "person": m["id"],
                        "own_income": own_items,
                        "coefficient": coefficient,
                        "amount": _money(max(0.0, standard - own_items) * coefficient),
                        "rule": f"单人保: max(0, {standard:g} - own income {own_items:g}) x {coefficient:g}",
                    }
                )
    individual_tekun = [] if tier == "特困" else [tekun[k] for k in sorted(tekun)]

    classes = sorted(
        {_CLASS_OF_PROGRAM_KIND[r["kind"]] for r in active if r["kind"] in _CLASS_OF_PROGRAM_KIND}
        | {_CLASS_OF_NEED.get(x["category"], "services") for x in fact["needs"] if (x.get("status") or "open") != "closed"}
        | ({"basic living"} if tier in ("特困", "低保") else set())
    )
    explanation = {
        "members": [
            {
                "id": m["id"],
                "name": m.get("name"),
                "relation": m.get("relation"),
                "age": age_on(m.get("birth"), on),
                "labour": m.get("labour"),
                "categories": categories[m["id"]],
            }
            for m in living
        ],
        "income_items": own["items"],
        "job_cost_deductions": own["deductions"],
        "imputed_income": own["imputed"],
        "obligors": [o.model_dump() for o in owed],
        "rigid_expenditure": rigid_items,
        "thresholds": thresholds,
        "benefit": benefit_lines,
        "rigid_expenditure_deducted": rigid_deducted,
        "tekun_members": individual_tekun,
        "single_person_dibao": single,
        "policy": policy.name,
    }
    enrolled_since = min((r["start"] for r in active if r["kind"] == "basic_living" and r.get("start")), default=None)
    earned = [
        i for i in _current(fact["incomes"], on) if i["kind"] in policy.income.earned_kinds and i["person"] in {m["id"] for m in living}
    ]
    earned_since = max((i["start"] for i in earned if i.get("start")), default=None)

    def dependent_by_nature(m: dict[str, Any]) -> bool:
        age = ages[m["id"]]
        return m.get("labour") == "none" or m.get("disability") in (1, 2) or (age is not None and (age < 16 or age >= ELDERLY))

    if all(dependent_by_nature(m) for m in living):
        review_basis = "no_labour_capacity"
    elif any(i["kind"] in policy.review.unstable_kinds and i["counted"] for i in own["items"]):
        review_basis = "unstable_income"
    else:
        review_basis = "stable_income"
    hardship = _hardship(fact, living, ages, own, per_capita, thresholds, rigid, counted, policy, on)
    fact_lines = [
        f"member {m['id']} {m.get('relation') or ''} born {m.get('birth') or '?'} labour {m.get('labour') or '?'}"
        + (f" disability {m['disability']}" if m.get("disability") else "")
        + (" major illness" if m.get("major") else "")
        for m in living
    ]
    fact_lines += [f"deceased {m['id']} on {m['deceased']}" for m in fact["members"] if not _alive(m, on)]
    fact_lines += [f"income {i['id']} {i['person']} {i['kind']} {i['amount']:g}" for i in own["items"]]
    fact_lines += [f"asset {a['id']} {a['kind']} x{a['quantity']:g}" for a in fact["assets"]]
    fact_lines += [f"aid {r['id']} {r['program']} since {r.get('start')}" for r in active]
    # Built unvalidated: every value above already has its field's type (a test validates decisions
    # again and finds them unchanged), and validating copied each household's aid records, much
    # of a whole store's evaluation memory (docs/performance.md).
    return TierDecision.model_construct(
        household_id=fact["household"],
        region_code=fact.get("region"),
        tier=tier,
        rule=rule,
        classes=classes,
        members=len(living),
        standard=standard,
        thresholds=thresholds,
        own_income=own["own"],
        deductions=_money(sum(own["deductions"].values())),
        imputed_income=_money(sum(x["amount"] for x in own["imputed"])),
        maintenance_due=maintenance,
        counted_income=counted,
        per_capita_income=per_capita,
        rigid_expenditure=rigid,
        assets_over_limit=over,
        benefit=benefit,
        rigid_expenditure_deducted=rigid_deducted,
        tekun_members=individual_tekun,
        single_person_dibao=single,
        aid_records=fact["records"],
        deceased=[{"id": m["id"], "on": m["deceased"]} for m in fact["members"] if m.get("deceased")],
        vulnerable=sorted(m["id"] for m in living if m.get("disability") in (1, 2) or m.get("major")),
        eligible_programs=sorted(code for code, program in policy.programs.items() if tier in program.tiers),
        enrolled_since=enrolled_since,
        earned_income_since=earned_since,
        review_basis=review_basis,
        hardship=hardship,
        facts=fact_lines,
        explanation=explanation,
    )


#: Households whose facts a whole evaluation reads at a time (docs/performance.md).
SLICE = 50_000


def household_slices(ids: list[str], size: int | None = None) -> Iterator[tuple[str, str | None]]:
    """The ranges of household ids (``household_order``) that read ``size`` households each:
    from an id, up to the next range's first (None: to the end), for ``means_facts``. ``size``
    defaults to ``SLICE``.

    Examples
    --------
    >>> list(household_slices(["H-1", "H-2", "H-3"], size=2))
    [('H-1', 'H-3'), ('H-3', None)]
    """
    size = size or SLICE
    for start in range(0, len(ids), size):
        yield ids[start], ids[start + size] if start + size < len(ids) else None


def evaluate(
    store: Any, policy: PolicyConfig, *, as_of: dt.date | None = None, household_ids: list[str] | None = None, region: str | None = None
) -> Evaluation:
    """Obligations and tiers of every household (or of ``household_ids``, or of a ``region``).

    Examples
    --------
    >>> from graph.stores.ladybug import LadybugStore
    >>> from policy.config import load_policy
    >>> evaluate(LadybugStore.in_memory(), load_policy(), as_of=dt.date(2026, 6, 30)).households
    []
    """
    day = as_of or dt.date.today()
    if household_ids is not None:
        return _evaluate_households(store, policy, day, sorted(set(household_ids)))
    parts = list(evaluate_in_parts(store, policy, as_of=day, region=region))  # holds full collections off itself
    return Evaluation(
        as_of=day.isoformat(),
        policy=policy.name,
        households=sorted((d for part in parts for d in part.households), key=attrgetter("household_id")),
        obligations=sorted((o for part in parts for o in part.obligations), key=attrgetter("obligor", "dependant_household")),
    )


def evaluate_in_parts(
    store: Any, policy: PolicyConfig, *, as_of: dt.date | None = None, region: str | None = None, slice_size: int | None = None
) -> Iterator[Evaluation]:
    """The evaluation of every household (or a ``region``'s) as a stream of parts, each whole
    groups of households joined by kinship; together, the same decisions and obligations as
    ``evaluate`` (each part in household order). ``slice_size`` defaults to ``SLICE``.

    The rules read a household's relatives and their households' incomes (two steps out and more),
    so households are grouped by every KIN link (a person is a member of one household at most,
    ``graph.model.REL_UNIQUE_END``); facts are read ``slice_size`` households at a time in id order,
    and a group is evaluated once every household of it has been read. A consumer that keeps only what
    it needs (counts, findings) holds a slice of the store's facts at a time, not all of them.

    Examples
    --------
    >>> from policy.config import load_policy
    >>> from queries.examples import DAY, two_cases
    >>> [[d.household_id for d in part.households] for part in evaluate_in_parts(two_cases(), load_policy(), as_of=DAY, slice_size=1)]
    [['H-420106-0001'], ['H-420203-0001']]
    """
    # Kinship and a slice's facts and decisions are millions of objects (docs/performance.md).
    with bulk_load():
        yield from _parts(store, policy, as_of or dt.date.today(), region, slice_size or SLICE)


def _parts(store: Any, policy: PolicyConfig, day: dt.date, region: str | None, slice_size: int) -> Iterator[Evaluation]:
    kin = kin_links(store, person_ids=None)
    inside = region_tree(store).within(region)
    groups = UnionFind()
    for row in kin:
        groups.union(_node(row["src"]), _node(row["dst"]))
    ids = household_order(store)
    unread = Counter(groups[h] for h in ids)  # each group's households not read yet
    links: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in kin:
        links[groups[_node(row["src"])]].append(row)
    del kin
    read: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for start, upto in household_slices(ids, slice_size):
        for fact in means_facts(store, household_from=start, household_to=upto):
            group = groups[fact["household"]]
            read[group].append(fact)
            unread[group] -= 1  # a household written since the list was read: below zero, ready
        ready = [group for group in read if unread[group] <= 0]
        if ready:
            yield _evaluate_groups(ready, read, links, policy, day, inside)
    if read:  # groups of a household removed since the list was read
        yield _evaluate_groups(list(read), read, links, policy, day, inside)


def _node(end: dict[str, Any]) -> Any:
    """A KIN link's end as a group member: its household, or the person if they live in none."""
    return end["household"] or ("person", end["id"])


def _evaluate_groups(
    ready: list[Any],
    read: dict[Any, list[dict[str, Any]]],
    links: dict[Any, list[dict[str, Any]]],
    policy: PolicyConfig,
    day: dt.date,
    inside: Any,
) -> Evaluation:
    facts = sorted((fact for group in ready for fact in read.pop(group)), key=itemgetter("household"))
    kin = _sorted_kin(row for group in ready for row in links.pop(group, ()))
    return _decide(facts, [f for f in facts if inside(f.get("region"))], kin, policy, day)


def _evaluate_households(store: Any, policy: PolicyConfig, day: dt.date, household_ids: list[str]) -> Evaluation:
    targets = means_facts(store, household_ids=household_ids)
    members = sorted({m["id"] for f in targets for m in f["members"]})
    kin = kin_links(store, person_ids=members) if members else []
    # Two steps out: grandchildren of a grandparent, grandparents and siblings of a minor.
    second = sorted({e["id"] for row in kin for e in (row["src"], row["dst"])} - set(members))
    if second:
        known = {(r["src"]["id"], r["dst"]["id"], r["relation"]) for r in kin}
        kin = _sorted_kin(
            [
                *kin,
                *(r for r in kin_links(store, person_ids=second) if (r["src"]["id"], r["dst"]["id"], r["relation"]) not in known),
            ]
        )
    others = sorted({e["household"] for row in kin for e in (row["src"], row["dst"]) if e["household"]} - {f["household"] for f in targets})
    facts = targets + (means_facts(store, household_ids=others) if others else [])
    return _decide(facts, targets, kin, policy, day)


def _decide(
    facts: list[dict[str, Any]], targets: list[dict[str, Any]], kin: list[dict[str, Any]], policy: PolicyConfig, day: dt.date
) -> Evaluation:
    """The decisions of ``targets`` and the obligations owed to them, from ``facts`` and ``kin``
    (which hold every relative the rules read of them)."""
    obligations = derive_obligations(facts, kin, policy, day)
    by_fact(obligations, facts, day)
    owed_to: dict[str, list[Obligation]] = defaultdict(list)
    for o in obligations:
        owed_to[o.dependant_household].append(o)
    relatives = _kin_map(facts, kin)
    decisions = [means_test(f, owed_to[f["household"]], policy, day, relatives) for f in targets]
    wanted = {f["household"] for f in targets}
    return Evaluation(
        as_of=day.isoformat(),
        policy=policy.name,
        households=decisions,
        obligations=[o for o in obligations if o.dependant_household in wanted],
    )
