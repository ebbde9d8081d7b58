"""The ``aidgraph`` command: generate, ingest, stats, household.

Errors are one line on stderr (``error: ...``) and a non-zero exit, never a traceback, unless
``--debug`` is given.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from graph.open import open_store, store_path_from_env
from graph.privacy import mask_tree
from graph.regions import region_tree
from graph.store import GraphStore, StoreError

app = typer.Typer(
    name="aidgraph",
    help="AidGraph: households, kin, programmes, aid records, needs and resources as one graph.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped output (CI logs, files) gets wide tables rather than rich's 80 columns.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 180)
# soft_wrap: a message is one line however long (scripts and logs read it by line).
err = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 180)

#: Exit codes. 0: done. 1: could not run. 3: some rows rejected. 4: a file rejected whole.
EXIT_ERROR, EXIT_ROWS_REJECTED, EXIT_FILE_REJECTED = 1, 3, 4

_state = {"debug": False}
F = TypeVar("F", bound=Callable[..., Any])

StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help="Embedded store folder (default ./aidgraph-data, or $AIDGRAPH_STORE).", show_default=False),
]
Neo4jOpt = Annotated[
    str | None,
    typer.Option("--neo4j", help="Neo4j URI (bolt:// or neo4j://); also $AIDGRAPH_NEO4J_URI.", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _table(title: str, *columns: str, numeric: tuple[str, ...] = ()) -> Table:
    """A titled table with these columns; the ``numeric`` ones right-aligned."""
    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="right" if col in numeric else "left")
    return table


def friendly(func: F) -> F:
    """Turn expected failures into one line and exit code 1 (a traceback only with --debug)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except (StoreError, OSError, ValueError, KeyError) as exc:
            if _state["debug"]:
                raise
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            err.print(f"error: {message}", markup=False)
            raise typer.Exit(EXIT_ERROR) from None

    return wrapper  # type: ignore[return-value]


class _FirstLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return "warning: Neo4j driver: " + record.getMessage().strip().splitlines()[0]


def _driver_warnings_as_one_line() -> None:
    """The Neo4j driver says when it retries a transaction (a lost connection, a deadlock):
    useful to an operator during a long ingest, as one line each, never a traceback."""
    logger = logging.getLogger("neo4j")
    if not any(isinstance(h.formatter, _FirstLine) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_FirstLine())
        logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False


@app.callback()
def main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False) -> None:
    _state["debug"] = debug
    _driver_warnings_as_one_line()


def _open(store: Path | None, neo4j: str | None) -> GraphStore:
    return open_store(store, neo4j_uri=neo4j)


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
    as_json: JsonOpt = False,
) -> None:
    """Validate and load a folder (or a zip of one); list every rejected row by file, row and field.

    Into an empty embedded store the folder is loaded in bulk, whole or not at all; later loads
    are written batch by batch, each batch its own transaction.

    Exit code 0: all stored; 3: some rows rejected (the good ones are stored); 4: a file was
    rejected whole (nothing from it stored); 1: could not run.
    """
    if initial and not (neo4j or os.environ.get("AIDGRAPH_NEO4J_URI")):
        raise ValueError("--initial loads a Neo4j: give --neo4j URI")
    import tempfile

    from ingest.archive import ArchiveRejected, unpack_exchange_zip

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
        report, engine = _ingest_with_progress(store, neo4j, source, batch_size, encoding, as_json, initial, in_batches)
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
                from graph.stores.neo4j_import import import_initial

                uri = neo4j or os.environ["AIDGRAPH_NEO4J_URI"]
                return import_initial(folder, uri, batch_size=batch_size, encoding=encoding, progress=on_batch).report, "neo4j"
            report = ingest_folder(graph_store, folder, batch_size=batch_size, progress=on_batch, encoding=encoding, in_batches=in_batches)
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
        unlinked = graph_store.run("unlinked_references")
    if as_json:
        out.print_json(json.dumps({"nodes": counts.nodes, "edges": counts.edges, "unlinked": unlinked.model_dump()}))
        return
    for title, data in (("nodes", counts.nodes), ("relationships", counts.edges)):
        table = _table(f"{title} ({sum(data.values())})", "kind", "count", numeric=("count",))
        for kind, n in data.items():
            table.add_row(kind, str(n))
        out.print(table)
    out.print(
        f"department references awaiting identity resolution: {len(unlinked.aid_records)} aid records, {len(unlinked.incomes)} incomes"
    )


StateOpt = Annotated[
    Path | None, typer.Option("--state", help="Also the API's state folder (key ring, audit trail and its secret).", show_default=False)
]


