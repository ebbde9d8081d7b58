"""The Neo4j engine: schema, routing, errors, hostile values, export. Runs against the real
Neo4j started by ops/neo4j/start.sh (never skipped in CI)."""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from graph.model import NODE_KEY, NodeKind
from graph.store import GraphStore, StoreError
from graph.stores.ladybug import LadybugStore
from graph.stores.neo4j import Neo4jStore
from ingest.loader import count_changes, ingest_folder
from queries.household import household_view
from queries.unlinked import unlinked_references
from tests.conftest import IN_CI, ROOT

pytestmark = pytest.mark.neo4j
runner = CliRunner()


def test_schema_has_a_uniqueness_constraint_per_node_kind(neo4j_store: Neo4jStore) -> None:
    rows = neo4j_store._read("SHOW CONSTRAINTS YIELD labelsOrTypes, properties, type RETURN labelsOrTypes, properties, type")
    found = {(r["labelsOrTypes"][0], r["properties"][0]) for r in rows if r["type"] == "UNIQUENESS"}
    assert found >= {(kind.value, NODE_KEY[kind]) for kind in NodeKind}
    indexes = neo4j_store._read("SHOW INDEXES YIELD labelsOrTypes, properties RETURN labelsOrTypes, properties")
    assert {"labelsOrTypes": ["AidRecord"], "properties": ["period_start"]} in indexes
    assert {"labelsOrTypes": ["Household"], "properties": ["region_code"]} in indexes


def test_reopening_is_idempotent_and_routing_uri_works(neo4j_store: Neo4jStore, neo4j_uri: str, two_cases_dir: Path) -> None:
    ingest_folder(neo4j_store, two_cases_dir)
    routed = Neo4jStore(neo4j_uri.replace("bolt://", "neo4j://"))
    try:
        assert routed.counts() == neo4j_store.counts()
        assert household_view(routed, household_id="H-420203-0001") == household_view(neo4j_store, household_id="H-420203-0001")
    finally:
        routed.close()


def test_reingest_changes_nothing_on_neo4j(neo4j_store: Neo4jStore, two_cases_dir: Path) -> None:
    ingest_folder(neo4j_store, two_cases_dir)
    counts = neo4j_store.counts()
    again = ingest_folder(neo4j_store, two_cases_dir)
    assert count_changes(again) == {}
    assert neo4j_store.counts() == counts


HOSTILE = [
    "x'}) MATCH (n) DETACH DELETE n //",
    'y"}) DETACH DELETE n RETURN 1 //',
    "`) DROP CONSTRAINT household_key //",
    "{name: 'z'} ; MATCH (n) SET n.pwned = true",
    "$household_id \\' \\\" }}",
]


def hostile_folder(base: Path) -> Path:
    folder = base / "hostile"
    folder.mkdir()
    (folder / "regions.csv").write_text('region_code,name,level\n420106,"武昌区 x\'}) DETACH DELETE n //",county\n', encoding="utf-8")
    (folder / "departments.csv").write_text(
        "department_code,name\n" + "".join(f'"D{i}","{h.replace(chr(34), chr(34) * 2)}"\n' for i, h in enumerate(HOSTILE)),
        encoding="utf-8",
    )
    (folder / "households.jsonl").write_text(
        "".join(
            json.dumps({"household_id": f"H-{i}", "region_code": "420106", "address": h}, ensure_ascii=False) + "\n"
            for i, h in enumerate(HOSTILE)
        ),
        encoding="utf-8",
    )
    return folder


