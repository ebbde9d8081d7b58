"""Limits (OWASP API4) and errors: pages, bodies, rates, slow queries; JSON errors, never a stack trace."""

from __future__ import annotations

import time
from pathlib import Path

from api.core.security import Role
from graph.store import GraphStore
from ingest.loader import ingest_folder
from tests.e2e.api.conftest import HOUSEHOLD, Api, open_api


def test_page_size_is_capped(api: Api) -> None:
    too_big = api.client.get("/households", params={"limit": 101}, headers=api.headers("auditor"))
    assert too_big.status_code == 422
    assert too_big.json()["error"] == {"code": "invalid_request", "message": "limit: Input should be less than or equal to 100"}
    page = api.client.get("/households", params={"limit": 1, "offset": 1}, headers=api.headers("auditor")).json()
    assert (page["count"], len(page["data"]), page["offset"]) == (2, 1, 1)


def test_request_bodies_are_capped(api: Api) -> None:
    huge = {"need_id": "N-4", "resource_id": "R-C2", "reason": "x" * (2 << 20)}
    refused = api.client.post("/linkage/decline", json=huge, headers=api.headers("caseworker_in"))
    assert refused.status_code == 413 and refused.json()["error"]["code"] == "payload_too_large"

    def chunks():
        yield b'{"need_id": "N-4", "resource_id": "R-C2", "reason": "'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}'

    streamed = api.client.post(
        "/linkage/decline", content=chunks(), headers={**api.headers("caseworker_in"), "content-type": "application/json"}
    )
    assert streamed.status_code == 413


def test_rate_limit_per_key(api: Api) -> None:
    ring = api.app.state.aidgraph.keys
    slow = ring.create(name="slow system", role=Role.AUDITOR, rate_per_minute=3, by="test").token
    codes = [api.client.get(f"/households/{HOUSEHOLD}", headers={"X-API-Key": slow}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = api.client.get(f"/households/{HOUSEHOLD}", headers={"X-API-Key": slow})
    assert limited.json()["error"]["code"] == "rate_limited" and int(limited.headers["retry-after"]) >= 1
    # Other keys are not held back by it.
    assert api.client.get(f"/households/{HOUSEHOLD}", headers=api.headers("auditor")).status_code == 200


def test_slow_queries_time_out(store: GraphStore, api_fixture_dir: Path, tmp_path: Path, monkeypatch) -> None:
    ingest_folder(store, api_fixture_dir)
    client, keys = open_api(store, tmp_path / "state", query_timeout_s=0.2)
    import api.routes.households as households

    def slow_chain(*args, **kwargs):
        time.sleep(1.0)
        raise AssertionError("the answer of a timed-out query must not be used")

    monkeypatch.setattr(households, "household_chain", slow_chain)
    with client:
        answer = client.get(f"/households/{HOUSEHOLD}/chain", headers={"X-API-Key": keys["auditor"]})
    assert answer.status_code == 504 and answer.json()["error"]["code"] == "query_timeout"


def test_unknown_routes_and_bad_input_are_json(api: Api) -> None:
    assert api.client.get("/nowhere").json()["error"]["code"] == "not_found"
    bad = api.client.post(
        "/linkage/accept", content=b"{not json", headers={**api.headers("caseworker_in"), "content-type": "application/json"}
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
    cannot = api.client.post("/linkage/accept", json={"need_id": "N-4", "resource_id": "R-V1"}, headers=api.headers("auditor"))
    assert cannot.status_code == 403


def test_a_resource_that_cannot_serve_the_need_is_a_conflict(api: Api) -> None:
    # R-C3 tutors in 西塞山; N-4 is a psychological need there.
    answer = api.client.post("/linkage/accept", json={"need_id": "N-4", "resource_id": "R-C3"}, headers=api.headers("consumer_all"))
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "conflict"


def test_ingest_upload_reports_rejects_by_file_row_and_field(api: Api) -> None:
    persons = "id_number,name,sex,birth_date,household_id,relation_to_head\n420203197506111711,坏号,M,1975-06-11,H-420203-0001,head\n"
    answer = api.client.post(
        "/ingest",
        files=[("files", ("persons.csv", persons.encode(), "text/csv")), ("files", ("extra.csv", b"a,b\n1,2\n", "text/csv"))],
        headers=api.headers("admin"),
    )
    report = answer.json()
    assert answer.status_code == 200 and report["rejects_total"] == 1
    reject = report["rejects"][0]
    assert (reject["file"], reject["row"], reject["field"]) == ("persons.csv", 2, "id_number")
    assert "*" in reject["value"] and report["ignored"] == ["extra.csv"]
    sneaky = api.client.post("/ingest", files=[("files", ("../persons.csv", b"x", "text/csv"))], headers=api.headers("admin"))
    assert sneaky.status_code == 200 and sneaky.json()["ignored"] == ["../persons.csv"] and not sneaky.json()["files"]


def test_whole_graph_answers_have_their_own_time_limit_and_are_computed_once(
    store: GraphStore, api_fixture_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    import api.routes.policy as policy_routes

    ingest_folder(store, api_fixture_dir)
    calls = []
    real = policy_routes.policy_lists

    def slow_evaluation(*args, **kwargs):
        calls.append(1)
        time.sleep(0.5)  # longer than a query may take, shorter than a whole-graph answer may
        return real(*args, **kwargs)

    monkeypatch.setattr(policy_routes, "policy_lists", slow_evaluation)
    client, keys = open_api(store, tmp_path / "state", query_timeout_s=0.2, whole_graph_timeout_s=10)
    with client:
        for path in ("/warnings", "/reviews", "/warnings"):
            assert client.get(path, headers={"X-API-Key": keys["auditor"]}).status_code == 200
    assert len(calls) == 1  # one evaluation served all three
