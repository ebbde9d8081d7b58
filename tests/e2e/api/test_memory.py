"""Finding 3 of the attack round, against the real server: one evaluation per ``as_of`` date was
cached without bound (120 dates took a server of 2,000 households from 454 to 2,214 MB). Now 150
distinct dates (more than the finding's 120, and 18 times the 8 answers the cache keeps) leave its
memory within 300 MB of where it started."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest

from api.core.security import KeyRing, Role
from graph.stores.ladybug import LadybugStore
from ingest.loader import ingest_folder
from tests.e2e.api.conftest import serve_in_a_process

DATES = 150
ALLOWED_GROWTH_MB = 300


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.slow
def test_distinct_days_do_not_grow_the_server(generated_2000: Path, tmp_path: Path) -> None:
    store_dir, state = tmp_path / "store", tmp_path / "state"
    with LadybugStore(store_dir) as store:
        ingest_folder(store, generated_2000)
    ring = KeyRing(state / "keys.sqlite")
    key = ring.create(name="auditor", role=Role.AUDITOR, by="test").token
    ring.close()
    env = {"AIDGRAPH_API_DEFAULT_RATE_PER_MINUTE": "1000000"}
    with serve_in_a_process(store_dir, state, env) as (base, proc), httpx.Client(base_url=base + "/api/v1", timeout=120) as client:
        headers = {"X-API-Key": key}
        assert client.get("/warnings", headers=headers).status_code == 200  # warm: code loaded, one evaluation made
        start = _rss_mb(proc.pid)
        first = dt.date(2023, 1, 1)
        peak = start
        for i in range(DATES):
            day = first + dt.timedelta(days=i)
            assert client.get("/warnings", params={"as_of": day.isoformat(), "limit": 1}, headers=headers).status_code == 200
            peak = max(peak, _rss_mb(proc.pid))
        end = _rss_mb(proc.pid)
    print(f"\n{DATES} days: RSS {start:.0f} MB at start, {peak:.0f} MB at most, {end:.0f} MB at the end")
    assert peak - start < ALLOWED_GROWTH_MB
