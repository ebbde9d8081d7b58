"""Every file of the hostile corpus gets a clear answer naming file, row and field, and nothing
already stored changes (both engines: the whole corpus on the embedded one, on Neo4j every
injection case and every kind of refusal)."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.model import NodeKind, RelKind
from graph.store import GraphStore
from ingest.loader import ingest_folder
from tests.unit.ingest.hostile_corpus import CASES, Case, FileRefused, Rejected, StoredAsIs

_ON_NEO4J = {c.name for c in CASES if c.name.startswith("injection-")} | {
    "id-wrong-check-digit",
    "date-2023-02-30",
    "period-reversed",
    "duplicate-key-in-file",
    "unterminated-quote",
    "gbk",
    "utf16-with-bom",
    "quoted-newlines",
}
PARAMS = [pytest.param(c, "embedded", id=f"{c.name}-embedded") for c in CASES] + [
    pytest.param(c, "neo4j", id=f"{c.name}-neo4j") for c in CASES if c.name in _ON_NEO4J
]


def snapshot(store: GraphStore) -> tuple[dict, dict]:
    nodes = {(kind.value, n.key): n.props for kind in NodeKind for n in store.iter_nodes(kind)}
    edges = {(rel.value, e.src_key, e.dst_key): e.props for rel in RelKind for e in store.iter_edges(rel)}
    return nodes, edges


def test_corpus_covers_what_the_issue_lists() -> None:
    names = {c.name for c in CASES}
    for needed in (
        "id-wrong-check-digit",
        "id-15-digit",
        "id-17-digit",
        "id-future-birth",
        "date-2023-02-30",
        "amount-negative",
        "amount-huge",
        "period-reversed",
        "unknown-programme",
        "duplicate-key-in-file",
        "wrong-delimiter",
        "quoted-newlines",
        "utf16-with-bom",
        "gbk",
    ):
        assert needed in names
    assert sum(n.startswith("injection-") for n in names) >= 40


# ``store`` is the conftest fixture, given its engine here case by case.
@pytest.mark.parametrize(("case", "store"), [p.values for p in PARAMS], ids=[p.id for p in PARAMS], indirect=["store"])
def test_hostile_file(case: Case, store: GraphStore, two_cases_dir: Path, tmp_path: Path) -> None:
    assert ingest_folder(store, two_cases_dir).ok
    before_nodes, before_edges = snapshot(store)
    folder = tmp_path / "delivery"
    folder.mkdir()
    (folder / case.file).write_bytes(case.content)

    report = ingest_folder(store, folder)

    after_nodes, after_edges = snapshot(store)
    stored = [e for e in case.expect if isinstance(e, StoredAsIs)]
    for expect in case.expect:
        if isinstance(expect, Rejected):
            hits = [r for r in report.rejects if r.file == case.file and r.row == expect.row and r.field == expect.field]
            assert hits, f"expected {case.file} row {expect.row} field {expect.field} rejected; got {[r.line() for r in report.rejects]}"
            assert any(expect.words in r.reason for r in hits), [r.line() for r in hits]
        elif isinstance(expect, FileRefused):
            [refused] = report.files_rejected
            assert refused.file == case.file and expect.words in refused.reason, refused
        else:
            node = store.get_node(NodeKind(expect.kind), expect.key)
            assert node is not None and node[expect.field] == expect.value, node
    if not any(isinstance(e, Rejected) for e in case.expect) and not any(isinstance(e, FileRefused) for e in case.expect):
        assert report.ok, [r.line() for r in report.rejects]
    # Nothing already stored changed, and nothing was stored but the harmless rows.
    for key, props in before_nodes.items():
        assert after_nodes.get(key) == props, key
    assert {k: v for k, v in after_edges.items() if k in before_edges} == before_edges
    added = set(after_nodes) - set(before_nodes)
    assert {kind for kind, _ in added} <= {e.kind for e in stored}
    if not stored:
        assert (after_nodes, after_edges) == (before_nodes, before_edges)
    # Every reject's value is masked: no full ID number in what the report shows.
    assert all(r.value.count("*") or len(r.value) < 15 or not r.value[:17].isdigit() for r in report.rejects)
