"""API keys, for admins: list, create (the token is shown once), revoke."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from api.core.errors import ERROR_RESPONSES, ApiError
from api.core.security import Caller
from api.deps import ContextDep, not_found, require
from api.models import KeyCreate, KeyCreated, KeyPublic, KeysPublic

router = APIRouter(prefix="/keys", tags=["keys"], responses=ERROR_RESPONSES)


@router.get("", response_model=KeysPublic)
async def list_keys(ctx: ContextDep, caller: Annotated[Caller, Depends(require("keys.list"))]) -> Any:
    """Every key with its role and scope, never its secret or hash."""
    keys = ctx.keys.list()
    return {"data": keys, "count": len(keys)}


@router.post("", response_model=KeyCreated, status_code=201)
async def create_key(request: Request, ctx: ContextDep, caller: Annotated[Caller, Depends(require("keys.create"))], body: KeyCreate) -> Any:
    """Make a key; its token is in this answer only."""
    try:
        made = ctx.keys.create(by=f"{caller.name} ({caller.key_id})", **body.model_dump())  # type: ignore[attr-defined]
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from None
    request.state.audit_others = {f"key:{made.key_id}"}
    return {"key_id": made.key_id, "token": made.token}


@router.delete("/{key_id}", response_model=KeyPublic)
async def revoke_key(request: Request, ctx: ContextDep, caller: Annotated[Caller, Depends(require("keys.revoke"))], key_id: str) -> Any:
    """Revoke a key at once."""
    request.state.audit_others = {f"key:{key_id}"}
    if not ctx.keys.revoke(key_id, by=f"{caller.name} ({caller.key_id})"):
        raise not_found(f"live key {key_id}")
    return next(k for k in ctx.keys.list() if k["key_id"] == key_id)
