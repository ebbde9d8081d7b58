"""The AidGraph HTTP API: ``create_app(store)`` builds it; ``aidgraph serve`` runs it on uvicorn.

Routes live under ``/api/v1``; OpenAPI at ``/docs`` and ``/openapi.json``. Every request under
``/api/v1`` (but health and readiness) is written to the audit trail before its answer leaves;
if the trail cannot be written, the answer is a 503 instead.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.core.audit_log import AuditLog, AuditLogError
from api.core.config import Settings
from api.core.errors import ApiError
from api.core.limits import BodyLimit, RateLimiter
from api.core.presenting import initial_name
from api.core.runtime import StoreRuntime
from api.core.security import KeyRing
from api.deps import Context
from api.routes import audit_log, findings, health, households, identity, ingest, keys, linkage, persons, policy
from graph.privacy import mask_tree, mask_value
from graph.store import GraphStore, StoreError
from policy.config import load_policy
from viz import explorer

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"
_UNAUDITED = frozenset({f"{API_PREFIX}/health", f"{API_PREFIX}/ready"})
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


def create_app(
    store: GraphStore, *, settings: Settings | None = None, key_ring: KeyRing | None = None, audit_trail: AuditLog | None = None
) -> FastAPI:
    """The app over an open store; keys and the audit trail default to files in ``settings.state_dir``."""
    settings = settings or Settings.from_env()
    state_dir = Path(settings.state_dir)
    ctx = Context(
        settings=settings,
        runtime=StoreRuntime(
            store,
            query_timeout_s=settings.query_timeout_s,
            cache_ttl_s=settings.cache_ttl_s,
            whole_graph_timeout_s=settings.whole_graph_timeout_s,
        ),
        keys=key_ring or KeyRing(state_dir / "keys.sqlite"),
        audit_log=audit_trail or AuditLog(state_dir / "audit-log.sqlite"),
        limiter=RateLimiter(),
        policy=load_policy(settings.policy_file),
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
    for module in (health, households, persons, findings, linkage, policy, identity, ingest, audit_log, keys):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(explorer.router)
    _add_error_handlers(app)
    app.add_middleware(AuditTrail, audit_log=ctx.audit_log)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, upload_bytes=settings.max_upload_bytes)
    return app


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}}, headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for e in exc.errors()[:5]:
            where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
            problems.append(f"{where or 'request'}: {e.get('msg', 'invalid')}")
        return _error(422, "invalid_request", "; ".join(problems) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, _HTTP_CODES.get(exc.status_code, "error"), str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(StoreError)
    async def store_error(_: Request, exc: StoreError) -> JSONResponse:
        return _error(503, "unavailable", f"the store failed: {mask_value(None, str(exc))[:300]}")

    @app.exception_handler(Exception)
    async def internal(_: Request, exc: Exception) -> JSONResponse:
        # No stack trace and no exception text: it could hold personal data.
        return _error(500, "internal", f"internal error ({type(exc).__name__}); it is in the server log")


class AuditTrail:
    """ASGI middleware: one audit entry per API request, written before the answer is sent."""

    def __init__(self, app: Any, *, audit_log: AuditLog):
        self.app, self.audit_log = app, audit_log

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX + "/") or scope["path"].rstrip("/") in _UNAUDITED:
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        refused = False

        async def send_audited(message: dict[str, Any]) -> None:
            nonlocal refused
            if refused:
                return
            if message["type"] == "http.response.start":
                try:
                    await anyio.to_thread.run_sync(self._append, scope, message["status"], request_id)
                except AuditLogError:
                    refused = True
                    body = b'{"error":{"code":"unavailable","message":"the audit trail cannot be written; nothing is served unaudited"}}'
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 503,
                            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                        }
                    )
                    await send({"type": "http.response.body", "body": body})
                    return
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
            await send(message)

        await self.app(scope, receive, send_audited)

    def _append(self, scope: dict[str, Any], status: int, request_id: str) -> None:
        state = scope.get("state") or {}
        caller = state.get("caller")
        route = scope.get("route")
        path_params = dict(scope.get("path_params") or {})
        params: dict[str, Any] = {**dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))), **path_params}
        if params.get("name"):
            params["name"] = initial_name(params["name"])
        params["path"] = mask_value(None, scope["path"])
        households = set(state.get("audit_households", ()))
        persons = set(state.get("audit_persons", ()))
        # The object asked for counts as a subject even when the answer was "not found".
        if "household_id" in path_params:
            households.add(path_params["household_id"])
        if "id_number" in path_params:
            persons.add(str(path_params["id_number"]).upper())
        self.audit_log.append(
            key_id=getattr(caller, "key_id", None),
            key_name=getattr(caller, "name", None),
            role=getattr(getattr(caller, "role", None), "value", None),
            method=scope["method"],
            route=state.get("action") or getattr(route, "path", None) or scope["path"],
            status=status,
            households=households,
            persons=persons,
            other_subjects=state.get("audit_others", ()),
            params=mask_tree(params),
            request_id=request_id,
        )
