"""How the embedded engine finds the relationships a batch already stored: by key, or a small table read whole."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from graph.model import NodeKind, RelKind
from graph.store import EdgeWrite, NodeWrite, WriteBatch
from graph.stores.ladybug import LadybugStore
from queries.examples import load_two_cases

REL, PERSON = RelKind.OBLIGED_TO_SUPPORT, NodeKind.PERSON


def _people(store: LadybugStore) -> list[str]:
    return sorted(n.key for n in store.iter_nodes(PERSON))


def _owed(a: str, b: str, amount: float) -> EdgeWrite:
    props = {"kind": "赡养", "monthly_amount": amount, "rule": "r", "basis": "b", "dependant_household": "H-1"}
    return EdgeWrite(REL, PERSON, a, PERSON, b, props)


def _batches(store: LadybugStore) -> list[dict[str, Any]]:
    """Three batches: new relationships; one changed, one as it was, one new; one removed."""
    p = _people(store)
    batches = [
        WriteBatch(edges=[_owed(p[0], p[1], 100.0), _owed(p[2], p[1], 50.0)]),
        WriteBatch(edges=[_owed(p[0], p[1], 120.0), _owed(p[2], p[1], 50.0), _owed(p[3], p[4], 80.0)]),
        WriteBatch(removed_edges=[EdgeWrite(REL, PERSON, p[2], PERSON, p[1])]),
    ]
    results = []
    for batch in batches:
        result = store.write_batch(batch)
        results.append({what: dict(getattr(result, what)) for what in ("created", "updated", "unchanged", "removed")})
    return results


def _stored(store: LadybugStore) -> list[tuple[str, str, float]]:
    return sorted((e.src_key, e.dst_key, e.props["monthly_amount"]) for e in store.iter_edges(REL))


def test_a_table_small_beside_its_ends_is_read_whole_and_a_large_one_by_key() -> None:
    store = load_two_cases()
    assert store._reads_whole(REL, PERSON, PERSON)  # no obligation yet, a handful of persons
    # KIN in the two cases: about as many links as persons, so looked up by key.
    assert not store._reads_whole(RelKind.KIN, PERSON, PERSON)


@pytest.mark.parametrize("whole", [True, False], ids=["read whole", "by key"])
def test_either_way_a_batch_finds_what_is_stored(whole: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    store = load_two_cases()
    monkeypatch.setattr(LadybugStore, "_reads_whole", lambda self, rel, sk, dk: whole)
    results = _batches(store)
    rel = REL.value
    assert [r["created"].get(rel, 0) for r in results] == [2, 1, 0]
    assert [r["updated"].get(rel, 0) for r in results] == [0, 1, 0]
    assert [r["unchanged"].get(rel, 0) for r in results] == [0, 1, 0]
    assert [r["removed"].get(rel, 0) for r in results] == [0, 0, 1]
    p = _people(store)
    assert _stored(store) == sorted([(p[0], p[1], 120.0), (p[3], p[4], 80.0)])


def test_the_counts_that_choose_follow_the_batches_written() -> None:
    store = load_two_cases()
    assert store._count(REL) == 0 and store._count(PERSON) == len(_people(store))
    _batches(store)
    [[stored]] = store._read(f"MATCH ()-[r:{REL.value}]->() RETURN count(*)")
    assert store._count(REL) == stored == 2
    store.clear()
    assert store._count(REL) == 0 and store._count(PERSON) == 0


_FULL = "Buffer manager exception: Unable to allocate memory! The buffer pool is full and no memory could be freed!"


class _FailsOnce:
    """The writer's connection, refusing its ``nth`` statement as LadybugDB does when the pool is full."""

    def __init__(self, conn: Any, nth: int) -> None:
        self.conn, self.left = conn, nth

    def execute(self, query: str, *args: Any) -> Any:
        self.left -= 1
        if self.left == 0:
            raise RuntimeError(_FULL)
        return self.conn.execute(query, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def _refuse(store: LadybugStore, nth: int) -> None:
    """Make the store's writing connection refuse its ``nth`` statement from now on, once."""
    failing = _FailsOnce(store._writer, nth)
    store._connections[store._connections.index(store._writer)] = failing
    store._writer = failing


def _on_disk(tmp_path: Any) -> LadybugStore:
    from ingest.loader import ingest_folder
    from queries.examples import DAY, TWO_CASES

    store = LadybugStore(tmp_path / "store")
    ingest_folder(store, TWO_CASES, today=DAY)
    return store


def _again(store: LadybugStore) -> Any:
    """The second batch of the test below, written; what it returned, stored and kept in history."""
    p = _people(store)
    person = {**store.get_node(PERSON, p[0]), "phone": "13800000000"}  # type: ignore[dict-item]
    batch = WriteBatch(nodes=[NodeWrite(PERSON, p[0], person)], edges=[_owed(p[0], p[1], 120.0), _owed(p[3], p[4], 80.0)], source="again")
    result = store.write_batch(batch)
    history = sorted((h["kind"], h["key"], h["before"], h["after"]) for h in store.iter_history() if h["source"] == "again")
    return dict(result.created), dict(result.updated), _stored(store), history


@pytest.mark.parametrize(
    "nth", [2, 3, 4, 5, 6, 7], ids=["read nodes", "read relationships", "set node", "set relationship", "create relationship", "history"]
)
def test_a_batch_refused_for_a_full_pool_is_written_once_on_the_database_opened_again(tmp_path: Any, nth: int) -> None:
    expected, store = _on_disk(tmp_path / "a"), _on_disk(tmp_path / "b")
    for s in (expected, store):
        p = _people(s)
        s.write_batch(WriteBatch(edges=[_owed(p[0], p[1], 100.0)]))
    database = store._db
    _refuse(store, nth)  # 1 is BEGIN TRANSACTION, 8 COMMIT
    got = _again(store)
    assert store._db is not database  # opened again
    assert got == _again(expected)
    assert got[0] == {REL.value: 1} and got[1] == {REL.value: 1, PERSON.value: 1} and len(got[3]) == 1
    store.close()
    reopened = LadybugStore(tmp_path / "b" / "store")
    assert _stored(reopened) == got[2]
    reopened.close()
    expected.close()


def test_a_full_pool_is_an_error_where_the_database_cannot_be_opened_again(tmp_path: Any) -> None:
    from graph.store import StoreError

    memory = load_two_cases()  # closing it would lose it
    shared = _on_disk(tmp_path / "a")
    second = LadybugStore(tmp_path / "a" / "store")  # another store object on the same file
    threaded = _on_disk(tmp_path / "b")
    reading = threading.Thread(target=lambda: _people(threaded))  # a connection of another thread
    reading.start()
    reading.join()
    for store in (memory, shared, threaded):
        p = _people(store)
        _refuse(store, 2)
        database = store._db
        with pytest.raises(StoreError, match="buffer pool is full"):
            store.write_batch(WriteBatch(edges=[_owed(p[0], p[1], 100.0)]))
        assert store._db is database and _stored(store) == []
    for store in (second, shared, threaded):
        store.close()


def _refuse_read(store: LadybugStore, nth: int) -> None:
    """Make this thread's reading connection refuse its ``nth`` statement from now on, once."""
    conn = store._reader()
    failing = _FailsOnce(conn, nth)
    store._connections[store._connections.index(conn)] = failing
    store._local.conn = failing


def _facts(store: LadybugStore) -> list[dict[str, Any]]:
    from queries.means_facts import means_facts

    return means_facts(store)


@pytest.mark.parametrize("nth", [2, 4, 8], ids=["first part", "a middle part", "last part"])
def test_a_read_refused_for_a_full_pool_is_asked_again_on_the_database_opened_again(tmp_path: Any, nth: int) -> None:
    # The means-test facts are seven reads in one snapshot (statement 1 is BEGIN TRANSACTION READ ONLY).
    store = _on_disk(tmp_path)
    expected = _facts(store)
    database = store._db
    _refuse_read(store, nth)
    assert _facts(store) == expected
    assert store._db is not database  # opened again
    assert _facts(store) == expected  # and it goes on reading
    store.close()


def test_a_listing_refused_for_a_full_pool_is_read_again_on_the_database_opened_again(tmp_path: Any) -> None:
    store = _on_disk(tmp_path)
    expected = list(store.iter_nodes(PERSON))
    database = store._db
    _refuse_read(store, 1)  # outside a snapshot, the listing's statement is the first
    assert list(store.iter_nodes(PERSON)) == expected
    assert store._db is not database
    store.close()


def test_a_full_pool_on_a_read_is_an_error_where_the_database_cannot_be_opened_again(tmp_path: Any) -> None:
    from queries.means_facts import means_facts

    memory = load_two_cases()  # closing it would lose it
    shared = _on_disk(tmp_path / "a")
    second = LadybugStore(tmp_path / "a" / "store")  # another store object on the same file
    for store in (memory, shared):
        _refuse_read(store, 2)
        database = store._db
        with pytest.raises(RuntimeError, match="buffer pool is full"):
            means_facts(store)
        assert store._db is database
    # Inside a write transaction of this thread: closing the database would lose the transaction.
    alone = _on_disk(tmp_path / "b")
    database = alone._db
    with alone._transaction():
        _refuse_read(alone, 2)
        with pytest.raises(RuntimeError, match="buffer pool is full"):
            means_facts(alone)
    assert alone._db is database
    for store in (second, shared, alone):
        store.close()
