"""The store interface: the same behaviour on every engine (the ``store`` fixture is parametrised)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypedDict

import pytest

from graph.model import NodeKind, RelKind
from graph.store import EdgeWrite, GraphStore, NodeWrite, StoreError, WriteBatch
from graph.stores.ladybug import LadybugStore
from ingest.loader import ingest_folder
from queries.household import household_view
from queries.registry import _REGISTRY, get_question, question


def hh(key: str, **props: object) -> NodeWrite:
    return NodeWrite(NodeKind.HOUSEHOLD, key, {"household_id": key, "region_code": "420106", **props})


def person(key: str, **props: object) -> NodeWrite:
    return NodeWrite(NodeKind.PERSON, key, {"id_number": key, **props})


def member(p: str, h: str, role: str = "head") -> EdgeWrite:
    return EdgeWrite(RelKind.MEMBER_OF, NodeKind.PERSON, p, NodeKind.HOUSEHOLD, h, {"relation_to_head": role})


def test_write_then_read(store: GraphStore) -> None:
    result = store.write_batch(WriteBatch(nodes=[hh("H1"), person("P1", name="甲")], edges=[member("P1", "H1")]))
    assert result.created == {"Household": 1, "Person": 1, "MEMBER_OF": 1}
    assert store.get_node(NodeKind.PERSON, "P1") == {"id_number": "P1", "name": "甲"}
    assert store.get_node(NodeKind.PERSON, "nobody") is None
    assert store.get_nodes(NodeKind.PERSON, ["P1", "P2"]) == {"P1": {"id_number": "P1", "name": "甲"}}
    counts = store.counts()
    assert counts.nodes["Person"] == 1 and counts.nodes["Region"] == 0 and counts.edges["MEMBER_OF"] == 1
    [edge] = list(store.iter_edges(RelKind.MEMBER_OF))
    assert (edge.src_key, edge.dst_key, edge.props) == ("P1", "H1", {"relation_to_head": "head"})


def test_same_write_twice_changes_nothing_and_a_change_is_history(store: GraphStore) -> None:
    batch = WriteBatch(nodes=[hh("H1", address="a")], source="first")
    store.write_batch(batch)
    again = store.write_batch(batch)
    assert again.created == {} and again.updated == {} and again.unchanged == {"Household": 1}
    changed = store.write_batch(WriteBatch(nodes=[hh("H1", address="b", registered_size=None)], source="second"))
    assert changed.updated == {"Household": 1}
    assert store.get_node(NodeKind.HOUSEHOLD, "H1")["address"] == "b"
    [entry] = store.history(NodeKind.HOUSEHOLD, "H1")
    assert entry["source"] == "second"
    assert entry["before"]["address"] == "a" and entry["after"]["address"] == "b"


def test_create_only_never_overwrites(store: GraphStore) -> None:
    store.write_batch(WriteBatch(nodes=[person("P1", name="register name", in_register=True)]))
    result = store.write_batch(
        WriteBatch(nodes=[NodeWrite(NodeKind.PERSON, "P1", {"id_number": "P1", "in_register": False}, create_only=True)])
    )
    assert result.unchanged == {"Person": 1}
    assert store.get_node(NodeKind.PERSON, "P1")["in_register"] is True


def test_a_unique_end_replaces_the_old_relationship(store: GraphStore) -> None:
    store.write_batch(WriteBatch(nodes=[hh("H1"), hh("H2"), person("P1")], edges=[member("P1", "H1")]))
    result = store.write_batch(WriteBatch(edges=[member("P1", "H2")]))
    assert result.removed == {"MEMBER_OF": 1}
    assert [(e.src_key, e.dst_key) for e in store.iter_edges(RelKind.MEMBER_OF)] == [("P1", "H2")]


def test_a_batch_with_a_dangling_relationship_stores_nothing(store: GraphStore) -> None:
    # Both engines name the missing end the same way (Neo4j finds it by the write, not before it).
    with pytest.raises(StoreError, match="MEMBER_OF from Person:P2 to Household:H1: Person:P2 does not exist"):
        store.write_batch(WriteBatch(nodes=[hh("H1"), person("P1")], edges=[member("P1", "H1"), member("P2", "H1")]))
    assert store.get_node(NodeKind.HOUSEHOLD, "H1") is None
    assert sum(store.counts().nodes.values()) == 0


def test_neighbourhood_by_depth(store: GraphStore, two_cases_dir: Path) -> None:
    ingest_folder(store, two_cases_dir)
    one = store.neighbourhood(NodeKind.HOUSEHOLD, "H-420203-0001", depth=1)
    kinds = sorted({n.kind.value for n in one.nodes})
    assert kinds == ["AidRecord", "Asset", "Household", "Need", "Person", "Region"]
    assert {n.key for n in one.nodes if n.kind is NodeKind.PERSON} == {"420203197506111710", "420203197802041825", "420203201307092421"}
    assert all(e.src_key in {n.key for n in one.nodes} and e.dst_key in {n.key for n in one.nodes} for e in one.edges)
    two = store.neighbourhood(NodeKind.HOUSEHOLD, "H-420203-0001", depth=2)
    assert {n.key for n in two.nodes if n.kind is NodeKind.PROGRAM} == {"DIBAO"}  # the household's own record
    three = store.neighbourhood(NodeKind.HOUSEHOLD, "H-420203-0001", depth=3)
    # The daughter's medical assistance; not the subsidised enrolment, whose ID is mistyped.
    assert {n.key for n in three.nodes if n.kind is NodeKind.PROGRAM} == {"DIBAO", "YILIAO_JIUZHU"}
    assert {(e.rel.value, e.src_key, e.dst_key) for e in one.edges} < {(e.rel.value, e.src_key, e.dst_key) for e in two.edges}
    assert store.neighbourhood(NodeKind.HOUSEHOLD, "H-none", depth=2).nodes == []


def test_iteration_is_in_key_order_and_clear_empties(store: GraphStore) -> None:
    store.write_batch(WriteBatch(nodes=[hh("H2"), hh("H1"), hh("H10")]))
    assert [n.key for n in store.iter_nodes(NodeKind.HOUSEHOLD)] == ["H1", "H10", "H2"]
    store.clear()
    assert sum(store.counts().nodes.values()) == 0


def test_unknown_question_is_a_clear_error(store: GraphStore) -> None:
    with pytest.raises(KeyError, match="no question named 'nope'"):
        get_question("nope")
    with pytest.raises(StoreError, match="household_view: got an unexpected keyword argument 'household'"):
        household_view(store, household_id="H-1", household="H-1")


def test_a_text_and_its_declared_row_must_agree(store: GraphStore) -> None:
    class Row(TypedDict):
        code: str

    @question("test_row_drift", cypher="MATCH (h:Household) RETURN h.household_id AS household", row=Row, from_records=lambda rows: rows)
    def drifted(store: GraphStore) -> list[dict[str, str]]:
        """A text whose column is not its row's."""

    try:
        assert drifted(store) == []  # no record, nothing to compare
        store.write_batch(WriteBatch(nodes=[hh("H1")]))
        with pytest.raises(StoreError, match=r"returned columns \['household'\], its row Row declares \['code'\]"):
            drifted(store)
    finally:
        _REGISTRY.pop("test_row_drift")


