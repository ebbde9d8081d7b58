"""Many clients writing at once through a real server: no update lost, none applied twice (both engines).

The server is uvicorn on loopback in a thread, the clients are threads with their own
connections, so requests really overlap inside the server and, on Neo4j, in the database.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.core.config import Settings
from api.main import create_app
from graph.model import NodeKind, RelKind
from graph.store import GraphStore
from ingest.loader import ingest_folder
from tests.e2e.api.conftest import HOUSEHOLD, make_keys, unmasked_ids

CLIENTS = 16
CAPACITY = 5
CARE_NEEDS = [f"N-C{i:02d}" for i in range(12)]


@pytest.fixture
def crowded_dir(api_fixture_dir: Path) -> Path:
    """Twelve open care needs in 西塞山区, one care resource with five places, two that could both serve N-D."""
    with (api_fixture_dir / "needs.csv").open("a", encoding="utf-8") as f:
        for need in CARE_NEEDS:
            f.write(f"{need},{HOUSEHOLD},,care,needs_care,2024-02-01,open,\n")
        f.write(f"N-D,{HOUSEHOLD},,daily_living,safety_net,2024-02-01,open,\n")
    with (api_fixture_dir / "resources.csv").open("a", encoding="utf-8") as f:
        f.write(f"R-CARE,西塞山 care volunteers,volunteer,care,420203,{CAPACITY},,0.9,elderly care,zh\n")
        f.write("R-DA,daily help A,service_org,daily_living,420203,10,,0.9,,zh\n")
        f.write("R-DB,daily help B,service_org,daily_living,420203,10,,0.9,,zh\n")
    return api_fixture_dir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(store: GraphStore, crowded_dir: Path, tmp_path: Path) -> Iterator[tuple[str, dict[str, str], object]]:
    assert ingest_folder(store, crowded_dir).ok
    app = create_app(store, settings=Settings(state_dir=tmp_path / "state", default_rate_per_minute=100_000))
    keys = make_keys(app.state.aidgraph.keys)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/api/v1", keys, app
    finally:
        srv.should_exit = True
        thread.join(30)


def _all_at_once(base: str, calls: list[tuple[str, str, dict]]) -> list[httpx.Response]:
    """POST every ``(key, path, body)`` from CLIENTS threads, released together by a barrier."""
    barrier = threading.Barrier(min(CLIENTS, len(calls)))
    local = threading.local()

    def post(call: tuple[str, str, dict]) -> httpx.Response:
        key, path, body = call
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base, timeout=120)
            barrier.wait(timeout=60)
        response = local.client.post(path, json=body, headers={"X-API-Key": key})
        assert not unmasked_ids(response.text)
        return response

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(post, calls))


def test_concurrent_accepts_never_overfill_a_resource_or_serve_a_need_twice(server, store: GraphStore) -> None:
    base, keys, app = server
    calls = [(keys["caseworker_in"], "/linkage/accept", {"need_id": n, "resource_id": "R-CARE"}) for n in CARE_NEEDS]
    # Two resources fighting over one need, eight times each, interleaved.
    calls += [(keys["caseworker_in"], "/linkage/accept", {"need_id": "N-D", "resource_id": r}) for _ in range(8) for r in ("R-DA", "R-DB")]
    responses = _all_at_once(base, calls)

    statuses = Counter((c[2]["need_id"].startswith("N-C"), r.status_code) for c, r in zip(calls, responses, strict=True))
    assert statuses[(True, 200)] == CAPACITY, statuses
    assert statuses[(True, 409)] == len(CARE_NEEDS) - CAPACITY, statuses
    refused = [
        r.json()["error"]["message"] for c, r in zip(calls, responses, strict=True) if r.status_code == 409 and c[2]["need_id"] != "N-D"
    ]
    assert all("no capacity left" in m for m in refused), refused

    # N-D: one resource won; every request for it answered 200 (accepting twice changes nothing),
    # every request for the other answered 409 naming the winner.
    by_resource = {
        r: {resp.status_code for c, resp in zip(calls, responses, strict=True) if c[2] == {"need_id": "N-D", "resource_id": r}}
        for r in ("R-DA", "R-DB")
    }
    assert sorted(map(sorted, by_resource.values())) == [[200], [409]], by_resource
    winner = next(r for r, s in by_resource.items() if s == {200})

    # In the store: exactly one service per accepted need, the resource within its capacity.
    provided = Counter(e.src_key for e in store.iter_edges(RelKind.PROVIDES))
    assert provided["R-CARE"] == CAPACITY
    assert provided[winner] == 1 and provided[{"R-DA": "R-DB", "R-DB": "R-DA"}[winner]] == 0
    served = Counter(e.dst_key for e in store.iter_edges(RelKind.FOR_NEED))
    assert all(served[n] <= 1 for n in [*CARE_NEEDS, "N-D"]), served
    accepted = [d.props for d in store.iter_nodes(NodeKind.LINK_DECISION) if d.props["decision"] == "accepted"]
    assert len(accepted) == CAPACITY + 1
    # Every request, answered or refused, is in the audit trail once.
    assert app.state.aidgraph.audit_log.count(route="linkage.accept") == len(calls)


def test_concurrent_marks_are_each_kept_in_order(server, store: GraphStore) -> None:
    base, keys, app = server
    with httpx.Client(base_url=base) as client:
        findings = client.get("/findings", headers={"X-API-Key": keys["auditor"]}).json()["data"]
    targets = [f["id"] for f in findings[:3]]
    assert len(targets) == 3
    rounds = 12
    calls = [
        (keys["auditor"], f"/findings/{fid}/{'confirm' if i % 2 else 'dismiss'}", {"reason": f"mark {i} of {fid}"})
        for i in range(rounds)
        for fid in targets
    ]
    responses = _all_at_once(base, calls)
    assert [r.status_code for r in responses] == [200] * len(calls)

    for fid in targets:
        current = store.get_node(NodeKind.FINDING_MARK, fid)
        history = store.history(NodeKind.FINDING_MARK, fid)
        # Each mark replaced exactly the one before it: the history is one unbroken chain holding
        # all twelve reasons, none lost and none twice.
        assert len(history) == rounds - 1
        chain = [history[0]["before"]] + [h["after"] for h in history]
        for earlier, later in pairwise(history):
            assert earlier["after"] == later["before"]
        assert chain[-1] == current
        assert sorted(m["reason"] for m in chain) == sorted(f"mark {i} of {fid}" for i in range(rounds))
    assert app.state.aidgraph.audit_log.count(route="findings.mark") == len(calls)
