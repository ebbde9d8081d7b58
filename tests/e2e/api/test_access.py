"""Each role gets exactly what it should on every route, and nothing more, on both engines.

The matrix names every route and the status each caller gets; a route added without a row fails
``test_every_route_is_in_the_matrix``. Cross-region access answers 404, like a missing object.
"""

from __future__ import annotations

import pytest

from api.core.security import ROUTE_ROLES
from tests.e2e.api.conftest import CHARITY_ORG, HEAD, HOUSEHOLD, MINOR, OPEN_NEED, OTHER_HOUSEHOLD, Api

OTHER_HEAD = "420106198305141516"  # 周, the driver of 武昌区

CALLERS = ["caseworker_in", "caseworker_out", "auditor", "charity", "consumer_all", "consumer_one", "admin", "nobody"]


def _finding(api: Api) -> str:
    found = api.client.get("/findings", headers=api.headers("auditor")).json()["data"]
    return next(f["id"] for f in found if HOUSEHOLD in f["households"])


def _upload() -> dict:
    # A need of a household in 西塞山区: inside the consumer key's region (4202).
    need = f"need_id,household_id,person_ref,category,urgency,raised_on,status,description\nN-90,{HOUSEHOLD},,housing,keep_watching,2024-02-01,open,roof\n"
    return {"files": [("files", ("needs.csv", need.encode(), "text/csv"))]}


def _service_objects(api: Api, path: str) -> str:
    """A work order, a referral step, an application (checked or not) of 西塞山's household, for the routes that move them."""
    import datetime as dt

    from actions.intake import check_application, take_application
    from actions.referrals import refer
    from actions.work_orders import dispatch

    if "{order}" in path:
        path = path.replace("{order}", dispatch(api.store, OPEN_NEED, CHARITY_ORG, by="test")["order_id"])
    if "{referral}" in path:
        path = path.replace("{referral}", refer(api.store, HOUSEHOLD, level="village_window", by="test", reason="x")["referral_id"])
    for placeholder in ("{application}", "{checked}"):
        if placeholder in path:
            at = dt.datetime(2026, 6, 30, 9, tzinfo=dt.UTC)
            made = take_application(
                api.store, applicant_id=HEAD, applicant_name="王付红", applied_in="420203100201", reason="x", amount=500, by="test", at=at
            )
            if placeholder == "{checked}":
                check_application(api.store, made["application_id"], by="test")
            path = path.replace(placeholder, made["application_id"])
    return path


