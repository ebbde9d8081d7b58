"""Missed aid (应救尽救): families that qualify by the data AidGraph holds and get nothing.

Four rules on a minimal means test (the policy engine issue replaces it with the configurable
one: maintenance from obligors, deductions, assets and rigid expenditure are not counted here):
per-capita monthly income of the living members, from the income items current on ``as_of``,
against the local 低保 standard (urban 814, rural 666 by default: DOMAIN.md's district).

1. ``eligible_not_enrolled``: below the standard, no active basic-living aid (低保 for the
   household, or 特困 for every member), and no such aid in the past.
2. ``aid_ended_reason_persists``: below the standard, no active basic-living aid, and such aid
   that has ended (reported as this kind, not as 1).
3. ``cliff_effect`` (陡坡效应): a marginal household (standard <= income < 1.5 x standard) with a
   severely disabled (grade 1-2) or seriously ill member, and no special assistance to the
   household or any member, active or ended within the last 365 days.
4. ``unserved_need``: a need not closed that nobody serves: an open need with no service or aid
   record active on ``as_of``, or a need marked served with nothing linked to it at all.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from graph.model import NodeKind, RelKind
from queries._nx import aid_record_row, inc, nodes_of, out
from queries.findings import Finding, covers, finding_id, need_is_unserved, sort_findings
from queries.registry import question

__all__ = ["HOUSEHOLD_FACTS_CYPHER", "UNSERVED_NEEDS_CYPHER", "MinimalPolicy", "missed_aid"]


class MinimalPolicy(BaseModel):
    """The few parameters the minimal means test needs (yuan per person per month)."""

    standard_urban: float = 814
    standard_rural: float = 666
    standard_base: float = 740  # where a household says neither
    marginal_multiple: float = 1.5
    recent_days: int = 365

    def standard(self, urban_rural: str | None) -> float:
        return {"urban": self.standard_urban, "rural": self.standard_rural}.get(urban_rural or "", self.standard_base)


# Only what the rules read is gathered. Households: those that can hold a finding, with some member
# living on ``as_of`` and a monthly income below the standard for that many people, or below the
# marginal line (1.5 x) with a living member severely disabled or seriously ill (at 100k people,
# 4,936 of 33,333). The margin of one fen per person keeps a household on a line in (the engines
# add floating amounts in different orders); the rules themselves decide in Python, on both
# engines alike. Records: the active basic-living ones of a household enrolled in it, every
# basic-living one of a household not (its ended aid is the finding's evidence), and the special
# ones active or ended since ``recent``; a payment ledger's past months of an enrolled household
# are not read.
HOUSEHOLD_FACTS_CYPHER = """
MATCH (h:Household)
WITH h, [(p:Person)-[:MEMBER_OF]->(h) | p] AS people
WITH h, people, [p IN people WHERE p.deceased_on IS NULL OR p.deceased_on > $as_of] AS living
WHERE size(living) > 0
WITH h, people, living,
  CASE h.urban_rural WHEN 'urban' THEN $policy.standard_urban WHEN 'rural' THEN $policy.standard_rural
    ELSE $policy.standard_base END AS standard,
  [(i:Income)<-[:HAS_INCOME]-(:Person)-[:MEMBER_OF]->(h) | {amount: i.monthly_amount, start: i.period_start, end: i.period_end}]
    AS incomes
WITH h, people, living, standard, incomes,
  reduce(s = 0.0, i IN incomes | s + CASE WHEN coalesce(i.start, '0000-01-01') <= $as_of <= coalesce(i.end, '9999-12-31')
    THEN i.amount ELSE 0 END) / size(living) AS per_capita
WHERE per_capita < standard + 0.01
   OR (per_capita < $policy.marginal_multiple * standard + 0.01
       AND any(p IN living WHERE p.disability_grade IN [1, 2] OR p.major_illness = true))
