"""An ingest killed with SIGKILL midway leaves a consistent store, and a re-run completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graph.model import NodeKind, RelKind
from graph.store import NodeWrite, WriteBatch
from graph.stores.ladybug import LadybugStore
from ingest.loader import ingest_folder
from ingest.synthetic import generate_prefecture

pytestmark = pytest.mark.slow


def snapshot(store: LadybugStore) -> tuple[dict, dict]:
    nodes = {(n.kind, n.key): n.props for kind in NodeKind for n in store.iter_nodes(kind)}
    edges = {(e.rel, e.src_key, e.dst_key): e.props for rel in RelKind for e in store.iter_edges(rel)}
    return nodes, edges


def count_persons(store_dir: Path) -> int:
    """Persons committed so far, read while the ingest writes (a read-only open, as a reader in
    another process does); 0 before the store exists."""
    from graph.store import StoreError

    try:
        with LadybugStore(store_dir, read_only=True) as reader:
            return reader.counts().nodes["Person"]
    except StoreError:
        return 0


def _no_relationship_without_its_ends(store: LadybugStore) -> None:
    """Each relationship joins two stored nodes: counted once by type, and again by its ends."""
    counts = store.counts()
    for rel in RelKind:
        assert sum(1 for _ in store.iter_edges(rel)) == counts.edges[rel.value], rel


def test_sigkill_midway_then_rerun(tmp_path: Path) -> None:
    folder = tmp_path / "prefecture"
    generate_prefecture(households=3000, seed=11, out=folder)
    store_dir = tmp_path / "killed"
    cmd = [sys.executable, "-m", "cli.main", "ingest", str(folder), "--store", str(store_dir), "--batch-size", "100", "--in-batches"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[3])
    deadline = time.monotonic() + 120
    # Kill while the register is half written: persons are in some batches, not all.
    while count_persons(store_dir) < 1500:
        assert proc.poll() is None, "the ingest finished before it could be killed: make the folder larger"
        assert time.monotonic() < deadline, "the ingest never reached the persons file"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    with LadybugStore(store_dir) as reopened:
        counts = reopened.counts()
        persons = counts.nodes["Person"]
        assert 1500 <= persons < 8000
        # Whole batches only: every stored person came with its membership, every membership's
        # ends exist, and no relationship dangles anywhere.
        assert counts.edges["MEMBER_OF"] == persons
        _no_relationship_without_its_ends(reopened)
        assert all(n.props for kind in NodeKind for n in reopened.iter_nodes(kind))  # no node without its properties
        # What was committed before the kill is a prefix of the files: everything before persons
        # is there in full.
        assert counts.nodes["Household"] == 3000
        assert counts.nodes["AidRecord"] == 0

    with LadybugStore(store_dir) as resumed:
        report = ingest_folder(resumed, folder)
        assert report.ok
        resumed_state = snapshot(resumed)
    with LadybugStore(tmp_path / "clean") as clean:
        ingest_folder(clean, folder)
        clean_state = snapshot(clean)
    assert resumed_state == clean_state


#: The files whose rows each make one node of one kind (kinship makes edges only).
_NODE_FILES = {
    "regions": "Region",
    "departments": "Department",
    "programs": "Program",
    "households": "Household",
    "persons": "Person",
    "incomes": "Income",
    "assets": "Asset",
    "needs": "Need",
    "aid_records": "AidRecord",
    "resources": "Resource",
    "services": "Service",
}
KILLS = 24
BATCH = 100


def _file_keys(folder: Path) -> dict[str, list[str]]:
    from ingest.exchange import FILE_SPECS, find_files, read_rows
    from ingest.loader import _row_key

    found, _, _ = find_files(folder)
    return {
        name: [_row_key(FILE_SPECS[name], f) for _, f in read_rows(found[name], FILE_SPECS[name])] for name in _NODE_FILES if name in found
    }


def _check_consistent(store_dir: Path, clean: tuple[dict, dict], file_keys: dict[str, list[str]]) -> tuple[dict[str, int], int]:
    """The reopened store is a prefix of whole batches of the clean ingest.

    Returns the rows stored per node file and the number of relationships stored (files such as
    kinship.csv add relationships only, so the node counts alone do not tell their kill points apart).
    """
    clean_nodes, clean_edges = clean
    # Opening first: a process killed before it made the schema leaves no file, or half a schema,
    # which opening completes; LadybugDB checks its pages' checksums as it reads them.
    with LadybugStore(store_dir) as reopened:
        nodes, edges = snapshot(reopened)
    # No half-written node or relationship: whatever is there is exactly as the clean ingest has it.
    assert all(clean_nodes.get(k) == v for k, v in nodes.items()), "a node differs from the clean ingest"
    assert all(clean_edges.get(k) == v for k, v in edges.items()), "a relationship differs from the clean ingest"
    stored: dict[str, int] = {}
    for name, keys in file_keys.items():
        kind = _NODE_FILES[name]
        have = {key for (k, key), props in nodes.items() if k == kind and (kind != "Person" or props.get("household_id"))}
        n = len(have)
        # The file's first n rows, in whole batches (or the whole file).
        assert have == set(keys[:n]), f"{name}: stored rows are not a prefix of the file"
        assert n == len(keys) or n % BATCH == 0, f"{name}: {n} rows is not a whole number of batches of {BATCH}"
        stored[name] = n
    # Files are ingested in order: a file is begun only once every earlier one is complete.
    started = [name for name in file_keys if stored[name]]
    for earlier in started[:-1]:
        assert stored[earlier] == len(file_keys[earlier]), f"{earlier} incomplete while a later file was begun"
    return stored, len(edges)


def test_24_kills_at_random_points_then_a_rerun_gives_the_clean_state(generated_2000: Path, tmp_path: Path) -> None:
    import random

    with LadybugStore(tmp_path / "clean") as clean_store:
        assert ingest_folder(clean_store, generated_2000).ok
        clean = snapshot(clean_store)
        clean_history = sorted((h["kind"], h["key"], str(h["before"]), str(h["after"])) for h in clean_store.iter_history())
    file_keys = _file_keys(generated_2000)
    store_dir = tmp_path / "killed"
    # Batch by batch, as into a store that holds data already (a first load lands whole or not at
    # all: the next test).
    cmd = [sys.executable, "-m", "cli.main", "ingest", str(generated_2000), "--store", str(store_dir)]
    cmd += ["--batch-size", str(BATCH), "--in-batches"]
    rng = random.Random(20261125)
    # Kill points spread over the time a whole run takes here (measured: the ingest gets faster).
    started = time.monotonic()
    subprocess.run(
        [*cmd[:6], str(tmp_path / "timed"), *cmd[7:]], check=True, stdout=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[3]
    )
    whole_run = time.monotonic() - started
    points: list[tuple[dict[str, int], int]] = []
    attempt = 0
    while len(points) < KILLS:
        # Stratified: the k-th kill falls in the k-th slice of the run, at a random place in it, so
        # that the kills cover the run from start to end rather than clustering by chance.
        slice_ = attempt % KILLS
        attempt += 1
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[3])
        time.sleep((0.1 + 0.85 * (slice_ + rng.random()) / KILLS) * whole_run)
        if proc.poll() is not None:
            continue  # finished before the kill: not counted, the store is simply complete
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        points.append(_check_consistent(store_dir, clean, file_keys))
        # Usually start again from an empty store, so that kills land early as well as late
        # (a re-run over a store already further on only adds to it); sometimes resume.
        if points[-1][0] == {n: len(k) for n, k in file_keys.items()} or rng.random() < 0.6:
            for p in store_dir.iterdir():
                p.unlink()
    # The kills landed at different points, in several files.
    states = {(*stored.values(), edges) for stored, edges in points}
    print(f"{len(points)} kills, {len(states)} distinct states")
    assert len(states) >= KILLS // 3
    assert len({max((n for n in file_keys if p[n]), key=list(file_keys).index, default="") for p, _ in points}) >= 3

    with LadybugStore(store_dir) as resumed:
        assert ingest_folder(resumed, generated_2000).ok
        assert snapshot(resumed) == clean
        # Re-running wrote nothing twice: no update appears in the history that the clean ingest lacks.
        resumed_history = sorted((h["kind"], h["key"], str(h["before"]), str(h["after"])) for h in resumed.iter_history())
    assert resumed_history == clean_history


def test_kills_during_a_first_load_leave_the_store_empty_or_whole(generated_2000: Path, tmp_path: Path) -> None:
    """A first load is staged, then copied into a file that takes the store's place when whole:
    killed at any point, the reopened store holds nothing or everything."""
    import random

    with LadybugStore(tmp_path / "clean") as clean_store:
        assert ingest_folder(clean_store, generated_2000).ok
        clean = snapshot(clean_store)
    store_dir = tmp_path / "killed"
    cmd = [sys.executable, "-m", "cli.main", "ingest", str(generated_2000), "--store", str(store_dir)]
    started = time.monotonic()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[3])
    whole_run = time.monotonic() - started
    rng = random.Random(20261202)
    outcomes = []
    for slice_ in range(KILLS // 2):
        for p in store_dir.iterdir():
            p.unlink()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[3])
        # Over the whole run, the last slices on the COPY at its end.
        time.sleep((0.1 + 0.9 * (slice_ + rng.random()) / (KILLS // 2)) * whole_run)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        with LadybugStore(store_dir) as reopened:
            nodes, edges = snapshot(reopened)
        assert (nodes, edges) in (({}, {}), clean), f"kill {slice_}: {len(nodes)} nodes and {len(edges)} relationships, a part of the load"
        outcomes.append(bool(nodes))
    assert not all(outcomes)  # some kills landed before the commit


_WRITE_THEN_DIE = """
import os, signal, sys
from graph.model import NodeKind
from graph.store import NodeWrite, WriteBatch
from graph.stores.ladybug import LadybugStore

