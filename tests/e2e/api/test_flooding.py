"""Findings 2, 15 and 17 of the attack round, against the real server (`aidgraph serve` in its own
process, on loopback): floods without a key cannot fill the disk through the audit trail, slow
clients are dropped, and key guessing is limited.

Only 127.0.0.1 is ever addressed; every loop is bounded in count and time.
"""

from __future__ import annotations

import socket
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.core.security import KeyRing, Role
from bench.flood import SERVER_CPUS, flood, reads, serve_in_a_process, statuses, trail_bytes
from graph.stores.ladybug import LadybugStore
from ingest.loader import ingest_folder
from tests.e2e.api.conftest import HOUSEHOLD, Api

FLOOD_REQUESTS = 10_000


@pytest.fixture
def served(api_fixture_dir: Path, tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """`aidgraph serve` over an embedded store of the fixture, a caseworker key, its state folder."""
    store_dir, state = tmp_path / "store", tmp_path / "state"
    with LadybugStore(store_dir) as store:
        ingest_folder(store, api_fixture_dir)
    ring = KeyRing(state / "keys.sqlite")
    key = ring.create(name="西塞山 caseworker", role=Role.CASEWORKER, region="420203", by="test").token
    ring.close()
    env = {"AIDGRAPH_API_HEADER_TIMEOUT_S": "1", "AIDGRAPH_API_DEFAULT_RATE_PER_MINUTE": "100000"}
    with serve_in_a_process(store_dir, state, env, cpus=SERVER_CPUS) as (base, _):
        yield base, key, state


def test_a_flood_of_long_unauthenticated_paths_neither_fills_the_trail_nor_is_served(served) -> None:
    """10,000 requests with 60 KB paths and no key: the trail grows by less than 1 MB, none is
    served. What the flood costs other clients is a timing, measured by ``python -m bench.flood``
    (the 2x bound there; figures in docs/performance.md); printed here."""
    base, key, state = served
    port = int(base.rsplit(":", 1)[1])
    before = trail_bytes(state)
    answers = statuses(flood(port, FLOOD_REQUESTS))
    grown = trail_bytes(state) - before
    alone = statistics.median(reads(base, key, HOUSEHOLD, 100))
    attacker, during = flood(port, FLOOD_REQUESTS), []
    while attacker.poll() is None:
        during.extend(reads(base, key, HOUSEHOLD, 5))
    answers.update(statuses(attacker))
    print(
        f"\nflood: {dict(answers)}; trail grew {grown:,} bytes; median read {alone * 1000:.1f} -> {statistics.median(during) * 1000:.1f} ms"
    )
    assert sum(answers.values()) == 2 * FLOOD_REQUESTS and set(answers) <= {0, 414}
    assert grown < 1 << 20


def test_slow_headers_are_dropped(served) -> None:
    base, key, _ = served
    port = int(base.rsplit(":", 1)[1])
    sockets = []
    try:
        for _ in range(300):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # half a header, never finished
            sockets.append(s)
        time.sleep(3)  # the server allows 1 s here (AIDGRAPH_API_HEADER_TIMEOUT_S)
        closed = 0
        for s in sockets:
            s.settimeout(5)
            try:
                closed += s.recv(1) == b""  # end of stream: the server closed it
            except ConnectionResetError:
                closed += 1  # or reset it
            # (a TimeoutError means the connection is still open: not counted, and the test fails)
        assert closed == len(sockets)
        # A kept-alive connection that starts a second request and stalls is dropped too.
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert s.recv(12).startswith(b"HTTP/1.1 200")
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHo")
        time.sleep(2.5)
        s.settimeout(5)
        while s.recv(4096):  # reads to the end of the stream; a connection left open would time out here
            pass
        s.close()
        # Other clients were served all along.
        assert reads(base, key, HOUSEHOLD, 1)
    finally:
        for s in sockets:
            s.close()


def test_unauthenticated_failures_are_limited_per_address_and_written_at_most_once_a_minute(api: Api) -> None:
    settings = api.app.state.aidgraph.settings
    log = api.app.state.aidgraph.audit_log
    before = log.count()
    codes = Counter(api.client.get(f"/households/H-{i}").status_code for i in range(200))
    assert codes == {401: settings.failed_per_minute, 429: 200 - settings.failed_per_minute}
    assert log.count() - before == settings.failed_per_minute + 1  # the one 429 that says the limit began
    # A valid key from the same address is still served.
    assert api.client.get(f"/households/{HOUSEHOLD}", headers=api.headers("caseworker_in")).status_code == 200


def test_request_lines_over_the_caps_are_refused_before_the_trail(api: Api) -> None:
    log = api.app.state.aidgraph.audit_log
    before = log.count()
    long_path = api.client.get("/households/" + "4" * 3000, headers=api.headers("caseworker_in"))
    long_query = api.client.get("/households", params={"name": "周" * 2000}, headers=api.headers("caseworker_in"))
    assert long_path.status_code == long_query.status_code == 414
    assert long_path.json()["error"]["code"] == "uri_too_long"
    assert log.count() == before


def test_guessing_a_keys_secret_is_limited(api: Api) -> None:
    real = api.keys["auditor"]
    key_id = real.split("_")[1]
    limit = api.app.state.aidgraph.settings.key_failures_per_minute
    codes = [api.client.get("/findings", headers={"X-API-Key": f"agk_{key_id}_guess{i}"}).status_code for i in range(limit + 5)]
    assert codes[:limit] == [401] * limit and set(codes[limit:]) == {429}
    # Past the limit even the right secret waits: the guesses cannot be told from the real one.
    assert api.client.get("/findings", headers={"X-API-Key": real}).status_code == 429
    # Other keys are not held back.
    assert api.client.get(f"/households/{HOUSEHOLD}", headers=api.headers("caseworker_in")).status_code == 200