def test_a_read_that_fails_in_a_snapshot_says_why(tmp_path: Path) -> None:
    # LadybugDB ends the read transaction on a failed statement; the snapshot's COMMIT then found
    # none, and its "No active transaction for COMMIT" hid the reason (a full buffer pool at 1M).
    with LadybugStore(tmp_path / "s") as store:
        with pytest.raises(StoreError, match="Divide by zero"), store.snapshot():
            store._read("RETURN 1 / 0")
        with store.snapshot():  # and the next snapshot reads as usual
            assert store._read("RETURN 1 + 1") == [[2]]


def test_embedded_store_persists_across_reopen(tmp_path: Path, two_cases_dir: Path) -> None:
    with LadybugStore(tmp_path / "s") as first:
        ingest_folder(first, two_cases_dir)
        counts = first.counts()
        view = household_view(first, household_id="H-420106-0001")
    with LadybugStore(tmp_path / "s") as second:
        assert second.counts() == counts
        assert household_view(second, household_id="H-420106-0001") == view
        second.write_batch(WriteBatch(edges=[member("420106198305141516", "H-420106-0001", "spouse")]))
        [e] = [e for e in second.iter_edges(RelKind.MEMBER_OF) if e.src_key == "420106198305141516"]
        assert e.props == {"relation_to_head": "spouse"}


