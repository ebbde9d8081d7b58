"""Every read of personal data and every write is in the audit trail, masked, append-only, and queryable."""

from __future__ import annotations

import sqlite3

import pytest

from api.core.audit_log import AuditLog, AuditLogError
from tests.e2e.api.conftest import HEAD, HOUSEHOLD, MINOR, Api, unmasked_ids


def test_reads_and_writes_are_recorded_with_their_subjects(api: Api) -> None:
    api.client.get(f"/households/{HOUSEHOLD}", headers=api.headers("caseworker_in"))
    api.client.get(f"/households/{HOUSEHOLD}", headers=api.headers("caseworker_out"))  # refused: recorded too
    api.client.get(f"/persons/{HEAD}", headers=api.headers("auditor"))
    api.client.get("/households", params={"id_number": MINOR, "name": "王小美"}, headers=api.headers("auditor"))
    api.client.post(
        "/linkage/decline", json={"need_id": "N-4", "resource_id": "R-C2", "reason": "busy"}, headers=api.headers("caseworker_in")
    )
    log = api.client.get("/audit-log", params={"household": HOUSEHOLD, "limit": 100}, headers=api.headers("auditor")).json()
    entries = list(reversed(log["data"]))
    assert [(e["route"], e["status"], e["role"]) for e in entries[:2]] == [
        ("households.get", 200, "caseworker"),
        ("households.get", 404, "caseworker"),
    ]
    assert all(e["households"] == [HOUSEHOLD] for e in entries[:2])
    assert entries[0]["persons"] and all("*" in p for p in entries[0]["persons"])
    write = [e for e in entries if e["route"] == "linkage.decline"]
    assert write and write[0]["method"] == "POST" and "N-4" in write[0]["other_subjects"]
    # A person's entries are found by the full ID number, which is nowhere in the trail.
    by_person = api.client.get("/audit-log", params={"person": MINOR}, headers=api.headers("auditor")).json()["data"]
    assert {e["route"] for e in by_person} >= {"households.get", "households.search"}
    search = next(e for e in by_person if e["route"] == "households.search")
    assert search["params"]["id_number"] == "420203********2421" and search["params"]["name"] == "王X."
    raw = (api.state_dir / "audit-log.sqlite").read_bytes().decode("utf-8", "replace")
    assert unmasked_ids(raw) == [] and "王小美" not in raw


def test_the_trail_is_append_only_and_chained(tmp_path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite")
    for status in (200, 404, 200):
        log.append(key_id="k", key_name="n", role="auditor", method="GET", route="households.get", status=status, households=["H-1"])
    assert log.verify_chain() == 3
    db = sqlite3.connect(tmp_path / "audit.sqlite")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit_entry SET status = 200 WHERE seq = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit_entry WHERE seq = 2")
    # Someone who drops the triggers and edits a line is caught by the chain.
    db.execute("DROP TRIGGER audit_entry_no_update")
    db.execute("UPDATE audit_entry SET status = 200 WHERE seq = 2")
    db.commit()
    with pytest.raises(AuditLogError, match="entry 2"):
        AuditLog(tmp_path / "audit.sqlite").verify_chain()


def test_nothing_is_served_when_the_trail_cannot_be_written(api: Api) -> None:
    trail = api.app.state.aidgraph.audit_log
    trail._db.execute("PRAGMA query_only = ON")  # the trail's file refuses writes
    try:
        refused = api.client.get(f"/households/{HOUSEHOLD}", headers=api.headers("caseworker_in"))
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "unavailable"
        assert "王付红" not in refused.text
        assert api.client.get("/ready").status_code == 503
    finally:
        trail._db.execute("PRAGMA query_only = OFF")
    assert api.client.get("/ready").json()["status"] == "ready"