# route name, method, path (with {finding}), request kwargs, status per caller in CALLERS order
MATRIX = [
    ("households.search", "GET", "/households", {}, [200, 200, 200, 403, 200, 403, 403, 401]),
    ("households.get", "GET", f"/households/{HOUSEHOLD}", {}, [200, 404, 200, 200, 200, 200, 403, 401]),
    ("households.chain", "GET", f"/households/{HOUSEHOLD}/chain", {}, [200, 404, 200, 403, 200, 403, 403, 401]),
    ("households.recommendations", "GET", f"/households/{HOUSEHOLD}/recommendations", {}, [200, 404, 200, 200, 200, 403, 403, 401]),
    ("households.tier", "GET", f"/households/{HOUSEHOLD}/tier", {}, [200, 404, 200, 403, 200, 403, 403, 401]),
    ("persons.get", "GET", f"/persons/{HEAD}", {}, [200, 404, 200, 403, 200, 403, 403, 401]),
    ("policy.warnings", "GET", "/warnings", {}, [200, 200, 200, 403, 200, 403, 403, 401]),
    ("policy.reviews", "GET", "/reviews", {}, [200, 200, 200, 403, 200, 403, 403, 401]),
    ("findings.list", "GET", "/findings", {}, [200, 200, 200, 403, 200, 403, 403, 401]),
    ("findings.get", "GET", "/findings/{finding}", {}, [200, 404, 200, 403, 200, 403, 403, 401]),
    (
        "findings.mark",
        "POST",
        "/findings/{finding}/confirm",
        {"json": {"reason": "checked the files"}},
        [403, 403, 200, 403, 403, 403, 403, 401],
    ),
    ("findings.mark", "POST", "/findings/{finding}/dismiss", {"json": {"reason": "paid back"}}, [403, 403, 200, 403, 403, 403, 403, 401]),
    ("linkage.unmatched", "GET", "/unmatched-families", {}, [200, 200, 200, 200, 200, 403, 403, 401]),
    ("linkage.allocation", "GET", "/allocation", {}, [200, 200, 200, 200, 200, 403, 403, 401]),
    (
        "linkage.decline",
        "POST",
        "/linkage/decline",
        {"json": {"need_id": OPEN_NEED, "resource_id": CHARITY_ORG, "reason": "no counsellor free"}},
        [200, 404, 403, 200, 200, 403, 403, 401],
    ),
    (
        "linkage.accept",
        "POST",
        "/linkage/accept",
        {"json": {"need_id": OPEN_NEED, "resource_id": CHARITY_ORG}},
        [200, 404, 403, 200, 200, 403, 403, 401],
    ),
    ("linkage.proposals", "GET", "/linkage/proposals", {}, [200, 200, 200, 200, 200, 403, 403, 401]),
    ("orders.list", "GET", "/work-orders", {}, [200, 200, 200, 200, 200, 403, 403, 401]),
    # a second dispatch of one need while its order is open, a second answer to one order: 409
    (
        "orders.dispatch",
        "POST",
        "/work-orders",
        {"json": {"need_id": OPEN_NEED, "resource_id": CHARITY_ORG}},
        [201, 404, 403, 403, 409, 403, 403, 401],
    ),
    ("orders.step", "POST", "/work-orders/{order}/accept", {"json": {}}, [200, 404, 403, 409, 409, 403, 403, 401]),
    (
        "resources.evaluate",
        "POST",
        f"/resources/{CHARITY_ORG}/evaluations",
        {"json": {"stage": "final", "on": "2026-06-30", "score": 0.9}},
        [201, 404, 403, 403, 409, 403, 403, 401],
    ),
    ("resources.standing", "GET", f"/resources/{CHARITY_ORG}/standing", {}, [200, 404, 200, 200, 200, 403, 403, 401]),
    ("referrals.list", "GET", "/referrals", {}, [200, 200, 200, 403, 200, 403, 403, 401]),
    (
        "referrals.send",
        "POST",
        "/referrals",
        {"json": {"household_id": HOUSEHOLD, "level": "village_window", "reason": "医疗费用负担重"}},
        [201, 404, 403, 403, 409, 403, 403, 401],
    ),
    (
        "referrals.answer",
        "POST",
        "/referrals/{referral}/answer",
        {"json": {"response": "已链接服务", "resolved": True}},
        [200, 404, 403, 403, 409, 403, 403, 401],
    ),
    # 武昌's driver applies in 西塞山: taken there, whatever his hukou
    (
        "applications.create",
        "POST",
        "/applications",
        {"json": {"applicant_id": OTHER_HEAD, "applicant_name": "周", "applied_in": "420203100201", "reason": "车祸", "amount": 800}},
        [201, 404, 403, 403, 201, 403, 403, 401],
    ),
    ("applications.list", "GET", "/applications", {}, [200, 200, 200, 403, 200, 403, 403, 401]),
    ("applications.check", "POST", "/applications/{application}/checks", {}, [200, 404, 403, 403, 409, 403, 403, 401]),
    (
        "applications.decide",
        "POST",
        "/applications/{checked}/decision",
        {"json": {"outcome": "confirmed"}},
        [200, 404, 403, 403, 409, 403, 403, 401],
    ),
    ("identity.unresolved", "GET", "/identity/unresolved", {}, [403, 403, 200, 403, 200, 403, 403, 401]),
    ("identity.reviews", "GET", "/identity/reviews", {}, [403, 403, 200, 403, 200, 403, 403, 401]),
    ("identity.decide", "POST", "/identity/reviews/{review}/confirm", {"json": {}}, [403, 403, 200, 403, 403, 403, 403, 401]),
    (
        "identity.decide",
        "POST",
        "/identity/reviews/{review}/reject",
        {"json": {"reason": "another girl"}},
        [403, 403, 200, 403, 403, 403, 403, 401],
    ),
    ("ingest.upload", "POST", "/ingest", {"files": None}, [403, 403, 403, 403, 200, 403, 200, 401]),
    ("audit_log.list", "GET", "/audit-log", {}, [403, 403, 200, 403, 403, 403, 403, 401]),
    ("keys.list", "GET", "/keys", {}, [403, 403, 403, 403, 403, 403, 200, 401]),
    ("keys.create", "POST", "/keys", {"json": {"name": "new", "role": "auditor"}}, [403, 403, 403, 403, 403, 403, 201, 401]),
]


