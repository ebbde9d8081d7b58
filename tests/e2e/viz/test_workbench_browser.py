"""The workbench in headless Chromium (Debian's, driven by Playwright), as each of its three users.

One journey per role on a generated prefecture served by `aidgraph serve`; each asserts the
Chinese texts it reads and saves screenshots (copied to docs/screenshots/ by
``AIDGRAPH_SCREENSHOTS=docs/screenshots``). In every journey: no request leaves the server, no
full ID number, phone or bank account is in the DOM, the keys scoped to one county see none of
another county's people (a relative there is a reduced node, as in the API) and cannot open its
households, and forms refuse a missing or wrong CSRF token.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from api.core.security import KeyRing, Role
from bench.flood import serve_in_a_process
from bench.workbench import add_payment_lines, heavy_household, sign_in, time_household_file
from graph.stores.ladybug import LadybugStore
from ingest.loader import ingest_folder
from queries.linkage import unmatched_families

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AIDGRAPH = str(Path(sys.executable).parent / "aidgraph")
AS_OF = "2026-06-30"
SETTLED = "#graph[data-state=settled]"

if CHROMIUM is None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("Chromium is not installed (ops/test.sh installs Debian's chromium)", pytrace=False)
    pytest.skip("Chromium is not installed (ops/test.sh installs Debian's chromium)", allow_module_level=True)

from playwright.sync_api import Browser, sync_playwright  # noqa: E402

pytestmark = pytest.mark.slow


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, generated_2000: Path) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("workbench")
    folder = root / "prefecture"
    shutil.copytree(generated_2000, folder)
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    households = {r["household_id"]: r["region_code"] for r in _rows(folder, "households.csv")}
    persons = _rows(folder, "persons.csv")
    # A relative in another household of the same county: the caseworker expands it.
    obligation = next(
        o
        for o in truth["obligations"]
        if o["obligor_household"]
        and o["obligor_household"] != o["dependant_household"]
        and households[o["obligor_household"]][:6] == households[o["dependant_household"]][:6]
    )
    county = households[obligation["dependant_household"]][:6]
    heavy, head = heavy_household(folder, county)
    add_payment_lines(folder, heavy, head, 150)
    store = LadybugStore(root / "store")
    ingest_folder(store, folder)
    charity, charity_household = None, None
    from graph.model import NodeKind

    for resource in sorted(n.key for n in store.iter_nodes(NodeKind.RESOURCE)):
        families = unmatched_families(store, as_of=dt.date.fromisoformat(AS_OF), org=resource)
        if families:
            charity, charity_household = resource, families[0].household_id
            break
    store.close()
    ring = KeyRing(root / "api" / "keys.sqlite")
    keys = {
        "caseworker": ring.create(name="点军社工", role=Role.CASEWORKER, region=county, by="test", rate_per_minute=100000).token,
        "auditor": ring.create(name="纪检审计", role=Role.AUDITOR, region=county, by="test", rate_per_minute=100000).token,
        "charity": ring.create(name="慈善协调员", role=Role.CHARITY, org=charity, by="test", rate_per_minute=100000).token,
        "admin": ring.create(name="管理员", role=Role.ADMIN, by="test").token,
    }
    ring.close()
    # Names held by one person only, by county: a name seen on a page then means that person.
    names = Counter(p["name"] for p in persons)
    foreign_names = {county: {p["name"] for p in persons if names[p["name"]] == 1 and not households[p["household_id"]].startswith(county)}}
    secrets_ = {p["id_number"] for p in persons} | {p["phone"] for p in persons if p["phone"]}
    secrets_ |= {p["bank_account"] for p in persons if p.get("bank_account")}
    shots = Path(os.environ.get("AIDGRAPH_SCREENSHOTS") or root / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    with serve_in_a_process(root / "store", root / "api", {"AIDGRAPH_API_CACHE_TTL_S": "600"}) as (base, _):
        yield {
            "base": base,
            "keys": keys,
            "county": county,
            "households": households,
            "persons": {p["id_number"]: p for p in persons},
            "secrets": secrets_,
            "foreign_names": foreign_names,
            "obligation": obligation,
            "heavy": heavy,
            "charity_household": charity_household,
            "shots": shots,
        }


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


class Journey:
    """A signed-in browser tab that checks every page it sees."""

    def __init__(self, browser: Browser, site: dict, who: str, county: str | None):
        self.site, self.county = site, county
        self.context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
        self.page = self.context.new_page()
        self.outside: list[str] = []
        self.page.on("request", lambda r: None if r.url.startswith(site["base"] + "/") else self.outside.append(r.url))
        sign_in(self.page, site["base"], site["keys"][who])

    def set_day(self, day: str = AS_OF) -> None:
        self.page.fill("header input[name=as_of]", day)
        self.page.click("header form.asof button")
        self.page.wait_for_load_state()

    def check(self) -> str:
        """The DOM holds no full ID number, phone or bank account, and (county keys) no other county's household."""
        html = self.page.content()
        leaked = [s for s in self.site["secrets"] if s in html]
        assert not leaked, f"{len(leaked)} identifiers in the DOM of {self.page.url}, e.g. {leaked[0][:6]}…"
        assert not re.search(r"(?<!\d)\d{15,19}(?!\d)", html), "a 15 to 19 digit number (ID or bank account) in the DOM"
        if self.county:
            # Another county's people: never their names (a relative or obligor there is a reduced
            # node, surname and initial, as the API has it), and their households' files are refused.
            seen = [n for n in self.site["foreign_names"][self.county] if n in html]
            assert not seen, f"another county's people on {self.page.url}: {seen[:3]}"
        assert not self.outside, f"requests left the server: {self.outside[:3]}"
        return html

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.site["shots"] / f"{name}.png"), full_page=False)

    def settled(self) -> int:
        self.page.wait_for_selector(SETTLED, timeout=30000)
        return int(self.page.get_attribute("#graph", "data-ms") or 0)

    def csrf_refused(self, action: str, form: dict[str, str]) -> None:
        """The same POST a form sends, without its token and with another: refused, in Chinese."""
        url = f"{self.site['base']}/workbench{action}"
        for token in (None, "not-the-session-token"):
            data = dict(form) if token is None else {**form, "csrf_token": token}
            answer = self.page.request.post(url, form=data, max_redirects=0)
            assert answer.status == 403 and "表单已过期" in answer.text(), (action, token, answer.status)

    def close(self) -> None:
        self.context.close()