@app.command()
@friendly
def backup(
    out: Annotated[Path, typer.Argument(help="A new folder for the backup.")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    state: StateOpt = None,
) -> None:
    """Back up the embedded store, consistently, even while the server writes to it.

    The folder holds the store, the state (with --state) and a manifest with checksums. With
    --neo4j the Neo4j graph is copied into the backup as an embedded store: stop writers first
    (a Neo4j read is not a snapshot); ``aidgraph export`` puts a restored store back into Neo4j.
    """
    import tempfile

    from graph.backup import backup_store
    from graph.migrate import copy_store
    from graph.stores.ladybug import LadybugStore

    if neo4j is None:
        manifest = backup_store(store_path_from_env(store), out, state_dir=state)
    else:
        with tempfile.TemporaryDirectory(prefix="aidgraph-backup-") as tmp, _open(None, neo4j) as source:
            with LadybugStore(Path(tmp) / "store") as copy:
                copy_store(source, copy)
            manifest = backup_store(Path(tmp) / "store", out, state_dir=state)
    out_files = ", ".join(manifest["files"])
    err.print(
        f"backed up {manifest['nodes']:,} nodes, {manifest['edges']:,} relationships, {manifest['history']:,} history entries to {out} ({out_files})",
        markup=False,
    )


@app.command()
@friendly
def restore(
    backup_dir: Annotated[Path, typer.Argument(help="A folder made by aidgraph backup.")],
    store: StoreOpt = None,
    state: StateOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the store that is there.")] = False,
    verify_only: Annotated[bool, typer.Option("--verify-only", help="Check the backup (checksums, integrity) and change nothing.")] = False,
) -> None:
    """Restore a backup into the store folder (stop the server first); checked before anything is replaced.

    With --state, state files that are missing are restored; existing ones (the append-only audit
    trail, a key ring with revocations since) are kept.
    """
    from graph.backup import restore_store, verify_backup

    if verify_only:
        manifest = verify_backup(backup_dir)
        err.print(
            f"{backup_dir}: backup of {manifest['made_at']} verified ({manifest['nodes']:,} nodes, {len(manifest['files'])} files)",
            markup=False,
        )
        return
    target = store_path_from_env(store)
    manifest = restore_store(backup_dir, target, state_dir=state, force=force)
    err.print(
        f"restored the backup of {manifest['made_at']} into {target}: {manifest['nodes']:,} nodes, {manifest['edges']:,} relationships",
        markup=False,
    )
    if state is not None:
        err.print(
            f"state: restored {manifest['state_restored'] or 'nothing'}; kept as they were {manifest['state_kept'] or 'nothing'}",
            markup=False,
        )


@app.command()
@friendly
def migrate(
    old: Annotated[Path, typer.Option("--from", help="The folder of a store of the former embedded engine (graph.sqlite).")],
    store: StoreOpt = None,
) -> None:
    """Move a store of the former embedded engine (networkx and SQLite) into a new LadybugDB store.

    Nodes, relationships and history are copied into the store folder (new, or empty), then the
    counts of both are compared; the old file is left as it was. The new store may be the old
    folder itself: graph.lbug is written beside graph.sqlite.
    """
    from graph.migrate import migrate_format_2
    from graph.stores.ladybug import LadybugStore

    target_dir = store_path_from_env(store)
    with LadybugStore(target_dir, beside_former=True) as target:
        report = migrate_format_2(old, target)
    err.print(
        f"moved {report.nodes:,} nodes, {report.edges:,} relationships and {report.history:,} history entries from {old} "
        f"into {target_dir}; the counts agree. {old / 'graph.sqlite'} is left as it was: delete it once you are content",
        markup=False,
    )


@app.command()
@friendly
def export(
    neo4j: Annotated[str, typer.Option("--neo4j", help="The Neo4j to copy into (bolt:// or neo4j://).")],
    store: StoreOpt = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Rows per transaction.")] = 5000,
) -> None:
    """Copy the embedded store into Neo4j: nodes, relationships and history (a pilot grows up).

    Copying twice changes nothing the second time. Credentials come from AIDGRAPH_NEO4J_USER and
    AIDGRAPH_NEO4J_PASSWORD.
    """
    from graph.migrate import copy_store
    from graph.stores.neo4j import Neo4jStore

    source = _open_embedded(store)
    with source, Neo4jStore.from_env(neo4j) as target:
        report = copy_store(source, target, batch_size=batch_size)
        same = source.counts() == target.counts()
    out.print(f"copied {report.nodes} nodes, {report.edges} relationships and {report.history} history entries to {target.shown_uri}")
    if not same:
        err.print("note: the Neo4j database held other data before the copy; its counts differ from the embedded store's")


def _open_embedded(store: Path | None) -> GraphStore:
    from graph.stores.ladybug import DATABASE_FILE, LadybugStore

    path = store_path_from_env(store)
    if not (path / DATABASE_FILE).is_file() and not (path / "graph.sqlite").is_file():
        raise ValueError(f"no embedded store at {path}")
    return LadybugStore(path)


def _day(as_of: str | None) -> dt.date | None:
    return dt.date.fromisoformat(as_of) if as_of else None


AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="The day to judge on (YYYY-MM-DD; default today).")]


class AuditFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"
    html = "html"


