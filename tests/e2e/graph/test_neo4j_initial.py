"""``aidgraph ingest --neo4j URI --initial``: a first load of an empty Neo4j through Neo4j's import
tool gives the very graph the transactional ingest gives (every node and relationship with its
properties, the same report), and refuses what it cannot load whole before touching the database.

Its own Neo4j (the test's port + 4): the import stops and restarts the DBMS.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.model import NodeKind, RelKind
from graph.store import EdgeWrite, NodeWrite, StoreError, WriteBatch
from graph.stores.ladybug import LadybugStore
from graph.stores.neo4j import Neo4jStore
from ingest.loader import ingest_folder
from ingest.neo4j_import import ImportFiles, import_initial, launcher_port
from queries.duplicate_aid import delivered_twice
from tests.conftest import IN_CI, ROOT, TWO_CASES
from tests.e2e.ingest.test_hostile import snapshot

pytestmark = pytest.mark.slow

PORT = str(int(os.environ.get("AIDGRAPH_NEO4J_PORT", "17687")) + 4)
URI = f"bolt://127.0.0.1:{PORT}"


def _launcher(script: str) -> None:
    env = {**os.environ, "AIDGRAPH_NEO4J_HEAP": "768m", "AIDGRAPH_NEO4J_KEEP_DATA": ""}
    proc = subprocess.run(["bash", str(ROOT / "ops" / "neo4j" / script), PORT], capture_output=True, text=True, timeout=600, env=env)
    if proc.returncode != 0:
        message = f"the import-test Neo4j: {script} failed: {proc.stderr[-1500:]}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def empty_neo4j() -> Iterator[str]:
    _launcher("stop.sh")  # a fresh, empty database each test
    _launcher("start.sh")
    yield URI
    _launcher("stop.sh")


def _summary(report: object) -> list[tuple]:
    return [(f.file, f.rows, f.rejected_rows) for f in report.files] + [(r.file, r.row, r.field) for r in report.rejects]  # type: ignore[attr-defined]


def test_initial_load_is_the_transactional_graph(empty_neo4j: str, generated_2000: Path, tmp_path: Path) -> None:
    loaded = import_initial(generated_2000, empty_neo4j)
    with LadybugStore(tmp_path / "store") as embedded, Neo4jStore(empty_neo4j) as neo4j:
        report = ingest_folder(embedded, generated_2000)
        assert _summary(loaded.report) == _summary(report)
        nodes, edges = snapshot(neo4j)
        want_nodes, want_edges = snapshot(embedded)
        assert len(nodes) == len(want_nodes) > 10_000
        assert nodes == want_nodes
        assert edges == want_edges
        # Later loads are transactional, on the imported database: a second ingest changes nothing.
        again = ingest_folder(neo4j, generated_2000)
        assert sum(sum(f.written.created.values()) + sum(f.written.updated.values()) for f in again.files) == 0
        # And the questions answer alike (the duplicate-aid audit as one of them).
        assert delivered_twice(neo4j) == delivered_twice(embedded)
    with pytest.raises(StoreError, match=r"holds .* nodes: load without --initial"):
        import_initial(generated_2000, empty_neo4j)


def test_bad_and_repeated_rows_are_rejected_as_in_any_ingest(empty_neo4j: str, tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    shutil.copytree(TWO_CASES, folder)
    persons = folder / "persons.csv"
    lines = persons.read_text(encoding="utf-8").splitlines()
    bad = lines[1].split(",")
    bad[0], bad[3] = "420106198305149999", "1983-02-30"  # another person, born on no day
    persons.write_text("\n".join([*lines, ",".join(bad), lines[1]]) + "\n", encoding="utf-8")  # and the first row again
    loaded = import_initial(folder, empty_neo4j)
    with LadybugStore(tmp_path / "store") as embedded, Neo4jStore(empty_neo4j) as neo4j:
        report = ingest_folder(embedded, folder)
        assert [(r.file, r.field) for r in loaded.report.rejects] == [("persons.csv", "birth_date"), ("persons.csv", "id_number")]
        assert _summary(loaded.report) == _summary(report)
        assert snapshot(neo4j) == snapshot(embedded)


def test_a_node_written_twice_stops_before_the_import(tmp_path: Path) -> None:
    # The loader rejects a key repeated in a file; were a node still to reach the files twice, the
    # load stops before the import tool runs (the transactional ingest would have merged it).
    files = ImportFiles(tmp_path)
    person = NodeWrite(NodeKind.PERSON, "420106198305141516", {"id_number": "420106198305141516", "name": "周建军"})
    files.write_batch(WriteBatch(nodes=[person], source="persons.csv"))
    stub = NodeWrite(NodeKind.PERSON, person.key, {"id_number": person.key}, create_only=True)
    assert files.write_batch(WriteBatch(nodes=[stub])).unchanged == {"Person": 1}  # a feed's stub of a known person
    with pytest.raises(StoreError, match=r"Person 420106198305141516 is given twice .* load without --initial"):
        files.write_batch(WriteBatch(nodes=[person], source="persons.csv"))
    with pytest.raises(StoreError, match="no Household H-9"):
        files.write_batch(WriteBatch(edges=[EdgeWrite(RelKind.MEMBER_OF, NodeKind.PERSON, person.key, NodeKind.HOUSEHOLD, "H-9")]))
    files.close()


def test_only_a_launcher_neo4j_on_this_machine() -> None:
    with pytest.raises(StoreError, match=r"only a Neo4j started by ops/neo4j/start\.sh"):
        launcher_port("bolt://127.0.0.1:1")  # no launcher runs there
