"""Referral as a record (转介) on hand-made cases, worked out from the rules (DOMAIN.md, "Referral";
the escalation figures in the catalogue's ``[referral]``): the path goes up one step at a time,
each with who, when, why and the answer; unresolved cases go up after N days, urgent ones after
24 hours; on both engines."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from actions.referrals import answer_referral, escalate_due, refer
from graph.model import NodeKind
from graph.store import GraphStore
from policy.catalogue import ReferralRules
from policy.referrals import escalations_due
from queries.referrals import referrals
from tests.unit.actions.conftest import AT, cli_app

DRIVER = "H-420106-0001"
RULES = ReferralRules()


def _path(store: GraphStore) -> list[tuple[str, str]]:
    return [(r["level"], r["state"]) for r in referrals(store, household_id=DRIVER)]


def test_the_path_goes_up_a_step_at_a_time_with_who_when_why(orders_store: GraphStore) -> None:
    first = refer(orders_store, DRIVER, level="village_window", by="村干部 刘", reason="失业且患病", need_id="N-8", at=AT)
    assert (first["referral_id"], first["urgency"], first["referred_at"]) == (
        "REF-H-420106-0001-1",
        "needs_care",
        "2025-03-03T09:00:00+00:00",
    )
    answer_referral(
        orders_store, first["referral_id"], by="村干部 刘", response="低保已续，仍需照料", resolved=False, at=AT + dt.timedelta(days=1)
    )
    refer(orders_store, DRIVER, level="township_station", by="村干部 刘", reason="政策救助后仍困难", at=AT + dt.timedelta(days=2))
    assert _path(orders_store) == [("village_window", "escalated"), ("township_station", "open")]
    village = orders_store.get_node(NodeKind.REFERRAL, "REF-H-420106-0001-1")
    assert village is not None and (village["response"], village["escalated_to"]) == ("低保已续，仍需照料", "REF-H-420106-0001-2")
    with pytest.raises(ValueError, match=r"waiting at township_station .* it can only go up"):
        refer(orders_store, DRIVER, level="village_window", by="社工 王", reason="back down", at=AT + dt.timedelta(days=3))
    answer_referral(
        orders_store, "REF-H-420106-0001-2", by="社工 王", response="链接上门照料服务", resolved=True, at=AT + dt.timedelta(days=4)
    )
    assert _path(orders_store) == [("village_window", "escalated"), ("township_station", "resolved")]
    with pytest.raises(ValueError, match="is resolved: it cannot be answered"):
        answer_referral(orders_store, "REF-H-420106-0001-2", by="社工 王", response="again", resolved=True)
    # a new case may start at any level once nothing is waiting
    refer(orders_store, DRIVER, level="village_window", by="村干部 刘", reason="女儿学费", at=AT + dt.timedelta(days=30))
    moves = [h["source"] for h in orders_store.history(NodeKind.REFERRAL, "REF-H-420106-0001-2")]
    assert moves == ["referral REF-H-420106-0001-2 resolved by 社工 王"]


def test_unresolved_after_n_days_and_urgent_after_24_hours_go_up(orders_store: GraphStore) -> None:
    refer(orders_store, DRIVER, level="village_window", by="村干部 刘", reason="照料", need_id="N-8", at=AT)
    assert escalations_due(orders_store, RULES, now=AT + dt.timedelta(days=14, seconds=-1)) == []
    [due] = escalations_due(orders_store, RULES, now=AT + dt.timedelta(days=14))
    assert (due["to"], due["why"]) == ("township_station", "not resolved after 14 days at 村（社区）救助窗口")
    # answered but not resolved: hardship remains, it still goes up
    answer_referral(
        orders_store, "REF-H-420106-0001-1", by="村干部 刘", response="已申请临时救助", resolved=False, at=AT + dt.timedelta(days=1)
    )
    [up] = escalate_due(orders_store, RULES, by="转介规则", now=AT + dt.timedelta(days=14))
    assert (up["level"], up["reason"], up["referred_by"], up["need_id"]) == (
        "township_station",
        "not resolved after 14 days at 村（社区）救助窗口",
        "转介规则",
        "N-8",
    )
    assert _path(orders_store) == [("village_window", "escalated"), ("township_station", "open")]
    assert escalate_due(orders_store, RULES, by="转介规则", now=AT + dt.timedelta(days=14)) == []  # nothing due twice


def test_an_urgent_case_goes_up_after_24_hours_and_stops_at_the_district(orders_store: GraphStore) -> None:
    refer(orders_store, DRIVER, level="township_station", by="社工 王", reason="危机", need_id="N-9", at=AT)  # 紧急干预
    assert escalations_due(orders_store, RULES, now=AT + dt.timedelta(hours=23, minutes=59)) == []
    [up] = escalate_due(orders_store, RULES, by="转介规则", now=AT + dt.timedelta(hours=24))
    assert (up["level"], up["reason"]) == ("district_centre", "urgent and not resolved within 24 h at 乡镇（街道）社工站")
    assert escalations_due(orders_store, RULES, now=AT + dt.timedelta(days=60)) == []  # the district centre is the top


def test_the_catalogue_sets_the_figures_and_a_resolved_case_stays(orders_store: GraphStore) -> None:
    quick = ReferralRules(unresolved_days=3, urgent_hours=2)
    refer(orders_store, DRIVER, level="village_window", by="村干部 刘", reason="照料", need_id="N-8", at=AT)
    assert [d["to"] for d in escalations_due(orders_store, quick, now=AT + dt.timedelta(days=3))] == ["township_station"]
    answer_referral(orders_store, "REF-H-420106-0001-1", by="村干部 刘", response="已解决", resolved=True, at=AT + dt.timedelta(days=1))
    assert escalations_due(orders_store, quick, now=AT + dt.timedelta(days=30)) == []


def test_refusals(orders_store: GraphStore) -> None:
    with pytest.raises(KeyError, match="no household H-404"):
        refer(orders_store, "H-404", level="village_window", by="刘", reason="x")
    with pytest.raises(KeyError, match="no need N-2 of household H-420203-0001"):
        refer(orders_store, "H-420203-0001", level="village_window", by="刘", reason="x", need_id="N-2")
    with pytest.raises(ValueError, match="'county' is not a valid ReferralLevel"):
        refer(orders_store, DRIVER, level="county", by="刘", reason="x")
    with pytest.raises(ValueError, match="needs the reason"):
        refer(orders_store, DRIVER, level="village_window", by="刘", reason=" ")
    with pytest.raises(KeyError, match="no referral REF-X"):
        answer_referral(orders_store, "REF-X", by="刘", response="x", resolved=True)


def test_the_command_line_keeps_the_path(cli_store: str) -> None:
    store = cli_store
    runner, app = CliRunner(), cli_app()
    sent = runner.invoke(
        app,
        ["referral", "send", DRIVER, "--to", "village_window", "--by", "村干部 刘", "--reason", "照料", "--need", "N-9", "--store", store],
    )
    assert sent.exit_code == 0 and "REF-H-420106-0001-1: to village_window" in sent.output
    early = runner.invoke(app, ["referral", "escalate", "--by", "转介规则", "--store", store])
    assert early.exit_code == 0 and "nothing is due" in early.output
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)).isoformat()
    due = runner.invoke(app, ["referral", "escalate", "--by", "转介规则", "--at", tomorrow, "--store", store])
    assert due.exit_code == 0 and "REF-H-420106-0001-2: to township_station" in due.output  # urgent, sent more than 24 h before
    answered = runner.invoke(
        app,
        ["referral", "answer", "REF-H-420106-0001-2", "--by", "社工 王", "--response", "已链接心理疏导", "--resolved", "--store", store],
    )
    assert answered.exit_code == 0
    listed = runner.invoke(app, ["referrals", "--household", DRIVER, "--store", store, "--json"])
    assert listed.exit_code == 0 and '"state": "resolved"' in listed.output and '"state": "escalated"' in listed.output
