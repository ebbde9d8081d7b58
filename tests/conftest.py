"""Shared fixtures: the two real cases, generated prefectures, stores on both engines."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graph.store import GraphStore
from graph.stores.ladybug import LadybugStore

ROOT = Path(__file__).resolve().parent.parent
TWO_CASES = ROOT / "tests" / "fixtures" / "two-cases"
SHARED_TWO_CASES = ROOT.parent / "shared" / "examples" / "two-cases"
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def two_cases_dir() -> Path:
    return TWO_CASES


@pytest.fixture
def embedded_store(tmp_path: Path) -> Iterator[LadybugStore]:
    store = LadybugStore(tmp_path / "store")
    yield store
    store.close()


@pytest.fixture(scope="session")
def prefecture(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., tuple[Path, dict]]:
    """``prefecture(households, seed, ledgers=False)``: the generated folder and its truth, made once
    per session for each size and seed (tests read the folder, never change it)."""
    from ingest.synthetic import generate_prefecture

    made: dict[tuple[int, int, bool], tuple[Path, dict]] = {}

    def get(households: int, seed: int, *, ledgers: bool = False) -> tuple[Path, dict]:
        if (households, seed, ledgers) not in made:
            out = tmp_path_factory.mktemp(f"prefecture-{households}-{seed}{'-ledgers' if ledgers else ''}")
            made[households, seed, ledgers] = (out, generate_prefecture(households=households, seed=seed, out=out, ledgers=ledgers))
        return made[households, seed, ledgers]

    return get


@pytest.fixture(scope="session")
def generated_2000(prefecture: Callable[..., tuple[Path, dict]]) -> Path:
    return prefecture(2000, 7)[0]


@pytest.fixture(scope="session")
def neo4j_uri() -> Iterator[str]:
    """The test Neo4j: $AIDGRAPH_TEST_NEO4J_URI, else started here by ops/neo4j/start.sh.

    Under CI=true a Neo4j that cannot be reached or started fails the test; elsewhere (a
    developer machine without Java) the Neo4j tests are skipped with the reason.
    """
    uri = os.environ.get("AIDGRAPH_TEST_NEO4J_URI")
    started = False
    if not uri:
        port = os.environ.get("AIDGRAPH_NEO4J_PORT", "17687")
        proc = subprocess.run(["bash", str(ROOT / "ops" / "neo4j" / "start.sh"), port], capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            message = f"Neo4j did not start: {proc.stderr.strip()[-2000:]}"
            if IN_CI:
                pytest.fail(message)
            pytest.skip(message)
        uri, started = f"bolt://127.0.0.1:{port}", True
    from neo4j import GraphDatabase

    try:
        with GraphDatabase.driver(uri, auth=None) as driver:
            driver.verify_connectivity()
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"Neo4j at {uri} is not reachable: {exc}")
        pytest.skip(f"Neo4j at {uri} is not reachable: {exc}")
    yield uri
    if started:
        subprocess.run(["bash", str(ROOT / "ops" / "neo4j" / "stop.sh"), port], check=False, timeout=120)


@pytest.fixture(scope="session")
def neo4j_store_session(neo4j_uri: str) -> Iterator[GraphStore]:
    from graph.stores.neo4j import Neo4jStore

    store = Neo4jStore(neo4j_uri)
    yield store
    store.close()


@pytest.fixture
def neo4j_store(neo4j_store_session: GraphStore) -> GraphStore:
    """The test Neo4j, emptied before each test."""
    neo4j_store_session.clear()
    return neo4j_store_session


#: The engines a test taking ``store`` runs on: both, unless ``AIDGRAPH_TEST_ENGINES`` names fewer
#: (``make test-fast`` runs the embedded engine alone; ``make test`` always both).
ENGINES = [e for e in os.environ.get("AIDGRAPH_TEST_ENGINES", "embedded,neo4j").split(",") if e in ("embedded", "neo4j")]


@pytest.fixture(params=ENGINES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    """A store on each engine: every test that takes it runs on both and must pass on both."""
    if request.param == "neo4j":
        yield request.getfixturevalue("neo4j_store")
        return
    s = LadybugStore(tmp_path / "store")
    yield s
    s.close()