def _state(store: GraphStore) -> tuple[dict, dict]:
    nodes = {(n.kind, n.key): n.props for kind in NodeKind for n in store.iter_nodes(kind)}
    edges = {(e.rel, e.src_key, e.dst_key): e.props for rel in RelKind for e in store.iter_edges(rel)}
    return nodes, edges


def test_updates_and_removals_survive_reopening(tmp_path: Path) -> None:
    """A node's latest state, a relationship moved and one removed then written again, after reopening."""
    with LadybugStore(tmp_path / "s") as first:
        first.write_batch(WriteBatch(nodes=[hh("H1"), hh("H2"), person("P1", name="甲"), person("P2")], edges=[member("P1", "H1")]))
        first.write_batch(WriteBatch(nodes=[person("P1", name="乙")], edges=[member("P1", "H1", "spouse")]))
        # MEMBER_OF has a unique end at the person: moving P1 to H2 removes the membership of H1.
        first.write_batch(WriteBatch(edges=[member("P1", "H2")]))
        kin = EdgeWrite(RelKind.KIN, NodeKind.PERSON, "P1", NodeKind.PERSON, "P2", {"relation": "parent_of"})
        first.write_batch(WriteBatch(edges=[kin]))
        first.write_batch(WriteBatch(removed_edges=[kin]))
        first.write_batch(WriteBatch(edges=[kin]))  # written again after its removal
        expected = _state(first)
    assert expected[0][(NodeKind.PERSON, "P1")]["name"] == "乙"
    assert (RelKind.MEMBER_OF, "P1", "H1") not in expected[1]
    assert expected[1][(RelKind.KIN, "P1", "P2")] == {"relation": "parent_of"}
    with LadybugStore(tmp_path / "s") as second:
        assert _state(second) == expected
        assert second.history(NodeKind.PERSON, "P1")[0]["after"]["name"] == "乙"


def test_what_the_model_does_not_hold_is_refused_by_both_engines(store: GraphStore) -> None:
    store.write_batch(WriteBatch(nodes=[hh("H1"), person("P1")]))
    with pytest.raises(StoreError, match="KIN joins Person to Person, not Person to Household"):
        store.write_batch(WriteBatch(edges=[EdgeWrite(RelKind.KIN, NodeKind.PERSON, "P1", NodeKind.HOUSEHOLD, "H1", {"relation": "x"})]))
    with pytest.raises(StoreError, match="Household:H1 has no property colour"):
        store.write_batch(WriteBatch(nodes=[hh("H1", colour="red")]))
    with pytest.raises(StoreError, match="MEMBER_OF from Person:P1 to Household:H1 has no property since"):
        store.write_batch(
            WriteBatch(edges=[EdgeWrite(RelKind.MEMBER_OF, NodeKind.PERSON, "P1", NodeKind.HOUSEHOLD, "H1", {"since": "2020"})])
        )
    assert store.counts().edges["KIN"] == store.counts().edges["MEMBER_OF"] == 0
    assert "colour" not in store.get_node(NodeKind.HOUSEHOLD, "H1")


def _format_2_store(folder: Path, nodes: list, edges: list, history: list) -> None:
    """A store of the former embedded engine, its schema as it shipped (format 2: logs)."""
    import sqlite3

    folder.mkdir(exist_ok=True)
    with sqlite3.connect(folder / "graph.sqlite") as conn:
        conn.executescript(
            """
            CREATE TABLE nodes (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL, props TEXT NOT NULL);
            CREATE TABLE edges (seq INTEGER PRIMARY KEY, src TEXT NOT NULL, rel TEXT NOT NULL, dst TEXT NOT NULL, props TEXT);
            CREATE TABLE history (id INTEGER PRIMARY KEY, at TEXT NOT NULL, source TEXT NOT NULL, kind TEXT NOT NULL,
                key TEXT NOT NULL, before TEXT, after TEXT NOT NULL);
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO meta VALUES ('format', '2');
            """
        )
        conn.executemany("INSERT INTO nodes (kind, key, props) VALUES (?, ?, ?)", [(k, key, json.dumps(p)) for k, key, p in nodes])
        conn.executemany(
            "INSERT INTO edges (src, rel, dst, props) VALUES (?, ?, ?, ?)",
            [(s, r, d, None if p is None else json.dumps(p)) for s, r, d, p in edges],
        )
        conn.executemany("INSERT INTO history (at, source, kind, key, before, after) VALUES (?, ?, ?, ?, ?, ?)", history)


