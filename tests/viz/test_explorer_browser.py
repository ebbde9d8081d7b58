"""The explorer in headless Chromium (Debian's, driven by Playwright), served offline by `aidgraph serve`.

Search a household, see it drawn (members, a programme, a resource), a planted duplicate-aid case
outlined; click a member; filter by kind; expand an obligor into their own household; and a
charity coordinator's key shows the same kind of household de-identified.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.core.security import KeyRing, Role
from graph.stores.ladybug import LadybugStore
from ingest.loader import ingest_folder
from queries.linkage import unmatched_families

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AIDGRAPH = str(Path(sys.executable).parent / "aidgraph")
AS_OF = dt.date(2026, 6, 30)

if CHROMIUM is None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("Chromium is not installed (ops/test.sh installs Debian's chromium)", pytrace=False)
    pytest.skip("Chromium is not installed (ops/test.sh installs Debian's chromium)", allow_module_level=True)

from playwright.sync_api import Page, sync_playwright  # noqa: E402

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, generated_2000: Path) -> Iterator[dict]:
    """A server over the generated prefecture, with a caseworker key and a charity coordinator key."""
    root = tmp_path_factory.mktemp("explorer")
    truth = json.loads((generated_2000 / "truth.json").read_text(encoding="utf-8"))
    store = LadybugStore(root / "store")
    ingest_folder(store, generated_2000)
    # A household whose need a charity could meet, nobody serving it yet: de-identified for that charity.
    charity, charity_household = None, None
    for resource in sorted(n.key for n in store.iter_nodes(__import__("graph.model").model.NodeKind.RESOURCE)):
        families = unmatched_families(store, as_of=AS_OF, org=resource)
        if families:
            charity, charity_household = resource, families[0].household_id
            break
    store.close()
    ring = KeyRing(root / "api" / "keys.sqlite")
    region = truth["duplicate_aid"][0]["households"][0][2:6]
    keys = {
        "caseworker": ring.create(name="caseworker", role=Role.CASEWORKER, region=region, by="test", rate_per_minute=100000).token,
        "charity": ring.create(name="coordinator", role=Role.CHARITY, org=charity, by="test", rate_per_minute=100000).token,
    }
    ring.close()
    port = _free_port()
    env = {**os.environ, "AIDGRAPH_API_CACHE_TTL_S": "600"}
    server = subprocess.Popen(
        [AIDGRAPH, "serve", "--store", str(root / "store"), "--port", str(port), "--state", str(root / "api")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/api/v1/ready", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert server.poll() is None, server.stdout.read() if server.stdout else ""
        assert time.monotonic() < deadline, "the server did not become ready"
        time.sleep(0.3)
    obligation = next(o for o in truth["obligations"] if o["monthly_amount"] > 0)
    try:
        yield {
            "base": base,
            "keys": keys,
            "duplicate": next(c["households"][0] for c in truth["duplicate_aid"] if c["kind"] == "need_paid_twice"),
            "obligation": obligation,
            "charity_household": charity_household,
            "shots": root,
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def _open(browser, site: dict, who: str) -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    # Offline: any request that is not to the AidGraph server fails the test.
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(site["base"]) else None)
    page.outside = outside  # type: ignore[attr-defined]
    page.goto(f"{site['base']}/explore")
    page.fill("#key", site["keys"][who])
    page.dispatch_event("#key", "change")
    return page


def _show(page: Page, household: str) -> None:
    page.fill("#query", household)
    page.click("#search")
    page.wait_for_function(f"window.explorer.nodes.get('Household:{household}') !== null", timeout=20000)
    page.wait_for_timeout(300)


def _kinds(page: Page) -> set[str]:
    return set(page.evaluate("window.explorer.nodes.get().map((n) => n.kind)"))


def test_search_draw_click_filter_and_the_duplicate_outlined(browser, site: dict) -> None:
    page = _open(browser, site, "caseworker")
    _show(page, site["duplicate"])
    page.wait_for_selector(".finding", timeout=20000)
    assert {"Household", "Person", "Program", "Resource", "AidRecord", "Need"} <= _kinds(page)
    assert "need_paid_twice" in page.inner_text("#findings")
    assert page.evaluate("window.explorer.nodes.get().filter((n) => n.flagged).length") >= 2
    page.wait_for_timeout(1500)  # let the layout settle for the screenshot
    shot = site["shots"] / "explorer-duplicate.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")
    # Click a member where it is drawn: its details appear.
    member = page.evaluate("window.explorer.nodes.get().find((n) => n.kind === 'Person').id")
    xy = page.evaluate(f"window.explorer.network.canvasToDOM(window.explorer.network.getPositions(['{member}'])['{member}'])")
    box = page.locator("#graph canvas").bounding_box()
    page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
    page.wait_for_function("document.getElementById('details').innerText.startsWith('Person')", timeout=5000)
    # Filter: hide aid records, and the picture has fewer nodes.
    before = page.evaluate("window.explorer.shownNodes.length")
    page.uncheck("input[data-kind=AidRecord]")
    after = page.evaluate("window.explorer.shownNodes.length")
    assert after < before and page.evaluate("window.explorer.shownNodes.get().every((n) => n.kind !== 'AidRecord')")
    # A time window before everything in the file hides the dated nodes.
    page.check("input[data-kind=AidRecord]")
    page.fill("#to", "1990-01-01")
    page.click("#window")
    assert page.evaluate("window.explorer.shownNodes.length") < before
    assert page.outside == []  # type: ignore[attr-defined]


def test_expand_an_obligor_into_their_household(browser, site: dict) -> None:
    page = _open(browser, site, "caseworker")
    o = site["obligation"]
    _show(page, o["dependant_household"])
    masked = o["obligor"][:6] + "*" * 8 + o["obligor"][-4:]
    node = f"Person:{masked}"
    assert page.evaluate(f"window.explorer.nodes.get('{node}') !== null")
    assert page.evaluate(f"window.explorer.edges.get().some((e) => e.from === '{node}' && e.label === 'OBLIGED_TO_SUPPORT')")
    page.evaluate(f"window.explorer.expand('{node}')")
    page.wait_for_function(f"window.explorer.nodes.get('Household:{o['obligor_household']}') !== null", timeout=20000)


def test_a_charity_coordinator_sees_the_household_de_identified(browser, site: dict) -> None:
    household = site["charity_household"]
    assert household, "the generated prefecture has an unmatched need some charity can meet"
    staff = _open(browser, site, "caseworker")
    _show(staff, household)
    names = set(staff.evaluate("window.explorer.nodes.get().filter((n) => n.kind === 'Person').map((n) => n.label)"))
    coordinator = _open(browser, site, "charity")
    _show(coordinator, household)
    people = coordinator.evaluate("window.explorer.nodes.get().filter((n) => n.kind === 'Person')")
    assert people and all(p["id"].startswith("Person:person-") for p in people)
    assert names.isdisjoint(p["label"] for p in people)  # names reduced to surname + initial
    assert all(p["label"].endswith(".") for p in people)
    assert "findings" not in coordinator.inner_text("#status")
    coordinator.screenshot(path=str(site["shots"] / "explorer-charity.png"))
