"""HTTP throughput and latency of the household-chain and recommendation routes, both engines, one run.

    python -m bench.api_load --store STORE --neo4j bolt://127.0.0.1:17690 [--seconds 30] [--connections 32]

The stores must already hold the same data (``aidgraph ingest`` into each; ``--prepare N`` does it:
generates N households with seed 7 and ingests them into both). For each engine the script starts
``aidgraph serve`` on loopback with a fresh key and audit trail, picks 2,000 households at random
(seed 7), and drives each route with wrk (``-c CONNECTIONS -t 2 -d SECONDS --latency``), cycling
through the households. Every request is authenticated, scoped, masked and written to the audit
trail (fsync'd), as in production. Prints requests per second and p50/p99 latency per route and
engine, and the share of non-2xx answers (must be 0).

wrk comes from Debian's packages (``apt-get install wrk``). On a 2-core machine wrk, the server
and Neo4j share the cores: the figures are for the whole machine, not the server alone.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-06-30"
ROUTES = {
    "household chain": "/api/v1/households/{h}/chain?as_of=" + AS_OF,
    "recommendations": "/api/v1/households/{h}/recommendations?as_of=" + AS_OF,
}
_LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1], {["X-API-Key"] = "%s"})
end
"""


def _aidgraph() -> str:
    return str(Path(sys.executable).parent / "aidgraph")


def _households(data: Path, n: int) -> tuple[list[str], str]:
    lines = (data / "households.csv").read_text(encoding="utf-8").splitlines()[1:]
    ids = [line.split(",", 1)[0] for line in lines]
    region = lines[0].split(",")[1][:4]  # the prefecture: every household's code starts with it
    return random.Random(7).sample(ids, min(n, len(ids))), region


def _serve(engine_args: list[str], port: int, state: Path) -> subprocess.Popen:
    env = {**os.environ, "AIDGRAPH_API_STATE_DIR": str(state), "AIDGRAPH_API_CACHE_TTL_S": "600"}
    log = (state / "serve.log").open("w")
    proc = subprocess.Popen([_aidgraph(), "serve", *engine_args, "--port", str(port)], env=env, stderr=log, stdout=log, text=True)  # noqa: S603
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"aidgraph serve exited: {(state / 'serve.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/ready", timeout=5) as answer:
                if answer.status == 200:
                    return proc
        except OSError:
            time.sleep(1)
    proc.kill()
    raise RuntimeError("aidgraph serve did not become ready in 600 s")


def _wrk(url: str, script: Path, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(  # noqa: S603
        ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", "--timeout", "30s", "-s", str(script), url],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    unit = {"us": 1e-3, "ms": 1.0, "s": 1000.0}

    def latency(pct: str) -> float:
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(m.group(1)) * unit[m.group(2)] if m else float("nan")

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "requests": total,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": sum(int(g) for g in errors.groups()) if errors else 0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, required=True, help="Embedded store folder holding the data.")
    parser.add_argument("--neo4j", help="Neo4j URI holding the same data (omit to measure the embedded engine only).")
    parser.add_argument("--data", type=Path, required=True, help="The exchange folder the stores were loaded from (household ids).")
    parser.add_argument("--prepare", type=int, default=0, help="Generate this many households into --data and ingest them first.")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=18080)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 1
    if args.prepare:
        subprocess.run([_aidgraph(), "generate", "--households", str(args.prepare), "--seed", "7", "--out", str(args.data)], check=True)  # noqa: S603
        subprocess.run([_aidgraph(), "ingest", str(args.data), "--store", str(args.store)], check=True)  # noqa: S603
        if args.neo4j:
            subprocess.run([_aidgraph(), "ingest", str(args.data), "--neo4j", args.neo4j], check=True)  # noqa: S603
    households, region = _households(args.data, 2000)
    engines = [("embedded", ["--store", str(args.store)])] + ([("neo4j", ["--neo4j", args.neo4j])] if args.neo4j else [])
    results = []
    for engine, engine_args in engines:
        with tempfile.TemporaryDirectory(prefix="aidgraph-bench-") as tmp:
            state = Path(tmp)
            made = subprocess.run(  # noqa: S603
                [
                    _aidgraph(),
                    "keys",
                    "create",
                    "--name",
                    "bench",
                    "--role",
                    "caseworker",
                    "--region",
                    region,
                    "--rate",
                    "10000000",
                    "--state",
                    str(state),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            token = made.stdout.strip().splitlines()[-1]
            started = time.monotonic()
            server = _serve(engine_args, args.port, state)
            print(f"{engine}: server ready in {time.monotonic() - started:.1f} s", flush=True)
            try:
                for route, template in ROUTES.items():
                    script = state / f"{route.replace(' ', '_')}.lua"
                    paths = ", ".join(f'"{template.format(h=h)}"' for h in households)
                    script.write_text(_LUA % (paths, token), encoding="utf-8")
                    # A short warm-up (caches, JIT of Neo4j's query plans), then the measured run.
                    _wrk(f"http://127.0.0.1:{args.port}", script, 5, args.connections)
                    figures = _wrk(f"http://127.0.0.1:{args.port}", script, args.seconds, args.connections)
                    results.append((engine, route, figures))
                    print(f"{engine:9} {route:16} {figures}", flush=True)
            finally:
                server.send_signal(signal.SIGINT)
                try:
                    server.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    server.kill()
    print(f"\n{len(households)} households cycled; {args.connections} connections, 2 wrk threads, {args.seconds} s per run")
    print(f"{'engine':9} {'route':16} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9} {'non-2xx':>8}")
    for engine, route, f in results:
        print(f"{engine:9} {route:16} {f['rps']:8.1f} {f['p50_ms']:8.1f} {f['p99_ms']:8.1f} {f['requests']:9d} {f['non_2xx']:8d}")
    return 0 if all(f["non_2xx"] == 0 and f["socket_errors"] == 0 for _, _, f in results) else 2


if __name__ == "__main__":
    sys.exit(main())
