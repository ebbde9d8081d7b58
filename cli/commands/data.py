"""Data in and out of the store: generate a prefecture, ingest a folder, count what is stored."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.app import (
    EXIT_FILE_REJECTED,
    EXIT_ROWS_REJECTED,
    CatalogueOpt,
    JsonOpt,
    Neo4jOpt,
    StoreOpt,
    _open,
    _table,
    app,
    emit,
    err,
    friendly,
    out,
)
from graph.open import store_path_from_env
from queries.unlinked import unlinked_references


@app.command()
@friendly
def generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the exchange files and truth.json into.")],
    households: Annotated[int, typer.Option("--households", min=20, help="How many households.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same bytes.")] = 7,
    ledgers: Annotated[
        bool, typer.Option("--ledgers", help="Also write the departments' monthly payment lines (about 3 aid records a person).")
    ] = False,
) -> None:
    """Write a synthetic prefecture in the exchange format, with planted cases in truth.json."""
    from ingest.synthetic import generate_prefecture

    truth = generate_prefecture(households=households, seed=seed, out=out_dir, ledgers=ledgers)
    counts = truth["counts"]
    out.print(
        f"wrote {out_dir}: {counts['households']} households, {counts['persons']} persons, "
        f"{counts['aid_records']} aid records; planted {len(truth['duplicate_aid'])} duplicate-aid and "
        f"{len(truth['missed_aid'])} missed-aid cases, {len(truth['identity_variants'])} identity variants"
    )


@app.command("plant-services")
@friendly
def plant_services_cmd(
    folder: Annotated[Path, typer.Argument(help="The generated prefecture (its truth.json gets the planted service cases).")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
) -> None:
    """After ingesting a generated prefecture: play its service history (work orders, visits,
    evaluations, referrals) into the store, and add the planted service cases to truth.json."""
    from ingest.synthetic.services import plant_services

    truth_file = folder / "truth.json"
    truth = json.loads(truth_file.read_text(encoding="utf-8"))
    with _open(store, neo4j) as graph_store:
        played = plant_services(graph_store, seed=truth["seed"])
    truth["service"] = played["planted"]
    truth["counts"].update(played["counts"])
    truth_file.write_text(json.dumps(truth, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    kinds = sorted({c["kind"] for c in played["planted"]})
    out.print(
        f"{played['counts']['orders']} work orders, {played['counts']['referral_steps']} referral steps; planted {len(played['planted'])} service cases ({', '.join(kinds)})"
    )


@app.command()
@friendly
def ingest(
    folder: Annotated[Path, typer.Argument(help="Folder of exchange-format files, or a zip archive of them.")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    rejects: Annotated[Path | None, typer.Option("--rejects", help="Where to write the reject report (CSV).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Rows per transaction.")] = 5000,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="Encoding of files without a BOM (default UTF-8; gb18030 reads GBK exports).")
    ] = None,
    initial: Annotated[
        bool,
        typer.Option(
            "--initial", help="First load of an empty Neo4j started by ops/neo4j/start.sh: Neo4j's import tool instead of transactions."
        ),
    ] = False,
    in_batches: Annotated[
        bool,
        typer.Option(
            "--in-batches",
            help="Into an empty embedded store too, write batch by batch (slower; a run stopped midway keeps what it wrote) "
            "instead of one bulk COPY.",
        ),
    ] = False,
    catalogue: CatalogueOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate and load a folder (or a zip of one); list every rejected row by file, row and field.
    Needs' need_type and resources' market codes are checked against the service catalogue.

    Into an empty embedded store the folder is loaded in bulk, whole or not at all; later loads
    are written batch by batch, each batch its own transaction.

    Exit code 0: all stored; 3: some rows rejected (the good ones are stored); 4: a file was
    rejected whole (nothing from it stored); 1: could not run.
    """
    if initial and not (neo4j or os.environ.get("AIDGRAPH_NEO4J_URI")):
        raise ValueError("--initial loads a Neo4j: give --neo4j URI")
    import tempfile

    from ingest.archive import ArchiveRejected, unpack_exchange_zip
    from policy.catalogue import load_catalogue

    codes = load_catalogue(catalogue).codes()

    with contextlib.ExitStack() as stack:
        source = folder
        unpack_ignored: list[str] = []
        if folder.is_file() and folder.suffix.lower() == ".zip":
            source = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="aidgraph-zip-")))
            try:
                unpack_ignored = unpack_exchange_zip(folder, source, name=folder.name).ignored
            except ArchiveRejected as exc:
                err.print(f"rejected whole: {exc}", markup=False)
                raise typer.Exit(EXIT_FILE_REJECTED) from None
        elif not folder.is_dir():
            raise ValueError(f"{folder} is not a folder or a zip archive")
        report, engine = _ingest_with_progress(store, neo4j, source, batch_size, encoding, as_json, initial, in_batches, codes)
        report.ignored.extend(unpack_ignored)
        _ingest_answer(report, engine, folder, store, rejects, as_json)


