"""The service flow over HTTP, as a caseworker and a charity coordinator run it: a need dispatched,
the coordinator answering, visiting and completing it, the satisfaction counting in the resource's
standing; an evaluation that bars; referral and intake in the chain."""

from __future__ import annotations

from tests.e2e.api.conftest import CHARITY_ORG, HOUSEHOLD, OPEN_NEED, Api


def test_a_work_order_from_dispatch_to_the_households_satisfaction(api: Api) -> None:
    caseworker, charity = api.headers("caseworker_in"), api.headers("charity")
    sent = api.client.post("/work-orders", json={"need_id": OPEN_NEED, "resource_id": CHARITY_ORG}, headers=caseworker)
    assert sent.status_code == 201, sent.text
    order = sent.json()["order_id"]
    assert [o["order_id"] for o in api.client.get("/work-orders", headers=charity).json()["data"]] == [order]
    lacking = api.client.post(f"/work-orders/{order}/visit", json={"hours": 1}, headers=charity)
    assert lacking.status_code == 422 and "visit needs done" in lacking.json()["error"]["message"]
    for step, body in (
        ("accept", {}),
        ("visit", {"done": "心理疏导", "hours": 1.5, "on": "2026-06-29"}),
        ("complete", {"satisfaction": 0.3}),
    ):
        moved = api.client.post(f"/work-orders/{order}/{step}", json=body, headers=charity)
        assert moved.status_code == 200, (step, moved.text)
    done = moved.json()
    assert (done["state"], done["visit_count"], done["satisfaction"]) == ("completed", 1, 0.3)
    assert done["last_by"].startswith("黄石慈善会 coordinator")
    standing = api.client.get(f"/resources/{CHARITY_ORG}/standing", headers=caseworker).json()
    assert (standing["satisfaction"], standing["source"], standing["barred"]) == (0.3, "feedback", False)
    # the final evaluation scores 0.5; with the household's 0.3, 0.4 is under 0.5: barred for three years
    bar = api.client.post(
        f"/resources/{CHARITY_ORG}/evaluations", json={"stage": "final", "on": _today(), "score": 0.5}, headers=caseworker
    )
    assert bar.status_code == 201 and bar.json()["satisfaction"] == 0.4 and bar.json()["barred_until"]
    standing = api.client.get(f"/resources/{CHARITY_ORG}/standing", headers=charity).json()
    assert standing["barred"] and standing["why"].startswith(f"barred until {bar.json()['barred_until']}")


def test_referral_and_emergency_intake_show_in_the_chain(api: Api) -> None:
    caseworker = api.headers("caseworker_in")
    sent = api.client.post(
        "/referrals", json={"household_id": HOUSEHOLD, "level": "village_window", "reason": "医疗费用负担重"}, headers=caseworker
    )
    up = api.client.post(
        "/referrals", json={"household_id": HOUSEHOLD, "level": "township_station", "reason": "政策救助后仍困难"}, headers=caseworker
    )
    assert sent.status_code == up.status_code == 201
    father = "420203197506111710"
    taken = api.client.post(
        "/applications",
        json={"applicant_id": father, "applicant_name": "王付红", "applied_in": "420203100201", "reason": "住院押金", "amount": 2000},
        headers=caseworker,
    )
    assert taken.status_code == 201 and father not in taken.text  # the ID number leaves the server masked
    checked = api.client.post(f"/applications/{taken.json()['application_id']}/checks", headers=caseworker)
    assert checked.status_code == 200 and checked.json()["suggested"] == "confirmed"
    chain = api.client.get(f"/households/{HOUSEHOLD}/chain", headers=caseworker).json()
    assert [(r["level"], r["state"]) for r in chain["referrals"]] == [("village_window", "escalated"), ("township_station", "open")]
    assert [(a["state"], a["amount"]) for a in chain["applications"]] == [("checked", 2000.0)]
    queue = api.client.get("/applications", params={"pending": True}, headers=api.headers("caseworker_out")).json()
    assert queue["count"] == 0  # made in 西塞山: not on 武昌's queue


def _today() -> str:
    import datetime as dt

    return dt.date.today().isoformat()
