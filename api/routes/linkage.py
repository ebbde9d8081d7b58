"""Resource linkage: unmatched families, allocation, and accepting or declining a match."""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from actions.linkage import accept, decline, propose
from api.core.errors import ERROR_RESPONSES, ApiError
from api.core.security import Caller, Role
from api.deps import (
    AsOf,
    Context,
    ContextDep,
    PageDep,
    RegionQuery,
    acting,
    charity_org,
    check_region,
    narrow_region,
    not_found,
    require,
    respond,
)
from api.models import AcceptIn, AllocationPublic, DeclineIn, ProposalsPublic, UnmatchedPublic
from graph.model import LinkDecision, NodeKind
from queries.linkage import allocate, proposals, unmatched_families

router = APIRouter(tags=["linkage"], responses=ERROR_RESPONSES)


@router.get("/unmatched-families", response_model=UnmatchedPublic)
async def list_unmatched_families(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("linkage.unmatched"))],
    page: PageDep,
    as_of: AsOf = None,
    region: RegionQuery = None,
) -> Any:
    """Families with needs nobody serves, most urgent first; a coordinator sees those their organisation can meet."""
    scope = narrow_region(caller, region)
    day = as_of or dt.date.today()
    org = None
    if caller.role is Role.CHARITY:
        org = (await charity_org(ctx, caller))["resource_id"]
    families = await ctx.runtime.cached(("unmatched", day, org), lambda s: unmatched_families(s, as_of=day, org=org))
    found = [f for f in families if caller.tree.contains(scope, f.region_code)] if scope is not None else families
    rows = [f.model_dump(mode="json") for f in page.of(found)]
    shown = await respond(request, ctx, caller, rows, today=day, deidentified=caller.role is Role.CHARITY)
    return page.answer(len(found), shown, as_of=day.isoformat())


@router.get("/allocation", response_model=AllocationPublic)
async def get_allocation(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("linkage.allocation"))],
    as_of: AsOf = None,
    region: RegionQuery = None,
) -> Any:
    """Unserved needs assigned to resources at once (capacity-respecting, urgency-weighted); a proposal, not a decision.

    A coordinator sees only the assignments to their organisation.
    """
    scope = narrow_region(caller, region)
    day = as_of or dt.date.today()
    result = await ctx.runtime.cached(
        ("allocation", day, scope), lambda s: allocate(s, as_of=day, region=scope, rules=ctx.catalogue.evaluation)
    )
    data = result.model_dump(mode="json")
    if caller.role is Role.CHARITY:
        mine = (await charity_org(ctx, caller))["resource_id"]
        data["assignments"] = [a for a in data["assignments"] if a["resource_id"] == mine]
        data["greedy_assignments"] = [a for a in data["greedy_assignments"] if a["resource_id"] == mine]
        data["unmet"] = []
    shown = await respond(request, ctx, caller, data, today=day, deidentified=caller.role is Role.CHARITY)
    return {**shown, "as_of": day.isoformat()}


async def _need_in_scope(ctx: Context, caller: Caller, need_id: str, resource_id: str) -> dict[str, Any]:
    need = await ctx.runtime.read(lambda s: s.get_node(NodeKind.NEED, need_id))
    if need is None:
        raise not_found(f"need {need_id}")
    household = await ctx.runtime.read(lambda s: s.get_node(NodeKind.HOUSEHOLD, need["household_id"])) or {}
    check_region(caller, household.get("region_code"), f"need {need_id}")
    if caller.role is Role.CHARITY:
        org = await charity_org(ctx, caller)
        if resource_id != org["resource_id"]:
            raise not_found(f"resource {resource_id}")
        # A coordinator acts only on needs their organisation can meet, where it serves.
        if need["category"] not in org.get("categories", []) or not caller.tree.contains(org["region_code"], household.get("region_code")):
            raise not_found(f"need {need_id}")
    return need


@router.post("/linkage/accept", response_model=LinkDecision)
async def accept_match(
    request: Request, ctx: ContextDep, caller: Annotated[Caller, Depends(require("linkage.accept"))], body: AcceptIn
) -> Any:
    """Accept a match: the resource serves the need from today (409 if it cannot).

    A charity coordinator's accept is a proposal (``decision: proposed``): the family stays
    de-identified to the charity until a caseworker of the family's region accepts the same match.
    """
    await _need_in_scope(ctx, caller, body.need_id, body.resource_id)
    request.state.audit_others = {body.need_id, body.resource_id}
    act = propose if caller.role is Role.CHARITY else accept
    try:
        decision = await ctx.runtime.write(
            lambda s: act(s, body.need_id, body.resource_id, by=acting(caller), rules=ctx.catalogue.evaluation)
        )
    except KeyError as exc:
        raise not_found(str(exc.args[0]).removeprefix("no ")) from None
    except ValueError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return await respond(request, ctx, caller, decision)


@router.get("/linkage/proposals", response_model=ProposalsPublic)
async def list_proposals(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("linkage.proposals"))],
    page: PageDep,
    region: RegionQuery = None,
) -> Any:
    """Matches charities proposed, waiting for a caseworker of the family's region, oldest first.

    A coordinator sees its own organisation's proposals (de-identified).
    """
    scope = narrow_region(caller, region)
    org = (await charity_org(ctx, caller))["resource_id"] if caller.role is Role.CHARITY else None
    waiting = await ctx.runtime.read(lambda s: proposals(s, region=scope, resource_id=org))
    shown = await respond(request, ctx, caller, page.of(waiting), deidentified=caller.role is Role.CHARITY)
    return page.answer(len(waiting), shown)


@router.post("/linkage/decline", response_model=LinkDecision)
async def decline_match(
    request: Request, ctx: ContextDep, caller: Annotated[Caller, Depends(require("linkage.decline"))], body: DeclineIn
) -> Any:
    """Decline a match: that resource is not recommended again for that need."""
    await _need_in_scope(ctx, caller, body.need_id, body.resource_id)
    request.state.audit_others = {body.need_id, body.resource_id}
    try:
        decision = await ctx.runtime.write(lambda s: decline(s, body.need_id, body.resource_id, by=acting(caller), reason=body.reason))
    except KeyError as exc:
        raise not_found(str(exc.args[0]).removeprefix("no ")) from None
    return await respond(request, ctx, caller, decision)
