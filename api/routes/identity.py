"""The identity-resolution queue: department references that matched nobody."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from api.core.errors import ERROR_RESPONSES
from api.core.security import Caller
from api.deps import ContextDep, Limit, Offset, require, respond
from api.models import UnresolvedPublic
from graph.model import NodeKind

router = APIRouter(prefix="/identity", tags=["identity"], responses=ERROR_RESPONSES)


@router.get("/unresolved", response_model=UnresolvedPublic)
async def list_unresolved(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("identity.unresolved"))],
    offset: Offset = 0,
    limit: Limit = 50,
) -> Any:
    """Aid records and incomes whose person or household reference matched nobody, as the department sent them.

    Not region-scoped: an unmatched reference has no household yet, so only auditors (and
    consumers given this route) see the queue.
    """

    def page(store: Any) -> tuple[int, list[dict[str, Any]]]:
        unlinked = store.run("unlinked_references")
        refs = [(NodeKind.AID_RECORD, k) for k in unlinked.aid_records] + [(NodeKind.INCOME, k) for k in unlinked.incomes]
        chosen = refs[offset : offset + limit]
        records = store.get_nodes(NodeKind.AID_RECORD, [k for kind, k in chosen if kind is NodeKind.AID_RECORD])
        incomes = store.get_nodes(NodeKind.INCOME, [k for kind, k in chosen if kind is NodeKind.INCOME])
        rows = [
            {"kind": kind.value, "key": k, "props": (records if kind is NodeKind.AID_RECORD else incomes).get(k, {})} for kind, k in chosen
        ]
        return len(refs), rows

    total, rows = await ctx.runtime.read(page)
    shown = await respond(request, ctx, caller, rows)
    return {"count": total, "offset": offset, "limit": limit, "data": shown}