@app.command()
@friendly
def audit(
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    region: Annotated[str | None, typer.Option("--region", help="A region code: keep findings in it and its subtree.")] = None,
    as_of: AsOfOpt = None,
    fmt: Annotated[AuditFormat, typer.Option("--format", help="table, json, csv or xlsx.")] = AuditFormat.table,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the full evidence here (required for xlsx).")] = None,
    generic_threshold: Annotated[
        int, typer.Option("--generic-threshold", min=1, help="An identifier shared by more households is generic.")
    ] = 8,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="The region's policy file: the means test of the missed-aid rules (default: the shipped one)."),
    ] = None,
) -> None:
    """Duplicate aid and missed aid, with evidence. Findings are results: the exit code is 0.

    --format html writes a page with charts (findings by kind and county, amount at stake, tiers by
    county, warnings over time, unmatched needs by category); xlsx a workbook for auditors.
    """
    from policy.config import load_policy
    from queries.audit_report import audit as run_audit
    from viz.export import audit_report_html, audit_xlsx, write_findings_csv

    if fmt in (AuditFormat.xlsx, AuditFormat.html) and out_file is None:
        raise ValueError(f"--format {fmt.value} needs --out FILE")
    with _open(store, neo4j) as graph_store:
        report = run_audit(graph_store, as_of=_day(as_of), region=region, generic_threshold=generic_threshold, policy=load_policy(policy))
        if fmt is AuditFormat.html:
            page = audit_report_html(graph_store, mask_tree(report.model_dump(mode="json")), _day(as_of), region, load_policy(policy))
            out_file.write_text(page, encoding="utf-8")  # type: ignore[union-attr]
            err.print(f"report written to {out_file}", markup=False)
            return
    if fmt is AuditFormat.table:
        totals: dict[tuple[str, str], list[float]] = {}
        for row in report.summary:
            t = totals.setdefault((row.family, row.kind), [0, 0.0])
            t[0] += row.findings
            t[1] += row.amount_at_stake
        by_kind = _table("findings by kind", "family", "kind", "findings", "amount at stake", numeric=("findings", "amount at stake"))
        for (family, kind), (n, amount) in totals.items():
            by_kind.add_row(family, kind, str(int(n)), f"{amount:,.2f}")
        out.print(by_kind)
        summary = _table(
            f"audit as of {report.as_of}" + (f", region {region}" if region else ""),
            "family",
            "kind",
            "county",
            "findings",
            "amount at stake",
            "confirmed",
            "dismissed",
            numeric=("findings", "amount at stake", "confirmed", "dismissed"),
        )
        for row in report.summary:
            summary.add_row(
                row.family,
                row.kind,
                row.county or "",
                str(row.findings),
                f"{row.amount_at_stake:,.2f}",
                str(row.confirmed),
                str(row.dismissed),
            )
        out.print(summary)
        out.print(f"{len(report.findings)} findings; generic identifiers discounted: {len(report.generic_identifiers)}")
    data = mask_tree(report.model_dump(mode="json"))
    if fmt is AuditFormat.json:
        text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
        if out_file:
            out_file.write_text(text + "\n", encoding="utf-8")
        else:
            sys.stdout.write(text + "\n")
    elif fmt is AuditFormat.csv:
        write_findings_csv(data["findings"], out_file)
    elif fmt is AuditFormat.xlsx:
        out_file.write_bytes(audit_xlsx(data))  # type: ignore[union-attr]
    if fmt is AuditFormat.table and out_file is not None:
        out_file.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if out_file is not None:
        err.print(f"evidence written to {out_file}", markup=False)