def test_every_route_is_in_the_matrix(api: Api) -> None:
    names = {name for name, *_ in MATRIX} | {"keys.revoke"}  # revoke: test_keys below
    assert names == set(ROUTE_ROLES)
    paths = {(m, p) for _, m, p, *_ in MATRIX}
    schema_paths = {(method.upper(), path.removeprefix("/api/v1")) for path, ops in api.app.openapi()["paths"].items() for method in ops}
    unauthenticated = {("GET", "/health"), ("GET", "/ready"), ("DELETE", "/keys/{key_id}")}
    concrete = {
        (
            m,
            p.replace(HOUSEHOLD, "{household_id}")
            .replace(HEAD, "{id_number}")
            .replace("{finding}", "{finding_id}")
            .replace("{review}", "{review_id}")
            .replace("{finding_id}/confirm", "{finding_id}/{decision}")
            .replace("{finding_id}/dismiss", "{finding_id}/{decision}")
            .replace("{order}/accept", "{order_id}/{step}")
            .replace(CHARITY_ORG, "{resource_id}")
            .replace("{referral}", "{referral_id}")
            .replace("{application}", "{application_id}")
            .replace("{checked}", "{application_id}"),
        )
        for m, p in paths
    }
    assert schema_paths - unauthenticated == concrete


@pytest.mark.parametrize("route,method,path,kwargs,expected", MATRIX, ids=[f"{m} {p}" for _, m, p, *_ in MATRIX])
def test_role_route_matrix(api: Api, route: str, method: str, path: str, kwargs: dict, expected: list[int]) -> None:
    if "{finding}" in path:
        path = path.replace("{finding}", _finding(api))
    if "{review}" in path:
        from ingest.identity import resolve_store

        resolve_store(api.store, accept=0.99999999)  # the mistyped record becomes a pending review
        from graph.model import NodeKind
        from ingest.identity import review_id

        path = path.replace("{review}", review_id(NodeKind.AID_RECORD, "YB-2023-007731", MINOR))
    path = _service_objects(api, path)
    got = {}
    for caller in CALLERS:
        request = dict(kwargs)
        if "files" in request:
            request = _upload()
        response = api.client.request(method, path, headers=api.headers(caller), **request)
        got[caller] = response.status_code
        assert response.headers["content-type"].startswith("application/json")
        if response.status_code >= 400:
            error = response.json()["error"]
            assert error["code"] and error["message"], response.text
    assert got == dict(zip(CALLERS, expected, strict=True))


def test_cross_region_objects_look_absent(api: Api) -> None:
    """A caseworker of 武昌区 asking for 西塞山区 objects gets the same 404 as for objects that do not exist."""
    out = api.headers("caseworker_out")
    missing = api.client.get("/households/H-000000-9999", headers=out)
    foreign = api.client.get(f"/households/{HOUSEHOLD}", headers=out)
    assert missing.status_code == foreign.status_code == 404
    assert missing.json()["error"]["code"] == foreign.json()["error"]["code"] == "not_found"
    assert api.client.get(f"/households/{OTHER_HOUSEHOLD}", headers=out).status_code == 200
    assert api.client.get("/households", params={"region": "420203"}, headers=out).status_code == 404