def test_hostile_values_are_stored_as_plain_text(store: GraphStore, tmp_path: Path) -> None:
    report = ingest_folder(store, hostile_folder(tmp_path))
    assert report.ok, [r.line() for r in report.rejects]
    for i, h in enumerate(HOSTILE):
        assert store.get_node(NodeKind.DEPARTMENT, f"D{i}") == {"department_code": f"D{i}", "name": h}
        household = store.get_node(NodeKind.HOUSEHOLD, f"H-{i}")
        assert household is not None and household["address"] == h
        view = household_view(store, household_id=f"H-{i}")
        assert view is not None and view.household["address"] == h
        # As a key, the same text is refused (keys are codes) and looking it up finds nothing.
        assert store.get_node(NodeKind.HOUSEHOLD, f"H-{i}{h}") is None
        assert household_view(store, household_id=f"H-{i}{h}") is None
    counts = store.counts()
    assert counts.nodes["Department"] == len(HOSTILE) and counts.nodes["Household"] == len(HOSTILE) and counts.nodes["Region"] == 1
    assert store.get_node(NodeKind.REGION, "420106")["name"] == "武昌区 x'}) DETACH DELETE n //"
    assert household_view(store, household_id="x'}) MATCH (n) DETACH DELETE n //") is None
    assert store.counts() == counts  # nothing deleted, nothing added by any of it
    if store.engine == "neo4j":
        assert store._read("MATCH (n) WHERE n.pwned IS NOT NULL RETURN count(n) AS n")[0]["n"] == 0  # type: ignore[attr-defined]
        assert len(store._read("SHOW CONSTRAINTS YIELD name RETURN name")) >= len(NodeKind)  # type: ignore[attr-defined]


def test_unreachable_neo4j_is_one_clear_line() -> None:
    with pytest.raises(StoreError) as info:
        Neo4jStore("bolt://127.0.0.1:1")
    assert str(info.value).startswith("cannot reach Neo4j at bolt://127.0.0.1:1")
    result = runner.invoke(app, ["stats", "--neo4j", "bolt://127.0.0.1:1"])
    assert result.exit_code == 1 and result.output.startswith("error: cannot reach Neo4j at bolt://127.0.0.1:1")
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def neo4j_with_password() -> Iterator[tuple[str, str]]:
    """A second test Neo4j, with auth enabled, for the wrong-password test."""
    port, password = "17688", "correct-horse-battery"
    proc = subprocess.run(
        ["bash", str(ROOT / "ops" / "neo4j" / "start.sh"), port, password],
        capture_output=True,
        text=True,
        timeout=600,
        env={**__import__("os").environ, "AIDGRAPH_NEO4J_HEAP": "512m"},
    )
    if proc.returncode != 0:
        message = f"the auth-enabled Neo4j did not start: {proc.stderr[-1500:]}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    yield f"bolt://127.0.0.1:{port}", password
    subprocess.run(["bash", str(ROOT / "ops" / "neo4j" / "stop.sh"), port], check=False, timeout=120)