def _mask(id_number: str) -> str:
    return id_number[:6] + "*" * 8 + id_number[-4:]


def test_caseworker_journey(browser: Browser, site: dict) -> None:
    j = Journey(browser, site, "caseworker", site["county"])
    page = j.page
    assert page.url.endswith("/workbench/queues")
    j.set_day()
    for text in ("待办事项", "预警", "待复核", "待确认转介", "未满足的需求"):
        assert text in page.inner_text("main"), text
    j.check()
    j.shot("caseworker-queues")
    # Open a warning: the household file says why it is on the list.
    page.click("#queue-warnings table a")
    page.wait_for_selector("h1:has-text('户档案')")
    # The warning and the findings follow the file (they need the whole evaluation and audit).
    page.wait_for_selector("#warnings-reviews:has-text('在预警名单中')")
    page.wait_for_selector("#household-findings .count")
    main = page.inner_text("main")
    for text in ("家庭成员", "分层及依据", "救助时间线", "预警与复核", "转介路径", "需求及服务方", "与此家庭有关的问题线索"):
        assert text in main, text
    j.settled()
    j.check()
    j.shot("caseworker-household-file")
    # Find the dependant of a relative's obligation by the masked ID exactly as shown, then by its last 4 digits.
    dependant = site["obligation"]["dependants"][0]
    household = site["obligation"]["dependant_household"]
    # From the queues' search box (a page load), then on the search page (a partial update).
    for start, query in (("/workbench/queues", _mask(dependant)), ("/workbench/search", dependant[-4:])):
        page.goto(site["base"] + start)
        page.fill("input[name=q]", query)
        page.click("form.search button[type=submit]")
        page.wait_for_selector(f".results a:has-text('{household}')", timeout=20000)
        info = page.inner_text(".paging-info")
        assert re.match(r"共 \d+ 条，显示第 1–\d+ 条", info), info
        j.check()
    j.shot("caseworker-search")
    # The masked ID is searched as the page shows it: the same text is on the result row.
    page.click(f".results a:has-text('{household}')")
    j.settled()
    # Expand the obligor's household from the graph, then collapse it.
    obligor = site["obligation"]["obligor"]
    shown_id = f"Person:{_mask(obligor)}"
    assert shown_id in page.evaluate("AidGraphView.nodeIds()")
    page.evaluate(f"AidGraphView.select({json.dumps(shown_id)})")
    page.click("#graph-expand")
    other = f"Household:{site['obligation']['obligor_household']}"
    page.wait_for_function(f"AidGraphView.nodeIds().includes({json.dumps(other)})", timeout=20000)
    j.settled()
    drawn = len(page.evaluate("AidGraphView.nodeIds()"))
    j.shot("caseworker-expanded")
    page.evaluate(f"AidGraphView.select({json.dumps(other)})")
    assert page.is_visible("#graph-collapse")
    page.click("#graph-collapse")
    page.wait_for_function(f"!AidGraphView.nodeIds().includes({json.dumps(other)})", timeout=20000)
    assert len(page.evaluate("AidGraphView.nodeIds()")) < drawn
    j.check()
    # Another county's household: the page says so in Chinese, and shows nothing of it.
    foreign = next(h for h, r in site["households"].items() if not r.startswith(site["county"]))
    page.goto(f"{site['base']}/workbench/households/{foreign}")
    assert "没有找到，或不在您的辖区内" in page.inner_text("main")
    j.check()
    # A date the picker would not give is refused with a sentence that says what to do.
    page.goto(f"{site['base']}/workbench/queues?as_of=garbage")
    assert "日期无效：请用日期选择器选择一天" in page.inner_text("main")
    # English on request, Chinese again.
    page.goto(f"{site['base']}/workbench/queues?as_of={AS_OF}")
    page.click("text=English")
    assert "Work queues" in page.inner_text("h1")
    page.click("text=中文")
    assert "待办事项" in page.inner_text("h1")
    j.csrf_refused("/linkage/accept", {"need_id": "N-0000001", "resource_id": "R-0000001"})
    j.csrf_refused("/logout", {})
    j.close()


