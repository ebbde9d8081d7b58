"""Backup and restore of the embedded store (and the API's state), consistent while writers run.

A backup is a folder: ``graph.sqlite`` (the store), ``state/`` (the API's key ring, audit trail
and its secret, if asked for) and ``MANIFEST.json`` (what was backed up, when, the counts, and a
SHA-256 of every file). Databases are copied with SQLite's online backup, which reads one
consistent snapshot while the server goes on writing (WAL mode: the writer is not blocked).
Restoring checks the manifest, every checksum and SQLite's integrity check before it replaces
anything, then swaps the file in with one rename: a restore that fails leaves the store as it was.

>>> import tempfile, pathlib
>>> from graph.stores.embedded import EmbeddedStore
>>> with tempfile.TemporaryDirectory() as d:
...     EmbeddedStore(pathlib.Path(d) / "store").close()
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

from graph.store import StoreError

__all__ = ["BackupError", "backup_store", "restore_store", "verify_backup"]

MANIFEST = "MANIFEST.json"
_FORMAT = "aidgraph-backup/1"


class BackupError(StoreError):
    """A backup that cannot be made or a backup that must not be restored; nothing was changed."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    _fsync(target)


def _integrity(db: Path) -> None:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{db.name} is not a readable SQLite database: {exc}") from None
    finally:
        conn.close()
    if result != "ok":
        raise BackupError(f"{db.name} fails SQLite's integrity check: {result}")


def _graph_counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        # The tables are logs (store format 2): count keys by their latest row.
        nodes = conn.execute("SELECT count(*) FROM (SELECT DISTINCT kind, key FROM nodes)").fetchone()[0]
        edges = conn.execute(
            "SELECT count(*) FROM (SELECT props, row_number() OVER (PARTITION BY src, rel, dst ORDER BY seq DESC) AS latest FROM edges) "
            "WHERE latest = 1 AND props IS NOT NULL"
        ).fetchone()[0]
        history = conn.execute("SELECT count(*) FROM history").fetchone()[0]
        fmt = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{db.name} is not an AidGraph store: {exc}") from None
    finally:
        conn.close()
    return {"nodes": nodes, "edges": edges, "history": history, "store_format": fmt[0] if fmt else None}


def backup_store(store_dir: Path, out: Path, *, state_dir: Path | None = None) -> dict[str, Any]:
    """Back up the embedded store at ``store_dir`` (and the API state at ``state_dir``) into the
    new folder ``out``; return the manifest. Safe while a server writes to the store."""
    store_dir, out = Path(store_dir), Path(out)
    source = store_dir / "graph.sqlite"
    if not source.is_file():
        raise BackupError(f"{store_dir} holds no embedded store (no graph.sqlite)")
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"{out} exists and is not empty: back up into a new folder")
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    files: dict[str, str] = {}
    _copy_database(source, partial / "graph.sqlite")
    _integrity(partial / "graph.sqlite")
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
                _fsync(target)
            os.chmod(target, 0o600)  # the audit-trail secret and the key ring are for the operator only
    for p in sorted(partial.rglob("*")):
        if p.is_file():
            files[p.relative_to(partial).as_posix()] = _sha256(p)
    manifest = {
        "format": _FORMAT,
        "made_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "store": str(store_dir),
        "with_state": state_dir is not None,
        **_graph_counts(partial / "graph.sqlite"),
        "files": files,
    }
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    _fsync(partial / MANIFEST)
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
    _integrity(backup / "graph.sqlite")
    return manifest


def restore_store(backup: Path, store_dir: Path, *, state_dir: Path | None = None, force: bool = False) -> dict[str, Any]:
    """Replace the store at ``store_dir`` (and the API state, if given) by ``backup``.

    Refuses (BackupError, nothing changed) a backup that fails its checks, and an existing store
    unless ``force``. Of the API state only missing files are restored (a lost state folder);
    existing ones are kept. Stop the server using the store first: it keeps the old file open.
    """
    backup, store_dir = Path(backup), Path(store_dir)
    manifest = verify_backup(backup)
    target = store_dir / "graph.sqlite"
    if target.exists() and not force:
        raise BackupError(f"{store_dir} already holds a store: restore into an empty folder, or pass --force to replace it")
    if state_dir is not None and not manifest.get("with_state"):
        raise BackupError(f"{backup} holds no API state: restore without --state")
    store_dir.mkdir(parents=True, exist_ok=True)
    incoming = store_dir / "graph.sqlite.restoring"
    shutil.copyfile(backup / "graph.sqlite", incoming)
    _fsync(incoming)
    _integrity(incoming)
    # The old database's write-ahead log must not be applied to the restored file.
    for suffix in ("-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
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