def test_lists_hold_only_the_callers_region(api: Api) -> None:
    listed = {h["household"]["household_id"] for h in api.client.get("/households", headers=api.headers("caseworker_out")).json()["data"]}
    assert listed == {OTHER_HOUSEHOLD}
    listed = {h["household"]["household_id"] for h in api.client.get("/households", headers=api.headers("auditor")).json()["data"]}
    assert listed == {OTHER_HOUSEHOLD, HOUSEHOLD}
    assert api.client.get("/unmatched-families", headers=api.headers("caseworker_out")).json()["count"] == 0
    assert api.client.get("/unmatched-families", headers=api.headers("caseworker_in")).json()["count"] == 1
    findings = api.client.get("/findings", headers=api.headers("caseworker_out")).json()
    assert all(f["region_code"].startswith("420106") for f in findings["data"])
    assert all((row["county"] or "").startswith("420106") for row in findings["summary"])


def test_charity_sees_only_what_its_organisation_can_meet(api: Api) -> None:
    charity = api.headers("charity")
    families = api.client.get("/unmatched-families", headers=charity).json()["data"]
    assert [f["household_id"] for f in families] == [HOUSEHOLD]
    assert api.client.get(f"/households/{OTHER_HOUSEHOLD}", headers=charity).status_code == 404
    # Before a match: de-identified (no ID numbers, no address, names reduced).
    before = api.client.get(f"/households/{HOUSEHOLD}", headers=charity).json()
    head = before["members"][0]["person"]
    assert (head["name"], head["id_number"]) == ("王F.", "person-1")
    assert "address" not in before["household"] and "王付红" not in str(before)
    # Its recommendations: the needs its organisation can meet, the family still de-identified.
    advice = api.client.get(f"/households/{HOUSEHOLD}/recommendations", headers=charity).json()
    org_categories = {n["category"] for f in families for n in f["needs"]}
    assert advice["needs"] and {n["category"] for n in advice["needs"]} <= org_categories
    assert "王付红" not in str(advice)
    assert api.client.get(f"/households/{OTHER_HOUSEHOLD}/recommendations", headers=charity).status_code == 404
    # Another organisation's resource is not theirs to accept.
    other = api.client.post("/linkage/accept", json={"need_id": OPEN_NEED, "resource_id": "R-S1"}, headers=charity)
    assert other.status_code == 404
    # The charity's accept is a proposal: nothing serves the need yet and the family stays de-identified.
    proposed = api.client.post("/linkage/accept", json={"need_id": OPEN_NEED, "resource_id": CHARITY_ORG}, headers=charity)
    assert proposed.status_code == 200 and proposed.json()["decision"] == "proposed"
    assert api.client.get(f"/households/{HOUSEHOLD}", headers=charity).json()["members"][0]["person"]["name"] == "王F."
    assert "王付红" not in api.client.get("/linkage/proposals", headers=charity).text
    # A caseworker of the family's region sees the proposal and accepts it; another region's does not see it.
    assert api.client.get("/linkage/proposals", headers=api.headers("caseworker_out")).json()["count"] == 0
    waiting = api.client.get("/linkage/proposals", headers=api.headers("caseworker_in")).json()["data"]
    assert [(p["need_id"], p["resource_id"]) for p in waiting] == [(OPEN_NEED, CHARITY_ORG)]
    accepted = api.client.post(
        "/linkage/accept", json={"need_id": OPEN_NEED, "resource_id": CHARITY_ORG}, headers=api.headers("caseworker_in")
    ).json()
    assert accepted["decision"] == "accepted" and accepted["proposed_by"].startswith("黄石慈善会 coordinator")
    assert api.client.get("/linkage/proposals", headers=api.headers("caseworker_in")).json()["count"] == 0
    # After the match: names in full, ID numbers masked 6 + 4, the minor still hidden.
    after = api.client.get(f"/households/{HOUSEHOLD}", headers=charity).json()
    head = after["members"][0]["person"]
    assert (head["name"], head["id_number"]) == ("王付红", "420203********1710")
    assert api.client.get("/unmatched-families", headers=charity).json()["count"] == 0