store = LadybugStore(sys.argv[1])
for b in range(5):
    store.write_batch(WriteBatch(nodes=[
        NodeWrite(NodeKind.PROGRAM, f"P{b}-{i}", {"program_code": f"P{b}-{i}", "name": "低保"}) for i in range(200)
    ]))
os.kill(os.getpid(), signal.SIGKILL)  # after five commits, before any checkpoint or close
"""


def test_a_torn_wal_tail_loses_only_the_unfinished_transaction(tmp_path: Path) -> None:
    # A process killed while writing its WAL leaves a record cut short at the end. Reopening must
    # keep every committed transaction (still only in the WAL here) and drop the torn one.
    store_dir = tmp_path / "store"
    proc = subprocess.run([sys.executable, "-c", _WRITE_THEN_DIE, str(store_dir)], cwd=Path(__file__).resolve().parents[3], check=False)
    assert proc.returncode == -signal.SIGKILL
    wal = store_dir / "graph.lbug.wal"
    assert wal.stat().st_size > 0, "the commits were checkpointed: nothing left to replay"
    with wal.open("ab") as f:
        f.write(b"\x07\x00\x00\x00\x2a\x00")  # the first bytes of a record that was never finished
    with LadybugStore(store_dir) as reopened:
        assert reopened.counts().nodes["Program"] == 1000
        reopened.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.PROGRAM, "after", {"program_code": "after"})]))
    with LadybugStore(store_dir) as again:  # and what is written after the recovery is kept too
        assert again.counts().nodes["Program"] == 1001
