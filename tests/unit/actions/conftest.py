"""A store holding the two real cases and two more needs of the driver's household, for the service flow."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from graph.store import GraphStore
from ingest.loader import ingest_folder

AT = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)
NEEDS = """need_id,household_id,person_ref,category,urgency,raised_on,status,description
N-9,H-420106-0001,420106198305141516,psychological,urgent_intervention,2025-03-01,open,despair after the second hospital stay
N-8,H-420106-0001,420106195203021333,care,needs_care,2025-03-01,open,the father cannot bathe alone
N-7,H-420106-0001,420106195203021333,care,keep_watching,2025-03-01,open,the father lives alone most days
"""


@pytest.fixture
def orders_store(store: GraphStore, two_cases_dir: Path, tmp_path: Path) -> GraphStore:
    ingest_folder(store, two_cases_dir)
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "needs.csv").write_text(NEEDS, encoding="utf-8")
    ingest_folder(store, tmp_path / "more")
    return store


def cli_app() -> Any:
    """The command line's app (imported when a test asks: the CLI is the top layer)."""
    from cli.main import app

    return app


@pytest.fixture
def cli_store(tmp_path: Path, two_cases_dir: Path) -> str:
    """An embedded store, by path, holding the two cases and ``NEEDS``, loaded through the command line."""
    from typer.testing import CliRunner

    store = str(tmp_path / "store")
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "needs.csv").write_text(NEEDS, encoding="utf-8")
    for folder in (two_cases_dir, tmp_path / "more"):
        assert CliRunner().invoke(cli_app(), ["ingest", str(folder), "--store", store]).exit_code == 0
    return store
