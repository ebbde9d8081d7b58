"""aidgraph backup / restore: consistent snapshots while a writer runs, checked before restoring."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from graph.backup import BackupError, backup_store, restore_store, verify_backup
from graph.model import NodeKind, RelKind
from graph.store import EdgeWrite, NodeWrite, WriteBatch
from graph.stores.ladybug import LadybugStore
from ingest.loader import ingest_folder
from queries.household import household_view

runner = CliRunner()


def _batch(i: int) -> WriteBatch:
    """One household and its region, linked: a backup holding half of a batch would show it."""
    region, household = f"{420000 + i:06d}", f"H-B-{i:05d}"
    return WriteBatch(
        nodes=[
            NodeWrite(NodeKind.REGION, region, {"region_code": region, "name": f"r{i}", "level": "county"}),
            NodeWrite(NodeKind.HOUSEHOLD, household, {"household_id": household, "region_code": region}),
        ],
        edges=[EdgeWrite(RelKind.LIVES_IN, NodeKind.HOUSEHOLD, household, NodeKind.REGION, region)],
        source="writer",
    )


def test_backups_taken_while_a_writer_runs_are_each_consistent(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    LadybugStore(store_dir).close()
    stop = threading.Event()
    written = []

    def writer() -> None:
        with LadybugStore(store_dir) as s:  # its own connection, as a server would have
            i = 0
            while not stop.is_set():
                s.write_batch(_batch(i))
                written.append(i)
                i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not written and time.monotonic() < deadline:  # the writer's store may take a while to open
            time.sleep(0.01)
        seen = []
        for n in range(6):
            time.sleep(0.15)
            manifest = backup_store(store_dir, tmp_path / f"backup-{n}")
            restored = tmp_path / f"restored-{n}"
            restore_store(tmp_path / f"backup-{n}", restored)
            with LadybugStore(restored) as r:
                counts = r.counts()
            # Whole batches only: as many households as regions as LIVES_IN relationships.
            assert counts.nodes["Household"] == counts.nodes["Region"] == counts.edges["LIVES_IN"] == manifest["nodes"] // 2
            seen.append(manifest["nodes"])
    finally:
        stop.set()
        thread.join()
    assert seen == sorted(seen) and seen[-1] > seen[0] > 0  # taken at different moments while writing
    assert len(written) * 2 > seen[-1]


def test_a_damaged_backup_is_refused_and_the_store_is_left_alone(tmp_path: Path, two_cases_dir: Path) -> None:
    with LadybugStore(tmp_path / "store") as s:
        ingest_folder(s, two_cases_dir)
    backup_store(tmp_path / "store", tmp_path / "backup")
    with LadybugStore(tmp_path / "other") as s:
        s.write_batch(_batch(1))
    before = (tmp_path / "other" / "graph.lbug").read_bytes()

    with pytest.raises(BackupError, match="already holds a store"):
        restore_store(tmp_path / "backup", tmp_path / "other")
    db = tmp_path / "backup" / "store" / "graph.lbug"
    data = bytearray(db.read_bytes())
    data[len(data) // 2] ^= 0xFF
    db.write_bytes(bytes(data))
    with pytest.raises(BackupError, match=r"store/graph\.lbug does not match its checksum"):
        restore_store(tmp_path / "backup", tmp_path / "other", force=True)
    assert (tmp_path / "other" / "graph.lbug").read_bytes() == before
    (tmp_path / "backup" / "MANIFEST.json").write_text("{")
    with pytest.raises(BackupError, match="not an AidGraph backup"):
        verify_backup(tmp_path / "backup")


def test_restore_replaces_with_force_and_drops_the_old_write_ahead_log(tmp_path: Path, two_cases_dir: Path) -> None:
    with LadybugStore(tmp_path / "store") as s:
        ingest_folder(s, two_cases_dir)
        expected = s.counts()
    backup_store(tmp_path / "store", tmp_path / "backup")
    target = tmp_path / "target"
    keep_open = LadybugStore(target)
    for i in range(20):
        keep_open.write_batch(_batch(i))
    # A process that died with transactions in its write-ahead log leaves the log behind.
    wal = (target / "graph.lbug.wal").read_bytes()
    assert len(wal) > 0
    keep_open.close()
    (target / "graph.lbug.wal").write_bytes(wal)
    restore_store(tmp_path / "backup", target, force=True)
    assert not (target / "graph.lbug.wal").exists()
    with LadybugStore(target) as r:
        assert r.counts() == expected


_SERVER_WRITER = """
import sys, time
sys.path.insert(0, {root!r})
from tests.e2e.graph.test_backup import _batch
from graph.stores.ladybug import LadybugStore
with LadybugStore({store!r}) as s:
    i = 0
    while True:
        s.write_batch(_batch(i))
        i += 1
        if i == 5:
            print("writing", flush=True)
