"""Resource linkage: recommendations, unmatched families, the allocation, accepting and declining."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.app import AsOfOpt, CatalogueOpt, JsonOpt, Neo4jOpt, StoreOpt, _day, _open, _table, app, emit, friendly, out


@app.command()
@friendly
def recommend(
    household_id: Annotated[str, typer.Argument(help="The household id.")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    as_of: AsOfOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Candidates per need.")] = 3,
    catalogue: CatalogueOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ranked resources for each unserved need of a household, with the reasons (and why a resource
    is left out: barred until when, by which evaluation)."""
    from policy.catalogue import load_catalogue
    from queries.linkage import recommend as run

    rules = load_catalogue(catalogue).evaluation
    with _open(store, neo4j) as graph_store:
        result = run(graph_store, household_id, as_of=_day(as_of), top=top, rules=rules)
    if result is None:
        raise ValueError(f"no household {household_id} in this store")

    def show() -> None:
        out.print(f"{household_id}: referral level {result.referral_level}")
        if not result.needs:
            out.print("no unserved needs")
        for need in result.needs:
            table = _table(
                f"{need.need_id} {need.category} ({need.urgency})", "resource", "provider", "type", "score", "reasons", numeric=("score",)
            )
            for c in need.candidates:
                table.add_row(c.resource_id, c.provider_name or "", c.provider_type, f"{c.score:.3f}", "; ".join(c.reasons))
            out.print(table)
            for e in need.excluded:
                out.print(f"  not recommended: {e['resource_id']}: {e['why']}", markup=False)

    emit(result.model_dump(mode="json"), as_json=as_json, table=show)


@app.command()
@friendly
def unmatched(
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    as_of: AsOfOpt = None,
    org: Annotated[str | None, typer.Option("--org", help="A resource id: only what it can meet, where it serves.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Families with needs nobody serves, most urgent first."""
    from queries.linkage import unmatched_families

    with _open(store, neo4j) as graph_store:
        families = unmatched_families(graph_store, as_of=_day(as_of), org=org)

    def show() -> None:
        table = _table(f"unmatched families ({len(families)})", "household", "region", "most urgent", "needs")
        for f in families:
            table.add_row(
                f.household_id,
                f.region_code or "",
                f.most_urgent,
                "; ".join(f"{n['need_id']} {n['category']} ({n['urgency']})" for n in f.needs),
            )
        out.print(table)

    emit([f.model_dump() for f in families], as_json=as_json, table=show)


@app.command()
@friendly
def allocate(
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    as_of: AsOfOpt = None,
    region: Annotated[str | None, typer.Option("--region", help="A region code and its subtree.")] = None,
    catalogue: CatalogueOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Assign unserved needs to resources at once (capacity-respecting, urgency-weighted)."""
    from policy.catalogue import load_catalogue
    from queries.linkage import allocate as run

    rules = load_catalogue(catalogue).evaluation
    with _open(store, neo4j) as graph_store:
        result = run(graph_store, as_of=_day(as_of), region=region, rules=rules)

    def show() -> None:
        table = _table(
            f"allocation ({len(result.assignments)} needs met)", "need", "household", "resource", "urgency", "score", numeric=("score",)
        )
        for a in result.assignments:
            table.add_row(a["need_id"], a["household_id"], a["resource_id"], a["urgency"], f"{a['score']:.3f}")
        out.print(table)
        out.print(
            f"urgency-weighted need met: {result.weighted_met} of {result.weighted_total} "
            f"(greedy first-come ranking: {result.greedy_weighted_met}); unmet: {len(result.unmet)}"
        )

    emit(result.model_dump(), as_json=as_json, table=show)


@app.command("accept")
@friendly
def accept_cmd(
    need_id: Annotated[str, typer.Argument(help="The need.")],
    resource_id: Annotated[str, typer.Argument(help="The resource that will serve it.")],
    by: Annotated[str, typer.Option("--by", help="Who accepts (kept, with the time).")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    as_of: AsOfOpt = None,
    catalogue: CatalogueOpt = None,
) -> None:
    """Accept a recommendation: the resource serves the need from today."""
    from actions.linkage import accept
    from policy.catalogue import load_catalogue

    rules = load_catalogue(catalogue).evaluation
    with _open(store, neo4j) as graph_store:
        decision = accept(graph_store, need_id, resource_id, by=by, as_of=_day(as_of), rules=rules)
    out.print(f"{need_id}: served by {resource_id} (service {decision['service_id']}), accepted by {decision['decided_by']}", markup=False)


@app.command("decline")
@friendly
def decline_cmd(
    need_id: Annotated[str, typer.Argument(help="The need.")],
    resource_id: Annotated[str, typer.Argument(help="The resource declined for it.")],
    by: Annotated[str, typer.Option("--by", help="Who declines.")],
    reason: Annotated[str, typer.Option("--reason", help="Why.")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
) -> None:
    """Decline a recommendation: that resource is not recommended again for that need."""
    from actions.linkage import decline

    with _open(store, neo4j) as graph_store:
        decline(graph_store, need_id, resource_id, by=by, reason=reason)
    out.print(f"{need_id}: {resource_id} declined by {by}", markup=False)
