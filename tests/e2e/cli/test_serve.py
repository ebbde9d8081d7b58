"""`aidgraph keys` and `aidgraph serve`, end to end: a real uvicorn process on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from cli.main import app

AIDGRAPH = str(Path(sys.executable).parent / "aidgraph")


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    runner = CliRunner()
    state = ["--state", str(tmp_path)]
    made = runner.invoke(app, ["keys", "create", "--name", "wuchang", "--role", "caseworker", "--region", "420106", *state])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("agk_")
    listed = json.loads(runner.invoke(app, ["keys", "list", "--json", *state]).stdout)
    assert [(k["name"], k["role"], k["region"]) for k in listed] == [("wuchang", "caseworker", "420106")]
    assert token not in (tmp_path / "keys.sqlite").read_bytes().decode("latin-1")  # only the hash is kept
    assert runner.invoke(app, ["keys", "revoke", listed[0]["key_id"], *state]).exit_code == 0
    again = runner.invoke(app, ["keys", "revoke", listed[0]["key_id"], *state])
    assert again.exit_code == 1 and "no live key" in again.output
    bad = runner.invoke(app, ["keys", "create", "--name", "x", "--role", "caseworker", *state])
    assert bad.exit_code == 1 and "region" in bad.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_with_a_key_and_masks(tmp_path: Path, two_cases_dir: Path) -> None:
    store = tmp_path / "store"
    subprocess.run([AIDGRAPH, "ingest", str(two_cases_dir), "--store", str(store)], check=True, capture_output=True)
    made = subprocess.run(
        [AIDGRAPH, "keys", "create", "--name", "w", "--role", "caseworker", "--region", "420106", "--state", str(tmp_path / "api")],
        check=True,
        capture_output=True,
        text=True,
    )
    token = made.stdout.strip().splitlines()[-1]
    port = _free_port()
    server = subprocess.Popen(
        [AIDGRAPH, "serve", "--store", str(store), "--port", str(port), "--state", str(tmp_path / "api")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ},
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = httpx.get(f"{base}/ready", timeout=2)
                assert ready.json()["engine"] == "embedded"
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "the server did not become ready"
                time.sleep(0.3)
        body = httpx.get(f"{base}/households/H-420106-0001", headers={"X-API-Key": token}, timeout=10).json()
        assert body["members"][0]["person"]["id_number"] == "420106********1516"
        refused = httpx.get(f"{base}/households/H-420106-0001", timeout=10)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    # No access log: the ID numbers in paths stay out of the server's output.
    assert "H-420106-0001" not in output
