"""How the embedded engine reads: small reads on one thread, repeated texts shared as one object."""

from __future__ import annotations

from typing import Any

from graph.model import NodeKind
from graph.store import NodeWrite, WriteBatch
from graph.stores.ladybug import LadybugStore
from queries.household import household_view
from queries.means_facts import means_facts

THREADS = "CALL current_setting('threads') RETURN *"


def _threads(store: LadybugStore, *, small: bool) -> int:
    return int(store.reading(lambda read: read(THREADS, {})[0]["threads"], small=small))


def test_a_small_read_runs_on_one_thread_and_the_next_read_on_all_again() -> None:
    store = LadybugStore.in_memory()
    every = _threads(store, small=False)
    assert _threads(store, small=True) == 1
    assert _threads(store, small=False) == every


def test_the_household_file_is_a_small_read_and_the_facts_are_not() -> None:
    store = LadybugStore.in_memory()
    seen: list[int] = []
    reading = store.reading

    def spy(work: Any, *, small: bool = False) -> Any:
        seen.append(small)
        return reading(work, small=small)

    store.reading = spy  # type: ignore[method-assign]
    household_view(store, household_id="H-1")
    means_facts(store, household_ids=None)
    assert seen == [True, False]


def test_facts_share_one_object_for_a_text_repeated_down_a_column() -> None:
    store = LadybugStore.in_memory()
    nodes = [NodeWrite(NodeKind.HOUSEHOLD, f"H-{i}", {"household_id": f"H-{i}", "urban_rural": "rural"}) for i in range(4)]
    store.write_batch(WriteBatch(nodes=nodes))
    rows = store.reading(lambda read: read("MATCH (h:Household) RETURN h.household_id AS id, h.urban_rural AS area", {}))
    assert sorted(r["id"] for r in rows) == ["H-0", "H-1", "H-2", "H-3"]
    assert all(r["area"] is rows[0]["area"] for r in rows) and rows[0]["area"] == "rural"
    assert len({id(r["id"]) for r in rows}) == 4  # distinct texts stay distinct
