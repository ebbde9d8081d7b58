"""Neo4j killed with SIGKILL mid-ingest: an ingest whose retries run out fails with one clear line
and leaves whole batches only; a re-run completes it; an ingest whose server comes back within
the retry time carries on by itself (the driver retries the lost transaction) to the clean state.

Its own Neo4j (the test's port + 2), restarted on the same data folder as an operator would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.model import NodeKind
from graph.stores.neo4j import Neo4jStore
from ingest.loader import ingest_folder
from tests.conftest import IN_CI, ROOT
from tests.e2e.ingest.test_crash import _NODE_FILES, BATCH, _file_keys
from tests.e2e.ingest.test_hostile import snapshot

pytestmark = pytest.mark.slow

PORT = str(int(os.environ.get("AIDGRAPH_NEO4J_PORT", "17687")) + 2)
URI = f"bolt://127.0.0.1:{PORT}"
PIDFILE = ROOT / "ops" / "neo4j" / "run" / f"neo4j-{PORT}.pid"


def _start(keep_data: bool) -> None:
    env = {**os.environ, "AIDGRAPH_NEO4J_HEAP": "768m", "AIDGRAPH_NEO4J_KEEP_DATA": "1" if keep_data else ""}
    proc = subprocess.run(["bash", str(ROOT / "ops" / "neo4j" / "start.sh"), PORT], capture_output=True, text=True, timeout=600, env=env)
    if proc.returncode != 0:
        message = f"the crash-test Neo4j did not start: {proc.stderr[-1500:]}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def _kill_neo4j() -> None:
    pid = int(PIDFILE.read_text())
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError("Neo4j survived SIGKILL")


@pytest.fixture(scope="module")
def crash_neo4j() -> Iterator[str]:
    _start(keep_data=False)
    yield URI
    subprocess.run(["bash", str(ROOT / "ops" / "neo4j" / "stop.sh"), PORT], check=False, timeout=120)


def _count(kind: NodeKind) -> int:
    from neo4j import GraphDatabase

    try:
        with GraphDatabase.driver(URI) as driver:
            records, _, _ = driver.execute_query(f"MATCH (n:`{kind.value}`) RETURN count(n) AS n")
            return records[0]["n"]
    except Exception:
        return -1


def _ingest(folder: Path, retry_s: float) -> subprocess.Popen:
    env = {**os.environ, "AIDGRAPH_NEO4J_RETRY_S": str(retry_s)}
    cmd = [sys.executable, "-m", "cli.main", "ingest", str(folder), "--neo4j", URI, "--batch-size", str(BATCH)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)


def _wait_for(kind: NodeKind, at_least: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300
    while _count(kind) < at_least:
        assert proc.poll() is None, f"the ingest ended before {at_least} {kind.value} were stored: {proc.communicate()}"
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_neo4j_killed_mid_ingest_then_restarted(crash_neo4j: str, generated_2000: Path) -> None:
    with Neo4jStore(crash_neo4j) as store:
        store.clear()
        assert ingest_folder(store, generated_2000).ok
        clean = snapshot(store)
        clean_history = len(list(store.iter_history()))
        store.clear()
    file_keys = _file_keys(generated_2000)

    # 1. Killed, not back in time: the ingest gives up after its retry time with one clear line.
    proc = _ingest(generated_2000, retry_s=3)
    _wait_for(NodeKind.PERSON, 1000, proc)
    _kill_neo4j()
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1
    lines = stderr.strip().splitlines()
    assert lines[-1].startswith(f"error: lost Neo4j at {crash_neo4j}") and "Traceback" not in stderr, stderr
    assert all(line.startswith("warning: Neo4j driver: ") for line in lines[:-1]), stderr

    # Restarted on the same data: Neo4j recovers its log; what is there is whole batches of a
    # prefix of the files, each node exactly as the clean ingest has it.
    _start(keep_data=True)
    with Neo4jStore(crash_neo4j) as store:
        nodes, edges = snapshot(store)
    assert all(clean[0].get(k) == v for k, v in nodes.items())
    assert all(clean[1].get(k) == v for k, v in edges.items())
    persons = {key for (kind, key), props in nodes.items() if kind == "Person" and props.get("household_id")}
    assert 1000 <= len(persons) < len(file_keys["persons"])
    assert persons == set(file_keys["persons"][: len(persons)]) and len(persons) % BATCH == 0
    later = [n for n in list(_NODE_FILES)[list(_NODE_FILES).index("persons") + 1 :] if n in file_keys]
    assert not any(kind == _NODE_FILES[n] for n in later for kind, _ in nodes)

    # 2. Killed and restarted within the retry time: the same ingest run carries on and completes.
    proc = _ingest(generated_2000, retry_s=300)
    _wait_for(NodeKind.AID_RECORD, 500, proc)
    _kill_neo4j()
    _start(keep_data=True)
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr

    with Neo4jStore(crash_neo4j) as store:
        assert snapshot(store) == clean
        # A batch whose commit was lost with the server and then retried changed nothing twice.
        assert len(list(store.iter_history())) == clean_history
