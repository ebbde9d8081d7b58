"""Apply anywhere, help first (急难, 先行救助): an emergency application taken in any county,
whatever the applicant's hukou, with the temporary aid paid at once; the checks come after.

- **take_application**: the applicant's ID is checked (GB 11643), the aid (the catalogue's
  ``[intake] program``, 临时救助, up to ``max_first_amount``) is recorded as an AidRecord paid that
  day, and the Application (where it was made, the hukou, whether that lies in another county)
  goes on the caseworker's queue as ``paid_first``. One write.
- **check_application**: the duplicate check (emergency aid already paid to the person or their
  household in the ``repeat_days`` before, by any county, or another application of theirs) and
  the means test of their household if the register has it; both results are kept on the
  application with the outcome they suggest (recover, enrol, confirmed). State ``checked``.
- **decide_application**: the caseworker's outcome, with a note. State ``decided``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from actions.work_orders import moment_text
from graph.model import AidRecord, Application, ApplicationOutcome, ApplicationState, NodeKind, RelKind, Target
from graph.national_id import IdNumberError, validate_id_number
from graph.store import EdgeWrite, GraphStore, NodeWrite, WriteBatch
from policy.catalogue import IntakeRules
from policy.config import PolicyConfig, load_policy
from policy.means_test import evaluate
from queries.applications import applications, emergency_aid

__all__ = ["check_application", "decide_application", "take_application"]

_ENROL_TIERS = ("特困", "低保")


def _moment(at: dt.datetime | None) -> dt.datetime:
    return (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)


def take_application(
    store: GraphStore,
    *,
    applicant_id: str,
    applicant_name: str,
    applied_in: str,
    reason: str,
    amount: float,
    by: str,
    rules: IntakeRules | None = None,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Take an emergency application in region ``applied_in`` and record ``amount`` paid first.

    Examples
    --------
    >>> from queries.examples import load_two_cases
    >>> store = load_two_cases()  # the leukaemia patient's father, registered in 420203, applies in Wuchang (420106)
    >>> app = take_application(store, applicant_id="420203197506111710", applicant_name="王付红", applied_in="420106005001",
    ...                        reason="就医途中钱包被盗", amount=800, by="武昌窗口 张")
    >>> app["outside_hukou"], app["household_id"], app["state"]
    (True, 'H-420203-0001', 'paid_first')
    """
    rules = rules or IntakeRules()
    try:
        validate_id_number(applicant_id)
    except IdNumberError as exc:
        raise ValueError(f"applicant_id: {exc}") from None
    if not reason.strip():
        raise ValueError("an emergency application needs the reason")
    if not 0 < amount <= rules.max_first_amount:
        raise ValueError(f"amount: aid paid first is more than 0 and at most {rules.max_first_amount:g} yuan, not {amount:g}")
    moment = _moment(at)
    with store.exclusive():
        if store.get_node(NodeKind.REGION, applied_in) is None:
            raise KeyError(f"no region {applied_in}")
        program = store.get_node(NodeKind.PROGRAM, rules.program)
        if program is None:
            raise ValueError(f"the intake programme {rules.program} is not in the store (load programs.csv)")
        person = store.get_node(NodeKind.PERSON, applicant_id)
        hukou = (person or {}).get("hukou_region_code") or applicant_id[:6]
        base = f"APP-{moment:%Y%m%d%H%M%S}-{applicant_id[-4:]}"
        application_id, n = base, 1
        while store.get_node(NodeKind.APPLICATION, application_id) is not None:
            n += 1
            application_id = f"{base}-{n}"
        record = AidRecord(
            record_id=f"{application_id}-PAY",
            source_department=program["department_code"],
            program_code=rules.program,
            beneficiary_type=Target.PERSON,
            beneficiary_ref=applicant_id,
            beneficiary_name=applicant_name,
            amount=amount,
            period_start=moment.date(),
            period_end=moment.date(),
        )
        application = Application(
            application_id=application_id,
            applicant_id=applicant_id,
            applicant_name=applicant_name,
            hukou_region_code=hukou,
            applied_in=applied_in,
            outside_hukou=hukou[:6] != applied_in[:6],
            household_id=(person or {}).get("household_id"),
            reason=reason,
            program_code=rules.program,
            amount=amount,
            record_id=record.record_id,
            paid_by=by,
            paid_at=moment.isoformat(),
            state=ApplicationState.PAID_FIRST,
        )
        edges = [EdgeWrite(RelKind.PAID_BY, NodeKind.AID_RECORD, record.record_id, NodeKind.PROGRAM, rules.program)]
        if person is not None:
            edges.append(
                EdgeWrite(
                    RelKind.RECEIVES, NodeKind.PERSON, applicant_id, NodeKind.AID_RECORD, record.record_id, {"match": "exact", "score": 1.0}
                )
            )
        nodes = [
            NodeWrite(NodeKind.AID_RECORD, record.record_id, record.props()),
            NodeWrite(NodeKind.APPLICATION, application_id, application.props()),
        ]
        store.write_batch(WriteBatch(nodes=nodes, edges=edges, source=f"emergency application {application_id} paid first by {by}"))
        return application.props()


