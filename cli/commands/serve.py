"""Running a store: the HTTP server, backups, restores, moving a store to LadybugDB or to Neo4j."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.app import CatalogueOpt, Neo4jOpt, PolicyOpt, StateOpt, StoreOpt, _open, _open_embedded, _state_dir, app, err, friendly, out
from graph.open import store_path_from_env


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


@app.command()
@friendly
def serve(
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    state: StateOpt = None,
    policy: PolicyOpt = None,
    catalogue: CatalogueOpt = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) over the store; keys come from `aidgraph keys`."""
    from api.core.config import Settings
    from api.main import create_app
    from api.server import serve_app
    from policy.catalogue import load_catalogue
    from policy.config import load_policy

    settings = Settings.from_env(state_dir=_state_dir(state), policy_file=policy, catalogue_file=catalogue)
    load_policy(settings.policy_file)  # a bad policy file or catalogue stops the server before it starts
    load_catalogue(settings.catalogue_file)
    graph_store = _open(store, neo4j)
    err.print(f"serving {graph_store.engine} store on http://{host}:{port} (docs at /docs); keys and audit trail in {settings.state_dir}")
    try:
        serve_app(create_app(graph_store, settings=settings), host=host, port=port)
    finally:
        graph_store.close()
