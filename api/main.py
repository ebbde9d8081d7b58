"""The AidGraph HTTP API: ``create_app(store)`` builds it; ``aidgraph serve`` runs it on uvicorn.

Routes live under ``/api/v1``; OpenAPI at ``/docs`` and ``/openapi.json``. Every request under
``/api/v1`` (but health and readiness) is written to the audit trail before its answer leaves,
an internal error (500) too; if the trail cannot be written, the answer is a 503 instead.

What cannot flood the trail: a request line over the caps is refused (414) before the trail sees
it, and requests that fail without a valid key are limited per client address: past the limit
they are answered 429 and written at most once a minute per address. Every error message
leaves through :func:`graph.privacy.mask_text`, so an ID number in a URL never comes back.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.core.audit_log import AuditLog, AuditLogError, new_request_id
from api.core.config import Settings
from api.core.errors import ApiError
from api.core.limits import BodyLimit, RateLimiter, RequestGuard, refuse
from api.core.presenting import initial_name
from api.core.runtime import StoreRuntime
from api.core.security import KeyRing
from api.deps import Context
from api.routes import audit_log, findings, health, households, identity, ingest, keys, linkage, persons, policy, services
from graph.privacy import MaskingFilter, mask_text, mask_tree
from graph.store import GraphStore, StoreError
from policy.catalogue import load_catalogue
from policy.config import load_policy
from viz import workbench
from viz.workbench.web import error_page

__all__ = ["API_PREFIX", "create_app"]

_log = logging.getLogger("aidgraph.api")
_log.addFilter(MaskingFilter())  # the server log is an output too

API_PREFIX = "/api/v1"
_UNAUDITED = frozenset({f"{API_PREFIX}/health", f"{API_PREFIX}/ready"})
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    414: "uri_too_long",
}
#: Query parameters never written to the trail, whatever they hold (a key sent in the URL).
_SECRET_PARAMS = frozenset({"api_key", "apikey", "key", "token", "access_token", "x-api-key"})
_MAX_PARAM_CHARS = 200


def create_app(
    store: GraphStore, *, settings: Settings | None = None, key_ring: KeyRing | None = None, audit_trail: AuditLog | None = None
) -> FastAPI:
    """The app over an open store; keys and the audit trail default to files in ``settings.state_dir``."""
    settings = settings or Settings.from_env()
    state_dir = Path(settings.state_dir)
    staged = settings.staging_path()
    shutil.rmtree(staged, ignore_errors=True)  # what an upload cut short by a crash left
    staged.mkdir(parents=True, exist_ok=True)
    ctx = Context(
        settings=settings,
        runtime=StoreRuntime(
            store,
            query_timeout_s=settings.query_timeout_s,
            cache_ttl_s=settings.cache_ttl_s,
            whole_graph_timeout_s=settings.whole_graph_timeout_s,
            cache_entries=settings.cache_entries,
            cache_rows=settings.cache_rows,
        ),
        keys=key_ring or KeyRing(state_dir / "keys.sqlite"),
        audit_log=audit_trail or AuditLog(state_dir / "audit-log.sqlite"),
        limiter=RateLimiter(),
        policy=load_policy(settings.policy_file),
        catalogue=load_catalogue(settings.catalogue_file),
    )
    app = FastAPI(
        title="AidGraph",
        version="1",
        summary="Households, kin, programmes, aid, needs and resources of social assistance (社会救助) as one graph.",
        description=(
            "Every route needs an API key (`X-API-Key` or `Authorization: Bearer`); the key's role and region decide what "
            "it sees. ID numbers are masked to first 6 + last 4 at most, phones to 3 + 4; minors' details only reach "
            "caseworkers of their region. Every request is written to the audit trail."
        ),
    )
    app.state.aidgraph = ctx
    for module in (health, households, persons, findings, linkage, services, policy, identity, ingest, audit_log, keys):
        app.include_router(module.router, prefix=API_PREFIX)
    workbench.install(app)
    _add_error_handlers(app)
    app.add_middleware(AuditTrail, audit_log=ctx.audit_log, limiter=ctx.limiter, settings=settings)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, upload_bytes=settings.max_upload_bytes)
    app.add_middleware(RequestGuard, limiter=ctx.limiter, settings=settings)
    return app


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": mask_text(message)}}, headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        if workbench.is_page(request.url.path):
            return error_page(request, exc.status)
        return _error(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if workbench.is_page(request.url.path):
            return error_page(request, 422)
        problems = []
        for e in exc.errors()[:5]:
            where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
            problems.append(f"{where or 'request'}: {e.get('msg', 'invalid')}")
        return _error(422, "invalid_request", "; ".join(problems) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if workbench.is_page(request.url.path):
            return error_page(request, exc.status_code)
        return _error(exc.status_code, _HTTP_CODES.get(exc.status_code, "error"), str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError) -> JSONResponse:
        return _error(503, "unavailable", f"the store failed: {str(exc)[:300]}")

    @app.exception_handler(Exception)
    async def internal(_: Request, exc: Exception) -> JSONResponse:
        # No stack trace and no exception text: it could hold personal data.
        return _error(500, "internal", f"internal error ({type(exc).__name__}); it is in the server log")


class AuditTrail:
    """ASGI middleware: one audit entry per API request, written before the answer is sent.

    It wraps the error handling: an exception a route raises is answered 500 here, and written.
    A request that fails without a valid key spends a token of its client address; once the
    address has none left, such requests are answered 429 and written at most once a minute.
    """

    def __init__(self, app: Any, *, audit_log: AuditLog, limiter: RateLimiter, settings: Settings):
        self.app, self.audit_log, self.limiter, self.settings = app, audit_log, limiter, settings

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        audited = path.startswith(API_PREFIX + "/") or workbench.is_page(path)
        if scope["type"] != "http" or not audited or path.rstrip("/") in _UNAUDITED:
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        done = False  # the answer went out (or was replaced): nothing more of the route's is sent
        started = False

        async def answer(status: int, code: str, message: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
            nonlocal done
            done = True  # the route's own answer is dropped
            await refuse(send, status, code, message, headers)

        async def send_audited(message: dict[str, Any]) -> None:
            nonlocal started
            if done:
                return
            if message["type"] == "http.response.start":
                status = message["status"]
                write = True
                if status >= 400 and (scope.get("state") or {}).get("caller") is None:
                    client = (scope.get("client") or ("?",))[0]
                    if not self.limiter.allow(f"addr:{client}", per_minute=self.settings.failed_per_minute)[0]:
                        status = 429
                        write = self.limiter.allow(f"addr-logged:{client}", per_minute=1)[0]
                try:
                    if write:
                        await anyio.to_thread.run_sync(self._append, scope, status, request_id)
                except AuditLogError:
                    await answer(503, "unavailable", "the audit trail cannot be written; nothing is served unaudited")
                    return
                if status == 429 and message["status"] != 429:
                    await answer(
                        429, "rate_limited", "too many failed requests from this address; retry in a minute", [(b"retry-after", b"60")]
                    )
                    return
                started = True
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_audited)
        except Exception as exc:
            if started:
                raise
            # No stack trace and no exception text in the answer: it could hold personal data.
            _log.exception("internal error in %s %s (request %s)", scope["method"], _route_name(scope), request_id)
            await refuse(send_audited, 500, "internal", f"internal error ({type(exc).__name__}); it is in the server log")

    def _append(self, scope: dict[str, Any], status: int, request_id: str) -> None:
        state = scope.get("state") or {}
        caller = state.get("caller")
        path_params = dict(scope.get("path_params") or {})
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
        params: dict[str, Any] = {k[:40]: v[:_MAX_PARAM_CHARS] for k, v in query[:20] if k.lower() not in _SECRET_PARAMS}
        params.update({k: str(v)[:_MAX_PARAM_CHARS] for k, v in path_params.items()})
        if params.get("name"):
            params["name"] = initial_name(params["name"])
        households = {mask_text(h) for h in state.get("audit_households", ())}
        persons = set(state.get("audit_persons", ()))
        # The object asked for counts as a subject even when the answer was "not found".
        if "household_id" in path_params:
            households.add(mask_text(str(path_params["household_id"])[:_MAX_PARAM_CHARS]))
        if "id_number" in path_params:
            persons.add(str(path_params["id_number"]).upper()[:32])
        self.audit_log.append(
            key_id=getattr(caller, "key_id", None),
            key_name=getattr(caller, "name", None),
            role=getattr(getattr(caller, "role", None), "value", None),
            method=scope["method"][:16],
            route=state.get("action") or _route_name(scope),
            status=status,
            households=households,
            persons=persons,
            other_subjects=[str(o)[:_MAX_PARAM_CHARS] for o in state.get("audit_others", ())],
            params=mask_tree(params),
            request_id=request_id,
            regions=state.get("audit_regions", ()),
        )


def _route_name(scope: dict[str, Any]) -> str:
    """The route's template (``/api/v1/households/{household_id}``); never the raw path, which can
    hold anything a client typed."""
    route = scope.get("route")
    return getattr(route, "path", None) or "(no such route)"
