"""The identity-resolution queue: department references that matched nobody."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from api.core.errors import ERROR_RESPONSES, ApiError
from api.core.security import Caller
from api.deps import ContextDep, PageDep, not_found, require, respond
from api.models import NOT_BLANK, UnresolvedPublic
from graph.model import IdentityReview, NodeKind
from ingest.identity import decide, pending_reviews
from queries.unlinked import unlinked_references

router = APIRouter(prefix="/identity", tags=["identity"], responses=ERROR_RESPONSES)


@router.get("/unresolved", response_model=UnresolvedPublic)
async def list_unresolved(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("identity.unresolved"))],
    page: PageDep,
) -> Any:
    """Aid records and incomes whose person or household reference matched nobody, as the department sent them.

    Not region-scoped: an unmatched reference has no household yet, so only auditors (and
    consumers given this route) see the queue.
    """

    def listed(store: Any) -> tuple[int, list[dict[str, Any]]]:
        unlinked = unlinked_references(store)
        refs = [(NodeKind.AID_RECORD, k) for k in unlinked.aid_records] + [(NodeKind.INCOME, k) for k in unlinked.incomes]
        chosen = page.of(refs)
        records = store.get_nodes(NodeKind.AID_RECORD, [k for kind, k in chosen if kind is NodeKind.AID_RECORD])
        incomes = store.get_nodes(NodeKind.INCOME, [k for kind, k in chosen if kind is NodeKind.INCOME])
        rows = [
            {"kind": kind.value, "key": k, "props": (records if kind is NodeKind.AID_RECORD else incomes).get(k, {})} for kind, k in chosen
        ]
        return len(refs), rows

    total, rows = await ctx.runtime.read(listed)
    shown = await respond(request, ctx, caller, rows)
    return page.answer(total, shown)


class ReviewsPublic(BaseModel):
    count: int
    offset: int
    limit: int
    data: list[IdentityReview]


class DecisionIn(BaseModel):
    reason: str | None = Field(None, max_length=2000, pattern=NOT_BLANK, description="Why (not only spaces).")


@router.get("/reviews", response_model=ReviewsPublic)
async def list_reviews(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("identity.reviews"))],
    page: PageDep,
) -> Any:
    """Pairs identity resolution was unsure of, surest first, waiting for a decision."""
    rows = await ctx.runtime.read(pending_reviews)
    shown = await respond(request, ctx, caller, page.of(rows))
    return page.answer(len(rows), shown)


async def _decide(request: Request, ctx: Any, caller: Caller, review_id: str, status: str, body: DecisionIn) -> Any:
    request.state.audit_others = {review_id}
    try:
        decided = await ctx.runtime.write(
            lambda s: decide(s, review_id, status=status, by=f"{caller.name} ({caller.key_id})", reason=body.reason)
        )
    except KeyError:
        raise not_found(f"identity review {review_id}") from None
    except ValueError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return await respond(request, ctx, caller, decided)


@router.post("/reviews/{review_id}/confirm", response_model=IdentityReview)
async def confirm_review(
    request: Request, ctx: ContextDep, caller: Annotated[Caller, Depends(require("identity.decide"))], review_id: str, body: DecisionIn
) -> Any:
    """The record is this person: linked now, never asked again."""
    return await _decide(request, ctx, caller, review_id, "confirmed", body)


@router.post("/reviews/{review_id}/reject", response_model=IdentityReview)
async def reject_review(
    request: Request, ctx: ContextDep, caller: Annotated[Caller, Depends(require("identity.decide"))], review_id: str, body: DecisionIn
) -> Any:
    """The record is not this person: never linked, never asked again."""
    return await _decide(request, ctx, caller, review_id, "rejected", body)
