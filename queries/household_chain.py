"""The household chain (1个困难家庭+N类救助资源, 一户一条救助链): one household and every resource
that reaches it, over time, as rows and as a subgraph for the explorer.

Built on the registered ``household_view`` question (one Cypher for both engines), so it answers the
same on both engines. Adds what a caseworker reads the chain for:

- **obligors**: relatives outside the household who owe support, by a minimal rule until the policy
  engine lands (adult children of members aged 60+ or without labour capacity: 赡养; parents of
  minor members: 抚养; spouses: 扶养);
- **timeline**: every aid record in date order with its programme and department, so a referral
  from one department to another (civil affairs, then medical insurance) reads left to right;
- **referral level**: village window, township station or district centre (an urgent need nobody
  serves goes to the district centre; any other unserved need to the township station);
- an optional time window that keeps only the records, services and needs that overlap it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from queries.findings import FAR_FUTURE, age_on, covers, deceased_by, need_is_unserved, overlaps
from queries.household import HouseholdView, household_view

__all__ = ["REFERRAL_LEVELS", "ChainResult", "Obligor", "household_chain"]

REFERRAL_LEVELS = ("village_window", "township_station", "district_centre")


class Obligor(BaseModel):
    person: dict[str, Any]
    owes: str  # 赡养 support of parents / 抚养 raising of children / 扶养 between spouses
    dependant: str  # the member's ID number
    basis: str


class ChainResult(BaseModel):
    view: HouseholdView
    obligors: list[Obligor]
    timeline: list[dict[str, Any]]
    unserved_needs: list[str]
    referral_level: str
    referral_reason: str
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]


def _obligors(view: HouseholdView, on: dt.date) -> list[Obligor]:
    members = {m.person["id_number"]: m for m in view.members}
    found = []
    for r in view.relatives:
        member = members.get(r.of_member)
        if member is None:
            continue
        member_age = age_on(member.person.get("birth_date"), on)
        relative_age = age_on(r.person.get("birth_date"), on)
        if r.relative_is == "child" and (relative_age is None or relative_age >= 18):
            if (member_age is not None and member_age >= 60) or member.person.get("labour_capacity") == "none":
                found.append(
                    Obligor(person=r.person, owes="赡养", dependant=r.of_member, basis="adult child of a member aged 60+ or unable to work")
                )
        elif r.relative_is == "parent" and member_age is not None and member_age < 18:
            found.append(Obligor(person=r.person, owes="抚养", dependant=r.of_member, basis="parent of a minor member living elsewhere"))
        elif r.relative_is == "spouse":
            found.append(Obligor(person=r.person, owes="扶养", dependant=r.of_member, basis="spouse living elsewhere"))
    return sorted(found, key=lambda o: (o.dependant, o.owes, o.person["id_number"]))


def _window(view: HouseholdView, start: str, end: str) -> HouseholdView:
    aid = [a for a in view.aid_records if overlaps(a.record["period_start"], a.record.get("period_end"), start, end)]
    services = [s for s in view.services if overlaps(s.service["start"], s.service.get("end"), start, end)]
    needs = []
    for n in view.needs:
        if n.need["raised_on"] > end:
            continue
        needs.append(n.model_copy(update={"services": [s for s in n.services if s in services]}))
    return view.model_copy(update={"aid_records": aid, "services": services, "needs": needs})


def as_of_day(view: HouseholdView, day: dt.date) -> HouseholdView:
    """The view as it stood on ``day``: members' ages then and whether they were living, the incomes
    current then, the aid records begun by then.

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> from queries.household import household_view
    >>> then = as_of_day(household_view(two_cases(), household_id="H-420106-0001"), dt.date(2023, 3, 1))
    >>> [(m.person["name"], m.age, [i["income_id"] for i in m.incomes]) for m in then.members]
    [('周建军', 39, ['INC-1']), ('周雨欣', 11, []), ('周德明', 70, ['INC-2']), ('李秀兰', 68, ['INC-3'])]
    """
    on = day.isoformat()
    members = [
        m.model_copy(
            update={
                "age": age_on(m.person.get("birth_date"), day),
                "living": not deceased_by(m.person, day),
                "incomes": [i for i in m.incomes if covers(i.get("period_start"), i.get("period_end"), day)],
            }
        )
        for m in view.members
    ]
    aid = [a for a in view.aid_records if (a.record.get("period_start") or "") <= on]
    return view.model_copy(update={"members": members, "aid_records": aid})


def unserved_in_view(view: HouseholdView, on: dt.date) -> list[tuple[str, str]]:
    """(need id, urgency) of the needs nobody serves (the missed-aid rule, on one household).

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> from queries.household import household_view
    >>> unserved_in_view(household_view(two_cases(), household_id="H-420106-0001"), DAY)  # N-1 paid, N-2 tutored
    []
    """
    periods = {a.record["record_id"]: (a.record["period_start"], a.record.get("period_end")) for a in view.aid_records}
    out = []
    for n in view.needs:
        links = [(s.service["start"], s.service.get("end")) for s in n.services] + [periods[r] for r in n.aid_record_ids if r in periods]
        if need_is_unserved(n.need.get("status"), links, on):
            out.append((n.need["need_id"], n.need["urgency"]))
    return out


def _subgraph(view: HouseholdView, obligors: list[Obligor]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    nodes: dict[str, dict[str, Any]] = {}
    edges: set[tuple[str, str, str]] = set()

    def node(kind: str, key: str, label: str | None, props: dict[str, Any]) -> str:
        nid = f"{kind}:{key}"
        nodes.setdefault(nid, {"id": nid, "kind": kind, "label": label or key, "props": props})
        return nid

    h = node("Household", view.household["household_id"], view.household["household_id"], view.household)
    for m in view.members:
        p = node("Person", m.person["id_number"], m.person.get("name"), m.person)
        edges.add((p, "MEMBER_OF", h))
    for r in view.relatives:
        p = node("Person", r.person["id_number"], r.person.get("name"), r.person)
        member = f"Person:{r.of_member}"
        edges.add((p, "KIN", member) if r.relative_is == "parent" else (member, "KIN", p))
    for o in obligors:
        edges.add((f"Person:{o.person['id_number']}", "OBLIGED_TO_SUPPORT", f"Person:{o.dependant}"))
    for a in view.aid_records:
        rec = node("AidRecord", a.record["record_id"], a.record["record_id"], a.record)
        edges.add((h if a.beneficiary == "household" else f"Person:{a.beneficiary}", "RECEIVES", rec))
        if a.program:
            prog = node("Program", a.program["program_code"], a.program.get("name"), a.program)
            edges.add((rec, "PAID_BY", prog))
            if a.department:
                dept = node("Department", a.department["department_code"], a.department.get("name"), a.department)
                edges.add((dept, "ADMINISTERS", prog))
    for n in view.needs:
        need = node("Need", n.need["need_id"], n.need["category"], n.need)
        edges.add((h, "HAS_NEED", need))
        for rid in n.aid_record_ids:
            if f"AidRecord:{rid}" in nodes:
                edges.add((f"AidRecord:{rid}", "FOR_NEED", need))
    for s in view.services:
        svc = node("Service", s.service["service_id"], s.service["service_id"], s.service)
        edges.add((svc, "SERVES", h))
        if s.service.get("need_id") and f"Need:{s.service['need_id']}" in nodes:
            edges.add((svc, "FOR_NEED", f"Need:{s.service['need_id']}"))
        if s.resource:
            res = node("Resource", s.resource["resource_id"], s.resource.get("provider_name"), s.resource)
            edges.add((res, "PROVIDES", svc))
    return sorted(nodes.values(), key=lambda n: n["id"]), [{"src": s, "rel": r, "dst": d} for s, r, d in sorted(edges)]


def household_chain(
    store: Any, household_id: str, *, as_of: dt.date | None = None, start: dt.date | None = None, end: dt.date | None = None
) -> ChainResult | None:
    """The chain of ``household_id`` (None if unknown), optionally limited to ``start``..``end``.

    Examples
    --------
    >>> from graph.stores.ladybug import LadybugStore
    >>> household_chain(LadybugStore.in_memory(), "H-none") is None
    True
    """
    view = household_view(store, household_id=household_id)
    if view is None:
        return None
    on = as_of or dt.date.today()
    view = as_of_day(view, on)
    if start or end:
        view = _window(view, (start or dt.date.min).isoformat(), end.isoformat() if end else FAR_FUTURE)
    obligors = _obligors(view, on)
    timeline = [
        {
            "date": a.record["period_start"],
            "end": a.record.get("period_end"),
            "record_id": a.record["record_id"],
            "program": a.record["program_code"],
            "program_name": (a.program or {}).get("name"),
            "department": a.record["source_department"],
            "department_name": (a.sending_department or {}).get("name"),
            "beneficiary": a.beneficiary,
            "amount": a.record["amount"],
            "status": a.record.get("status"),
        }
        for a in view.aid_records
    ]
    unserved = unserved_in_view(view, on)
    if any(u == "urgent_intervention" for _, u in unserved):
        level, reason = "district_centre", "an urgent need nobody serves: emergencies go to the district centre"
    elif unserved:
        level, reason = "township_station", "a need remains after policy aid: a township social worker assesses and links services"
    else:
        level, reason = "village_window", "policy aid at the village window covers what is known"
    nodes, edges = _subgraph(view, obligors)
    return ChainResult(
        view=view,
        obligors=obligors,
        timeline=timeline,
        unserved_needs=[n for n, _ in unserved],
        referral_level=level,
        referral_reason=reason,
        nodes=nodes,
        edges=edges,
    )