def test_auditor_journey(browser: Browser, site: dict) -> None:
    j = Journey(browser, site, "auditor", site["county"])
    page = j.page
    assert page.url.endswith("/workbench/findings")
    j.set_day()
    assert "问题线索" in page.inner_text("h1")
    kinds = page.eval_on_selector_all("select[name=kind] option", "os => os.map(o => [o.value, o.textContent])")[1:]
    assert kinds, "no findings in the county"
    kind, label = kinds[0]
    page.select_option("select[name=kind]", kind)
    page.select_option("select[name=sort]", "amount")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    rows = page.eval_on_selector_all("table.findings tr td:first-child a", "as => as.map(a => a.textContent)")
    assert rows and set(rows) == {label}, page.inner_text("main")[:600]
    count = int(re.match(r"共 (\d+) 条", page.inner_text(".paging-info")).group(1))
    j.check()
    j.shot("auditor-findings")
    # Excel of the current filter: Chinese headers, one row per finding.
    with page.expect_download() as download:
        page.click("#export-xlsx")
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    sheet = book["问题线索"]
    assert [c.value for c in sheet[1]][:3] == ["编号", "类别", "类型"]
    assert sheet.max_row - 1 == count and {r[2] for r in sheet.iter_rows(min_row=2, values_only=True)} == {kind}
    # One finding as a picture; confirm it with a reason; the mark and its history show.
    page.click("table.findings tr td:first-child a")
    page.wait_for_selector("#mark-form")
    j.settled()
    assert "证据" in page.inner_text("main") and "尚未核查" in page.inner_text("#mark-history")
    j.check()
    page.fill("textarea[name=reason]", "已与民政、医保台账核对，属实")
    page.click("button[value=confirmed]")
    page.wait_for_selector("#mark-status:has-text('已确认')")
    assert "已与民政、医保台账核对，属实" in page.inner_text("#mark-history")
    j.settled()
    j.check()
    j.shot("auditor-finding")
    finding = page.url.split("/findings/")[1].split("?")[0]
    j.csrf_refused(f"/findings/{finding}/mark", {"status": "dismissed", "reason": "试图伪造"})
    page.reload()
    assert "试图伪造" not in page.inner_text("#mark-history")
    j.close()


def test_coordinator_journey(browser: Browser, site: dict) -> None:
    j = Journey(browser, site, "charity", None)
    page = j.page
    assert page.url.endswith("/workbench/families")
    j.set_day()
    assert "待匹配家庭" in page.inner_text("main")
    household = site["charity_household"]
    assert household in page.inner_text("#unmatched")
    names = {p["name"] for p in site["persons"].values() if p["household_id"] == household}
    html = j.check()
    assert not any(n in html for n in names), "a family's full name before any match"
    j.shot("coordinator-families")
    page.click(f"#unmatched a:has-text('{household}')")
    page.wait_for_selector("#recommendations")
    text = page.inner_text("#recommendations")
    assert "满意度" in text and "剩余容量" in text, text
    html = j.check()
    assert not any(n in html for n in names)
    j.shot("coordinator-recommendations")
    need = page.get_attribute("form[action$='/linkage/accept'] input[name=need_id]", "value")
    j.csrf_refused("/linkage/accept", {"need_id": need or ""})
    page.click("text=接受：我们来帮扶")
    page.wait_for_selector(".notice")
    assert "已提交帮扶意向" in page.inner_text(".notice")
    assert household in page.inner_text("#offers")
    j.check()
    j.close()


def test_a_household_with_150_payment_lines_settles_quickly(browser: Browser, site: dict) -> None:
    """The file and the graph of a household paid 150 times; the figure is printed (the bound is in bench/)."""
    j = Journey(browser, site, "caseworker", site["county"])
    page = j.page
    j.set_day()
    url = f"{site['base']}/workbench/households/{site['heavy']}"
    timings = []
    for _ in range(3):
        timings.append(time_household_file(page, url))
    assert "150 笔发放" in page.inner_text("#timeline")
    page.wait_for_selector("#graph[data-flags]")  # the findings' outlines came after the drawing
    # Folded: one node for the 150 lines, not 150.
    assert len([n for n in page.evaluate("AidGraphView.nodeIds()") if n.startswith("Enrolment:")]) == 1
    j.check()
    j.shot("caseworker-150-payment-lines")
    print(f"\n150 payment lines: file and graph settled in {timings[0]:.2f} s cold, {min(timings[1:]):.2f} s warm")
    j.close()


def test_admin_keys_cannot_sign_in(browser: Browser, site: dict) -> None:
    page = browser.new_page()
    sign_in(page, site["base"], site["keys"]["admin"])
    assert "登录工作台" in page.inner_text("h1")
    assert "工作台供社工、审计人员和慈善组织协调员使用" in page.inner_text("main")
    page.close()
