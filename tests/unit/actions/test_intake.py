"""Apply anywhere, help first (急难, 先行救助) on hand-made cases worked out from the rules: an
application in a county other than the hukou's is taken, the aid is paid and recorded at once, and
the duplicate check and the means test follow on the caseworker's queue; on both engines."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from actions.intake import check_application, decide_application, take_application
from graph.model import NodeKind
from graph.national_id import check_character
from graph.store import GraphStore
from queries.applications import applications
from queries.household import household_view

FATHER = "420203197506111710"  # 王付红, hukou and household in 420203 (the leukaemia case)
AT = dt.datetime(2026, 6, 30, 9, 30, tzinfo=dt.UTC)
STRANGER = "420106199001010031"[:17]
STRANGER += check_character(STRANGER)  # a valid ID the register does not hold


def test_taken_outside_the_hukou_county_and_paid_at_once(store: GraphStore, two_cases_dir: Path) -> None:
    from ingest.loader import ingest_folder

    ingest_folder(store, two_cases_dir)
    app = take_application(
        store,
        applicant_id=FATHER,
        applicant_name="王付红",
        applied_in="420106005001",
        reason="就医途中钱包被盗",
        amount=800,
        by="武昌窗口 张",
        at=AT,
    )
    assert (app["application_id"], app["hukou_region_code"], app["outside_hukou"], app["household_id"]) == (
        "APP-20260630093000-1710",
        "420203",
        True,
        "H-420203-0001",
    )
    assert (app["state"], app["record_id"], app["paid_at"]) == ("paid_first", "APP-20260630093000-1710-PAY", "2026-06-30T09:30:00+00:00")
    # the payment is an aid record of the family from that moment: the household file shows it
    view = household_view(store, household_id="H-420203-0001")
    [paid] = [a.record for a in view.aid_records if a.record["record_id"] == app["record_id"]]
    assert (paid["program_code"], paid["amount"], str(paid["period_start"])) == ("LINSHI", 800.0, "2026-06-30")
    assert [a["application_id"] for a in applications(store, states=["paid_first", "checked"])] == [app["application_id"]]
    assert [a["application_id"] for a in applications(store, household_id="H-420203-0001")] == [app["application_id"]]


def test_checks_after_help_then_the_decision(store: GraphStore, two_cases_dir: Path) -> None:
    from ingest.loader import ingest_folder

    ingest_folder(store, two_cases_dir)
    first = take_application(
        store, applicant_id=FATHER, applicant_name="王付红", applied_in="420106005001", reason="被盗", amount=800, by="张", at=AT
    )
    with pytest.raises(ValueError, match="is paid_first: it cannot be decided"):
        decide_application(store, first["application_id"], by="张", outcome="confirmed")
    checked = check_application(store, first["application_id"], by="武昌 李干事", at=AT + dt.timedelta(days=1))
    assert checked["duplicate_check"] == "clear: no other emergency aid in the 90 days before the payment"
    # (1,800 + 1,200) / 3 = 1,000 a head against the rural standard 666: not 低保; the aid stands
    assert checked["means_check"].startswith("H-420203-0001: 防止返贫监测")
    assert (checked["state"], checked["suggested"]) == ("checked", "confirmed")
    done = decide_application(store, first["application_id"], by="武昌 李干事", outcome="confirmed", note="一次性救助")
    assert (done["state"], done["outcome"]) == ("decided", "confirmed")
    assert applications(store, states=["paid_first", "checked"]) == []
    # ten days later he applies again at home, in 420203: the check finds the first payment
    again = take_application(
        store,
        applicant_id=FATHER,
        applicant_name="王付红",
        applied_in="420203100201",
        reason="医药费",
        amount=1000,
        by="黄石窗口",
        at=AT + dt.timedelta(days=10),
    )
    assert again["outside_hukou"] is False
    found = check_application(store, again["application_id"], by="黄石 刘")
    assert found["duplicate_check"].startswith("found: APP-20260630093000-1710-PAY 临时救助")
    assert found["suggested"] == "recover"
    history = [h["source"] for h in store.history(NodeKind.APPLICATION, first["application_id"])]
    assert history == [
        "emergency application APP-20260630093000-1710 checked by 武昌 李干事",
        "emergency application APP-20260630093000-1710 confirmed by 武昌 李干事",
    ]


def test_someone_the_register_does_not_hold(store: GraphStore, two_cases_dir: Path) -> None:
    from ingest.loader import ingest_folder

    ingest_folder(store, two_cases_dir)
    one = take_application(
        store, applicant_id=STRANGER, applicant_name="过路人", applied_in="420203100201", reason="车祸", amount=2000, by="黄石窗口", at=AT
    )
    assert (one["hukou_region_code"], one["outside_hukou"], one.get("household_id")) == ("420106", True, None)
    checked = check_application(store, one["application_id"], by="黄石 刘")
    assert checked["means_check"] == "not in the register: no household to test; visit and test on a full application"
    # paid again in a third county within 90 days: no register entry links the two, the applications do
    two = take_application(
        store,
        applicant_id=STRANGER,
        applicant_name="过路人",
        applied_in="420106005001",
        reason="车祸",
        amount=500,
        by="武昌窗口",
        at=AT + dt.timedelta(days=3),
    )
    second = check_application(store, two["application_id"], by="武昌 李")
    assert second["duplicate_check"].startswith(f"found: {one['record_id']} application {one['application_id']} in 420203100201")
    assert second["suggested"] == "recover"


def test_refusals(store: GraphStore, two_cases_dir: Path) -> None:
    from ingest.loader import ingest_folder

    ingest_folder(store, two_cases_dir)
    ask = {"applicant_name": "王付红", "applied_in": "420106005001", "reason": "被盗", "by": "张", "at": AT}
    with pytest.raises(ValueError, match=r"applicant_id: .*check"):
        take_application(store, applicant_id=FATHER[:17] + "5", amount=800, **ask)
    with pytest.raises(ValueError, match="at most 5000 yuan, not 6000"):
        take_application(store, applicant_id=FATHER, amount=6000, **ask)
    with pytest.raises(KeyError, match="no region 420999"):
        take_application(store, applicant_id=FATHER, amount=800, **{**ask, "applied_in": "420999"})
    with pytest.raises(KeyError, match="no application APP-X"):
        check_application(store, "APP-X", by="张")
    assert applications(store) == []  # nothing half-written


def test_the_command_line_takes_checks_and_decides(tmp_path: Path, two_cases_dir: Path) -> None:
    import json

    from typer.testing import CliRunner

    from cli.main import app

    runner = CliRunner()
    store = str(tmp_path / "store")
    assert runner.invoke(app, ["ingest", str(two_cases_dir), "--store", store]).exit_code == 0
    args = ["--id", FATHER, "--name", "王付红", "--in", "420106005001", "--reason", "被盗", "--amount", "800", "--by", "武昌窗口 张"]
    taken = runner.invoke(app, ["intake", *args, "--store", store])
    assert (
        taken.exit_code == 0
        and "paid_first; 800 yuan LINSHI paid first by 武昌窗口 张; applied in 420106005001, hukou 420203" in taken.output
    )
    queue = json.loads(runner.invoke(app, ["applications", "--pending", "--json", "--store", store]).output)
    assert [a["state"] for a in queue] == ["paid_first"] and FATHER not in json.dumps(queue)  # the ID is masked
    checked = runner.invoke(app, ["application", "check", queue[0]["application_id"], "--by", "李干事", "--store", store])
    assert checked.exit_code == 0 and "suggested outcome: confirmed" in checked.output
    decided = runner.invoke(
        app, ["application", "decide", queue[0]["application_id"], "--by", "李干事", "--outcome", "confirmed", "--store", store]
    )
    assert decided.exit_code == 0 and "outcome: confirmed by 李干事" in decided.output
