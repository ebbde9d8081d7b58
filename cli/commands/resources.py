"""Resources' evaluations (服务评估): record a mid-term or final evaluation; where a resource stands."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from cli.app import AsOfOpt, CatalogueOpt, JsonOpt, Neo4jOpt, StoreOpt, _day, _open, app, emit, friendly, out

resource_app = typer.Typer(help="Resources: their evaluations, their satisfaction, and whether they are barred.")
app.add_typer(resource_app, name="resource")
ResourceArg = Annotated[str, typer.Argument(help="The resource, e.g. R-S1.")]


@resource_app.command("evaluate")
@friendly
def evaluate_cmd(
    resource_id: ResourceArg,
    stage: Annotated[str, typer.Option("--stage", help="mid_term (中期) or final (终期).")],
    on: Annotated[str, typer.Option("--on", help="The evaluation's day (YYYY-MM-DD); a bar runs from it.")],
    score: Annotated[float, typer.Option("--score", min=0, max=1, help="The evaluators' score, 0 to 1.")],
    by: Annotated[str, typer.Option("--by", help="Who evaluated.")],
    note: Annotated[str | None, typer.Option("--note", help="What the evaluators found.")] = None,
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    catalogue: CatalogueOpt = None,
) -> None:
    """Record an evaluation: its satisfaction is the mean of the window's scores (orders' feedback,
    evaluations) with this one; under the threshold, the resource is barred from that day."""
    from actions.resource_evaluations import evaluate_resource
    from policy.catalogue import load_catalogue

    rules = load_catalogue(catalogue).evaluation
    with _open(store, neo4j) as graph_store:
        e = evaluate_resource(
            graph_store, resource_id, stage=stage, on=dt.date.fromisoformat(on), score=score, by=by, note=note, rules=rules
        )
    found = f"satisfaction {e['satisfaction']:.2f} from {e['feedback_count']} scores"
    verdict = f"barred until {e['barred_until']}" if e.get("barred_until") else f"not under {e['threshold']:g}"
    out.print(f"{e['evaluation_id']}: {found}; {verdict}", markup=False)


@resource_app.command("standing")
@friendly
def standing_cmd(
    resource_id: ResourceArg,
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    as_of: AsOfOpt = None,
    catalogue: CatalogueOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Where a resource stands on a day: its satisfaction and where it comes from, whether it is
    barred and until when, and its evaluations."""
    from graph.model import NodeKind
    from policy.catalogue import load_catalogue
    from queries.standing import resource_feedback, standing

    rules = load_catalogue(catalogue).evaluation
    day = _day(as_of) or dt.date.today()
    with _open(store, neo4j) as graph_store:
        resource = graph_store.get_node(NodeKind.RESOURCE, resource_id)
        if resource is None:
            raise KeyError(f"no resource {resource_id}")
        feedback = resource_feedback(graph_store, resource_id=resource_id).get(resource_id)
    found = standing(resource, feedback, day, rules)
    evaluations = (feedback or {}).get("evaluations", [])

    def show() -> None:
        sat = "unknown" if found.satisfaction is None else f"{found.satisfaction:.2f} ({found.source}, {found.scores} scores in the window)"
        out.print(f"{resource_id} on {day}: satisfaction {sat}", markup=False)
        out.print(found.why if found.barred else "not barred", markup=False)
        for e in evaluations:
            bar = f", barred until {e['barred_until']}" if e.get("barred_until") else ""
            out.print(
                f"  {e['evaluated_on']} {e['stage']} by {e['evaluated_by']}: score {e['score']:.2f}, found {e['satisfaction']:.2f}{bar}"
            )

    emit(
        {"resource_id": resource_id, "as_of": day.isoformat(), **found.model_dump(), "evaluations": evaluations},
        as_json=as_json,
        table=show,
    )
