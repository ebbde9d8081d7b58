"""Households: search, one household, its chain, and the resources recommended for its needs."""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from api.core.errors import ERROR_RESPONSES
from api.core.security import Caller, Role
from api.deps import (
    AsOf,
    ContextDep,
    Page,
    RegionQuery,
    about_household,
    charity_org,
    household_in_scope,
    narrow_region,
    not_found,
    paging,
    require,
    respond,
)
from api.models import HouseholdChain, HouseholdsPublic
from policy.groups import household_groups
from queries.applications import applications
from queries.household import HouseholdView, household_view
from queries.household_chain import as_of_day, household_chain
from queries.linkage import Recommendation, recommend, unmatched_families
from queries.referrals import referrals
from queries.regions import codes_within
from queries.search import household_search, id_parts
from queries.work_orders import work_orders

router = APIRouter(prefix="/households", tags=["households"], responses=ERROR_RESPONSES)


@router.get("", response_model=HouseholdsPublic)
async def search_households(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("households.search"))],
    page: Annotated[Page, Depends(paging(20))],
    region: RegionQuery = None,
    name: Annotated[str | None, Query(min_length=1, max_length=50, description="Part of a member's name.")] = None,
    id_number: Annotated[
        str | None,
        Query(
            min_length=4,
            max_length=18,
            pattern=r"^(\d{17}[\dXx]|\d{15}|\d{6}\*{4,12}\d{3}[\dXx]|\d{3,5}[\dXx])$",
            description="A member's ID number: in full, masked as AidGraph shows it (420504********4853), or its last 4 to 6 digits.",
        ),
    ] = None,
) -> Any:
    """Households by region, member name or member ID number, a page at a time, within your region."""
    scope = narrow_region(caller, region)
    full, prefix, suffix = id_parts(id_number) if id_number else (None, None, None)
    found = await ctx.runtime.read(
        lambda s: household_search(
            s,
            region_codes=codes_within(s, scope, caller.tree),
            member_name=name,
            id_number=full,
            id_prefix=prefix,
            id_suffix=suffix,
            offset=page.offset,
            limit=page.limit,
        )
    )
    data = [
        {"household": hit.household, "members": [{**m, "household_id": hit.household["household_id"]} for m in hit.members]}
        for hit in found.hits
    ]
    shown = await respond(request, ctx, caller, data)
    return page.answer(found.total, shown)


def _view_on(store: Any, household_id: str, day: dt.date) -> HouseholdView | None:
    view = household_view(store, household_id=household_id)
    return None if view is None else as_of_day(view, day)


@router.get("/{household_id}", response_model=HouseholdView)
async def get_household(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("households.get"))],
    household_id: str,
    as_of: AsOf = None,
) -> Any:
    """A household as it stood on ``as_of`` (default today): its members with their ages then,
    relatives, the incomes current then, the aid begun by then with the department that sent each
    record, needs and services (masked for your role).

    A charity coordinator sees a household only when it has a need their organisation can meet
    (de-identified), or once a match with their organisation is accepted (names in full).
    """
    await ctx.runtime.read(lambda store: household_in_scope(store, caller, household_id))
    day = as_of or dt.date.today()
    view = await ctx.runtime.read(lambda s: _view_on(s, household_id, day))
    if view is None:
        raise not_found(f"household {household_id}")
    deidentified = False
    if caller.role is Role.CHARITY:
        matched = any((s.resource or {}).get("resource_id") == caller.org for s in view.services)
        if not matched:
            org = (await charity_org(ctx, caller))["resource_id"]
            day = dt.date.today()
            families = await ctx.runtime.cached(("unmatched", day, org), lambda s: unmatched_families(s, as_of=day, org=org))
            if not any(f.household_id == household_id for f in families):
                raise not_found(f"household {household_id}")
            deidentified = True
    return await respond(request, ctx, caller, view.model_dump(mode="json"), deidentified=deidentified)


@router.get("/{household_id}/chain", response_model=HouseholdChain)
async def get_household_chain(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("households.chain"))],
    household_id: str,
    as_of: AsOf = None,
) -> Any:
    """The "one household + N resources" chain: obligors, aid timeline, subgraph, the service groups
    the household belongs to on ``as_of`` with the members each rests on, its referral path as
    recorded (``referral_level`` is only the level the household's needs suggest), its work orders
    and its emergency applications with their outcome."""

    def chain_with_groups(store: Any) -> HouseholdChain | None:
        chain = household_chain(store, household_id, as_of=as_of)
        if chain is None:
            return None
        return HouseholdChain(
            **dict(chain),
            groups=household_groups(chain.view, ctx.catalogue, as_of=as_of),
            referrals=referrals(store, household_id=household_id),
            work_orders=work_orders(store, household_id=household_id),
            applications=applications(store, household_id=household_id),
        )

    shown = await about_household(request, ctx, caller, household_id, chain_with_groups, as_of)
    # A group shows only the members the caller sees in full: a minor hidden from this role (an
    # auditor's, another region's) would otherwise show through the group it belongs to (大病患者).
    hidden = {m["person"]["id_number"] for m in shown["view"]["members"] if m["person"].get("minor")}
    groups = [{**g, "persons": [p for p in g["persons"] if p not in hidden]} for g in shown["groups"]]
    return {**shown, "groups": [g for g in groups if g["persons"]]}


@router.get("/{household_id}/recommendations", response_model=Recommendation)
async def get_recommendations(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("households.recommendations"))],
    household_id: str,
    as_of: AsOf = None,
    top: Annotated[int, Query(ge=1, le=20, description="Candidates per need.")] = 3,
) -> Any:
    """Ranked resources for each unserved need of the household, with the reasons.
    A charity coordinator asks only about a family on its unmatched list, and sees only the needs
    its organisation can meet, the family de-identified.
    """
    if caller.role is not Role.CHARITY:
        return await about_household(
            request,
            ctx,
            caller,
            household_id,
            lambda store: recommend(store, household_id, as_of=as_of, top=top, rules=ctx.catalogue.evaluation),
            as_of,
        )
    org = await charity_org(ctx, caller)
    day = dt.date.today()
    families = await ctx.runtime.cached(
        ("unmatched", day, org["resource_id"]), lambda s: unmatched_families(s, as_of=day, org=org["resource_id"])
    )
    if not any(f.household_id == household_id for f in families):
        raise not_found(f"household {household_id}")
    found = await ctx.runtime.read(lambda store: recommend(store, household_id, as_of=as_of, top=top, rules=ctx.catalogue.evaluation))
    data = found.model_dump(mode="json")
    data["needs"] = [n for n in data["needs"] if n["category"] in org.get("categories", [])]
    return await respond(request, ctx, caller, data, deidentified=True)
