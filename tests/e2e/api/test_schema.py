"""schemathesis against the OpenAPI schema, on both engines, with every check: no 5xx, no answer
outside the schema, no invalid request accepted (negative data), valid requests not refused.

The examples are bounded so the suite stays minutes long: each operation is called with a key of
a role that may use it, with valid and invalid data (``MAX_EXAMPLES`` each), so the calls reach
the routes' own code; and with every other role's key (``OTHER_ROLE_EXAMPLES``), so each role's
answers (403, 404, de-identified pages) are held to the schema too.
(schemathesis's own pytest plugin does not run under pytest 9 yet, so the operations are
parametrised here and each one's strategy is driven by hypothesis directly.)
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from api.core.config import Settings
from api.main import create_app
from graph.stores.ladybug import LadybugStore
from tests.e2e.api.conftest import Api

MAX_EXAMPLES = 25
OTHER_ROLE_EXAMPLES = 5
ROLES = ["caseworker_in", "caseworker_out", "auditor", "charity", "consumer_all", "admin"]


def _operations() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        paths = create_app(LadybugStore.in_memory(), settings=Settings(state_dir=Path(tmp))).openapi()["paths"]
    return sorted((method.upper(), path) for path, ops in paths.items() for method in ops)


def _caller(path: str) -> str:
    if path.startswith("/api/v1/keys") or path.startswith("/api/v1/ingest"):
        return "admin"
    if path.startswith("/api/v1/linkage"):
        return "caseworker_in"
    return "auditor"


def _run(api: Api, method: str, path: str, role: str, mode: GenerationMode, examples: int) -> None:
    # schemathesis's auth checks send many requests with wrong keys from one address: a flood by
    # design, which the server answers 429 past its limits (tested in test_flooding.py).
    api.app.state.aidgraph.settings.failed_per_minute = 1_000_000
    api.app.state.aidgraph.settings.key_failures_per_minute = 1_000_000
    api.app.state.aidgraph.settings.default_rate_per_minute = 1_000_000
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    operation = schema[path][method]
    headers = api.headers(role)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def call(case) -> None:
        case.call_and_validate(headers=headers)

    try:
        call()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        pytest.skip(f"{method} {path} takes no input that could be invalid")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("method,path", _operations(), ids=lambda v: v)
def test_api_conforms_to_its_schema(api: Api, method: str, path: str, mode: GenerationMode) -> None:
    _run(api, method, path, _caller(path), mode, MAX_EXAMPLES)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,path", _operations(), ids=lambda v: v)
def test_every_role_gets_answers_within_the_schema(api: Api, method: str, path: str, role: str) -> None:
    if role == _caller(path):
        pytest.skip("the role the operation is tested with above")
    _run(api, method, path, role, GenerationMode.POSITIVE, OTHER_ROLE_EXAMPLES)


def test_every_route_is_in_the_schema_so_schemathesis_reaches_it() -> None:
    from fastapi.routing import APIRoute

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(LadybugStore.in_memory(), settings=Settings(state_dir=Path(tmp)))
        routes = {(m, r.path) for r in app.routes if isinstance(r, APIRoute) for m in r.methods if m != "HEAD"}
    hidden = routes - set(_operations())
    assert not hidden, f"routes outside the OpenAPI schema (schemathesis would not test them): {sorted(hidden)}"