WITH h, people, living, incomes,
  [(g:Program)<-[:PAID_BY]-(r:AidRecord)<-[:RECEIVES]-(h) WHERE g.kind IN ['basic_living', 'special'] |
      {r: r, program: g.program_code, kind: g.kind, person: null}]
  + [(g:Program)<-[:PAID_BY]-(r:AidRecord)<-[:RECEIVES]-(p:Person)-[:MEMBER_OF]->(h) WHERE g.kind IN ['basic_living', 'special'] |
      {r: r, program: g.program_code, kind: g.kind, person: p.id_number}] AS found
WITH h, people, living, incomes, found,
  [x IN found WHERE x.kind = 'basic_living' AND NOT coalesce(x.r.status, '') IN ['ended', 'suspended']
     AND coalesce(x.r.period_start, '0000-01-01') <= $as_of <= coalesce(x.r.period_end, '9999-12-31')] AS active_basic
WITH h, people, incomes, found, active_basic,
  any(x IN active_basic WHERE x.person IS NULL)
  OR all(m IN living WHERE any(x IN active_basic WHERE x.person = m.id_number)) AS enrolled
RETURN h.household_id AS household, h.region_code AS region, h.urban_rural AS urban_rural,
  [p IN people | {id: p.id_number, disability: p.disability_grade, major: p.major_illness, deceased: p.deceased_on}] AS members,
  incomes,
  [x IN (CASE WHEN enrolled THEN active_basic ELSE [x IN found WHERE x.kind = 'basic_living'] END)
        + [x IN found WHERE x.kind = 'special' AND coalesce(x.r.period_end, $as_of) >= $recent] |
     {id: x.r.record_id, program: x.program, kind: x.kind, start: x.r.period_start, end: x.r.period_end, status: x.r.status,
      person: x.person}] AS records
