"""Work orders in the workbench (需求工单): a caseworker dispatches a need from the household file's
recommendations; a coordinator answers its organisation's orders, records visits, completes them
with the household's satisfaction or gives them back. The forms call the API's routes, with their
permissions, scope and history."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.core.security import Role
from api.deps import Page
from api.models import DispatchIn, OrderStepIn
from api.routes import services
from viz.workbench.caseworker import api_call
from viz.workbench.web import N_, PREFIX, PageError, User, is_own_page, require_role, signed_in

__all__ = ["open_orders", "router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)
UserDep = Annotated[User, Depends(signed_in)]


async def open_orders(request: Request, user: User, *, overdue: bool = False) -> dict:
    """The user's work orders (a coordinator's organisation's, a caseworker's region's), soonest deadline first."""
    return await api_call(
        request, user, "orders.list", services.list_work_orders, household=None, state=None, overdue=overdue, region=None, page=Page(0, 50)
    )


def _back(back: str, user: User, done: str) -> RedirectResponse:
    page = back if is_own_page(back) and "?" not in back else PREFIX + ("/families" if user.caller.role is Role.CHARITY else "/queues")
    return RedirectResponse(f"{page}?done={done}", status_code=303)


@router.post("/orders/dispatch")
async def dispatch(
    request: Request,
    user: UserDep,
    need_id: Annotated[str, Form(max_length=64)],
    resource_id: Annotated[str, Form(max_length=64)],
    back: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A caseworker sends a need of its region to a recommended resource as a work order."""
    require_role(user, Role.CASEWORKER)
    try:
        body = DispatchIn(need_id=need_id, resource_id=resource_id)
    except ValidationError:
        raise PageError(422, N_("Choose the need and the resource to match.")) from None
    await api_call(request, user, "orders.dispatch", services.dispatch_order, body=body)
    return _back(back, user, "dispatched")


@router.post("/orders/{order_id}/{step}")
async def move(
    request: Request,
    user: UserDep,
    order_id: Annotated[str, Path(max_length=80)],
    step: Literal["accept", "visit", "complete", "return"],
    done: Annotated[str, Form(max_length=2000)] = "",
    hours: Annotated[str, Form(max_length=10)] = "",
    satisfaction: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A step of an order: the coordinator's organisation's, or a caseworker's of its region."""
    require_role(user, Role.CHARITY, Role.CASEWORKER)
    try:
        body = OrderStepIn(
            done=done.strip() or None,
            hours=float(hours) if hours.strip() else None,
            on=dt.date.today() if step == "visit" else None,
            satisfaction=float(satisfaction) if satisfaction.strip() else None,
            reason=reason.strip() or None,
        )
    except (ValidationError, ValueError):
        raise PageError(
            422, N_("Fill in the form: what was done and the hours for a visit, a satisfaction from 0 to 1, or the reason.")
        ) from None
    await api_call(request, user, "orders.step", services.move_order, order_id=order_id, step=step, body=body)
    return _back(back, user, step)
