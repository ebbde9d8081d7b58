"""The first load of an empty embedded store: staged and loaded with COPY, into a file beside the
store's that then takes its place (or in one transaction), the same nodes, relationships and report
as writing batch by batch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from graph.model import NodeKind, RelKind
from graph.store import StoreError
from graph.stores import ladybug_copy
from graph.stores.ladybug import LadybugStore
from ingest.loader import ingest_folder


def _state(store: LadybugStore) -> tuple[dict, dict]:
    nodes = {(n.kind, n.key): n.props for kind in NodeKind for n in store.iter_nodes(kind)}
    edges = {(e.rel, e.src_kind, e.src_key, e.dst_kind, e.dst_key): e.props for rel in RelKind for e in store.iter_edges(rel)}
    return nodes, edges


def _load(folder: Path, at: Path, **options: object) -> tuple[tuple[dict, dict], list[dict], int]:
    with LadybugStore(at) as store:
        report = ingest_folder(store, folder, batch_size=300, **options)  # type: ignore[arg-type]
        return _state(store), report.file_summaries(), sum(1 for _ in store.iter_history())


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many tables each first load copied (0: it was written batch by batch)."""
    copied: list[int] = []
    real = ladybug_copy.copy_into

    def counting(store: LadybugStore, stage: ladybug_copy.CopyTables) -> None:
        real(store, stage)
        copied.append(len(stage.node_tables) + len(stage.rel_tables))

    monkeypatch.setattr(ladybug_copy, "copy_into", counting)
    return copied


def test_a_first_load_copies_what_batches_would_write(generated_2000: Path, tmp_path: Path, copies: list[int]) -> None:
    bulk, bulk_report, bulk_history = _load(generated_2000, tmp_path / "bulk")
    assert copies and copies[0] > 10  # every node table and most relationship tables, by COPY
    batches, batches_report, batches_history = _load(generated_2000, tmp_path / "batches", in_batches=True)
    assert len(copies) == 1
    assert bulk == batches
    assert len(bulk[0]) > 10_000 and len(bulk[1]) > 20_000
    assert bulk_report == batches_report  # the same rows, rejects and created counts per file
    assert bulk_history == batches_history == 0  # a first load updates nothing


def test_a_second_load_goes_batch_by_batch_and_keeps_history(two_cases_dir: Path, tmp_path: Path, copies: list[int]) -> None:
    folder = tmp_path / "feed"
    shutil.copytree(two_cases_dir, folder)
    with LadybugStore(tmp_path / "store") as store:
        ingest_folder(store, folder)
        assert len(copies) == 1
        persons = (folder / "persons.csv").read_text(encoding="utf-8").splitlines()
        persons[1] = persons[1].replace("13800000001", "13800000009")
        (folder / "persons.csv").write_text("\n".join(persons) + "\n", encoding="utf-8")
        report = ingest_folder(store, folder)
        assert len(copies) == 1  # not copied: the store held nodes
        assert sum(f.written.updated.get("Person", 0) for f in report.files) == 1
        assert [h["after"]["phone"] for h in store.history(NodeKind.PERSON, "420106198305141516")] == ["13800000009"]


def test_the_stage_takes_a_kinship_pair_once() -> None:
    from graph.store import EdgeWrite, NodeWrite, WriteBatch
    from graph.stores.staged import RepeatedNode

    stage = ladybug_copy.CopyTables(Path("/nonexistent"))  # nothing written before FLUSH_ROWS
    people = [NodeWrite(NodeKind.PERSON, k, {"id_number": k}) for k in ("A", "B")]

    def kin(relation: str) -> EdgeWrite:
        return EdgeWrite(RelKind.KIN, NodeKind.PERSON, "A", NodeKind.PERSON, "B", {"relation": relation})

    assert stage.write_batch(WriteBatch(nodes=people, edges=[kin("parent_of")])).created == {"Person": 2, "KIN": 1}
    assert stage.write_batch(WriteBatch(edges=[kin("parent_of")])).unchanged == {"KIN": 1}
    with pytest.raises(RepeatedNode, match="KIN from Person A to Person B is given twice with different properties"):
        stage.write_batch(WriteBatch(edges=[kin("sibling_of")]))