"""


def _active(r: dict[str, Any], as_of: dt.date) -> bool:
    return _in_force(r.get("status"), r["start"], r["end"], as_of)


def _in_force(status: str | None, start: str | None, end: str | None, day: dt.date) -> bool:
    return status not in ("ended", "suspended") and covers(start, end, day)


def _recent_since(day: dt.date, recent_days: int) -> str:
    # An as-of day in the first weeks of year 1 has no "recent" window before it.
    return (day - dt.timedelta(days=min(recent_days, (day - dt.date.min).days))).isoformat()


def _enrolled(active_basic: list[dict[str, Any]], living_ids: set[str]) -> bool:
    """Basic-living aid to the household, or to every living member."""
    return any(r["person"] is None for r in active_basic) or living_ids <= {r["person"] for r in active_basic}


def _household_findings(rows: list[dict[str, Any]], as_of: str, policy: dict[str, Any] | None = None, **_: Any) -> list[Finding]:
    rules = MinimalPolicy(**(policy or {}))
    day = dt.date.fromisoformat(as_of)
    recent = _recent_since(day, rules.recent_days)
    findings = []
    for row in rows:
        living = [m for m in row["members"] if not m.get("deceased") or m["deceased"] > as_of]
        if not living:
            continue
        income = sum(i["amount"] for i in row["incomes"] if covers(i["start"], i["end"], day))
        per_capita = income / len(living)
        standard = rules.standard(row["urban_rural"])
        records = sorted(row["records"], key=lambda r: r["id"])
        basic = [r for r in records if r["kind"] == "basic_living"]
        active_basic = [r for r in basic if _active(r, day)]
        enrolled = _enrolled(active_basic, {m["id"] for m in living})
        facts = {"per_capita_income": round(per_capita, 2), "standard": standard, "members": len(living), "monthly_income": income}
        base = {"persons": [], "households": [row["household"]], "region_code": row["region"]}
        if per_capita < standard and not enrolled:
            ended = [r for r in basic if not _active(r, day)]
            kind = "aid_ended_reason_persists" if ended else "eligible_not_enrolled"
            rule = (
                "basic-living aid ended while per-capita income is still below the standard"
                if ended
                else "per-capita income below the 低保 standard and no basic-living aid"
            )
            findings.append(
                Finding(
                    id=finding_id(kind, [row["household"]]),
                    kind=kind,
                    rule=rule,
                    records=[r["id"] for r in ended],
                    programs=sorted({r["program"] for r in ended}) or ["DIBAO"],
                    amount_at_stake=round((standard - per_capita) * len(living), 2),
                    evidence=facts,
                    **base,
                )
            )
            continue
        vulnerable = sorted(m["id"] for m in living if m.get("disability") in (1, 2) or m.get("major"))
        if vulnerable and standard <= per_capita < rules.marginal_multiple * standard:
            special = [r for r in records if r["kind"] == "special" and (_active(r, day) or (r["end"] or as_of) >= recent)]
            if not special:
                findings.append(
                    Finding(
                        id=finding_id("cliff_effect", [row["household"]]),
                        kind="cliff_effect",
                        rule="marginal household (1 to 1.5 x the standard) with a severely disabled or seriously ill member and no special assistance",
                        records=[],
                        programs=[],
                        amount_at_stake=0.0,
                        evidence=facts,
                        **{**base, "persons": vulnerable},
                    )
                )
    return sort_findings(findings)


def _with_policy(params: dict[str, Any]) -> dict[str, Any]:
    """The Cypher compares with the standards itself: it gets the whole policy, defaults included,
    and the start of the recent window."""
    rules = MinimalPolicy(**(params.get("policy") or {}))
    recent = _recent_since(dt.date.fromisoformat(params["as_of"]), rules.recent_days)
    return {**params, "policy": rules.model_dump(), "recent": recent}


@question("missed_households", cypher=HOUSEHOLD_FACTS_CYPHER, from_records=_household_findings, cypher_params=_with_policy)
def missed_households(G: Any, as_of: str, policy: dict[str, Any] | None = None) -> list[Finding]:
    """Rules 1-3 on networkx (see the module docstring), gathering what the Cypher gathers."""
    rules = MinimalPolicy(**(policy or {}))
    day = dt.date.fromisoformat(as_of)
    recent = _recent_since(day, rules.recent_days)
    node = G._node
    rows = []
    for h, props in nodes_of(G, NodeKind.HOUSEHOLD):
        members = inc(G, h, RelKind.MEMBER_OF)
        living = [m for m in members if not node[m].get("deceased_on") or node[m]["deceased_on"] > as_of]
        if not living:
            continue
        incomes = [node[i] for m in members for i in out(G, m, RelKind.HAS_INCOME)]
        current = sum(i["monthly_amount"] for i in incomes if covers(i.get("period_start"), i.get("period_end"), day))
        per_capita, standard = current / len(living), rules.standard(props.get("urban_rural"))
        if per_capita >= standard + 0.01 and (
            per_capita >= rules.marginal_multiple * standard + 0.01
            or not any(node[m].get("disability_grade") in (1, 2) or node[m].get("major_illness") for m in living)
        ):
            continue
        rows.append(
            {
                "household": props["household_id"],
                "region": props.get("region_code"),
                "urban_rural": props.get("urban_rural"),
                "members": [
                    {
                        "id": node[m]["id_number"],
                        "disability": node[m].get("disability_grade"),
                        "major": node[m].get("major_illness"),
                        "deceased": node[m].get("deceased_on"),
                    }
                    for m in members
                ],
                "incomes": [{"amount": i["monthly_amount"], "start": i.get("period_start"), "end": i.get("period_end")} for i in incomes],
                "records": _records_read(G, h, members, {node[m]["id_number"] for m in living}, day, recent),
            }
        )
    return _household_findings(rows, as_of, policy)


def _records_read(G: Any, h: str, members: list[str], living_ids: set[str], day: dt.date, recent: str) -> list[dict[str, Any]]:
    """The aid records of household ``h`` and its ``members`` that the rules read (as the Cypher gathers them)."""
    node = G._node
    basic: list[tuple[str, str, str | None]] = []  # (record, programme, person): rows made only for what is kept
    special: list[tuple[str, str, str | None]] = []
    for b in (h, *members):
        person = None if b == h else node[b]["id_number"]
        for r in out(G, b, RelKind.RECEIVES):
            for g in out(G, r, RelKind.PAID_BY):
                kind = node[g]["kind"]
                if kind == "basic_living":
                    basic.append((r, g, person))
                elif kind == "special":
                    special.append((r, g, person))

    active_basic = [
        aid_record_row(G, *t)
        for t in basic
        if _in_force(node[t[0]].get("status"), node[t[0]].get("period_start"), node[t[0]].get("period_end"), day)
    ]
    chosen = active_basic if _enrolled(active_basic, living_ids) else [aid_record_row(G, *t) for t in basic]
    today = day.isoformat()
    return chosen + [aid_record_row(G, *t) for t in special if (node[t[0]].get("period_end") or today) >= recent]


UNSERVED_NEEDS_CYPHER = """
MATCH (h:Household)-[:HAS_NEED]->(n:Need)
WHERE coalesce(n.status, 'open') <> 'closed'
RETURN n.need_id AS need, n.status AS status, n.category AS category, n.urgency AS urgency, n.raised_on AS raised_on,
       n.person_ref AS person, h.household_id AS household, h.region_code AS region,
       [(x)-[:FOR_NEED]->(n) WHERE x:Service OR x:AidRecord |
          {start: coalesce(x.start, x.period_start), end: coalesce(x.end, x.period_end)}] AS links
