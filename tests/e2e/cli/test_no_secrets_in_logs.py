"""A working session through the command line and a real server, then everything it left behind
is scanned: server output, command output, reject reports, the audit trail's files, the key
ring. No API key secret, no password and no full ID number of the data may appear in any of them
(the answers themselves are scanned by every API test; the key is printed once, when made)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx

from graph.national_id import is_valid_id_number
from tests.e2e.cli.test_serve import AIDGRAPH, _free_port

PASSWORD = "neo4j-password-never-shown"
_ID = re.compile(rb"(?<![0-9])(\d{17}[\dXx])(?![0-9])")


def _ids_in(folder: Path) -> set[str]:
    found = set()
    for p in folder.glob("*.csv"):
        found |= {m.decode() for m in _ID.findall(p.read_bytes()) if is_valid_id_number(m.decode())}
    return found


def test_no_secret_or_id_number_in_anything_a_session_leaves(tmp_path: Path, two_cases_dir: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(two_cases_dir, data)
    ids = _ids_in(data)
    assert len(ids) >= 7
    head = "420106198305141516"
    with (data / "persons.csv").open("a", encoding="utf-8") as f:
        f.write(f"{head[:17]}0,坏号,M,1983-05-14,H-420106-0001,other,,,,,,,,,,\n")  # a wrong check digit: a reject naming a real-looking ID
    with (data / "needs.csv").open("a", encoding="utf-8") as f:
        f.write("N-9,H-420203-0001,,psychological,needs_care,2024-01-10,open,an open need: a missed-aid finding\n")
    store, state = tmp_path / "store", tmp_path / "api"
    env = {**os.environ, "AIDGRAPH_NEO4J_PASSWORD": PASSWORD}
    outputs: list[str] = []

    def cli(*args: str, ok: tuple[int, ...] = (0,)) -> str:
        proc = subprocess.run([AIDGRAPH, *args], capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode in ok, proc.stdout + proc.stderr
        outputs.append(proc.stdout + proc.stderr)
        return proc.stdout

    cli("ingest", str(data), "--store", str(store), "--rejects", str(tmp_path / "rejects.csv"), ok=(3,))
    cli("audit", "--store", str(store), "--format", "csv", "--out", str(tmp_path / "audit.csv"))
    cli("household", "H-420106-0001", "--store", str(store))
    tokens = [
        cli("keys", "create", "--name", "w", "--role", "caseworker", "--region", "420106", "--state", str(state)).strip().splitlines()[-1],
        cli("keys", "create", "--name", "a", "--role", "auditor", "--state", str(state)).strip().splitlines()[-1],
        cli("keys", "create", "--name", "adm", "--role", "admin", "--state", str(state)).strip().splitlines()[-1],
    ]
    outputs = outputs[:3]  # the keys' one showing is their purpose; every later output is scanned
    cli("keys", "list", "--state", str(state))
    secrets = [t.split("_", 2)[2] for t in tokens]  # agk_<key id>_<secret>
    assert all(len(s) >= 32 for s in secrets)

    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [AIDGRAPH, "serve", "--store", str(store), "--port", str(port), "--state", str(state)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/ready", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.3)
        worker, auditor, admin = ({"X-API-Key": t} for t in tokens)
        with httpx.Client(base_url=base, timeout=30) as c:
            assert c.get(f"/persons/{head}", headers=worker).status_code == 200
            assert c.get("/households", params={"member_id": head}, headers=worker).status_code == 200
            assert c.get(f"/persons/{head[:17]}0", headers=worker).status_code == 404
            assert c.get("/households/H-420106-0001", headers={"X-API-Key": tokens[0][:-4] + "AAAA"}).status_code == 401
            assert c.get("/households/H-420106-0001", headers={"Authorization": f"Bearer {secrets[1]}"}).status_code == 401
            assert c.post("/linkage/accept", content=b"{not json " + head.encode(), headers=worker).status_code == 422
            day: dict[str, str] = {}
            finding = c.get("/findings", params=day, headers=auditor).json()["data"][0]["id"]
            marked = c.post(f"/findings/{finding}/confirm", params=day, json={"reason": f"paid twice to {head}"}, headers=auditor)
            assert marked.status_code == 200 and head not in marked.text
            upload = c.post(
                "/ingest",
                files=[("files", ("persons.csv", (data / "persons.csv").read_bytes(), "text/csv"))],
                headers=admin,
            )
            assert upload.status_code == 200 and upload.json()["rejects_total"] == 1
            assert c.get("/audit-log", params={"person": head}, headers=auditor).json()["count"] >= 2
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    leftovers = {"server output": (tmp_path / "server.log").read_bytes(), "command output": "\n".join(outputs).encode()}
    leftovers["reject report"] = (tmp_path / "rejects.csv").read_bytes()
    for p in sorted(state.rglob("*")) + sorted((store / "reports").glob("*") if (store / "reports").exists() else []):
        if p.is_file():
            leftovers[str(p.relative_to(tmp_path))] = p.read_bytes()
    assert any(name.endswith("audit-log.sqlite") for name in leftovers)
    for name, blob in leftovers.items():
        text = blob.decode("utf-8", "replace")
        for s in secrets:
            assert s not in text, f"an API key secret is in {name}"
        assert PASSWORD not in text, f"the Neo4j password is in {name}"
        shown = {m.decode() for m in _ID.findall(blob)} & (ids | {head[:17] + "0"})
        assert not shown, f"full ID numbers {sorted(shown)} in {name}"
