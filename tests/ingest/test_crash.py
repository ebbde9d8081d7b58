"""An ingest killed with SIGKILL midway leaves a consistent store, and a re-run completes it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graph.model import NodeKind, RelKind
from graph.stores.embedded import EmbeddedStore
from ingest.loader import ingest_folder
from ingest.synthetic import generate_prefecture

pytestmark = pytest.mark.slow


def snapshot(store: EmbeddedStore) -> tuple[dict, dict]:
    nodes = {(n.kind, n.key): n.props for kind in NodeKind for n in store.iter_nodes(kind)}
    edges = {(e.rel, e.src_key, e.dst_key): e.props for rel in RelKind for e in store.iter_edges(rel)}
    return nodes, edges


def count_persons(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM nodes WHERE kind = 'Person'").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_sigkill_midway_then_rerun(tmp_path: Path) -> None:
    folder = tmp_path / "prefecture"
    generate_prefecture(households=3000, seed=11, out=folder)
    store_dir = tmp_path / "killed"
    db = store_dir / "graph.sqlite"
    cmd = [sys.executable, "-m", "cli.main", "ingest", str(folder), "--store", str(store_dir), "--batch-size", "100"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[2])
    deadline = time.monotonic() + 120
    # Kill while the register is half written: persons are in some batches, not all.
    while count_persons(db) < 1500:
        assert proc.poll() is None, "the ingest finished before it could be killed: make the folder larger"
        assert time.monotonic() < deadline, "the ingest never reached the persons file"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    with EmbeddedStore(store_dir) as reopened:
        counts = reopened.counts()
        persons = counts.nodes["Person"]
        assert 1500 <= persons < 8000
        # Whole batches only: every stored person came with its membership, every membership's
        # ends exist, and no relationship dangles anywhere.
        assert counts.edges["MEMBER_OF"] == persons
        with sqlite3.connect(db) as conn:
            dangling = conn.execute(
                "SELECT count(*) FROM edges WHERE src NOT IN (SELECT kind || ':' || key FROM nodes) "
                "OR dst NOT IN (SELECT kind || ':' || key FROM nodes)"
            ).fetchone()[0]
        assert dangling == 0
        assert all(reopened.graph.nodes[n] for n in reopened.graph)  # no node without its properties
        # What was committed before the kill is a prefix of the files: everything before persons
        # is there in full.
        assert counts.nodes["Household"] == 3000
        assert counts.nodes["AidRecord"] == 0

    with EmbeddedStore(store_dir) as resumed:
        report = ingest_folder(resumed, folder)
        assert report.ok
        resumed_state = snapshot(resumed)
    with EmbeddedStore(tmp_path / "clean") as clean:
        ingest_folder(clean, folder)
        clean_state = snapshot(clean)
    assert resumed_state == clean_state
