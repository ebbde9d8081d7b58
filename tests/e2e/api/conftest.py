"""An API over the two real cases (plus an open need a charity can meet), with a key for each role, on both engines."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.core.config import Settings
from api.core.security import ROUTE_ROLES, KeyRing, Role
from api.main import create_app
from bench.flood import serve_in_a_process  # noqa: F401 (the tests' way to run a real server)
from graph.national_id import is_valid_id_number
from graph.store import GraphStore
from ingest.loader import ingest_folder

#: The household, person and need the tests ask about: in 西塞山区 (420203).
HOUSEHOLD = "H-420203-0001"
OTHER_HOUSEHOLD = "H-420106-0001"
HEAD = "420203197506111710"
MINOR = "420203201307092421"  # 王小美, 10 years old in the reports
MINOR_NAME = "王小美"
OPEN_NEED = "N-4"
CHARITY_ORG = "R-C2"
CONSUMER_ROUTES = sorted(r for r, roles in ROUTE_ROLES.items() if Role.CONSUMER in roles)


@pytest.fixture
def api_fixture_dir(two_cases_dir: Path, tmp_path: Path) -> Path:
    """The two cases, plus an open psychological need in 西塞山区, a charity that serves it there and tutors who cannot."""
    folder = tmp_path / "fixture"
    shutil.copytree(two_cases_dir, folder)
    with (folder / "needs.csv").open("a", encoding="utf-8") as f:
        f.write(f"{OPEN_NEED},{HOUSEHOLD},{MINOR},psychological,needs_care,2024-01-10,open,anxiety after treatment\n")
    with (folder / "resources.csv").open("a", encoding="utf-8") as f:
        f.write(f"{CHARITY_ORG},黄石慈善会 charity,charity,psychological;medical,420203,5,20000,0.9,counselling,zh\n")
        f.write("R-C3,西塞山 tutoring volunteers,volunteer,schooling,420203,3,,0.8,tutoring,zh\n")
    return folder


@dataclass
class Api:
    client: TestClient  # httpx underneath
    keys: dict[str, str]  # role label -> token
    store: GraphStore
    app: object
    state_dir: Path

    def headers(self, who: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[who]} if who in self.keys else {}


def make_keys(ring: KeyRing) -> dict[str, str]:
    made = {
        "caseworker_in": ring.create(name="西塞山 caseworker", role=Role.CASEWORKER, region="420203", by="test"),
        "caseworker_out": ring.create(name="武昌 caseworker", role=Role.CASEWORKER, region="420106", by="test"),
        "auditor": ring.create(name="auditor", role=Role.AUDITOR, by="test"),
        "charity": ring.create(name="黄石慈善会 coordinator", role=Role.CHARITY, org=CHARITY_ORG, by="test"),
        "consumer_all": ring.create(name="medical insurance system", role=Role.CONSUMER, region="4202", routes=CONSUMER_ROUTES, by="test"),
        "consumer_one": ring.create(name="education system", role=Role.CONSUMER, region="4202", routes=["households.get"], by="test"),
        "admin": ring.create(name="admin", role=Role.ADMIN, by="test"),
    }
    return {label: k.token for label, k in made.items()}


# An ID number not masked: 17 digits and a check character (or a 15-digit legacy number), alone.
# (Only digits bound a run: a letter before or after hides nothing, as in "x420106...".)
_UNMASKED_ID = re.compile(r"(?<![0-9*])(\d{17}[\dXx]|\d{15})(?![0-9*])")
# A mobile number, or a run as long as a bank account, shown whole.
_UNMASKED_CONTACT = re.compile(r"(?<![0-9*])(1[3-9]\d{9}|\d{16,19})(?![0-9*])")


def unmasked_ids(text: str) -> list[str]:
    """Valid ID numbers shown in full in ``text`` (the scanner every API response goes through)."""
    return [m for m in _UNMASKED_ID.findall(text) if len(m) == 15 or is_valid_id_number(m.upper())]


def unmasked_contacts(text: str) -> list[str]:
    """Phones and bank accounts shown in full in ``text`` (scanned in every API response too)."""
    return [m for m in _UNMASKED_CONTACT.findall(text) if not (len(m) == 18 and is_valid_id_number(m))]


def _scan(response: httpx.Response) -> None:
    response.read()
    leaked = unmasked_ids(response.text)
    if "javascript" not in response.headers.get("content-type", ""):  # a vendored script's constants (2**53 - 1) are no data
        leaked += unmasked_contacts(response.text)
    assert not leaked, f"{response.request.method} {response.request.url} answered unmasked identifiers {leaked}"


def open_api(store: GraphStore, state_dir: Path, **settings: object) -> tuple[TestClient, dict[str, str]]:
    """A client whose every response is scanned: any unmasked ID number fails the test that asked."""
    app = create_app(store, settings=Settings(state_dir=state_dir, **settings))
    client = TestClient(app, base_url="http://aidgraph.test/api/v1")
    client.event_hooks["response"].append(_scan)
    return client, make_keys(app.state.aidgraph.keys)


@pytest.fixture
def api(store: GraphStore, api_fixture_dir: Path, tmp_path: Path) -> Iterator[Api]:
    ingest_folder(store, api_fixture_dir)
    client, keys = open_api(store, tmp_path / "api-state")
    with client:
        yield Api(client=client, keys=keys, store=store, app=client.app, state_dir=tmp_path / "api-state")
