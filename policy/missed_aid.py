"""Missed aid (应救尽救) and wrong aid (错保), read from the policy engine's evaluation.

The household rules read ``policy.means_test.evaluate`` for the region's policy file, so the audit
and ``explain`` can never disagree: maintenance by law and by fact, job-cost deductions, imputed
farm income, assets, rigid expenditure, 特困 person by person and 单人保 all count. Each finding
carries the explanation lines that decided it.

1. ``eligible_not_enrolled``: the evaluation says 特困 or 低保 (the household, a member who is
   特困 alone, or a member a 单人保 policy enrols alone) and there is no basic-living aid for them
   and none in the past; the finding names the programme of the tier (TEKUN for 特困).
2. ``aid_ended_reason_persists``: as 1, but basic-living aid they had has ended.
3. ``cliff_effect`` (陡坡效应): a 低保边缘 household with a severely disabled or seriously ill
   member, no basic-living aid and no special assistance, active or ended within 365 days.
4. ``unserved_need``: a need not closed that nobody serves: an open need with no service or aid
   record active on ``as_of``, or a need marked served with nothing linked to it at all.
5. ``wrongly_enrolled`` (错保, 应退未退): basic-living aid active while the evaluation puts the
   household above its line (not 特困 or 低保, no member 特困 or enrolled alone), unless the
   household rose through work within the gradual-exit window (``exit.gradual_exit_months`` since
   the earned income began, the income begun after the enrolment).
6. ``paid_after_death`` (死亡未销户): an aid record paying a person after their date of death (its
   period runs past it, or it is open and not ended), or a household's after every member died.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from policy.config import PolicyConfig, load_policy
from queries.findings import Finding, covers, finding_id, sort_findings
from queries.unserved_needs import unserved_needs

__all__ = ["household_findings", "missed_aid"]

RECENT_DAYS = 365
BASIC_PROGRAM = {"特困": "TEKUN", "低保": "DIBAO"}


def _in_force(r: dict[str, Any], day: dt.date) -> bool:
    return r.get("status") not in ("ended", "suspended") and covers(r.get("start"), r.get("end"), day)


def _months_between(start: str, day: dt.date) -> int:
    s = dt.date.fromisoformat(start)
    return (day.year - s.year) * 12 + day.month - s.month - (day.day < s.day)


def explanation_lines(d: Any) -> list[str]:
    """What the evaluation of a household rests on, a line each (the finding's ``evidence.explanation``).

    Examples
    --------
    >>> from policy.config import load_policy
    >>> from policy.means_test import evaluate
    >>> from queries.examples import DAY, two_cases
    >>> explanation_lines(evaluate(two_cases(), load_policy(), as_of=DAY, household_ids=["H-420203-0001"]).households[0])[0]
    'tier 防止返贫监测: per-capita income 1000 below 2 x the standard = 1332'
    """
    lines = [f"tier {d.tier or 'none'}: {d.rule}"]
    lines.append(
        f"income: own {d.own_income:g} - job costs {d.deductions:g} + imputed {d.imputed_income:g} + maintenance by law "
        f"{d.maintenance_due:g} = {d.counted_income:g}"
        + (f" - rigid expenditure {d.rigid_expenditure_deducted:g}" if d.rigid_expenditure_deducted else "")
        + f"; {d.members} member(s): {d.per_capita_income:g} per person; standard {d.standard:g}"
    )
    lines += [f"obligor {o['obligor']} ({o['kind']}, by {o.get('by', 'law')}): {o['rule']}" for o in d.explanation.get("obligors", [])]
    lines += [f"assets over limits: {x}" for x in d.assets_over_limit]
    lines += [f"特困 alone: {t['person']}: {t['rule']} = {t['amount']:g}" for t in d.tekun_members]
    lines += [f"{t['rule']} for {t['person']} = {t['amount']:g}" for t in d.single_person_dibao]
    return lines


def household_findings(evaluation: Any, policy: PolicyConfig) -> list[Finding]:
    """Rules 1-3, 5 and 6 on an evaluation (see the module docstring).

    Examples
    --------
    >>> from policy.config import load_policy
    >>> from policy.means_test import evaluate
    >>> from queries.examples import DAY, two_cases
    >>> [(f.kind, f.programs) for f in household_findings(evaluate(two_cases(), load_policy(), as_of=DAY), load_policy())]
    [('wrongly_enrolled', ['DIBAO'])]
    """
    day = dt.date.fromisoformat(evaluation.as_of)
    findings = [f for d in evaluation.households for f in _household(d, policy, day)]
    return sort_findings(findings)


def _household(d: Any, policy: PolicyConfig, day: dt.date) -> list[Finding]:
    """The findings of one household's decision."""
    as_of = day.isoformat()
    recent = (day - dt.timedelta(days=RECENT_DAYS)).isoformat()
    findings: list[Finding] = []
    records = sorted(d.aid_records, key=lambda r: (r["id"], r.get("person") or ""))
    living = [m["id"] for m in d.explanation.get("members", [])]
    basic = [r for r in records if r["kind"] == "basic_living"]
    active_basic = [r for r in basic if _in_force(r, day)]
    household_enrolled = any(r["person"] is None for r in active_basic)
    enrolled_people = {r["person"] for r in active_basic if r["person"]}
    why = explanation_lines(d)
    facts = {
        "tier": d.tier,
        "per_capita_income": d.per_capita_income,
        "standard": d.standard,
        "members": d.members,
        "explanation": why,
    }
    base = {"households": [d.household_id], "region_code": d.region_code}

    def missed(persons: list[str], program: str, amount: float, who: str) -> None:
        ended = [r for r in basic if not _in_force(r, day) and (r["person"] is None or r["person"] in persons or not persons)]
        kind = "aid_ended_reason_persists" if ended else "eligible_not_enrolled"
        rule = f"{who} qualifies for {program} by the means test and " + (
            "the basic-living aid they had has ended" if ended else "receives no basic-living aid"
        )
        findings.append(
            Finding(
                id=finding_id(kind, [d.household_id, *persons]),
                kind=kind,
                rule=rule,
                persons=persons,
                records=[r["id"] for r in ended],
                programs=[program],
                amount_at_stake=round(amount, 2),
                evidence=facts,
                **base,
            )
        )

    everyone = household_enrolled or (bool(living) and set(living) <= enrolled_people)
    if d.tier in BASIC_PROGRAM and not everyone:
        missed([], BASIC_PROGRAM[d.tier], d.benefit or 0.0, "the household")
    elif not household_enrolled:
        for t in d.tekun_members:
            if t["person"] not in enrolled_people:
                missed([t["person"]], "TEKUN", t["amount"], f"member {t['person']}, 特困 on their own,")
        for t in d.single_person_dibao:
            if t["person"] not in enrolled_people:
                missed([t["person"]], "DIBAO", t["amount"], f"member {t['person']}, 单人保,")

    if d.tier == "低保边缘" and d.vulnerable and not active_basic:
        special = [r for r in records if r["kind"] == "special" and (_in_force(r, day) or (r.get("end") or as_of) >= recent)]
        if not special:
            findings.append(
                Finding(
                    id=finding_id("cliff_effect", [d.household_id]),
                    kind="cliff_effect",
                    rule="marginal household (低保边缘) with a severely disabled or seriously ill member and no special assistance",
                    persons=d.vulnerable,
                    records=[],
                    programs=[],
                    evidence=facts,
                    **base,
                )
            )

    entitled = {t["person"] for t in d.tekun_members} | {t["person"] for t in d.single_person_dibao}
    wrong = [
        r
        for r in active_basic
        if living
        and d.tier not in BASIC_PROGRAM
        and not (r["person"] and r["person"] in entitled)
        and (r["person"] is None or r["person"] in living)
    ]
    if wrong:
        exiting = (
            d.earned_income_since is not None
            and d.enrolled_since is not None
            and d.earned_income_since > d.enrolled_since
            and _months_between(d.earned_income_since, day) < policy.exit.gradual_exit_months
        )
        if not exiting:
            findings.append(
                Finding(
                    id=finding_id("wrongly_enrolled", [d.household_id, *(r["id"] for r in wrong)]),
                    kind="wrongly_enrolled",
                    rule="basic-living aid active while the means test puts the household above its line, beyond any gradual exit",
                    persons=sorted({r["person"] for r in wrong if r["person"]}),
                    records=[r["id"] for r in wrong],
                    programs=sorted({r["program"] for r in wrong}),
                    amount_at_stake=round(sum(r.get("amount") or 0 for r in wrong), 2),
                    evidence=facts,
                    **base,
                )
            )

    died = {x["id"]: x["on"] for x in d.deceased if x["on"] <= as_of}
    all_dead = bool(d.deceased) and not living
    for r in records:
        death = died.get(r["person"]) if r["person"] else (max(died.values()) if all_dead and died else None)
        if death is None or (r.get("start") or "") > as_of:
            continue
        if (r.get("end") and r["end"] > death) or (not r.get("end") and r.get("status") not in ("ended", "suspended")):
            findings.append(
                Finding(
                    id=finding_id("paid_after_death", [r["id"]]),
                    kind="paid_after_death",
                    rule="aid paid after the beneficiary's death (死亡未销户)",
                    persons=[r["person"]] if r["person"] else [x for x in died],
                    records=[r["id"]],
                    programs=[r["program"]],
                    amount_at_stake=round(r.get("amount") or 0, 2),
                    evidence={"died_on": death, "period_start": r.get("start"), "period_end": r.get("end"), "status": r.get("status")},
                    **base,
                )
            )
    return findings


def missed_aid(store: Any, *, as_of: dt.date | None = None, policy: PolicyConfig | None = None, evaluation: Any = None) -> list[Finding]:
    """Every missed-aid and wrong-aid finding on ``store`` as of a day (default today), by ``policy``
    (default: the shipped one), in a stable order; an ``evaluation`` already made is reused.

    Examples
    --------
    >>> from graph.stores.ladybug import LadybugStore
    >>> missed_aid(LadybugStore.in_memory(), as_of=dt.date(2026, 6, 30))
    []
    """
    from policy.means_test import evaluate_in_parts

    day = as_of or dt.date.today()
    rules = policy or load_policy()
    if evaluation is not None:
        households = household_findings(evaluation, rules)
    else:  # a part at a time: a whole store's decisions are not all kept
        households = [f for part in evaluate_in_parts(store, rules, as_of=day) for f in household_findings(part, rules)]
    return sort_findings([*households, *unserved_needs(store, as_of=day.isoformat())])
