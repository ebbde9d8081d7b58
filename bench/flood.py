"""A flood against `aidgraph serve`: what it writes to the audit trail and what it costs other clients.

    python -m bench.flood [--requests 10000] [--rounds 5]

Serves the two real cases (``tests/fixtures/two-cases``) with ``aidgraph serve`` on loopback, then
for each round measures a caseworker's median read of a household alone (200 reads), and again
while an attacker sends ``--requests`` requests with 60 KB paths and no key. The attacker is another
machine as far as the server can tell: its own process, its own loopback address (127.0.0.2), and
on a machine of two or more cores its own core (the server and the caseworker share the other; an
attacker sharing the server's core would measure the machine, not the server). Prints, per round,
the answers the attacker got, the trail's growth and the two medians; the bound is 2x.

Only loopback addresses are ever used; the attacker stops after its requests.
"""

from __future__ import annotations

import argparse
import ast
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

__all__ = ["ATTACKER_CPUS", "LONG_PATH", "SERVER_CPUS", "flood", "reads", "serve_in_a_process", "trail_bytes", "unkeyed_entries"]

ROOT = Path(__file__).resolve().parent.parent
LONG_PATH = "/api/v1/" + "a" * (60 << 10)
_CPUS = sorted(os.sched_getaffinity(0))
SERVER_CPUS = {_CPUS[0]}
ATTACKER_CPUS = set(_CPUS[1:]) or SERVER_CPUS

# The attacker: four threads, one connection a request, 127.0.0.2; prints the statuses it got (0:
# the server closed or reset the connection without answering).
_ATTACKER = """
import socket, sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
request = f"GET {path} HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nConnection: close\\r\\n\\r\\n".encode()
def one(_):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=("127.0.0.2", 0)) as s:
            try:
                s.sendall(request)
            except OSError:
                pass
            head = s.recv(64)
        return int(head.split()[1]) if head.startswith(b"HTTP/1.1 ") else 0
    except OSError:
        return 0
with ThreadPoolExecutor(4) as pool:
    print(dict(Counter(pool.map(one, range(n)))))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_in_a_process(
    store: Path | str, state: Path, env: dict[str, str], *, cpus: set[int] | None = None
) -> Iterator[tuple[str, subprocess.Popen]]:
    """`aidgraph serve` over ``store`` (an embedded store's folder, or a ``bolt://`` URI) in its own
    process on a free loopback port (pinned to ``cpus`` if given), with ``AIDGRAPH_API_*`` settings
    from ``env``: its base URL and process."""
    port = _free_port()
    engine = ["--neo4j", store] if str(store).startswith(("bolt://", "neo4j://")) else ["--store", str(store)]
    proc = subprocess.Popen(  # noqa: S603 (our own command line, fixed arguments)
        [sys.executable, "-m", "cli.main", "serve", *engine, "--state", str(state), "--port", str(port)],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "the server stopped")
            try:
                if httpx.get(base + "/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start in 120 s")
            time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(30)


def flood(port: int, requests: int, path: str = LONG_PATH) -> subprocess.Popen:
    """Start the attacker; :func:`statuses` waits for it."""
    return subprocess.Popen(  # noqa: S603 (the attacker script above, fixed arguments)
        [sys.executable, "-c", _ATTACKER, str(port), str(requests), path],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, ATTACKER_CPUS),
    )


def statuses(attacker: subprocess.Popen) -> Counter[int]:
    out, _ = attacker.communicate(timeout=300)
    return Counter({int(k): v for k, v in ast.literal_eval(out.strip()).items()})


def trail_bytes(state: Path) -> int:
    """The audit trail's size on disk, its write-ahead log folded in first."""
    with sqlite3.connect(state / "audit-log.sqlite") as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in state.glob("audit-log.sqlite*"))


def unkeyed_entries(state: Path) -> int:
    """Audit entries of requests without a valid key (the caseworker's own reads are written too)."""
    with sqlite3.connect(state / "audit-log.sqlite") as db:
        return int(db.execute("SELECT count(*) FROM audit_entry WHERE key_id IS NULL").fetchone()[0])


def reads(base: str, key: str, household: str, n: int) -> list[float]:
    """``n`` reads of ``household`` with ``key``, timed, from the server's core (a client on its side)."""
    mine = os.sched_getaffinity(0)
    os.sched_setaffinity(0, SERVER_CPUS)
    try:
        out = []
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(n):
                start = time.perf_counter()
                if client.get(f"/api/v1/households/{household}", headers={"X-API-Key": key}).status_code != 200:
                    raise RuntimeError("a caseworker's read failed")
                out.append(time.perf_counter() - start)
        return out
    finally:
        os.sched_setaffinity(0, mine)


def main() -> None:
    from api.core.security import KeyRing, Role
    from graph.stores.ladybug import LadybugStore
    from ingest.loader import ingest_folder

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store_dir, state = Path(tmp) / "store", Path(tmp) / "state"
        with LadybugStore(store_dir) as store:
            ingest_folder(store, ROOT / "tests" / "fixtures" / "two-cases")
        ring = KeyRing(state / "keys.sqlite")
        key = ring.create(name="caseworker", role=Role.CASEWORKER, region="420203", by="bench").token
        ring.close()
        env = {"AIDGRAPH_API_DEFAULT_RATE_PER_MINUTE": "1000000"}
        with serve_in_a_process(store_dir, state, env, cpus=SERVER_CPUS) as (base, _):
            port = int(base.rsplit(":", 1)[1])
            print(f"cores: server and caseworker {sorted(SERVER_CPUS)}, attacker {sorted(ATTACKER_CPUS)}")
            print("round | attacker's answers | trail entries without a key | median read alone | under flood | ratio")
            ratios = []
            for r in range(1, args.rounds + 1):
                alone = statistics.median(reads(base, key, "H-420203-0001", 200))
                before = unkeyed_entries(state)
                attacker = flood(port, args.requests)
                during: list[float] = []
                while attacker.poll() is None:
                    during.extend(reads(base, key, "H-420203-0001", 5))
                answers = statuses(attacker)
                written = unkeyed_entries(state) - before
                under = statistics.median(during)
                ratios.append(under / alone)
                print(f"{r} | {dict(answers)} | {written} | {alone * 1000:.2f} ms | {under * 1000:.2f} ms | {under / alone:.2f}x")
            print(f"median ratio over {args.rounds} rounds: {statistics.median(ratios):.2f}x (bound 2x); worst {max(ratios):.2f}x")


if __name__ == "__main__":
    main()
