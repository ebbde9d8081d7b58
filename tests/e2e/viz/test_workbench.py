"""The workbench's rules without a browser, on both engines: sessions, CSRF, scope, search, errors,
the audit trail, and catalogues that hold a Chinese word for every text and code the pages show."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from graph.model import NeedCategory, Urgency
from policy.audit import FAMILIES
from queries import reasons
from queries.household_chain import REFERRAL_LEVELS
from tests.e2e.api.conftest import HEAD, HOUSEHOLD, OPEN_NEED, Api, unmasked_contacts, unmasked_ids
from viz.workbench.i18n import LOCALE_DIR, Language
from viz.workbench.session import COOKIE

ROOT = Path(__file__).resolve().parents[3]
FORM_EXPIRED = "表单已过期或并非来自本页面"


@pytest.fixture
def web(api: Api) -> Iterator[TestClient]:
    client = TestClient(api.app, base_url="http://aidgraph.test")

    def scan(response) -> None:  # every page, like every API answer, holds no full identifier
        response.read()
        if "javascript" not in response.headers.get("content-type", ""):
            assert not unmasked_ids(response.text) and not unmasked_contacts(response.text), response.request.url

    client.event_hooks["response"].append(scan)
    with client:
        yield client


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(web: TestClient, key: str) -> str:
    """Signs in; returns the session's CSRF token (from the page it lands on)."""
    web.cookies.clear()
    form = web.get("/workbench/login")
    answer = web.post("/workbench/login", data={"api_key": key, "csrf_token": _token(form.text)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:500]
    landing = web.get(answer.headers["location"])
    return _token(landing.text)


def test_the_key_is_typed_once_and_the_browser_holds_a_session_only(api: Api, web: TestClient) -> None:
    form = web.get("/workbench/login")
    assert form.status_code == 200 and "登录工作台" in form.text and "API 密钥" in form.text
    key = api.keys["caseworker_in"]
    answer = web.post("/workbench/login", data={"api_key": key, "csrf_token": _token(form.text)}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/workbench/queues"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(COOKIE + "="))
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower() and "path=/workbench" in cookie.lower()
    assert key not in cookie and key.split("_")[2] not in str(web.cookies)
    queues = web.get("/workbench/queues")
    assert "待办事项" in queues.text and key not in queues.text
    # Signing out ends the session on the server: the old cookie opens nothing.
    old = web.cookies.get(COOKIE)
    out = web.post("/workbench/logout", data={"csrf_token": _token(queues.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/workbench/login"
    web.cookies.set(COOKIE, old, path="/workbench")
    assert web.get("/workbench/queues", follow_redirects=False).headers["location"] == "/workbench/login"


def test_the_login_form_needs_its_own_token(api: Api, web: TestClient) -> None:
    web.get("/workbench/login")
    refused = web.post("/workbench/login", data={"api_key": api.keys["caseworker_in"], "csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403 and FORM_EXPIRED in refused.text and COOKIE not in refused.headers.get("set-cookie", "")


def test_keys_that_are_not_for_the_workbench_or_not_keys_at_all(api: Api, web: TestClient) -> None:
    for key, words in ((api.keys["admin"], "工作台供社工、审计人员和慈善组织协调员使用"), ("agk_nope_nope", "密钥不存在或已被吊销")):
        form = web.get("/workbench/login")
        answer = web.post("/workbench/login", data={"api_key": key, "csrf_token": _token(form.text)}, follow_redirects=False)
        assert answer.status_code == 401 and words in answer.text


def test_a_revoked_key_ends_its_sessions(api: Api, web: TestClient) -> None:
    sign_in(web, api.keys["caseworker_in"])
    assert web.get("/workbench/queues").status_code == 200
    ring = api.app.state.aidgraph.keys
    key_id = api.keys["caseworker_in"].split("_")[1]
    assert ring.revoke(key_id, by="test")
    assert web.get("/workbench/queues", follow_redirects=False).headers["location"] == "/workbench/login"


def test_forms_refuse_a_missing_or_wrong_token_and_write_nothing(api: Api, web: TestClient) -> None:
    token = sign_in(web, api.keys["caseworker_in"])
    form = {"need_id": OPEN_NEED, "resource_id": "R-C2"}
    for sent in ({}, {"csrf_token": "forged"}):
        refused = web.post("/workbench/linkage/accept", data={**form, **sent}, follow_redirects=False)
        assert refused.status_code == 403 and FORM_EXPIRED in refused.text
    assert api.store.get_node(__import__("graph.model").model.NodeKind.LINK_DECISION, f"{OPEN_NEED}|R-C2") is None
    done = web.post("/workbench/linkage/accept", data={**form, "csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and "done=accepted" in done.headers["location"]


def test_pages_follow_the_keys_role_and_region(api: Api, web: TestClient) -> None:
    sign_in(web, api.keys["caseworker_in"])
    file = web.get(f"/workbench/households/{HOUSEHOLD}", params={"as_of": "2024-01-31"})
    assert file.status_code == 200
    for words in (
        "户档案",
        "家庭成员",
        "分层及依据",
        "防止返贫监测",
        "救助时间线",
        "转介路径",
        "需求及服务方",
        "王付红",
        "420203********1710",
    ):
        assert words in file.text, words
    # The service groups by the catalogue's rules: the daughter's leukaemia, no other group.
    groups = file.text[file.text.index('id="groups"') : file.text.index('id="members"')]
    assert "服务对象分组" in groups and "大病患者</span> 王小美" in groups and "老年人" not in groups
    # The same tier when the server already keeps the prefecture's evaluation (the queues made it).
    web.get("/workbench/queues", params={"as_of": "2024-01-31"})
    again = web.get(f"/workbench/households/{HOUSEHOLD}", params={"as_of": "2024-01-31"}).text
    assert (
        again[again.index('id="tier"') : again.index('id="timeline"')]
        == file.text[file.text.index('id="tier"') : file.text.index('id="timeline"')]
    )
    graph = web.get(f"/workbench/households/{HOUSEHOLD}/graph.json").json()
    assert f"Household:{HOUSEHOLD}" in {n["id"] for n in graph["nodes"]} and graph["edges"]
    warnings = web.get(f"/workbench/households/{HOUSEHOLD}/warnings").text
    assert "预警与复核" in warnings and "<html" not in warnings  # a fragment of the file
    found = web.get(f"/workbench/households/{HOUSEHOLD}/findings").text
    flags = web.get(f"/workbench/households/{HOUSEHOLD}/flags.json").json()["flagged"]
    assert "与此家庭有关的问题线索" in found and HOUSEHOLD in flags
    sign_in(web, api.keys["caseworker_out"])
    other = web.get(f"/workbench/households/{HOUSEHOLD}")
    assert other.status_code == 404 and "没有找到，或不在您的辖区内" in other.text and "王付红" not in other.text
    for part in ("graph.json", "flags.json", "warnings", "findings"):
        assert web.get(f"/workbench/households/{HOUSEHOLD}/{part}").status_code == 404, part
    # A coordinator has no household files, only its families, de-identified.
    sign_in(web, api.keys["charity"])
    assert "您的角色不能打开此页面" in web.get(f"/workbench/households/{HOUSEHOLD}").text
    family = web.get(f"/workbench/families/{HOUSEHOLD}")
    assert family.status_code == 200 and "王F." in family.text and "王付红" not in family.text


def test_search_by_masked_id_last_digits_and_name(api: Api, web: TestClient) -> None:
    sign_in(web, api.keys["caseworker_in"])
    for query in ("420203********1710", "1710", "111710", HEAD, "付红"):
        found = web.get("/workbench/search", params={"q": query})
        assert "共 1 条，显示第 1–1 条" in found.text and HOUSEHOLD in found.text, query
    assert "在您的辖区内没有找到" in web.get("/workbench/search", params={"q": "420106********1516"}).text
    jump = web.get("/workbench/search", params={"q": HOUSEHOLD}, follow_redirects=False)
    assert jump.status_code == 303 and jump.headers["location"] == f"/workbench/households/{HOUSEHOLD}"
    assert '<option value="王付红">' in web.get("/workbench/suggest", params={"q": "付红"}).text


def test_dates_are_checked_and_errors_say_what_to_do(api: Api, web: TestClient) -> None:
    sign_in(web, api.keys["auditor"])
    # The server's working day until the user picks one (a demo's data has its own day), then theirs.
    api.app.state.aidgraph.settings.workbench_day = dt.date(2024, 1, 31)
    assert "截至 2024-01-31" in web.get("/workbench/findings").text
    assert "截至 2024-02-29" in web.get("/workbench/findings", params={"as_of": "2024-02-29"}).text
    assert "截至 2024-02-29" in web.get("/workbench/findings").text
    for bad, words in (("garbage", "日期无效"), ("1900-01-01", "日期超出可查询范围")):
        answer = web.get("/workbench/findings", params={"as_of": bad})
        assert answer.status_code == 422 and words in answer.text
    assert web.get("/workbench/findings", params={"sort": "nonsense"}).status_code == 422


def test_the_auditor_marks_and_exports_what_it_filtered(api: Api, web: TestClient) -> None:
    token = sign_in(web, api.keys["auditor"])
    listing = web.get("/workbench/findings", params={"as_of": "2024-01-31"})
    finding = re.search(r'href="/workbench/findings/([a-z_]+-[0-9a-f-]+)"', listing.text).group(1)
    refused = web.post(f"/workbench/findings/{finding}/mark", data={"status": "confirmed", "reason": "  "}, follow_redirects=False)
    assert refused.status_code == 403  # no token: refused before the reason is read
    empty = web.post(f"/workbench/findings/{finding}/mark", data={"status": "confirmed", "reason": " ", "csrf_token": token})
    assert empty.status_code == 422 and "请填写作出此决定的理由" in empty.text
    web.post(f"/workbench/findings/{finding}/mark", data={"status": "confirmed", "reason": "核实属实", "csrf_token": token})
    web.post(f"/workbench/findings/{finding}/mark", data={"status": "dismissed", "reason": "复核后排除", "csrf_token": token})
    page = web.get(f"/workbench/findings/{finding}").text
    history = page[page.index('id="mark-history"') :]
    assert history.index("复核后排除") < history.index("核实属实") and "已排除" in page
    csv_text = web.get("/workbench/findings/export.csv", params={"status": "dismissed"}).content.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("编号,类别,类型") and [line.split(",")[0] for line in csv_text.splitlines()[1:]] == [finding]
    assert web.get("/workbench/findings/report.html").status_code == 200


def test_workbench_pages_are_in_the_audit_trail(api: Api, web: TestClient) -> None:
    sign_in(web, api.keys["caseworker_in"])
    web.get(f"/workbench/households/{HOUSEHOLD}")
    entries = api.app.state.aidgraph.audit_log.query(household=HOUSEHOLD)
    page = next(e for e in entries if e["route"] == "workbench /workbench/households/{household_id}")
    assert page["status"] == 200 and page["key_name"] == "西塞山 caseworker" and page["persons"]


def test_every_text_and_code_has_its_chinese_words() -> None:
    zh = {m.id: m.string for m in read_po((LOCALE_DIR / "zh_Hans" / "LC_MESSAGES" / "messages.po").open("rb")) if m.id}
    method_map = [("viz/workbench/**.py", "python"), ("viz/workbench/templates/**.html", "jinja2")]
    options = {"viz/workbench/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    texts = {m[2] for m in extract_from_dir(str(ROOT), method_map, options_map=options, keywords={"_": None, "N_": None, "gettext": None})}
    missing = sorted(t for t in texts if isinstance(t, str) and not zh.get(t))
    assert not missing, f"no Chinese for {missing[:5]}"
    chinese, english = Language.get("zh"), Language.get("en")
    codes = [("urgency", u.value) for u in Urgency] + [("need_category", c.value) for c in NeedCategory]
    codes += [("referral", r) for r in REFERRAL_LEVELS] + [("referral_reason", r) for r in REFERRAL_LEVELS]
    codes += [("proximity", p) for p in reasons.PROXIMITY_LEVELS.values()]
    kinds = [k for family in FAMILIES.values() for k in family]
    codes += [("finding_kind", k) for k in kinds] + [("finding_rule", k) for k in kinds]
    for field, code in codes:
        assert chinese.term(field, code) != code and re.search(r"[\u4e00-\u9fff]", chinese.term(field, code)), (field, code)
        assert english.term(field, code) and not re.search(r"[\u4e00-\u9fff]", english.term(field, code)), (field, code)
    for template in reasons.TEMPLATES:
        bare, _ = reasons.parse(template.format(**{k: 1 for k in re.findall(r"\{(\w+)", template)}))
        assert chinese.gettext(bare) != bare, template


def test_a_coordinators_offer_reaches_the_caseworkers_queue_with_names(api: Api, web: TestClient) -> None:
    token = sign_in(web, api.keys["charity"])
    offered = web.post("/workbench/linkage/accept", data={"need_id": OPEN_NEED, "csrf_token": token, "back": "/workbench/families"})
    assert "已提交帮扶意向" in offered.text and "心理" in offered.text[offered.text.index('id="offers"') :]
    token = sign_in(web, api.keys["caseworker_in"])
    queue = web.get("/workbench/queues").text
    waiting = queue[queue.index('id="queue-referrals"') : queue.index('id="queue-unserved"')]
    assert "黄石慈善会" in waiting and "心理" in waiting
    accepted = web.post(
        "/workbench/linkage/accept", data={"need_id": OPEN_NEED, "resource_id": "R-C2", "csrf_token": token}, follow_redirects=False
    )
    assert accepted.status_code == 303 and "done=accepted" in accepted.headers["location"]
    sign_in(web, api.keys["charity"])
    served = web.get("/workbench/families").text
    assert "王付红" in served[served.index('id="matched"') :]  # the match lets the coordinator see the family


def test_a_work_order_from_the_household_file_to_the_coordinators_forms(api: Api, web: TestClient) -> None:
    token = sign_in(web, api.keys["caseworker_in"])
    sent = web.post(
        "/workbench/orders/dispatch",
        data={"need_id": OPEN_NEED, "resource_id": "R-C2", "csrf_token": token, "back": f"/workbench/households/{HOUSEHOLD}"},
    )
    assert "工单已派出" in sent.text and "WO-N-4-1" in sent.text[sent.text.index('id="referral"') :]  # the chain lists it
    token = sign_in(web, api.keys["charity"])
    page = web.get("/workbench/families").text
    orders = page[page.index('id="orders"') : page.index('id="offers"')]
    assert "WO-N-4-1" in orders and "接单" in orders and "已派单" in orders
    for step, fields in (("accept", {}), ("visit", {"done": "心理疏导", "hours": "1.5"}), ("complete", {"satisfaction": "0.9"})):
        moved = web.post(f"/workbench/orders/WO-N-4-1/{step}", data={"csrf_token": token, **fields})
        assert "已记录" in moved.text, step
    done = moved.text[moved.text.index('id="orders"') : moved.text.index('id="offers"')]
    assert "已完成" in done and "接单</button>" not in done
    bad = web.post("/workbench/orders/WO-N-4-1/complete", data={"csrf_token": token, "satisfaction": "high"})
    assert bad.status_code == 422


def test_the_caseworkers_queue_lists_overdue_orders(api: Api, web: TestClient) -> None:
    import datetime as dt

    from actions.work_orders import dispatch

    dispatch(api.store, OPEN_NEED, "R-C2", by="派单中心", at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))  # due 2025-01-08, never answered
    sign_in(web, api.keys["caseworker_in"])
    queue = web.get("/workbench/queues").text
    late = queue[queue.index('id="queue-orders"') : queue.index('id="queue-unserved"')]
    assert "WO-N-4-1" in late and "超时未响应工单" in late
    sign_in(web, api.keys["caseworker_out"])
    other = web.get("/workbench/queues").text
    assert "WO-N-4-1" not in other  # another region's order


def test_a_caseworker_refers_a_case_and_takes_an_emergency_application(api: Api, web: TestClient) -> None:
    token = sign_in(web, api.keys["caseworker_in"])
    sent = web.post(
        "/workbench/referrals",
        data={"csrf_token": token, "household_id": HOUSEHOLD, "level": "township_station", "reason": "政策救助后仍困难"},
    )
    path = sent.text[sent.text.index('id="referral"') : sent.text.index('id="needs"')]
    assert "已记录" in path and "乡镇（街道）社工站" in path and "政策救助后仍困难" in path and "待处理" in path
    step = f"REF-{HOUSEHOLD}-1"
    answered = web.post(
        f"/workbench/referrals/{step}/answer",
        data={"csrf_token": token, "household_id": HOUSEHOLD, "response": "链接上门照料", "resolved": "yes"},
    )
    assert "已解决" in answered.text[answered.text.index('id="referral"') : answered.text.index('id="needs"')]
    # 武昌's driver applies in 西塞山: taken here, whatever his hukou
    form = {
        "csrf_token": token,
        "applicant_id": "420106198305141516",
        "applicant_name": "周",
        "applied_in": "420203100201",
        "reason": "车祸",
        "amount": "800",
    }
    taken = web.post("/workbench/applications", data=form)
    queue = taken.text[taken.text.index('id="queue-applications"') : taken.text.index('id="queue-orders"')]
    assert "非户籍地受理" in queue and "已先行救助，待核查" in queue and "420106198305141516" not in taken.text
    app_id = api.client.get("/applications", headers=api.headers("caseworker_in")).json()["data"][0]["application_id"]
    checked = web.post(f"/workbench/applications/{app_id}/checks", data={"csrf_token": token})
    assert "已核查，待决定" in checked.text and "clear: no other emergency aid" in checked.text
    decided = web.post(f"/workbench/applications/{app_id}/decision", data={"csrf_token": token, "outcome": "confirmed"})
    assert (
        "已办结" not in decided.text[decided.text.index('id="queue-applications"') : decided.text.index('id="queue-orders"')]
    )  # off the queue
    bad = web.post("/workbench/applications", data={**form, "amount": "lots"})
    assert bad.status_code == 422