def test_wrong_password_names_the_uri_never_the_password(neo4j_with_password: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    uri, password = neo4j_with_password
    good = Neo4jStore(uri, user="neo4j", password=password)
    good.close()
    with pytest.raises(StoreError) as info:
        Neo4jStore(uri, user="neo4j", password="not-the-password")
    assert str(info.value) == f"Neo4j at {uri} refused the credentials of user 'neo4j'"
    monkeypatch.setenv("AIDGRAPH_NEO4J_USER", "neo4j")
    monkeypatch.setenv("AIDGRAPH_NEO4J_PASSWORD", "s3cret-typo")
    result = runner.invoke(app, ["stats", "--neo4j", uri])
    assert result.exit_code == 1
    assert "refused the credentials" in result.output and "s3cret-typo" not in result.output
    # A password written into the URI is not echoed either.
    with pytest.raises(StoreError) as info:
        Neo4jStore("bolt://neo4j:hunter2@127.0.0.1:1")
    assert "hunter2" not in str(info.value)


def test_export_moves_an_embedded_store_and_twice_changes_nothing(
    neo4j_store: Neo4jStore, neo4j_uri: str, two_cases_dir: Path, tmp_path: Path
) -> None:
    path = tmp_path / "pilot"
    with LadybugStore(path) as pilot:
        ingest_folder(pilot, two_cases_dir)
        update = tmp_path / "update"
        update.mkdir()
        (update / "households.csv").write_text("household_id,region_code,address\nH-420106-0001,420106005001,新地址\n", encoding="utf-8")
        ingest_folder(pilot, update)
        counts, history = pilot.counts(), pilot.history(NodeKind.HOUSEHOLD, "H-420106-0001")
        views = {h: household_view(pilot, household_id=h) for h in ("H-420106-0001", "H-420203-0001")}
    for _ in range(2):
        result = runner.invoke(app, ["export", "--store", str(path), "--neo4j", neo4j_uri])
        assert result.exit_code == 0, result.output
        assert "copied 50 nodes" in result.output
    assert neo4j_store.counts() == counts
    assert neo4j_store.history(NodeKind.HOUSEHOLD, "H-420106-0001") == history
    for h, view in views.items():
        assert household_view(neo4j_store, household_id=h) == view


@pytest.fixture(scope="module")
def generated_10k(prefecture: Callable[..., tuple[Path, dict]]) -> Path:
    return prefecture(10_000, 10)[0]


@pytest.mark.slow
def test_10k_households_give_the_same_graph_and_answers_on_both_engines(
    neo4j_store: Neo4jStore, generated_10k: Path, tmp_path: Path
) -> None:
    with LadybugStore(tmp_path / "embedded") as embedded:
        assert ingest_folder(embedded, generated_10k).ok
        assert ingest_folder(neo4j_store, generated_10k).ok
        assert neo4j_store.counts() == embedded.counts()
        households = [n.key for n in embedded.iter_nodes(NodeKind.HOUSEHOLD)]
        for household_id in random.Random(10).sample(households, 100):
            assert household_view(neo4j_store, household_id=household_id) == household_view(embedded, household_id=household_id), (
                household_id
            )
        assert unlinked_references(neo4j_store) == unlinked_references(embedded)


def test_a_constraint_violation_is_one_line_naming_the_uri(neo4j_store: Neo4jStore) -> None:
    # The store's own writes MERGE by key and cannot violate a constraint; a raw CREATE can, and
    # the store's guard must turn the driver's error into one line.
    def create() -> None:
        neo4j_store._with_session(lambda s: s.run("CREATE (:Household {household_id: 'dup'})").consume())

    neo4j_store._guard(create, "create")
    with pytest.raises(StoreError) as info:
        neo4j_store._guard(create, "create")
    assert str(info.value).startswith(f"Neo4j at {neo4j_store.shown_uri}: a constraint was violated")
    assert "\n" not in str(info.value)


def test_a_batch_whose_commit_answer_was_lost_is_written_again_and_changes_nothing_twice(
    neo4j_store: Neo4jStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection lost during COMMIT (the driver's IncompleteCommit, which it does not retry:
    the commit may have landed). The store writes the batch again; here the commit had landed."""
    import neo4j

    from graph.store import NodeWrite, WriteBatch

    real = neo4j_store._with_session
    runs: list[object] = []

    def answer_lost_on_first_run(fn: object) -> object:
        result = real(fn)  # committed
        runs.append(result)
        if len(runs) in (1, 3):
            raise neo4j.exceptions.IncompleteCommit("Failed to read from defunct connection (simulated)")
        return result

    monkeypatch.setattr(neo4j_store, "_with_session", answer_lost_on_first_run)
    household = {"household_id": "H-LOST-1", "region_code": "420106"}
    created = neo4j_store.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.HOUSEHOLD, "H-LOST-1", household)], source="t"))
    assert len(runs) == 2 and created.unchanged == {"Household": 1}  # the second run found it stored
    updated = neo4j_store.write_batch(
        WriteBatch(nodes=[NodeWrite(NodeKind.HOUSEHOLD, "H-LOST-1", {**household, "address": "新址"})], source="t")
    )
    assert len(runs) == 4 and updated.unchanged == {"Household": 1}
    assert neo4j_store.get_node(NodeKind.HOUSEHOLD, "H-LOST-1")["address"] == "新址"
    assert len(neo4j_store.history(NodeKind.HOUSEHOLD, "H-LOST-1")) == 1  # the update, recorded once
