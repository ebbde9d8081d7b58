"""How the embedded engine finds the relationships a batch already stored: by key, or a small table read whole."""

from __future__ import annotations

from typing import Any

import pytest

from graph.model import NodeKind, RelKind
from graph.store import EdgeWrite, WriteBatch
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
