"""The policy engine's answers: a household's tier with its explanation, the warning push list, reviews due and exits."""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from api.core.errors import ERROR_RESPONSES
from api.core.security import Caller
from api.deps import (
    AsOf,
    Context,
    ContextDep,
    PageDep,
    RegionQuery,
    about_household,
    day_query,
    narrow_region,
    require,
    respond,
)
from policy.lists import PolicyLists, policy_lists
from policy.means_test import TierDecision, evaluate
from policy.reviews import ExitRow, ReviewRow
from policy.warnings import WarningRow

router = APIRouter(tags=["policy"], responses=ERROR_RESPONSES)


class WarningsPublic(BaseModel):
    as_of: str
    policy: str
    count: int
    offset: int
    limit: int
    data: list[WarningRow]


class ReviewsPublic(BaseModel):
    as_of: str
    policy: str
    count: int
    offset: int
    limit: int
    data: list[ReviewRow]
    exits: list[ExitRow]


async def policy_lists_on(ctx: Context, as_of: dt.date | None) -> PolicyLists:
    """The push list, reviews and exits of every household (obligations cross regions): evaluated
    part by part, the lists kept, not the evaluation; reused until a write or the cache time."""
    day = as_of or dt.date.today()
    return await ctx.runtime.cached(("policy lists", day), lambda s: policy_lists(s, ctx.policy, as_of=day))


@router.get("/households/{household_id}/tier", response_model=TierDecision)
async def get_tier(
    request: Request, ctx: ContextDep, caller: Annotated[Caller, Depends(require("households.tier"))], household_id: str, as_of: AsOf = None
) -> Any:
    """The household's tier (分层) by the server's policy, with the explanation: members, income items, obligors, thresholds."""

    return await about_household(
        request,
        ctx,
        caller,
        household_id,
        lambda store: next(iter(evaluate(store, ctx.policy, as_of=as_of, household_ids=[household_id]).households), None),
        as_of,
    )


def _within(rows: list[Any], scope: str | None, caller: Caller) -> list[Any]:
    """The rows whose household lies in region ``scope`` by the region tree (all of them if None)."""
    return [r for r in rows if caller.tree.contains(scope, r.region_code)]


@router.get("/warnings", response_model=WarningsPublic)
async def list_warnings(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("policy.warnings"))],
    page: PageDep,
    as_of: AsOf = None,
    region: RegionQuery = None,
) -> Any:
    """The early-warning push list within your region, hardest first."""
    scope = narrow_region(caller, region)
    lists = await policy_lists_on(ctx, as_of)
    rows = _within(lists.warnings, scope, caller)
    shown = await respond(request, ctx, caller, [r.model_dump(mode="json") for r in page.of(rows)])
    return page.answer(len(rows), shown, as_of=lists.as_of, policy=lists.policy)


@router.get("/reviews", response_model=ReviewsPublic)
async def list_reviews(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("policy.reviews"))],
    page: PageDep,
    as_of: AsOf = None,
    due_before: day_query("Only reviews due before this day.") = None,
    region: RegionQuery = None,
) -> Any:
    """Reviews due by the cadence rules, soonest first, and the households leaving (gradual exit), within your region."""
    scope = narrow_region(caller, region)
    lists = await policy_lists_on(ctx, as_of)
    due = _within(lists.reviews_before(due_before), scope, caller)
    exits = _within(lists.exits, scope, caller)
    rows = [r.model_dump(mode="json") for r in page.of(due)]
    shown = await respond(request, ctx, caller, {"data": rows, "exits": [e.model_dump(mode="json") for e in exits]})
    return page.answer(len(due), shown["data"], as_of=lists.as_of, policy=lists.policy, exits=shown["exits"])