"""


def _need_findings(rows: list[dict[str, Any]], as_of: str, **_: Any) -> list[Finding]:
    day = dt.date.fromisoformat(as_of)
    findings = []
    for row in rows:
        if not need_is_unserved(row["status"], [(link["start"], link["end"]) for link in row["links"]], day):
            continue
        findings.append(
            Finding(
                id=finding_id("unserved_need", [row["need"]]),
                kind="unserved_need",
                rule="a need that is not closed and that no service or aid record serves",
                persons=[row["person"]] if row["person"] else [],
                households=[row["household"]],
                records=[],
                needs=[row["need"]],
                region_code=row["region"],
                evidence={
                    "category": row["category"],
                    "urgency": row["urgency"],
                    "raised_on": row["raised_on"],
                    "status": row["status"] or "open",
                    "links": len(row["links"]),
                },
            )
        )
    return sort_findings(findings)


@question("missed_unserved_needs", cypher=UNSERVED_NEEDS_CYPHER, from_records=_need_findings)
def unserved_needs(G: Any, as_of: str) -> list[Finding]:
    """Rule 4 on networkx."""
    rows = []
    for n, need in nodes_of(G, NodeKind.NEED):
        if (need.get("status") or "open") == "closed":
            continue
        links = []
        for x in inc(G, n, RelKind.FOR_NEED):
            p = G._node[x]
            links.append({"start": p.get("start", p.get("period_start")), "end": p.get("end", p.get("period_end"))})
        for h in inc(G, n, RelKind.HAS_NEED):
            rows.append(
                {
                    "need": need["need_id"],
                    "status": need.get("status"),
                    "category": need["category"],
                    "urgency": need["urgency"],
                    "raised_on": need["raised_on"],
                    "person": need.get("person_ref"),
                    "household": G._node[h]["household_id"],
                    "region": G._node[h].get("region_code"),
                    "links": links,
                }
            )
    return _need_findings(rows, as_of)


def missed_aid(store: Any, *, as_of: dt.date | None = None, policy: MinimalPolicy | None = None) -> list[Finding]:
    """Every missed-aid finding on ``store`` as of a day (default today), in a stable order.

    Examples
    --------
    >>> from graph.stores.embedded import EmbeddedStore
    >>> missed_aid(EmbeddedStore.in_memory(), as_of=dt.date(2026, 6, 30))
    []
    """
    day = (as_of or dt.date.today()).isoformat()
    rules = (policy or MinimalPolicy()).model_dump()
    return sort_findings([*store.run("missed_households", as_of=day, policy=rules), *store.run("missed_unserved_needs", as_of=day)])