@app.command()
@friendly
def mark(
    finding_id: Annotated[str, typer.Argument(help="The finding's id, as the audit prints it.")],
    status: Annotated[str, typer.Option("--status", help="confirmed or dismissed.")],
    reason: Annotated[str, typer.Option("--reason", help="Why: kept with the mark.")],
    by: Annotated[str, typer.Option("--by", help="Who marks it (kept, with the time).")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
) -> None:
    """Mark an audit finding confirmed or dismissed; the mark survives re-ingest and re-audit."""
    from queries.audit_report import mark_finding

    if status not in ("confirmed", "dismissed"):
        raise ValueError("--status must be confirmed or dismissed")
    with _open(store, neo4j) as graph_store:
        saved = mark_finding(graph_store, finding_id, status=status, reason=reason, by=by)
    out.print(f"{finding_id}: {saved['status']} by {saved['marked_by']} at {saved['marked_at']}", markup=False)


@app.command()
@friendly
def recommend(
    household_id: Annotated[str, typer.Argument(help="The household id.")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    as_of: AsOfOpt = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Candidates per need.")] = 3,
    as_json: JsonOpt = False,
) -> None:
    """Ranked resources for each unserved need of a household, with the reasons."""
    from queries.linkage import recommend as run

    with _open(store, neo4j) as graph_store:
        result = run(graph_store, household_id, as_of=_day(as_of), top=top)
    if result is None:
        raise ValueError(f"no household {household_id} in this store")
    if as_json:
        out.print_json(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, sort_keys=True))
        return
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
    if as_json:
        out.print_json(json.dumps([f.model_dump() for f in families], ensure_ascii=False, sort_keys=True))
        return
    table = _table(f"unmatched families ({len(families)})", "household", "region", "most urgent", "needs")
    for f in families:
        table.add_row(
            f.household_id,
            f.region_code or "",
            f.most_urgent,
            "; ".join(f"{n['need_id']} {n['category']} ({n['urgency']})" for n in f.needs),
        )
    out.print(table)


@app.command()
@friendly
def allocate(
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    as_of: AsOfOpt = None,
    region: Annotated[str | None, typer.Option("--region", help="A region code and its subtree.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Assign unserved needs to resources at once (capacity-respecting, urgency-weighted)."""
    from queries.linkage import allocate as run

    with _open(store, neo4j) as graph_store:
        result = run(graph_store, as_of=_day(as_of), region=region)
    if as_json:
        out.print_json(json.dumps(result.model_dump(), ensure_ascii=False, sort_keys=True))
        return
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


@app.command("accept")
@friendly
def accept_cmd(
    need_id: Annotated[str, typer.Argument(help="The need.")],
    resource_id: Annotated[str, typer.Argument(help="The resource that will serve it.")],
    by: Annotated[str, typer.Option("--by", help="Who accepts (kept, with the time).")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Accept a recommendation: the resource serves the need from today."""
    from queries.linkage import accept

    with _open(store, neo4j) as graph_store:
        decision = accept(graph_store, need_id, resource_id, by=by, as_of=_day(as_of))
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
    from queries.linkage import decline

    with _open(store, neo4j) as graph_store:
        decline(graph_store, need_id, resource_id, by=by, reason=reason)
    out.print(f"{need_id}: {resource_id} declined by {by}", markup=False)


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

    from ingest.resolve import check_csv
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


@app.command()
@friendly
def draw(
    household_id: Annotated[str, typer.Argument(help="The household id.")],
    out_file: Annotated[Path, typer.Option("--out", help="The HTML file to write (self-contained: opens with no network).")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Draw a household's chain into one HTML file for a case file (ID numbers masked; findings in red)."""
    from queries.audit_report import audit as run_audit
    from queries.household_chain import household_chain
    from viz.draw import draw_chain

    with _open(store, neo4j) as graph_store:
        chain = household_chain(graph_store, household_id, as_of=_day(as_of))
        if chain is None:
            raise ValueError(f"no household {household_id} in this store")
        findings = [f.model_dump(mode="json") for f in run_audit(graph_store, as_of=_day(as_of)).findings if household_id in f.households]
    counts = draw_chain(mask_tree(chain.model_dump(mode="json")), mask_tree(findings), out_file)
    out.print(f"wrote {out_file}: {counts['nodes']} nodes, {counts['edges']} relationships, {len(findings)} finding(s) outlined")


def _period(props: dict[str, Any], start: str = "period_start", end: str = "period_end") -> str:
    return f"{props.get(start, '?')} .. {props.get(end) or 'ongoing'}"


@app.command()
@friendly
def household(
    household_id: Annotated[str, typer.Argument(help="The household id, e.g. H-420106-0001.")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    as_json: JsonOpt = False,
    chain: Annotated[bool, typer.Option("--chain", help="Add the chain: obligors, aid timeline, referral level, subgraph.")] = False,
    as_of: AsOfOpt = None,
) -> None:
    """A household, its members and everything linked to it (ID numbers and phones masked)."""
    from queries.household_chain import household_chain

    with _open(store, neo4j) as graph_store:
        result = household_chain(graph_store, household_id, as_of=_day(as_of))
    if result is None:
        raise ValueError(f"no household {household_id} in this store")
    data = mask_tree(result.view.model_dump(mode="json"))
    if as_json:
        if chain:
            data = mask_tree(result.model_dump(mode="json"))
        out.print_json(json.dumps(data, ensure_ascii=False, sort_keys=True))  # same bytes from every engine
        return
    h = data["household"]
    path = " / ".join(r.get("name", r["region_code"]) for r in reversed(data["region_path"]))
    out.print(f"[bold]{h['household_id']}[/bold]  {path}  {h.get('address', '')}  ({h.get('urban_rural', '?')})")

    members = _table(
        "members",
        "ID number",
        "name",
        "sex",
        "age",
        "role",
        "disability",
        "illness",
        "labour",
        "employment",
        "income/month",
        numeric=("age", "income/month"),
    )
    for m in data["members"]:
        p = m["person"]
        illness = ", ".join(k for k, flag in (("chronic", p.get("chronic_illness")), ("major", p.get("major_illness"))) if flag)
        income = sum(i["monthly_amount"] for i in m["incomes"])
        members.add_row(
            p["id_number"],
            p.get("name", ""),
            p.get("sex", ""),
            "" if m.get("age") is None else str(m["age"]),
            (m["relation_to_head"] or "") + ("" if m.get("living", True) else f" (died {p.get('deceased_on')})"),
            str(p.get("disability_grade", "")),
            illness,
            p.get("labour_capacity", ""),
            p.get("employment", ""),
            f"{income:,.0f}" if m["incomes"] else "",
        )
    out.print(members)

    if data["relatives"]:
        relatives = _table("relatives outside the household", "ID number", "name", "is the", "of member", "household", "in register")
        for r in data["relatives"]:
            p = r["person"]
            relatives.add_row(
                p["id_number"],
                p.get("name", ""),
                r["relative_is"],
                r["of_member"],
                p.get("household_id", ""),
                "yes" if p.get("in_register") else "no",
            )
        out.print(relatives)

    aid = _table(
        "aid records", "record", "programme", "department", "beneficiary", "amount", "period", "status", "link", numeric=("amount",)
    )
    for a in data["aid_records"]:
        rec, prog, dept = a["record"], a["program"] or {}, a.get("sending_department") or {}
        aid.add_row(
            rec["record_id"],
            prog.get("name", rec["program_code"]),
            dept.get("name", rec["source_department"]),
            a["beneficiary"],
            f"{rec['amount']:,.2f}",
            _period(rec),
            rec.get("status", ""),
            f"{a['link'].get('match', '')} {a['link'].get('score', '')}".strip(),
        )
    out.print(aid)

    if data["needs"]:
        needs = _table("needs", "need", "category", "urgency", "status", "raised", "served by", "aid records")
        for n in data["needs"]:
            need = n["need"]
            served = "; ".join(
                f"{(s['resource'] or {}).get('provider_name', s['service']['resource_id'])} ({(s['resource'] or {}).get('provider_type', '')})"
                for s in n["services"]
            )
            needs.add_row(
                need["need_id"],
                need["category"],
                need["urgency"],
                need.get("status", ""),
                need["raised_on"],
                served,
                ", ".join(n["aid_record_ids"]),
            )
        out.print(needs)
    if data["services"]:
        services = _table("services to the household", "service", "provider", "type", "need", "period", "amount", numeric=("amount",))
        for s in data["services"]:
            svc, res = s["service"], s["resource"] or {}
            services.add_row(
                svc["service_id"],
                res.get("provider_name", svc["resource_id"]),
                res.get("provider_type", ""),
                svc.get("need_id", ""),
                _period(svc, "start", "end"),
                f"{svc['amount']:,.2f}" if "amount" in svc else "",
            )
        out.print(services)
    if data["assets"]:
        assets = ", ".join(f"{a['kind']} x{a['quantity']:g}" for a in data["assets"])
        out.print(f"assets: {assets}")
    if chain:
        extra = mask_tree(result.model_dump(mode="json", include={"obligors", "timeline", "referral_level", "referral_reason"}))
        for o in extra["obligors"]:
            out.print(
                f"owes {o['owes']}: {o['person'].get('name', '')} {o['person']['id_number']} to {o['dependant']} ({o['basis']})",
                markup=False,
            )
        steps = " -> ".join(f"{t['date']} {t['department']} {t['program']}" for t in extra["timeline"])
        out.print(f"aid timeline: {steps or 'none'}", markup=False)
        out.print(f"referral level: {extra['referral_level']} ({extra['referral_reason']})", markup=False)


def _evaluate_and_record(graph_store: GraphStore, rules: Any, day: dt.date | None) -> tuple[Any, dict[str, int], dict[str, int]]:
    """Evaluate every household; write the obligations and the tier records (what changed is kept in history)."""
    from queries.changes import record_evaluation
    from queries.early_warning import early_warnings
    from queries.means_test import evaluate, write_obligations

    evaluation = evaluate(graph_store, rules, as_of=day)
    written = write_obligations(graph_store, evaluation.obligations)
    recorded = record_evaluation(graph_store, evaluation, {w.household_id for w in early_warnings(evaluation, rules)})
    return evaluation, written, recorded


PolicyOpt = Annotated[
    Path | None, typer.Option("--policy", help="A policy file (TOML); default: the shipped default (policy/configs/default.toml).")
]


@app.command()
@friendly
def evaluate(
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    policy: PolicyOpt = None,
    as_of: AsOfOpt = None,
    region: Annotated[str | None, typer.Option("--region", help="A region code and its subtree.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Obligations and tiers of every household by the policy; writes the OBLIGED_TO_SUPPORT relationships."""
    from policy.config import load_policy

    rules = load_policy(policy)
    with _open(store, neo4j) as graph_store:
        # Obligations cross regions (a son in another county owes his parents): the whole graph is
        # evaluated, and --region only narrows what is reported.
        everything, written, recorded = _evaluate_and_record(graph_store, rules, _day(as_of))
        inside = region_tree(graph_store).within(region)
    result = everything
    if region:
        result = everything.model_copy(update={"households": [d for d in everything.households if inside(d.region_code)]})
        wanted = {d.household_id for d in result.households}
        result.obligations = [o for o in everything.obligations if o.dependant_household in wanted]
    counts: dict[str, int] = {}
    for d in result.households:
        counts[d.tier or "none"] = counts.get(d.tier or "none", 0) + 1
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "as_of": result.as_of,
                    "policy": result.policy,
                    "tiers": counts,
                    "obligations": len(result.obligations),
                    "written": written,
                    "recorded": recorded,
                },
                ensure_ascii=False,
            )
        )
        return
    table = _table(
        f"tiers as of {result.as_of} ({result.policy})" + (f", region {region}" if region else ""),
        "tier",
        "households",
        numeric=("households",),
    )
    for tier in ("特困", "低保", "低保边缘", "刚性支出困难", "防止返贫监测", "其他", "none"):
        if tier in counts:
            table.add_row(tier, str(counts[tier]))
    out.print(table)
    able = sum(1 for o in result.obligations if o.monthly_amount > 0)
    out.print(f"obligations: {len(result.obligations)} ({able} with an amount due); OBLIGED_TO_SUPPORT written: {written}")
    out.print(
        f"tier records: {recorded['created']} new, {recorded['updated']} changed, {recorded['unchanged']} unchanged (see `aidgraph changes`)"
    )


@app.command()
@friendly
def warnings(
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    policy: PolicyOpt = None,
    as_of: AsOfOpt = None,
    region: Annotated[str | None, typer.Option("--region", help="A region code and its subtree.")] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows to print.")] = 30,
    as_json: JsonOpt = False,
) -> None:
    """The early-warning push list: top 5% hardship index, or income under 2x the standard, not enrolled."""
    from policy.config import load_policy
    from queries.early_warning import early_warnings
    from queries.means_test import evaluate as run

    rules = load_policy(policy)
    with _open(store, neo4j) as graph_store:
        rows = early_warnings(run(graph_store, rules, as_of=_day(as_of)), rules)
        inside = region_tree(graph_store).within(region)
    rows = [r for r in rows if inside(r.region_code)]
    if as_json:
        out.print_json(json.dumps([r.model_dump() for r in rows], ensure_ascii=False))
        return
    table = _table(
        f"early warnings ({len(rows)})",
        "household",
        "region",
        "index",
        "rank",
        "tier",
        "income/head",
        "why",
        numeric=("index", "rank", "income/head"),
    )
    for r in rows[:top]:
        table.add_row(
            r.household_id,
            r.region_code or "",
            f"{r.index:.3f}",
            str(r.rank),
            r.tier or "",
            f"{r.per_capita_income:,.0f}",
            "; ".join(r.reasons),
        )
    out.print(table)


@app.command()
@friendly
def reviews(
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    policy: PolicyOpt = None,
    as_of: AsOfOpt = None,
    due_before: Annotated[str | None, typer.Option("--due-before", help="Only reviews due before this day (YYYY-MM-DD).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Enrolled households' next reviews by the cadence rules, and the gradual exits."""
    from policy.config import load_policy
    from queries.means_test import evaluate as run
    from queries.reviews import gradual_exits, reviews_due

    rules = load_policy(policy)
    with _open(store, neo4j) as graph_store:
        evaluation = run(graph_store, rules, as_of=_day(as_of))
    due = reviews_due(evaluation, rules, due_before=_day(due_before))
    exits = gradual_exits(evaluation, rules)
    if as_json:
        out.print_json(json.dumps({"reviews": [r.model_dump() for r in due], "exits": [e.model_dump() for e in exits]}, ensure_ascii=False))
        return
    table = _table(
        f"reviews due ({len(due)})",
        "household",
        "tier",
        "enrolled since",
        "basis",
        "every (months)",
        "next review",
        numeric=("every (months)",),
    )
    for r in due:
        table.add_row(r.household_id, r.tier or "none", r.enrolled_since, r.basis, str(r.every_months), r.next_review)
    out.print(table)
    table = _table(f"exits ({len(exits)})", "household", "tier now", "income/head", "exit on", "why", numeric=("income/head",))
    for e in exits:
        table.add_row(e.household_id, e.tier or "none", f"{e.per_capita_income:,.0f}", e.exit_on, e.why)
    out.print(table)


@app.command()
@friendly
def changes(
    since: Annotated[str, typer.Option("--since", help="A time (YYYY-MM-DD or ISO date-time, UTC unless it says otherwise).")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    policy: PolicyOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-evaluate, then list every household whose tier, benefit, obligations or warning changed since a time, with the facts that changed."""
    from policy.config import load_policy
    from queries.changes import changes_since

    moment = dt.datetime.fromisoformat(since)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    rules = load_policy(policy)
    with _open(store, neo4j) as graph_store:
        _evaluate_and_record(graph_store, rules, _day(as_of))
        found = changes_since(graph_store, moment)
    data = mask_tree([c.model_dump() for c in found])
    if as_json:
        out.print_json(json.dumps(data, ensure_ascii=False))
        return
    out.print(f"{len(found)} change(s) since {moment.isoformat()}")
    for c in data:
        b, a = c["before"], c["after"]
        out.print(
            f"[bold]{c['household_id']}[/bold] at {c['at']}: tier {b['tier']} -> {a['tier']}, income/head {b['per_capita_income']} -> {a['per_capita_income']}, benefit {b['benefit']} -> {a['benefit']}, warned {b['warned']} -> {a['warned']}"
        )
        for line in c["facts_removed"]:
            out.print(f"   - {line}", markup=False)
        for line in c["facts_added"]:
            out.print(f"   + {line}", markup=False)
        for line in c["obligors_removed"]:
            out.print(f"   - obligor {line}", markup=False)
        for line in c["obligors_added"]:
            out.print(f"   + obligor {line}", markup=False)


@app.command("check-declaration")
@friendly
def check_declaration_cmd(
    file: Annotated[Path, typer.Argument(help="The applicant's declaration (JSON; see queries/declaration.py).")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="The region's policy file: the means test one-step approval relies on.")
    ] = None,
) -> None:
    """Trust-based enrolment (告知承诺): compare a declaration with every department's records and
    evaluate the household. Exit 0 if one-step approval may proceed, 3 if not."""
    from policy.config import load_policy
    from queries.declaration import check_declaration, load_declaration

    declaration = load_declaration(file)
    with _open(store, neo4j) as graph_store:
        result = check_declaration(graph_store, declaration, as_of=_day(as_of), policy=load_policy(policy))
    data = mask_tree(result.model_dump())
    if as_json:
        out.print_json(json.dumps(data, ensure_ascii=False))
    else:
        out.print(f"{result.household_id or 'applicant'}: {result.verdict}", markup=False)
        if data["differences"]:
            table = _table("differences", "field", "declared", "held", "department")
            for d in data["differences"]:
                table.add_row(str(d["field"]), str(d["declared"]), str(d["held"]), str(d["department"] or ""))
            out.print(table)
        out.print(
            f"agreed: {len(result.checked)} field(s); means test: {result.tier or 'no tier'} ({result.tier_rule or '-'})", markup=False
        )
    if not result.approvable:
        raise typer.Exit(EXIT_ROWS_REJECTED)


@app.command()
@friendly
def explain(
    household_id: Annotated[str, typer.Argument(help="The household id.")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    policy: PolicyOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Why a household is in its tier: who, which numbers, which rule (ID numbers masked)."""
    from policy.config import load_policy
    from queries.means_test import evaluate as run

    rules = load_policy(policy)
    with _open(store, neo4j) as graph_store:
        result = run(graph_store, rules, as_of=_day(as_of), household_ids=[household_id])
    if not result.households:
        raise ValueError(f"no household {household_id} in this store")
    d = result.households[0]
    data = mask_tree(d.model_dump(mode="json"))
    if as_json:
        out.print_json(json.dumps(data, ensure_ascii=False, sort_keys=True))
        return
    e = data["explanation"]
    out.print(f"[bold]{d.household_id}[/bold]: {d.tier or 'no tier'} as of {result.as_of} (policy: {result.policy})")
    out.print(f"  because {d.rule}", markup=False)
    members = _table("members counted", "ID number", "name", "relation", "age", "labour", "categories", numeric=("age",))
    for m in e["members"]:
        members.add_row(
            m["id"],
            m.get("name") or "",
            m.get("relation") or "",
            str(m.get("age") or ""),
            m.get("labour") or "",
            ", ".join(m["categories"]),
        )
    out.print(members)
    lines = [f"  income items: {len(e['income_items'])}, counted {d.own_income:,.2f}"]
    for i in e["income_items"]:
        lines.append(
            f"    {i['person']} {i['kind']} {i['amount']:,.2f}{'' if i['counted'] else ' (exempt)'} from {i.get('department') or '?'}"
        )
    if e["job_cost_deductions"]:
        lines.append(f"  minus job costs {d.deductions:,.2f}")
    for x in e["imputed_income"]:
        lines.append(f"  plus imputed farm income {x['amount']:,.2f} ({x['quantity']:g} {x['kind']} x {x['per_unit']:g})")
    for o in e["obligors"]:
        lines.append(f"  plus maintenance {o['monthly_amount']:,.2f} from {o['obligor']} ({o['kind']}; {o['basis']}): {o['rule']}")
    lines.append(f"  = {d.counted_income:,.2f} for {d.members} members: {d.per_capita_income:,.2f} per person")
    t = e["thresholds"]
    lines.append(f"  thresholds: standard {t['standard']:g}, marginal {t['marginal']:g}, watch {t['watch']:g}")
    if d.rigid_expenditure:
        lines.append(
            f"  rigid expenditure {d.rigid_expenditure:,.2f}: "
            + "; ".join(f"{r['person']} {r['condition']} {r['amount']:g}" for r in e["rigid_expenditure"])
        )
    for a in d.assets_over_limit:
        lines.append(f"  assets over limit: {a}")
    if d.benefit is not None:
        lines.append(
            f"  benefit {d.benefit:,.2f} a month: " + "; ".join(f"{b['person']} {b['gap']:g} x {b['coefficient']:g}" for b in e["benefit"])
        )
    if d.classes:
        lines.append(f"  classes: {', '.join(d.classes)}")
    if d.eligible_programs:
        lines.append(f"  qualifies for: {', '.join(d.eligible_programs)}")
    for line in lines:
        out.print(line, markup=False)


StateOpt = Annotated[
    Path | None,
    typer.Option(
        "--state", help="The API's keys and audit trail (default ./aidgraph-api, or $AIDGRAPH_API_STATE_DIR).", show_default=False
    ),
]


def _state_dir(state: Path | None) -> Path:
    from api.core.config import Settings

    return state or Settings.from_env().state_dir


@app.command()
@friendly
def serve(
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    state: StateOpt = None,
    policy: PolicyOpt = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) over the store; keys come from `aidgraph keys`."""
    from api.core.config import Settings
    from api.main import create_app
    from api.server import serve_app
    from policy.config import load_policy

    settings = Settings.from_env(state_dir=_state_dir(state), policy_file=policy)
    load_policy(settings.policy_file)  # a bad policy file stops the server before it starts
    graph_store = _open(store, neo4j)
    err.print(f"serving {graph_store.engine} store on http://{host}:{port} (docs at /docs); keys and audit trail in {settings.state_dir}")
    try:
        serve_app(create_app(graph_store, settings=settings), host=host, port=port)
    finally:
        graph_store.close()


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
    if as_json:
        out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = _table(f"identity review ({len(rows)})", "review", "probability", "evidence", numeric=("probability",))
    for r in rows:
        table.add_row(r["review_id"], f"{r['probability']:.4f}", "; ".join(r.get("evidence", [])))
    out.print(table)


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


keys_app = typer.Typer(help="API keys: create, list, revoke (the server reads them at each request).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
@friendly
def keys_create(
    name: Annotated[str, typer.Option("--name", help="Who or which system holds the key.")],
    role: Annotated[str, typer.Option("--role", help="caseworker, auditor, charity, consumer or admin.")],
    region: Annotated[
        str | None, typer.Option("--region", help="Region code whose subtree the key sees (caseworkers must have one).")
    ] = None,
    org: Annotated[str | None, typer.Option("--org", help="A charity coordinator's organisation (its resource id).")] = None,
    routes: Annotated[
        str | None, typer.Option("--routes", help="A consumer's routes, comma-separated (e.g. households.get,households.chain).")
    ] = None,
    rate: Annotated[int | None, typer.Option("--rate", min=1, help="Requests per minute (default from the server's settings).")] = None,
    state: StateOpt = None,
    by: Annotated[str, typer.Option("--by", help="Who makes it (kept).")] = "cli",
) -> None:
    """Make a key and print its token once (only its hash is kept)."""
    from api.core.security import KeyRing

    ring = KeyRing(_state_dir(state) / "keys.sqlite")
    made = ring.create(
        name=name,
        role=role,
        region=region,
        org=org,
        routes=[r.strip() for r in (routes or "").split(",") if r.strip()],
        rate_per_minute=rate,
        by=by,
    )
    ring.close()
    err.print(f"key {made.key_id} for {name} ({made.caller.role.value}); the token is shown once:", markup=False)
    out.print(made.token, markup=False)


@keys_app.command("list")
@friendly
def keys_list(state: StateOpt = None, as_json: JsonOpt = False) -> None:
    """Every key with its role and scope (never its secret)."""
    from api.core.security import KeyRing

    ring = KeyRing(_state_dir(state) / "keys.sqlite")
    keys = ring.list()
    ring.close()
    if as_json:
        out.print_json(json.dumps(keys, ensure_ascii=False))
        return
    table = _table(f"API keys ({len(keys)})", "key", "name", "role", "region", "org", "routes", "rate/min", "created", "revoked")
    for k in keys:
        table.add_row(
            k["key_id"],
            k["name"],
            k["role"],
            k["region"] or "",
            k["org"] or "",
            ",".join(k["routes"]),
            str(k["rate_per_minute"] or ""),
            k["created_at"],
            k["revoked_at"] or "",
        )
    out.print(table)


@keys_app.command("revoke")
@friendly
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (not the token).")],
    state: StateOpt = None,
    by: Annotated[str, typer.Option("--by")] = "cli",
) -> None:
    """Revoke a key: the next request with it is refused."""
    from api.core.security import KeyRing

    ring = KeyRing(_state_dir(state) / "keys.sqlite")
    done = ring.revoke(key_id, by=by)
    ring.close()
    if not done:
        raise ValueError(f"no live key {key_id}")
    out.print(f"revoked {key_id}")


def run() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    run()
