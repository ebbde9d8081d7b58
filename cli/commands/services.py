"""Service assistance: the service catalogue a district works with, and work orders (需求工单)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from cli.app import CatalogueOpt, JsonOpt, Neo4jOpt, StoreOpt, _day, _open, _table, app, emit, friendly, out


@app.command()
@friendly
def catalogue(catalogue: CatalogueOpt = None, as_json: JsonOpt = False) -> None:
    """The service catalogue: groups, service levels, tags with their response time, the market's
    categories and the need types. With --catalogue, checks a district's file and shows it."""
    from policy.catalogue import load_catalogue

    loaded = load_catalogue(catalogue)

    def show() -> None:
        out.print(f"[bold]{loaded.name}[/bold]: {len(loaded.groups)} groups, {len(loaded.levels)} service levels, {len(loaded.tags)} tags")
        out.print("groups: " + ", ".join(f"{name} ({code})" for code, name in loaded.groups.items()), markup=False)
        out.print("service levels: " + ", ".join(f"{name} ({code})" for code, name in loaded.levels.items()), markup=False)
        out.print(
            "tags: " + ", ".join(f"{t.name} ({code}, answer within {t.response_hours} h)" for code, t in loaded.tags.items()), markup=False
        )
        subs = sum(len(m.sub) for m in loaded.market.values())
        out.print(f"market: {len(loaded.market)} categories, {subs} sub-categories", markup=False)
        for m in loaded.market.values():
            out.print(f"  {m.name}: {', '.join(m.sub.values())}", markup=False)
        table = _table(f"need types ({len(loaded.need_types)})", "code", "name", "level", "groups", "category", "market")
        for t in loaded.need_types:
            table.add_row(t.code, t.name, loaded.levels[t.level], ", ".join(loaded.groups[g] for g in t.groups), t.category, t.market)
        out.print(table)

    emit(loaded, as_json=as_json, table=show)


order_app = typer.Typer(help="Work orders (需求工单): dispatch a need to a resource, then accept, visit, complete or return it.")
app.add_typer(order_app, name="order")
ByOpt = Annotated[str, typer.Option("--by", help="Who (kept in the order's history, with the time).")]
OrderArg = Annotated[str, typer.Argument(help="The work order, e.g. WO-N-1-1.")]


def _moved(order: dict, verb: str) -> None:
    out.print(f"{order['order_id']}: {verb} by {order['last_by']} ({order['state']}; due by {order['due_by']})", markup=False)


@order_app.command("dispatch")
@friendly
def dispatch_cmd(
    need_id: Annotated[str, typer.Argument(help="The need.")],
    resource_id: Annotated[str, typer.Argument(help="The resource sent to meet it.")],
    by: ByOpt,
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    catalogue: CatalogueOpt = None,
) -> None:
    """Send a need to a resource: a new order, due within the response hours of the need's tag."""
    from actions.work_orders import dispatch
    from policy.catalogue import load_catalogue

    rules = load_catalogue(catalogue)
    with _open(store, neo4j) as graph_store:
        _moved(dispatch(graph_store, need_id, resource_id, by=by, catalogue=rules), "dispatched")


@order_app.command("accept")
@friendly
def accept_order_cmd(order_id: OrderArg, by: ByOpt, store: StoreOpt = None, neo4j: Neo4jOpt = None) -> None:
    """The resource takes the order on."""
    from actions.work_orders import accept_order

    with _open(store, neo4j) as graph_store:
        _moved(accept_order(graph_store, order_id, by=by), "accepted")


@order_app.command("visit")
@friendly
def visit_cmd(
    order_id: OrderArg,
    by: ByOpt,
    done: Annotated[str, typer.Option("--done", help="What was done.")],
    hours: Annotated[float, typer.Option("--hours", min=0.1, max=24, help="Hours spent.")],
    on: Annotated[str | None, typer.Option("--on", help="The day of the visit (YYYY-MM-DD; default today).")] = None,
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
) -> None:
    """Record a visit made for the order: who, which day, what was done, how long."""
    from actions.work_orders import visit_order

    with _open(store, neo4j) as graph_store:
        visit = visit_order(graph_store, order_id, by=by, on=_day(on) or dt.date.today(), hours=hours, done=done)
    out.print(f"{order_id}: visit {visit['visit_id']} on {visit['visited_on']} by {by}, {visit['hours']:g} h", markup=False)


@order_app.command("complete")
@friendly
def complete_cmd(
    order_id: OrderArg,
    by: ByOpt,
    satisfaction: Annotated[float, typer.Option("--satisfaction", min=0, max=1, help="The household's satisfaction, 0 to 1.")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
) -> None:
    """Close a visited order with the household's satisfaction."""
    from actions.work_orders import complete_order

    with _open(store, neo4j) as graph_store:
        _moved(complete_order(graph_store, order_id, by=by, satisfaction=satisfaction), "completed")


@order_app.command("return")
@friendly
def return_cmd(
    order_id: OrderArg,
    by: ByOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why the resource gives it back.")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
) -> None:
    """The resource gives the order back; the need can be dispatched again."""
    from actions.work_orders import return_order

    with _open(store, neo4j) as graph_store:
        _moved(return_order(graph_store, order_id, by=by, reason=reason), "returned")


@app.command()
@friendly
def orders(
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    household: Annotated[str | None, typer.Option("--household", help="Only this household's orders.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only orders still unanswered past their deadline: the work queue.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Work orders, soonest deadline first, with their visits; --overdue for the queue of late ones."""
    from queries.work_orders import work_orders

    late = dt.datetime.now(dt.UTC).isoformat(timespec="seconds") if overdue else None
    with _open(store, neo4j) as graph_store:
        rows = work_orders(graph_store, household_id=household, overdue_at=late)

    def show() -> None:
        table = _table(f"work orders ({len(rows)})", "order", "need", "resource", "tag", "state", "due by", "visits", "satisfaction")
        for o in rows:
            table.add_row(
                o["order_id"],
                o["need_id"],
                o["resource_id"],
                o["urgency"],
                o["state"],
                o["due_by"],
                str(len(o["visits"])),
                "" if o.get("satisfaction") is None else f"{o['satisfaction']:.2f}",
            )
        out.print(table)

    emit(rows, as_json=as_json, table=show)