def test_a_store_of_the_former_engine_moves_over_with_its_latest_rows_and_history(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cli.main import app

    old = tmp_path / "old"
    _format_2_store(
        old,
        nodes=[
            ("Household", "H1", {"household_id": "H1", "region_code": "420106"}),
            ("Person", "P1", {"id_number": "P1", "name": "甲"}),
            ("Person", "P1", {"id_number": "P1", "name": "乙"}),  # superseded by a later row
            ("Person", "P2", {"id_number": "P2"}),
        ],
        edges=[
            ("Person:P1", "MEMBER_OF", "Household:H1", {"relation_to_head": "head"}),
            ("Person:P1", "KIN", "Person:P2", {"relation": "parent_of"}),
            ("Person:P1", "KIN", "Person:P2", None),  # removed
        ],
        history=[("2026-01-01T00:00:00+00:00", "persons.csv", "Person", "P1", json.dumps({"name": "甲"}), json.dumps({"name": "乙"}))],
    )
    opened = CliRunner().invoke(app, ["stats", "--store", str(old)])
    assert opened.exit_code == 1 and f"aidgraph migrate --from {old}" in opened.output
    moved = CliRunner().invoke(app, ["migrate", "--from", str(old), "--store", str(tmp_path / "new")])
    assert moved.exit_code == 0, moved.output
    assert "moved 4 nodes" not in moved.output and "moved 3 nodes, 1 relationships and 1 history entries" in moved.output
    with LadybugStore(tmp_path / "new") as new:
        nodes, edges = _state(new)
        assert nodes[(NodeKind.PERSON, "P1")] == {"id_number": "P1", "name": "乙"}
        assert edges == {(RelKind.MEMBER_OF, "P1", "H1"): {"relation_to_head": "head"}}
        assert new.history(NodeKind.PERSON, "P1")[0]["after"] == {"name": "乙"}
    again = CliRunner().invoke(app, ["migrate", "--from", str(old), "--store", str(tmp_path / "new")])
    assert again.exit_code == 1 and "not empty" in again.output
    (old / "graph.sqlite").unlink()
    _format_2_store(old, [], [], [])
    import sqlite3

    with sqlite3.connect(old / "graph.sqlite") as conn:
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'format'")
    refused = CliRunner().invoke(app, ["migrate", "--from", str(old), "--store", str(tmp_path / "other")])
    assert refused.exit_code == 1 and "store format '1'" in refused.output


_HOLDER = """
import sys, time
sys.path.insert(0, {root!r})
from graph.stores.ladybug import LadybugStore
s = LadybugStore({store!r})
print("open", flush=True)
time.sleep(60)
"""


def test_a_store_held_by_another_process_is_refused_with_its_pid_and_command(tmp_path: Path) -> None:
    import subprocess
    import sys

    from typer.testing import CliRunner

    from cli.main import app
    from graph.stores.ladybug import StoreBusy

    root = str(Path(__file__).resolve().parents[3])
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER.format(root=root, store=str(tmp_path / "s"))], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreBusy, match=rf"open in process {holder.pid} \(.*python"):
            LadybugStore(tmp_path / "s")
        ingest = CliRunner().invoke(app, ["ingest", str(tmp_path), "--store", str(tmp_path / "s")])
        assert ingest.exit_code == 1
        assert f"process {holder.pid}" in ingest.output and "POST /api/v1/ingest" in ingest.output
        # Reading is not refused: a read-only open sees what was committed when it opened.
        with LadybugStore(tmp_path / "s", read_only=True) as reader:
            assert reader.counts().nodes["Household"] == 0
    finally:
        holder.kill()
        holder.wait()
    with LadybugStore(tmp_path / "s"):  # the lock goes with the process
        pass
