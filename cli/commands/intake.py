"""Emergency intake (急难): apply anywhere, help first (先行救助), the checks after, the decision."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.app import CatalogueOpt, JsonOpt, Neo4jOpt, PolicyOpt, StoreOpt, _open, app, emit, friendly, out
from graph.privacy import mask_tree

ByOpt = Annotated[str, typer.Option("--by", help="Who (kept in the application's history, with the time).")]

application_app = typer.Typer(help="Emergency applications (急难): the checks after help was given first, and the decision.")
app.add_typer(application_app, name="application")
ApplicationArg = Annotated[str, typer.Argument(help="The application, e.g. APP-20260630093000-2113.")]


def show_application(a: dict) -> None:
    """One application: where, what was paid first, the checks, the outcome (ID numbers masked by the caller)."""
    where = f"applied in {a['applied_in']}" + (f", hukou {a['hukou_region_code']} (another county)" if a["outside_hukou"] else "")
    out.print(
        f"{a['application_id']}: {a['state']}; {a['amount']:g} yuan {a['program_code']} paid first by {a['paid_by']}; {where}", markup=False
    )
    for check in ("duplicate_check", "means_check"):
        if a.get(check):
            out.print(f"  {check.replace('_', ' ')}: {a[check]}", markup=False)
    if a.get("suggested") and not a.get("outcome"):
        out.print(f"  suggested outcome: {a['suggested']}", markup=False)
    if a.get("outcome"):
        out.print(
            f"  outcome: {a['outcome']} by {a['decided_by']}" + (f" ({a['outcome_note']})" if a.get("outcome_note") else ""), markup=False
        )


@app.command()
@friendly
def intake(
    applicant_id: Annotated[str, typer.Option("--id", help="The applicant's ID number.")],
    name: Annotated[str, typer.Option("--name", help="The applicant's name.")],
    applied_in: Annotated[str, typer.Option("--in", help="The region code where they apply (any county, whatever the hukou).")],
    reason: Annotated[str, typer.Option("--reason", help="The emergency.")],
    amount: Annotated[float, typer.Option("--amount", help="The aid paid first, in yuan.")],
    by: ByOpt,
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    catalogue: CatalogueOpt = None,
) -> None:
    """Take an emergency application and record the aid paid first (先行救助); the checks go on the queue."""
    from actions.intake import take_application
    from policy.catalogue import load_catalogue

    rules = load_catalogue(catalogue).intake
    with _open(store, neo4j) as graph_store:
        a = take_application(
            graph_store,
            applicant_id=applicant_id,
            applicant_name=name,
            applied_in=applied_in,
            reason=reason,
            amount=amount,
            by=by,
            rules=rules,
        )
    show_application(mask_tree(a))


@application_app.command("check")
@friendly
def check_cmd(
    application_id: ApplicationArg,
    by: ByOpt,
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    policy: PolicyOpt = None,
    catalogue: CatalogueOpt = None,
) -> None:
    """Run the checks after help: emergency aid already paid (any county) and the household's means test."""
    from actions.intake import check_application
    from policy.catalogue import load_catalogue
    from policy.config import load_policy

    rules = load_catalogue(catalogue).intake
    with _open(store, neo4j) as graph_store:
        show_application(mask_tree(check_application(graph_store, application_id, by=by, policy=load_policy(policy), rules=rules)))


@application_app.command("decide")
@friendly
def decide_cmd(
    application_id: ApplicationArg,
    by: ByOpt,
    outcome: Annotated[str, typer.Option("--outcome", help="confirmed (the aid stands), enrol (start 低保/特困) or recover.")],
    note: Annotated[str | None, typer.Option("--note", help="Why.")] = None,
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
) -> None:
    """Record the outcome of a checked application."""
    from actions.intake import decide_application

    with _open(store, neo4j) as graph_store:
        show_application(mask_tree(decide_application(graph_store, application_id, by=by, outcome=outcome, note=note)))


@app.command()
@friendly
def applications(
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    household: Annotated[str | None, typer.Option("--household", help="Only this household's.")] = None,
    pending: Annotated[bool, typer.Option("--pending", help="Only the queue: checks or decision still to come.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Emergency applications, oldest payment first; --pending for the caseworker's queue."""
    from queries.applications import applications as run

    with _open(store, neo4j) as graph_store:
        rows = mask_tree(run(graph_store, household_id=household, states=["paid_first", "checked"] if pending else None))

    def show() -> None:
        for a in rows:
            show_application(a)
        if not rows:
            out.print("no applications")

    emit(rows, as_json=as_json, table=show)
