"""Zip archives uploaded to /ingest: unpacked flat and safely; a zip bomb stops at the byte budget
and stores nothing (both engines)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from graph.model import NodeKind
from tests.e2e.api.conftest import Api, open_api
from tests.e2e.ingest.test_hostile import snapshot


def _zip(entries: dict[str, bytes], *, level: int = 9) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def _post(api: Api, client, name: str, data: bytes):
    return client.post("/ingest", files=[("files", (name, data, "application/zip"))], headers=api.headers("admin"))


def test_a_zipped_delivery_is_ingested_and_its_odd_entries_ignored(api: Api, tmp_path: Path) -> None:
    inner = _zip({"departments.csv": b"department_code,name\nIN,inner\n"})
    archive = _zip(
        {
            "export/departments.csv": "department_code,name\nZA,压缩包里的部门\n".encode(),
            "../../outside/programs.csv": b"program_code,name,department_code,kind,target\n",
            "notes.txt": b"hello",
            "nested.zip": inner,
        }
    )
    answer = _post(api, api.client, "delivery.zip", archive)
    report = answer.json()
    assert answer.status_code == 200, report
    assert {f["file"] for f in report["files"]} == {"departments.csv", "programs.csv"}
    assert sorted(report["ignored"]) == ["delivery.zip:nested.zip", "delivery.zip:notes.txt"]
    assert api.store.get_node(NodeKind.DEPARTMENT, "ZA") == {"department_code": "ZA", "name": "压缩包里的部门"}
    assert api.store.get_node(NodeKind.DEPARTMENT, "IN") is None  # archives inside archives are not opened
    assert not (tmp_path.parent / "outside").exists()


def test_a_zip_bomb_is_stopped_at_the_budget_and_stores_nothing(api: Api, tmp_path: Path) -> None:
    # 64 MiB of a repeated row compress to well under 1 MiB; the server may unpack 4 MiB.
    row = b"ZZ,x\n"
    bomb = _zip({"departments.csv": b"department_code,name\n" + row * ((64 << 20) // len(row))})
    assert len(bomb) < 1 << 20
    client, keys = open_api(api.store, tmp_path / "small-state", max_unzipped_bytes=4 << 20)
    api_small = Api(client=client, keys=keys, store=api.store, app=client.app, state_dir=tmp_path / "small-state")
    before = snapshot(api.store)
    with client:
        answer = _post(api_small, client, "bomb.zip", bomb)
    assert answer.status_code == 413
    error = answer.json()["error"]
    assert error["code"] == "payload_too_large" and "bomb.zip" in error["message"] and "4,194,304" in error["message"]
    assert snapshot(api.store) == before


def test_a_broken_archive_is_named(api: Api) -> None:
    answer = _post(api, api.client, "broken.zip", b"PK\x03\x04 not really a zip")
    assert answer.status_code == 422
    assert "broken.zip" in answer.json()["error"]["message"] and "not a readable zip" in answer.json()["error"]["message"]