"""


def test_a_backup_taken_while_another_process_writes_is_consistent(tmp_path: Path) -> None:
    """The server holds the store; ``aidgraph backup`` in another process reads it read-only."""
    store_dir = tmp_path / "store"
    LadybugStore(store_dir).close()
    root = str(Path(__file__).resolve().parents[3])
    writer = subprocess.Popen(
        [sys.executable, "-c", _SERVER_WRITER.format(root=root, store=str(store_dir))], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        seen = []
        for n in range(3):
            time.sleep(0.2)
            manifest = backup_store(store_dir, tmp_path / f"backup-{n}")
            restore_store(tmp_path / f"backup-{n}", tmp_path / f"restored-{n}")
            with LadybugStore(tmp_path / f"restored-{n}") as r:
                counts = r.counts()
            assert counts.nodes["Household"] == counts.nodes["Region"] == counts.edges["LIVES_IN"] == manifest["nodes"] // 2 > 0
            seen.append(manifest["nodes"])
        assert seen == sorted(seen) and seen[-1] > seen[0]
    finally:
        writer.kill()
        writer.wait()


def test_cli_backup_and_restore_with_state(tmp_path: Path, two_cases_dir: Path) -> None:
    store, state = tmp_path / "store", tmp_path / "api"
    assert runner.invoke(app, ["ingest", str(two_cases_dir), "--store", str(store)]).exit_code == 0
    assert runner.invoke(app, ["keys", "create", "--name", "w", "--role", "auditor", "--state", str(state)]).exit_code == 0
    (state / "audit-log.secret").write_bytes(b"s" * 32)
    made = runner.invoke(app, ["backup", str(tmp_path / "b"), "--store", str(store), "--state", str(state)])
    assert made.exit_code == 0, made.output
    assert "backed up" in made.output and "state/keys.sqlite" in made.output
    assert (tmp_path / "b" / "state" / "audit-log.secret").stat().st_mode & 0o077 == 0
    again = runner.invoke(app, ["backup", str(tmp_path / "b"), "--store", str(store)])
    assert again.exit_code == 1 and "not empty" in again.output
    verified = runner.invoke(app, ["restore", str(tmp_path / "b"), "--verify-only"])
    assert verified.exit_code == 0 and "verified" in verified.output

    new_state = tmp_path / "new-api"
    new_state.mkdir()
    (new_state / "keys.sqlite").write_bytes(b"")  # a key ring already there is kept
    restored = runner.invoke(app, ["restore", str(tmp_path / "b"), "--store", str(tmp_path / "r"), "--state", str(new_state)])
    assert restored.exit_code == 0, restored.output
    assert (new_state / "keys.sqlite").read_bytes() == b""
    assert (new_state / "audit-log.secret").read_bytes() == b"s" * 32
    stats = [runner.invoke(app, ["stats", "--store", str(p), "--json"]).output for p in (store, tmp_path / "r")]
    assert stats[0] == stats[1]
    refused = runner.invoke(app, ["restore", str(tmp_path / "b"), "--store", str(tmp_path / "r")])
    assert refused.exit_code == 1 and "--force" in refused.output


def test_a_neo4j_graph_backed_up_restores_and_goes_back_into_neo4j(
    neo4j_store, neo4j_uri: str, two_cases_dir: Path, tmp_path: Path
) -> None:
    ingest_folder(neo4j_store, two_cases_dir)
    update = tmp_path / "update"
    update.mkdir()
    (update / "households.csv").write_text("household_id,region_code,address\nH-420106-0001,420106005001,新地址\n", encoding="utf-8")
    ingest_folder(neo4j_store, update)
    counts, history = neo4j_store.counts(), neo4j_store.history(NodeKind.HOUSEHOLD, "H-420106-0001")
    view = household_view(neo4j_store, household_id="H-420106-0001")
    made = runner.invoke(app, ["backup", str(tmp_path / "b"), "--neo4j", neo4j_uri])
    assert made.exit_code == 0, made.output
    assert runner.invoke(app, ["restore", str(tmp_path / "b"), "--store", str(tmp_path / "r")]).exit_code == 0
    neo4j_store.clear()
    back = runner.invoke(app, ["export", "--store", str(tmp_path / "r"), "--neo4j", neo4j_uri])
    assert back.exit_code == 0, back.output
    assert neo4j_store.counts() == counts
    assert neo4j_store.history(NodeKind.HOUSEHOLD, "H-420106-0001") == history
    assert household_view(neo4j_store, household_id="H-420106-0001") == view


def test_the_manifest_counts_what_the_store_holds_not_the_rows_of_its_log(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    with LadybugStore(store_dir) as s:
        s.write_batch(_batch(0))
        s.write_batch(_batch(1))
        s.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.HOUSEHOLD, "H-B-00000", {"address": "新地址"})]))  # a second row
        s.write_batch(WriteBatch(removed_edges=[EdgeWrite(RelKind.LIVES_IN, NodeKind.HOUSEHOLD, "H-B-00001", NodeKind.REGION, "420001")]))
        counts = s.counts()
    manifest = backup_store(store_dir, tmp_path / "backup")
    assert (manifest["nodes"], manifest["edges"]) == (sum(counts.nodes.values()), sum(counts.edges.values())) == (4, 1)