def test_a_load_the_stage_cannot_take_is_written_batch_by_batch(
    two_cases_dir: Path, tmp_path: Path, copies: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stage that meets what a first load cannot hold (here made to, at kinship.csv) is
    abandoned: nothing is copied, and the folder is written batch by batch from the start."""
    from graph.stores.staged import RepeatedNode, StagedLoad

    real = StagedLoad.write_batch

    def refusing(stage: StagedLoad, batch: object) -> object:
        if "kinship.csv" in batch.source:  # type: ignore[attr-defined]
            raise RepeatedNode("given twice")
        return real(stage, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(StagedLoad, "write_batch", refusing)
    fallen_back = _load(two_cases_dir, tmp_path / "fallen-back")
    assert copies == []
    assert fallen_back == _load(two_cases_dir, tmp_path / "batches", in_batches=True)
    assert fallen_back[0][1]  # relationships, kinship's among them, were written


def test_a_first_load_that_fails_leaves_the_store_empty(generated_2000: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relationship table that cannot be copied (here: a file spoilt) rolls back the node tables
    copied before it, in the same transaction."""
    real_close = ladybug_copy.CopyTables.close

    def lose_one(stage: ladybug_copy.CopyTables) -> None:
        real_close(stage)
        next(iter(stage.rel_tables.values())).path.write_bytes(b"not parquet")

    monkeypatch.setattr(ladybug_copy.CopyTables, "close", lose_one)
    with LadybugStore(tmp_path / "store") as store:
        with pytest.raises(StoreError, match="refused a batch"):
            ingest_folder(store, generated_2000)
        assert sum(store.counts().nodes.values()) == 0
        assert not list((tmp_path / "store").glob(f"*{ladybug_copy.ASIDE}*"))  # the file beside it removed
        assert sum(store.counts().edges.values()) == 0
        # And the same open database copies the next time (an earlier trial of COPY had seen the
        # process crash on the COPY after a failed one).
        monkeypatch.setattr(ladybug_copy.CopyTables, "close", real_close)
        assert ingest_folder(store, generated_2000).ok
        assert store.counts().nodes["Person"] > 5000


def test_the_stage_refuses_what_a_batch_write_refuses(tmp_path: Path) -> None:
    from graph.store import NodeWrite, WriteBatch

    stage = ladybug_copy.CopyTables(tmp_path)
    with pytest.raises(StoreError, match="Program:DIBAO has no property colour"):
        stage.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.PROGRAM, "DIBAO", {"program_code": "DIBAO", "colour": "red"})]))
    stage.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.ASSET, "A-1", {"asset_id": "A-1", "quantity": "many"})]))
    with pytest.raises(StoreError, match=r"Asset:A-1.quantity: 'many' is not a double"):
        stage.close()  # values are checked when a part is written


@pytest.fixture
def swaps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files put in a store's place (the names of those that were)."""
    swapped: list[str] = []
    real = LadybugStore._reopen

    def recording(store: LadybugStore, replace_with: Path | None = None) -> bool:
        done = real(store, replace_with)
        if done and replace_with is not None:
            swapped.append(replace_with.name)
        return done

    monkeypatch.setattr(LadybugStore, "_reopen", recording)
    return swapped


def test_a_first_load_is_copied_beside_the_store_and_takes_its_place(two_cases_dir: Path, tmp_path: Path, swaps: list[str]) -> None:
    with LadybugStore(tmp_path / "store") as store:
        assert ingest_folder(store, two_cases_dir).ok
        assert swaps == [f"graph.lbug{ladybug_copy.ASIDE}"]
        loaded = _state(store)
        assert len(loaded[0]) > 10 and len(loaded[1]) > 10
        store.write_batch(_program("LATER"))  # the same store object writes on, to the new file
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["graph.lbug"]
    with LadybugStore(tmp_path / "store") as reopened:
        nodes, edges = _state(reopened)
        assert (nodes, edges) == ({**loaded[0], (NodeKind.PROGRAM, "LATER"): {"program_code": "LATER", "name": "临时救助"}}, loaded[1])
    assert _state_of(_load(two_cases_dir, tmp_path / "batches", in_batches=True)) == loaded


def test_a_first_load_beside_another_user_of_the_file_is_copied_in_place(two_cases_dir: Path, tmp_path: Path, swaps: list[str]) -> None:
    """A second store object open on the file would lose its database in a swap: the tables are
    copied into the store in one transaction, and both objects see them."""
    with LadybugStore(tmp_path / "store") as store, LadybugStore(tmp_path / "store") as other:
        assert ingest_folder(store, two_cases_dir).ok
        assert swaps == []
        assert _state(other) == _state(store) == _state_of(_load(two_cases_dir, tmp_path / "batches", in_batches=True))


def test_what_a_killed_first_load_left_beside_the_store_is_removed_on_opening(tmp_path: Path) -> None:
    with LadybugStore(tmp_path / "store") as store:
        store.write_batch(_program("DIBAO"))
    for leftover in (f"graph.lbug{ladybug_copy.ASIDE}", f"graph.lbug{ladybug_copy.ASIDE}.wal"):
        (tmp_path / "store" / leftover).write_bytes(b"half a load")
    with LadybugStore(tmp_path / "store", read_only=True) as reader:
        assert reader.get_node(NodeKind.PROGRAM, "DIBAO") is not None
    assert len(list((tmp_path / "store").iterdir())) == 3  # a reader removes nothing
    with LadybugStore(tmp_path / "store") as store:
        assert store.get_node(NodeKind.PROGRAM, "DIBAO") is not None
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["graph.lbug"]


def _program(code: str) -> object:
    from graph.store import NodeWrite, WriteBatch

    return WriteBatch(nodes=[NodeWrite(NodeKind.PROGRAM, code, {"program_code": code, "name": "临时救助"})])


def _state_of(loaded: tuple[tuple[dict, dict], list[dict], int]) -> tuple[dict, dict]:
    return loaded[0]


def test_a_stage_keeps_no_key_of_the_kinds_given_once(generated_2000: Path, tmp_path: Path) -> None:
    """Aid records, incomes, assets and services come from one file each and no row names one: the
    stage checks their relationships within their batch and keeps none of their keys."""
    stage = ladybug_copy.CopyTables(tmp_path)
    report = ingest_folder(stage, generated_2000)  # type: ignore[arg-type]
    assert report.ok
    for kind in (NodeKind.AID_RECORD, NodeKind.INCOME, NodeKind.ASSET):
        assert stage.nodes[kind.value] > 100 and not stage._keys[kind]
    assert len(stage._keys[NodeKind.PERSON]) == stage.nodes["Person"]  # what later files name is kept
    stage.close()