def test_tier_and_lists_follow_the_policy_and_the_region(api: Api) -> None:
    tier = api.client.get(f"/households/{HOUSEHOLD}/tier", params={"as_of": "2024-01-31"}, headers=api.headers("caseworker_in")).json()
    # 1,800 + 1,200 for 3 on 2024-01-31 = 1,000 a head in a rural village (666): at or above 1.5 x 666 = 999, below 2 x: 防止返贫监测.
    assert (tier["per_capita_income"], tier["standard"], tier["tier"]) == (1000.0, 666.0, "防止返贫监测")
    assert tier["explanation"]["members"][0]["id"] == "420203********1710"
    reviews = api.client.get("/reviews", params={"as_of": "2024-01-31"}, headers=api.headers("caseworker_out")).json()
    assert all(r["region_code"].startswith("420106") for r in reviews["data"] + reviews["exits"])
    assert {
        r["household_id"] for r in api.client.get("/reviews", params={"as_of": "2024-01-31"}, headers=api.headers("auditor")).json()["data"]
    } == {HOUSEHOLD, OTHER_HOUSEHOLD}


def test_consumer_is_held_to_its_routes_and_region(api: Api) -> None:
    one = api.headers("consumer_one")
    assert api.client.get(f"/households/{HOUSEHOLD}", headers=one).status_code == 200
    assert api.client.get(f"/households/{OTHER_HOUSEHOLD}", headers=one).status_code == 404  # region 4202 only
    assert api.client.get(f"/households/{HOUSEHOLD}/chain", headers=one).status_code == 403


def test_auditor_marks_but_cannot_edit_people(api: Api) -> None:
    finding = _finding(api)
    auditor = api.headers("auditor")
    approve = api.client.post(f"/findings/{finding}/approve", json={"reason": "visited"}, headers=auditor)
    assert approve.status_code == 422 and "decision" in approve.json()["error"]["message"]
    assert api.client.get("/findings", params={"status": "confirmed"}, headers=auditor).json()["count"] == 0
    marked = api.client.post(f"/findings/{finding}/confirm", json={"reason": "visited"}, headers=auditor).json()
    assert marked["status"] == "confirmed" and marked["marked_by"].startswith("auditor")
    listed = api.client.get("/findings", params={"status": "confirmed"}, headers=auditor).json()
    assert [f["id"] for f in listed["data"]] == [finding]
    assert api.client.post("/linkage/accept", json={"need_id": OPEN_NEED, "resource_id": CHARITY_ORG}, headers=auditor).status_code == 403
    assert api.client.post("/ingest", headers=auditor, **_upload()).status_code == 403


def test_keys_revoked_by_an_admin_stop_working_at_once(api: Api) -> None:
    admin = api.headers("admin")
    made = api.client.post("/keys", json={"name": "temp", "role": "caseworker", "region": "420203"}, headers=admin).json()
    headers = {"Authorization": f"Bearer {made['token']}"}
    assert api.client.get(f"/households/{HOUSEHOLD}", headers=headers).status_code == 200
    listed = api.client.get("/keys", headers=admin).json()["data"]
    assert "token" not in str(listed) and made["token"] not in str(listed)
    assert api.client.delete(f"/keys/{made['key_id']}", headers=api.headers("auditor")).status_code == 403
    assert api.client.delete(f"/keys/{made['key_id']}", headers=admin).json()["revoked_at"]
    assert api.client.get(f"/households/{HOUSEHOLD}", headers=headers).status_code == 401
    assert api.client.delete(f"/keys/{made['key_id']}", headers=admin).status_code == 404
    bad = api.client.post("/keys", json={"name": "x", "role": "caseworker"}, headers=admin)
    assert bad.status_code == 422 and "region" in bad.json()["error"]["message"]
