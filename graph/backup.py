"""Backup and restore of the embedded store (and the API's state), consistent while writers run.

A backup is a folder: ``store/graph.lbug`` (the store), ``state/`` (the API's key ring, audit
trail and its secret, if asked for) and ``MANIFEST.json`` (what was backed up, when, the counts,
and a SHA-256 of every file). The store is copied node by node into a new database from one read
transaction, so the copy is one consistent snapshot while writers go on (in this process, or the
server's: the backup then opens the file read-only). The state's SQLite files are copied with
SQLite's online backup. Restoring checks the manifest, every checksum and that the copy opens with
the counts the manifest gives before it replaces anything, then swaps the file in with one rename:
a restore that fails leaves the store as it was.

>>> import tempfile, pathlib
>>> from graph.stores.ladybug import LadybugStore
>>> with tempfile.TemporaryDirectory() as d:
...     LadybugStore(pathlib.Path(d) / "store").close()
...     manifest = backup_store(pathlib.Path(d) / "store", pathlib.Path(d) / "backup")
...     restore_store(pathlib.Path(d) / "backup", pathlib.Path(d) / "restored")["nodes"]
0
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from graph.store import StoreError, fsync_path

__all__ = ["BackupError", "backup_store", "restore_store", "verify_backup"]

MANIFEST = "MANIFEST.json"
_FORMAT = "aidgraph-backup/2"  # 1: graph.sqlite of the former embedded engine
_STORE = "store"


class BackupError(StoreError):
    """A backup that cannot be made or a backup that must not be restored; nothing was changed."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _copy_database(source: Path, target: Path) -> None:
    """One consistent snapshot of ``source`` (even while others write to it) into ``target``."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # all pages in one step: one read transaction, one snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # a backup is one self-contained file
        finally:
            dst.close()
    finally:
        src.close()
    fsync_path(target)


def _store_counts(folder: Path) -> dict[str, Any]:
    """Counts of the store in ``folder``, opened read-only; BackupError if it does not open."""
    from graph.stores.ladybug import FORMAT, LadybugStore

    try:
        with LadybugStore(folder, read_only=True) as store:
            counts = store.counts()
            history = sum(1 for _ in store.iter_history())
    except StoreError as exc:
        raise BackupError(f"{folder} does not open as an AidGraph store: {exc}") from None
    return {"nodes": sum(counts.nodes.values()), "edges": sum(counts.edges.values()), "history": history, "store_format": FORMAT}


def backup_store(store_dir: Path, out: Path, *, state_dir: Path | None = None) -> dict[str, Any]:
    """Back up the embedded store at ``store_dir`` (and the API state at ``state_dir``) into the
    new folder ``out``; return the manifest. Safe while a server writes to the store."""
    from graph.migrate import copy_store
    from graph.stores.ladybug import DATABASE_FILE, LadybugStore

    store_dir, out = Path(store_dir), Path(out)
    if not (store_dir / DATABASE_FILE).is_file():
        raise BackupError(f"{store_dir} holds no embedded store (no {DATABASE_FILE})")
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"{out} exists and is not empty: back up into a new folder")
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    files: dict[str, str] = {}
    with LadybugStore(store_dir, read_only=True) as source, LadybugStore(partial / _STORE) as copy, source.snapshot():
        copy_store(source, copy)
    fsync_path(partial / _STORE / DATABASE_FILE)
    if state_dir is not None:
        (partial / "state").mkdir()
        for p in sorted(Path(state_dir).iterdir()):
            if p.name.endswith(("-wal", "-shm", "-journal")) or not p.is_file():
                continue
            target = partial / "state" / p.name
            if p.suffix == ".sqlite":
                _copy_database(p, target)
            else:
                shutil.copy2(p, target)
                fsync_path(target)
            os.chmod(target, 0o600)  # the audit-trail secret and the key ring are for the operator only
    for p in sorted(partial.rglob("*")):
        if p.is_file():
            files[p.relative_to(partial).as_posix()] = _sha256(p)
    manifest = {
        "format": _FORMAT,
        "made_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "store": str(store_dir),
        "with_state": state_dir is not None,
        **_store_counts(partial / _STORE),
        "files": files,
    }
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    fsync_path(partial / MANIFEST)
    if out.exists():
        out.rmdir()
    partial.rename(out)  # a backup folder exists only once it is complete
    return manifest


def verify_backup(backup: Path) -> dict[str, Any]:
    """The manifest of ``backup`` once every file is checked; BackupError naming what is wrong."""
    backup = Path(backup)
    try:
        manifest = json.loads((backup / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{backup} is not an AidGraph backup: {MANIFEST} unreadable ({exc})") from None
    if manifest.get("format") != _FORMAT:
        raise BackupError(f"{backup} has backup format {manifest.get('format')!r}, expected {_FORMAT}")
    for name, digest in manifest["files"].items():
        path = backup / name
        if not path.is_file():
            raise BackupError(f"{backup}: {name} is missing")
        if _sha256(path) != digest:
            raise BackupError(f"{backup}: {name} does not match its checksum (changed or damaged since the backup)")
    counts = _store_counts(backup / _STORE)
    if counts["nodes"] != manifest["nodes"] or counts["edges"] != manifest["edges"]:
        raise BackupError(
            f"{backup}: the store holds {counts['nodes']} nodes and {counts['edges']} relationships, its manifest says otherwise"
        )
    return manifest


def restore_store(backup: Path, store_dir: Path, *, state_dir: Path | None = None, force: bool = False) -> dict[str, Any]:
    """Replace the store at ``store_dir`` (and the API state, if given) by ``backup``.

    Refuses (BackupError, nothing changed) a backup that fails its checks, and an existing store
    unless ``force``. Of the API state only missing files are restored (a lost state folder);
    existing ones are kept. Stop the server using the store first: it keeps the old file open.
    """
    backup, store_dir = Path(backup), Path(store_dir)
    manifest = verify_backup(backup)
    from graph.stores.ladybug import DATABASE_FILE

    target = store_dir / DATABASE_FILE
    if target.exists() and not force:
        raise BackupError(f"{store_dir} already holds a store: restore into an empty folder, or pass --force to replace it")
    if state_dir is not None and not manifest.get("with_state"):
        raise BackupError(f"{backup} holds no API state: restore without --state")
    store_dir.mkdir(parents=True, exist_ok=True)
    incoming = store_dir / (DATABASE_FILE + ".restoring")
    shutil.copyfile(backup / _STORE / DATABASE_FILE, incoming)
    fsync_path(incoming)
    # The old database's write-ahead log must not be applied to the restored file.
    Path(str(target) + ".wal").unlink(missing_ok=True)
    os.replace(incoming, target)
    if state_dir is not None:
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        kept, restored = [], []
        for p in sorted((backup / "state").iterdir()):
            # Only what is missing comes back: the audit trail is append-only (an older copy
            # would lose entries), and a key revoked since the backup must stay revoked.
            if (state_dir / p.name).exists():
                kept.append(p.name)
                continue
            tmp = state_dir / (p.name + ".restoring")
            shutil.copyfile(p, tmp)
            os.chmod(tmp, 0o600)
            os.replace(tmp, state_dir / p.name)
            restored.append(p.name)
        manifest = {**manifest, "state_kept": kept, "state_restored": restored}
    return manifest
