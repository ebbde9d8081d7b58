"""A killed first load leaves its stage in the temporary folder; the next first load removes it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from graph.model import NodeKind
from graph.store import NodeWrite, WriteBatch
from graph.stores.ladybug import STAGE_PREFIX, LadybugStore, remove_dead_stages


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_the_stages_of_dead_processes_are_removed(tmp_path: Path) -> None:
    dead, alive = _dead_pid(), os.getpid()
    for name in (f"{STAGE_PREFIX}{dead}-x1", f"{STAGE_PREFIX}{alive}-x2", f"{STAGE_PREFIX}abcdefgh", "other-123-x"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "Person.parquet").write_bytes(b"stage")
    assert remove_dead_stages(tmp_path) == [f"{STAGE_PREFIX}{dead}-x1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"{STAGE_PREFIX}{alive}-x2", f"{STAGE_PREFIX}abcdefgh", "other-123-x"])


def test_a_first_load_clears_dead_stages_and_names_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    left = tmp_path / f"{STAGE_PREFIX}{_dead_pid()}-killed"
    left.mkdir()
    store = LadybugStore(tmp_path / "store")
    with store.first_load() as stage:
        assert stage is not None
        assert not left.exists()
        [own] = [p.name for p in tmp_path.glob(f"{STAGE_PREFIX}*")]
        assert own.startswith(f"{STAGE_PREFIX}{os.getpid()}-")
        stage.write_batch(WriteBatch(nodes=[NodeWrite(NodeKind.HOUSEHOLD, "H-1", {"household_id": "H-1", "urban_rural": "rural"})]))
    assert not list(tmp_path.glob(f"{STAGE_PREFIX}*"))
    assert store.counts().nodes.get("Household") == 1
    store.close()
