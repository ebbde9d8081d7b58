"""Every registered question and store read gives equal answers on both engines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from graph.model import NodeKind, RelKind
from graph.store import GraphStore
from graph.stores.embedded import EmbeddedStore
from ingest.loader import ingest_folder
from queries.registry import questions

pytestmark = pytest.mark.neo4j
HOUSEHOLDS = ["H-420106-0001", "H-420203-0001"]


@pytest.fixture
def both(neo4j_store: GraphStore, two_cases_dir: Path, tmp_path: Path) -> tuple[GraphStore, GraphStore]:
    embedded = EmbeddedStore(tmp_path / "embedded")
    ingest_folder(embedded, two_cases_dir)
    ingest_folder(neo4j_store, two_cases_dir)
    return embedded, neo4j_store


def test_every_question_has_a_parity_test() -> None:
    from tests.queries.test_audit import SUB_QUESTIONS

    covered = {"household_view", "unlinked_references", *(name for name, _ in SUB_QUESTIONS)}
    assert set(questions()) == covered


def test_household_view_parity(both: tuple[GraphStore, GraphStore]) -> None:
    embedded, neo4j = both
    for h in [*HOUSEHOLDS, "H-missing"]:
        assert embedded.run("household_view", household_id=h) == neo4j.run("household_view", household_id=h), h
    driver = embedded.run("household_view", household_id="H-420106-0001")
    assert {a.program["program_code"] for a in driver.aid_records} == {"DIBAO", "YILIAO_BUCHONG"}


def test_unlinked_references_parity(both: tuple[GraphStore, GraphStore]) -> None:
    embedded, neo4j = both
    assert embedded.run("unlinked_references") == neo4j.run("unlinked_references")
    assert embedded.run("unlinked_references").aid_records == ["YB-2023-007731"]


def test_store_reads_parity(both: tuple[GraphStore, GraphStore]) -> None:
    embedded, neo4j = both
    assert embedded.counts() == neo4j.counts()
    for kind in NodeKind:
        assert list(embedded.iter_nodes(kind)) == list(neo4j.iter_nodes(kind)), kind
    for rel in RelKind:
        assert list(embedded.iter_edges(rel)) == list(neo4j.iter_edges(rel)), rel
    for depth in (1, 2, 3):
        for h in HOUSEHOLDS:
            assert embedded.neighbourhood(NodeKind.HOUSEHOLD, h, depth) == neo4j.neighbourhood(NodeKind.HOUSEHOLD, h, depth), (h, depth)
    keys = ["420106198305141516", "nobody"]
    assert embedded.get_nodes(NodeKind.PERSON, keys) == neo4j.get_nodes(NodeKind.PERSON, keys)


def test_cli_output_is_the_same_on_both_engines(neo4j_uri: str, neo4j_store: GraphStore, two_cases_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    store = str(tmp_path / "cli-store")
    outputs = {}
    for name, where in (("embedded", ["--store", store]), ("neo4j", ["--neo4j", neo4j_uri])):
        ingested = runner.invoke(app, ["ingest", str(two_cases_dir), *where, "--json"])
        assert ingested.exit_code == 0, ingested.output
        files = [{k: v for k, v in f.items()} for f in json.loads(ingested.output)["files"]]
        stats = json.loads(runner.invoke(app, ["stats", *where, "--json"]).output)
        views = [runner.invoke(app, ["household", h, *where, "--json"]).output for h in HOUSEHOLDS]
        table = runner.invoke(app, ["household", "H-420106-0001", *where]).output
        outputs[name] = (files, stats, views, table)
    assert outputs["embedded"] == outputs["neo4j"]
