"""Identity resolution: which records are the same person, and the review queue."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.app import JsonOpt, Neo4jOpt, StoreOpt, _open, _table, app, emit, err, friendly, out
from graph.privacy import mask_tree


@app.command()
@friendly
def resolve(
    records: Annotated[
        Path, typer.Argument(help="A CSV with record_id and any of name, id_number, other_id, birth_date, sex, address, phone, source.")
    ],
    out_file: Annotated[Path, typer.Option("--out", help="Where to write record_id,cluster_id,score.")],
    review_file: Annotated[Path | None, typer.Option("--review", help="Where to write the pairs a caseworker should look at.")] = None,
    accept: Annotated[float, typer.Option("--accept", min=0.5, max=1.0, help="Join pairs at or above this match probability.")] = 0.9,
    review: Annotated[
        float, typer.Option("--review-above", min=0.0, max=1.0, help="List pairs from this probability up to --accept.")
    ] = 0.5,
) -> None:
    """Which records are the same person (Splink on DuckDB, with AidGraph's comparisons; see docs/identity.md)."""
    import csv

    from ingest.normalise import check_csv
    from ingest.resolve import resolve as run

    check_csv(records)
    result = run(records, accept=accept, review=review, progress=lambda message: err.print(message, markup=False))
    with out_file.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["record_id", "cluster_id", "score"])
        for batch in result.cluster_table.to_batches():
            for rid, cid, score in zip(*(batch.column(k).to_pylist() for k in ("record_id", "cluster_id", "score")), strict=True):
                writer.writerow([rid, cid, f"{score:.6f}"])
    if review_file is not None:
        with review_file.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["record_a", "record_b", "probability", "evidence"])
            for p in result.review:
                writer.writerow([p.a, p.b, f"{p.probability:.6f}", "; ".join(p.evidence)])
    records_count = len(result.cluster_table)
    persons = len(set(result.cluster_table["cluster_id"].to_pylist()))
    out.print(f"{records_count} records -> {persons} persons; {len(result.review)} pairs for review; wrote {out_file}")


identity_app = typer.Typer(
    help="Identity resolution on the store: link department records to people, and the review queue.", no_args_is_help=True
)
app.add_typer(identity_app, name="identity")


@identity_app.command("resolve")
@friendly
def identity_resolve(
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    accept: Annotated[float, typer.Option("--accept", min=0.5, max=1.0, help="Link at or above this match probability.")] = 0.9,
    review: Annotated[
        float, typer.Option("--review-above", min=0.0, max=1.0, help="Queue pairs from this probability up to --accept.")
    ] = 0.5,
) -> None:
    """Link the department records that matched nobody exactly; queue the unsure ones."""
    from ingest.identity import resolve_store

    with _open(store, neo4j) as graph_store:
        outcome = resolve_store(graph_store, accept=accept, review=review, progress=lambda message: err.print(message, markup=False))
    for link in mask_tree(outcome.linked):
        out.print(f"linked {link['record']} -> {link['person']} ({link['score']:.4f}: {'; '.join(link['evidence'])})", markup=False)
    out.print(f"{len(outcome.linked)} linked, {len(outcome.queued)} queued for review, {len(outcome.unresolved)} with no register person")


@identity_app.command("review")
@friendly
def identity_review(store: StoreOpt = None, neo4j: Neo4jOpt = None, as_json: JsonOpt = False) -> None:
    """The pairs waiting for a caseworker, surest first (ID numbers masked)."""
    from ingest.identity import pending_reviews

    with _open(store, neo4j) as graph_store:
        rows = mask_tree(pending_reviews(graph_store))

    def show() -> None:
        table = _table(f"identity review ({len(rows)})", "review", "probability", "evidence", numeric=("probability",))
        for r in rows:
            table.add_row(r["review_id"], f"{r['probability']:.4f}", "; ".join(r.get("evidence", [])))
        out.print(table)

    emit(rows, as_json=as_json, table=show)


@identity_app.command("confirm")
@friendly
def identity_confirm(
    review_id: Annotated[str, typer.Argument(help="The review id (from `aidgraph identity review --json`).")],
    by: Annotated[str, typer.Option("--by", help="Who decides (kept, with the time).")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
) -> None:
    """The record is this person: link them now; never asked again."""
    from ingest.identity import decide

    with _open(store, neo4j) as graph_store:
        decide(graph_store, review_id, status="confirmed", by=by)
    out.print(f"confirmed by {by}", markup=False)


@identity_app.command("reject")
@friendly
def identity_reject(
    review_id: Annotated[str, typer.Argument(help="The review id.")],
    by: Annotated[str, typer.Option("--by", help="Who decides (kept, with the time).")],
    reason: Annotated[str, typer.Option("--reason", help="Why.")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
) -> None:
    """The record is not this person: never linked, never asked again."""
    from ingest.identity import decide

    with _open(store, neo4j) as graph_store:
        decide(graph_store, review_id, status="rejected", by=by, reason=reason)
    out.print(f"rejected by {by}", markup=False)
