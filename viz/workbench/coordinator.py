"""The charity coordinator's pages (慈善/志愿组织): unmatched families its resources can meet, the
recommendations with their reasons, accept or decline; then the families the match lets it see.

Before a caseworker accepts the match, a family is de-identified (surname and initial, no ID, no
address): the API's rule. A caseworker accepts proposals from the same forms (its work queue).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.core.security import Role
from api.deps import Page, charity_org
from api.models import AcceptIn, DeclineIn
from api.routes import households, linkage
from graph.model import NodeKind
from viz.workbench.caseworker import api_call, as_of, with_names
from viz.workbench.web import N_, PREFIX, PageError, User, is_own_page, render, require_role, signed_in

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)
UserDep = Annotated[User, Depends(signed_in)]
PAGE = 20


async def _org(request: Request, user: User) -> dict:
    try:
        return await charity_org(request.app.state.aidgraph, user.caller)
    except Exception:
        raise PageError(403, N_("This key's organisation is not in the graph. Ask your administrator to check the key.")) from None


@router.get("/families", response_class=HTMLResponse)
async def families(request: Request, user: UserDep, page: int = 1) -> Response:
    require_role(user, Role.CHARITY)
    page = max(1, min(page, 100_000))
    day = as_of(request, user)
    org = await _org(request, user)
    unmatched = await api_call(
        request, user, "linkage.unmatched", linkage.list_unmatched_families, as_of=day, region=None, page=Page((page - 1) * PAGE, PAGE)
    )
    waiting = await with_names(
        request, await api_call(request, user, "linkage.proposals", linkage.list_proposals, region=None, page=Page(0, 50))
    )
    ctx = request.app.state.aidgraph
    decided = await ctx.runtime.read(
        lambda s: sorted(
            (
                d.props
                for d in s.iter_nodes(NodeKind.LINK_DECISION)
                if d.props.get("resource_id") == org["resource_id"] and d.props.get("decision") == "accepted"
            ),
            key=lambda d: d["decided_at"],
            reverse=True,
        )
    )
    matched = []
    for household_id in dict.fromkeys(d["household_id"] for d in decided[:20]):
        try:
            matched.append(await api_call(request, user, "households.get", households.get_household, household_id=household_id, as_of=None))
        except PageError:
            continue
    from viz.workbench.orders import open_orders

    return render(
        request,
        "families.html",
        day=day,
        org=org,
        orders=await open_orders(request, user),
        unmatched=unmatched,
        waiting=waiting,
        matched=matched,
        page=page,
        pages=max(1, -(-unmatched["count"] // PAGE)),
        first=(page - 1) * PAGE + 1,
    )


@router.get("/families/{household_id}", response_class=HTMLResponse)
async def family(request: Request, user: UserDep, household_id: Annotated[str, Path(max_length=64)]) -> Response:
    require_role(user, Role.CHARITY)
    day = as_of(request, user)
    org = await _org(request, user)
    view = await api_call(request, user, "households.get", households.get_household, household_id=household_id, as_of=None)
    advice = await api_call(
        request, user, "households.recommendations", households.get_recommendations, household_id=household_id, as_of=day, top=5
    )
    return render(request, "family.html", day=day, org=org, view=view, advice=advice)


async def _acting_for(request: Request, user: User, resource_id: str) -> str:
    """The resource a match decision is for: a coordinator's own organisation, whatever the form
    says; the one the caseworker chose."""
    require_role(user, Role.CHARITY, Role.CASEWORKER)
    return (await _org(request, user))["resource_id"] if user.caller.role is Role.CHARITY else resource_id


@router.post("/linkage/accept")
async def accept(
    request: Request,
    user: UserDep,
    need_id: Annotated[str, Form(max_length=64)],
    resource_id: Annotated[str, Form(max_length=64)] = "",
    back: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A coordinator's accept is a proposal for its own organisation; a caseworker's accepts the match."""
    resource_id = await _acting_for(request, user, resource_id)
    try:
        body = AcceptIn(need_id=need_id, resource_id=resource_id)
    except ValidationError:
        raise PageError(422, N_("Choose the need and the resource to match.")) from None
    decision = await api_call(request, user, "linkage.accept", linkage.accept_match, body=body)
    return RedirectResponse(_back(back, user) + f"?done={decision['decision']}", status_code=303)


@router.post("/linkage/decline")
async def decline(
    request: Request,
    user: UserDep,
    need_id: Annotated[str, Form(max_length=64)],
    reason: Annotated[str, Form(max_length=2000)] = "",
    resource_id: Annotated[str, Form(max_length=64)] = "",
    back: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    resource_id = await _acting_for(request, user, resource_id)
    try:
        body = DeclineIn(need_id=need_id, resource_id=resource_id, reason=reason)
    except ValidationError:
        raise PageError(422, N_("Write the reason for declining: it is kept with the decision.")) from None
    await api_call(request, user, "linkage.decline", linkage.decline_match, body=body)
    return RedirectResponse(_back(back, user) + "?done=declined", status_code=303)


def _back(back: str, user: User) -> str:
    """Where a form returns: a workbench page it names, else the user's start page."""
    if is_own_page(back) and "?" not in back:
        return back
    return PREFIX + ("/families" if user.caller.role is Role.CHARITY else "/queues")