def _ingest_with_progress(
    store: Any,
    neo4j: Any,
    folder: Path,
    batch_size: int,
    encoding: str | None,
    as_json: bool,
    initial: bool = False,
    in_batches: bool = False,
    codes: Any = None,
) -> tuple[Any, str]:
    from ingest.loader import ingest_folder

    with contextlib.ExitStack() as stack:
        graph_store = None if initial else stack.enter_context(_open(store, neo4j))
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=as_json or not err.is_terminal,
        ) as progress:
            tasks: dict[str, Any] = {}

            def on_batch(file: str, done: int, total: int) -> None:
                if file not in tasks:
                    tasks[file] = progress.add_task(file, total=total)
                progress.update(tasks[file], completed=done)

            if graph_store is None:
                from ingest.neo4j_import import import_initial

                uri = neo4j or os.environ["AIDGRAPH_NEO4J_URI"]
                return import_initial(folder, uri, batch_size=batch_size, encoding=encoding, progress=on_batch, codes=codes).report, "neo4j"
            report = ingest_folder(
                graph_store, folder, batch_size=batch_size, progress=on_batch, encoding=encoding, in_batches=in_batches, codes=codes
            )
        return report, graph_store.engine


def _ingest_answer(report: Any, engine: str, folder: Path, store: Any, rejects: Path | None, as_json: bool) -> None:
    if rejects is None and (report.rejects or report.files_rejected or report.rejected_rows):
        base = store_path_from_env(store) if engine == "embedded" else Path(".")
        rejects = base / "reports" / f"rejects-{report.ingest_id}.csv"
    if rejects is not None:
        report.write_rejects_csv(rejects)

    summary = report.file_summaries()
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "ingest_id": report.ingest_id,
                    "files": summary,
                    "files_rejected": [{"file": r.file, "reason": r.reason} for r in report.files_rejected],
                    "rejects": [r.__dict__ for r in report.rejects],
                    "ignored": report.ignored,
                    "reject_report": str(rejects) if rejects else None,
                },
                ensure_ascii=False,
            )
        )
    else:
        counts = ("rows", "rejected_rows", "created", "updated", "unchanged", "removed")
        table = _table(f"ingest {folder}", "file", *counts, numeric=counts)
        for row in summary:
            table.add_row(row["file"], *(str(row[c]) for c in counts))
        out.print(table)
        for fr in report.files_rejected:
            err.print(f"rejected whole: {fr.file}: {fr.reason}", markup=False)
        for r in report.rejects[:20]:
            err.print(f"rejected: {r.line()}", markup=False)
        more = len(report.rejects) - 20 + sum(f.rejects_unlisted for f in report.files)
        if more > 0:
            err.print(f"... and {more} more", markup=False)
        for name in report.ignored:
            err.print(f"ignored: {name} is not a file of the exchange format", markup=False)
        if rejects is not None:
            err.print(f"reject report: {rejects}", markup=False)
    if report.files_rejected:
        raise typer.Exit(EXIT_FILE_REJECTED)
    if report.rejects or report.rejected_rows:
        raise typer.Exit(EXIT_ROWS_REJECTED)


@app.command()
@friendly
def stats(store: StoreOpt = None, neo4j: Neo4jOpt = None, as_json: JsonOpt = False) -> None:
    """Counts by node kind and relationship type."""
    with _open(store, neo4j) as graph_store:
        counts = graph_store.counts()
        unlinked = unlinked_references(graph_store)

    def show() -> None:
        for title, data in (("nodes", counts.nodes), ("relationships", counts.edges)):
            table = _table(f"{title} ({sum(data.values())})", "kind", "count", numeric=("count",))
            for kind, n in data.items():
                table.add_row(kind, str(n))
            out.print(table)
        out.print(
            f"department references awaiting identity resolution: {len(unlinked.aid_records)} aid records, {len(unlinked.incomes)} incomes"
        )

    emit({"nodes": counts.nodes, "edges": counts.edges, "unlinked": unlinked.model_dump()}, as_json=as_json, table=show)
