"""Casework: referral records (转介) from the village window up, their escalation, and a household's
service path (referrals, work orders, emergency applications) for its chain."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from cli.app import CatalogueOpt, JsonOpt, Neo4jOpt, StoreOpt, _open, _table, app, emit, friendly, out

referral_app = typer.Typer(help="Referral (转介): send a case to a level, answer it, send up what the rules say is due.")
app.add_typer(referral_app, name="referral")
ByOpt = Annotated[str, typer.Option("--by", help="Who (kept in the record's history, with the time).")]


def _step(step: dict) -> None:
    out.print(f"{step['referral_id']}: to {step['level']} by {step['referred_by']} ({step['reason']})", markup=False)


def service_path(store: Any, household_id: str) -> dict[str, list[dict]]:
    """A household's referral steps, work orders and emergency applications, for its chain."""
    from queries.applications import applications
    from queries.referrals import referrals
    from queries.work_orders import work_orders

    return {
        "referrals": referrals(store, household_id=household_id),
        "work_orders": work_orders(store, household_id=household_id),
        "applications": applications(store, household_id=household_id),
    }


def show_service_path(service: dict[str, list[dict]], suggested: str) -> None:
    """The referral path as recorded (or the level the needs suggest), the work orders, the applications."""
    path = service["referrals"]
    for r in path:
        answer = f"; answer by {r['responded_by']}: {r['response']}" if r.get("response") else ""
        out.print(
            f"referral {r['referred_at'][:10]} to {r['level']} by {r['referred_by']} ({r['reason']}): {r['state']}{answer}", markup=False
        )
    if not path:
        out.print(f"no referral recorded; the needs suggest {suggested}", markup=False)
    for o in service["work_orders"]:
        out.print(f"work order {o['order_id']} ({o['need_id']}) to {o['resource_id']}: {o['state']}, due by {o['due_by']}", markup=False)
    from cli.commands.intake import show_application

    for a in service["applications"]:
        show_application(a)


@referral_app.command("send")
@friendly
def send_cmd(
    household_id: Annotated[str, typer.Argument(help="The household.")],
    to: Annotated[str, typer.Option("--to", help="village_window, township_station or district_centre.")],
    by: ByOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why.")],
    need: Annotated[str | None, typer.Option("--need", help="The need it is about (its tag sets the urgency).")] = None,
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
) -> None:
    """Send a household's case to a level; a case waiting below goes up with it."""
    from actions.referrals import refer

    with _open(store, neo4j) as graph_store:
        _step(refer(graph_store, household_id, level=to, by=by, reason=reason, need_id=need))


@referral_app.command("answer")
@friendly
def answer_cmd(
    referral_id: Annotated[str, typer.Argument(help="The step, e.g. REF-H-420106-0001-1.")],
    by: ByOpt,
    response: Annotated[str, typer.Option("--response", help="What the level did.")],
    resolved: Annotated[bool, typer.Option("--resolved", help="The case is resolved (otherwise hardship remains).")] = False,
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
) -> None:
    """The level's answer: resolved, or hardship remains (the case still goes up when due)."""
    from actions.referrals import answer_referral

    with _open(store, neo4j) as graph_store:
        step = answer_referral(graph_store, referral_id, by=by, response=response, resolved=resolved)
    out.print(f"{referral_id}: {step['state']} by {by}", markup=False)


@referral_app.command("escalate")
@friendly
def escalate_cmd(
    by: ByOpt,
    at: Annotated[str | None, typer.Option("--at", help="Judge at this moment (ISO time; default now).")] = None,
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    catalogue: CatalogueOpt = None,
) -> None:
    """Send up every unresolved case the catalogue's rules say is due (urgent after 24 h, any after 14 days)."""
    from actions.referrals import escalate_due
    from policy.catalogue import load_catalogue

    rules = load_catalogue(catalogue).referral
    moment = dt.datetime.fromisoformat(at) if at else None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    with _open(store, neo4j) as graph_store:
        sent = escalate_due(graph_store, rules, by=by, now=moment)
    for step in sent:
        _step(step)
    if not sent:
        out.print("nothing is due to go up")


@app.command()
@friendly
def referrals(
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    household: Annotated[str | None, typer.Option("--household", help="Only this household's path.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Referral steps, by household and in the order they were made, with the answers."""
    from queries.referrals import referrals as run

    with _open(store, neo4j) as graph_store:
        rows = run(graph_store, household_id=household)

    def show() -> None:
        table = _table(f"referrals ({len(rows)})", "step", "household", "level", "state", "sent", "by", "why", "answer")
        for r in rows:
            table.add_row(
                r["referral_id"],
                r["household_id"],
                r["level"],
                r["state"],
                r["referred_at"],
                r["referred_by"],
                r["reason"],
                r.get("response") or "",
            )
        out.print(table)

    emit(rows, as_json=as_json, table=show)
