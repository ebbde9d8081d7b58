"""Liveness and readiness, without a key: they say nothing about anybody."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.core.errors import ERROR_RESPONSES
from api.deps import ContextDep
from api.models import HealthPublic
from graph.model import NodeKind

router = APIRouter(tags=["health"], responses={503: ERROR_RESPONSES[503], 504: ERROR_RESPONSES[504]})


@router.get("/health", response_model=HealthPublic)
async def health() -> Any:
    """The server process answers."""
    return {"status": "ok"}


@router.get("/ready", response_model=HealthPublic)
async def ready(ctx: ContextDep) -> Any:
    """The store answers a query and the audit trail can be written: the server can serve."""
    try:
        await ctx.runtime.read(lambda s: s.existing_keys(NodeKind.REGION, ["-"]))
        ctx.audit_log.verify_writable()
    except Exception as exc:  # any failure is "not ready", with the reason in one line
        detail = " ".join(str(exc).split())[:300]
        return JSONResponse(status_code=503, content={"error": {"code": "unavailable", "message": f"not ready: {detail}"}})
    return {"status": "ready", "engine": ctx.runtime.store.engine}