def _duplicates(store: GraphStore, app: Application, rules: IntakeRules) -> list[str]:
    paid = dt.date.fromisoformat(app.paid_at[:10])
    since = (paid - dt.timedelta(days=rules.repeat_days)).isoformat()
    found = [
        f"{r['record_id']} {r.get('program_name') or r['program_code']} {r['amount']:g} yuan on {r['period_start']} ({r['source_department']})"
        for r in emergency_aid(store, person_id=app.applicant_id, household_id=app.household_id)
        if r["record_id"] != app.record_id and since <= str(r["period_start"]) <= paid.isoformat()
    ]
    recorded = {line.split(" ")[0] for line in found}
    found += [
        f"{a['record_id']} application {a['application_id']} in {a['applied_in']}, {a['amount']:g} yuan on {a['paid_at'][:10]}"
        for a in applications(store, applicant_id=app.applicant_id)
        if a["application_id"] != app.application_id and since <= a["paid_at"][:10] <= paid.isoformat() and a["record_id"] not in recorded
    ]
    return found


def check_application(
    store: GraphStore,
    application_id: str,
    *,
    by: str,
    policy: PolicyConfig | None = None,
    rules: IntakeRules | None = None,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """The checks made after help: duplicates and the means test; keeps both and the outcome they suggest."""
    rules = rules or IntakeRules()
    with store.exclusive():
        app = _application(store, application_id, ApplicationState.PAID_FIRST, "checked")
        found = _duplicates(store, app, rules)
        duplicate = (
            f"found: {'; '.join(found)}" if found else f"clear: no other emergency aid in the {rules.repeat_days} days before the payment"
        )
        tier = None
        if app.household_id is None:
            means = "not in the register: no household to test; visit and test on a full application"
        else:
            day = dt.date.fromisoformat(app.paid_at[:10])
            [d] = evaluate(store, policy or load_policy(), as_of=day, household_ids=[app.household_id]).households
            tier = d.tier
            means = f"{app.household_id}: {d.tier or 'no tier'} ({d.rule}); per-capita income {d.per_capita_income:.2f}, standard {d.standard:.2f}"
        suggested = (
            ApplicationOutcome.RECOVER if found else ApplicationOutcome.ENROL if tier in _ENROL_TIERS else ApplicationOutcome.CONFIRMED
        )
        update = {
            "state": ApplicationState.CHECKED,
            "duplicate_check": duplicate,
            "means_check": means,
            "suggested": suggested,
            "checked_by": by,
            "checked_at": moment_text(at),
        }
        return _save(store, app.model_copy(update=update), f"emergency application {application_id} checked by {by}")


def decide_application(
    store: GraphStore, application_id: str, *, by: str, outcome: str, note: str | None = None, at: dt.datetime | None = None
) -> dict[str, Any]:
    """The caseworker's outcome after the checks: confirmed, enrol or recover."""
    chosen = ApplicationOutcome(outcome)
    with store.exclusive():
        app = _application(store, application_id, ApplicationState.CHECKED, "decided (check it first)")
        update = {
            "state": ApplicationState.DECIDED,
            "outcome": chosen,
            "outcome_note": note,
            "decided_by": by,
            "decided_at": moment_text(at),
        }
        return _save(store, app.model_copy(update=update), f"emergency application {application_id} {chosen} by {by}")


def _application(store: GraphStore, application_id: str, state: ApplicationState, verb: str) -> Application:
    props = store.get_node(NodeKind.APPLICATION, application_id)
    if props is None:
        raise KeyError(f"no application {application_id}")
    app = Application(**props)
    if app.state != state:
        raise ValueError(f"application {application_id} is {app.state}: it cannot be {verb}")
    return app


def _save(store: GraphStore, app: Application, what: str) -> dict[str, Any]:
    store.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.APPLICATION, app.application_id, app.props())], source=what))
    return app.props()
