"""The store interface: the same behaviour on every engine (the ``store`` fixture is parametrised)."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest

from graph.model import NodeKind, RelKind
from graph.store import EdgeWrite, GraphStore, NodeWrite, StoreError, WriteBatch
from graph.stores.embedded import EmbeddedStore
from ingest.loader import ingest_folder


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
        store.run("nope")


def test_embedded_store_persists_across_reopen(tmp_path: Path, two_cases_dir: Path) -> None:
    with EmbeddedStore(tmp_path / "s") as first:
        ingest_folder(first, two_cases_dir)
        counts = first.counts()
        view = first.run("household_view", household_id="H-420106-0001")
        built = first.graph
    with EmbeddedStore(tmp_path / "s") as second:
        assert second.counts() == counts
        assert second.run("household_view", household_id="H-420106-0001") == view
        # The fast loader fills networkx's internals directly: same graph as one built edge by edge,
        # successors and predecessors alike, and the two views share each edge's data.
        assert nx.utils.graphs_equal(second.graph, built)
        assert {n: dict(p) for n, p in second.graph.pred.items()} == {n: dict(p) for n, p in built.pred.items()}
        g = second.graph
        assert (
            g._succ["Person:420106198305141516"]["Household:H-420106-0001"]
            is g._pred["Household:H-420106-0001"]["Person:420106198305141516"]
        )
        second.write_batch(WriteBatch(edges=[member("420106198305141516", "H-420106-0001", "spouse")]))
        [e] = [e for e in second.iter_edges(RelKind.MEMBER_OF) if e.src_key == "420106198305141516"]
        assert e.props == {"relation_to_head": "spouse"}
        assert (
            list(second.graph.in_edges("Household:H-420106-0001", keys=True, data=True)).count(
                ("Person:420106198305141516", "Household:H-420106-0001", "MEMBER_OF", {"relation_to_head": "spouse"})
            )
            == 1
        )


def _graph_state(store: EmbeddedStore) -> tuple[dict, dict]:
    g = store.graph
    return dict(g.nodes(data=True)), {(s, d, k): p for s, d, k, p in g.edges(keys=True, data=True)}


def _rows(store_dir: Path, table: str) -> int:
    import sqlite3

    with sqlite3.connect(store_dir / "graph.sqlite") as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608 - fixed names


def test_embedded_log_replays_updates_and_removals_on_reopen(tmp_path: Path) -> None:
    """The file is a log: reopening gives each node's and relationship's latest state, and a
    relationship removed stays removed (also when it is written again after)."""
    with EmbeddedStore(tmp_path / "s") as first:
        first.write_batch(WriteBatch(nodes=[hh("H1"), hh("H2"), person("P1", name="甲")], edges=[member("P1", "H1")]))
        first.write_batch(WriteBatch(nodes=[person("P1", name="乙")], edges=[member("P1", "H1", "spouse")]))
        # MEMBER_OF has a unique end at the person: moving P1 to H2 removes the membership of H1.
        first.write_batch(WriteBatch(edges=[member("P1", "H2")]))
        kin = EdgeWrite(RelKind.KIN, NodeKind.PERSON, "P1", NodeKind.HOUSEHOLD, "H1", {"relation": "x"})
        first.write_batch(WriteBatch(edges=[kin]))
        first.write_batch(WriteBatch(removed_edges=[kin]))
        first.write_batch(WriteBatch(edges=[kin]))  # written again after its removal
        expected = _graph_state(first)
    assert expected[0]["Person:P1"]["name"] == "乙"
    assert ("Person:P1", "Household:H1", "MEMBER_OF") not in expected[1]
    assert expected[1][("Person:P1", "Household:H1", "KIN")] == {"relation": "x"}
    with EmbeddedStore(tmp_path / "s") as second:
        assert _graph_state(second) == expected
        assert second.history(NodeKind.PERSON, "P1")[0]["after"]["name"] == "乙"


def test_embedded_log_drops_superseded_rows_once_they_outnumber_the_live_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import graph.stores.embedded as embedded

    monkeypatch.setattr(embedded, "_COMPACT_AFTER", 5)
    with EmbeddedStore(tmp_path / "s") as first:
        first.write_batch(WriteBatch(nodes=[hh("H1"), person("P1")], edges=[member("P1", "H1")]))
        for n in range(12):
            first.write_batch(WriteBatch(nodes=[person("P1", name=f"名{n}")], edges=[member("P1", "H1", f"r{n}")]))
        removed = EdgeWrite(RelKind.KIN, NodeKind.PERSON, "P1", NodeKind.HOUSEHOLD, "H1", {})
        first.write_batch(WriteBatch(edges=[removed]))
        first.write_batch(WriteBatch(removed_edges=[removed]))
        expected = _graph_state(first)
    assert (_rows(tmp_path / "s", "nodes"), _rows(tmp_path / "s", "edges")) == (2 + 12, 1 + 12 + 2)
    with EmbeddedStore(tmp_path / "s") as second:  # 27 rows, 3 live: compacted while opening
        assert _graph_state(second) == expected
    assert (_rows(tmp_path / "s", "nodes"), _rows(tmp_path / "s", "edges")) == (2, 1)
    with EmbeddedStore(tmp_path / "s") as third:
        assert _graph_state(third) == expected
        assert len(third.history(NodeKind.PERSON, "P1")) == 12  # history is kept whole


def test_a_format_1_store_is_rewritten_as_the_log_when_opened(tmp_path: Path, two_cases_dir: Path) -> None:
    """Stores written before the log (key-ordered tables, upserts) open with everything in them."""
    import sqlite3

    with EmbeddedStore(tmp_path / "new") as new:
        ingest_folder(new, two_cases_dir)
        expected, counts = _graph_state(new), new.counts()
        nodes = [(n.kind.value, n.key, n.props) for kind in NodeKind for n in new.iter_nodes(kind)]
        edges = [
            (f"{e.src_kind.value}:{e.src_key}", e.rel.value, f"{e.dst_kind.value}:{e.dst_key}", e.props)
            for rel in RelKind
            for e in new.iter_edges(rel)
        ]
    old = tmp_path / "old"
    old.mkdir()
    with sqlite3.connect(old / "graph.sqlite") as conn:  # format 1's schema, as it shipped
        conn.executescript(
            """
            CREATE TABLE nodes (kind TEXT NOT NULL, key TEXT NOT NULL, props TEXT NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID;
            CREATE TABLE edges (src TEXT NOT NULL, rel TEXT NOT NULL, dst TEXT NOT NULL, props TEXT NOT NULL,
                PRIMARY KEY (src, rel, dst)) WITHOUT ROWID;
            CREATE TABLE history (id INTEGER PRIMARY KEY, at TEXT NOT NULL, source TEXT NOT NULL, kind TEXT NOT NULL,
                key TEXT NOT NULL, before TEXT, after TEXT NOT NULL);
            CREATE INDEX history_node ON history (kind, key);
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            INSERT INTO meta VALUES ('format', '1');
            """
        )
        conn.executemany("INSERT INTO nodes VALUES (?, ?, ?)", [(k, key, json.dumps(p)) for k, key, p in nodes])
        conn.executemany("INSERT INTO edges VALUES (?, ?, ?, ?)", [(s, r, d, json.dumps(p)) for s, r, d, p in edges])
    with EmbeddedStore(old) as opened:
        assert _graph_state(opened) == expected
        assert opened.counts() == counts
    with sqlite3.connect(old / "graph.sqlite") as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()[0] == "2"
        assert conn.execute("SELECT count(*) FROM nodes").fetchone()[0] == len(nodes)
        assert [r[1] for r in conn.execute("PRAGMA table_info(edges)")] == ["seq", "src", "rel", "dst", "props"]


def test_a_store_of_an_unknown_format_is_refused(tmp_path: Path) -> None:
    import sqlite3

    with EmbeddedStore(tmp_path / "s"):
        pass
    with sqlite3.connect(tmp_path / "s" / "graph.sqlite") as conn:
        conn.execute("UPDATE meta SET value = '9' WHERE key = 'format'")
    with pytest.raises(StoreError, match="has store format 9, expected 2"):
        EmbeddedStore(tmp_path / "s")
