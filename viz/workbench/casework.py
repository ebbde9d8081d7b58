"""Casework in the workbench: a household's referral (转介: send its case up a level, answer a step)
from its file, and emergency intake (急难: apply anywhere, help first) with its queue of checks and
decisions on the work queues page. The forms call the API's routes, with their permissions, scope
and history; the applicant's ID number is shown masked, as the API answers it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.core.security import Role
from api.deps import Page
from api.models import ApplicationIn, DecisionIn, ReferralAnswerIn, ReferralIn
from api.routes import services
from viz.workbench.caseworker import api_call
from viz.workbench.web import N_, PREFIX, PageError, User, require_role, signed_in

__all__ = ["pending_applications", "router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)
UserDep = Annotated[User, Depends(signed_in)]


async def pending_applications(request: Request, user: User) -> dict:
    """Emergency applications of the caseworker's region whose checks or decision are still to come."""
    return await api_call(
        request, user, "applications.list", services.list_applications, pending=True, household=None, region=None, page=Page(0, 50)
    )


def _to_household(household_id: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/households/{household_id}?done={done}", status_code=303)


def _to_queues(done: str) -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/queues?done={done}", status_code=303)


@router.post("/referrals")
async def send(
    request: Request,
    user: UserDep,
    household_id: Annotated[str, Form(max_length=64)],
    level: Annotated[str, Form(max_length=40)],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Send the household's case to a level; a step waiting below goes up with it."""
    require_role(user, Role.CASEWORKER)
    try:
        body = ReferralIn(household_id=household_id, level=level, reason=reason)  # type: ignore[arg-type]
    except ValidationError:
        raise PageError(422, N_("Choose the level and write why the case goes there.")) from None
    await api_call(request, user, "referrals.send", services.send_referral, body=body)
    return _to_household(household_id, "referred")


@router.post("/referrals/{referral_id}/answer")
async def answer(
    request: Request,
    user: UserDep,
    referral_id: Annotated[str, Path(max_length=80)],
    household_id: Annotated[str, Form(max_length=64)],
    response: Annotated[str, Form(max_length=2000)] = "",
    resolved: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """The level's answer to the waiting step: resolved, or hardship remains."""
    require_role(user, Role.CASEWORKER)
    try:
        body = ReferralAnswerIn(response=response, resolved=resolved == "yes")
    except ValidationError:
        raise PageError(422, N_("Write what was done for the case.")) from None
    await api_call(request, user, "referrals.answer", services.answer, referral_id=referral_id, body=body)
    return _to_household(household_id, "answered")


@router.post("/applications")
async def intake(
    request: Request,
    user: UserDep,
    applicant_id: Annotated[str, Form(max_length=18)] = "",
    applicant_name: Annotated[str, Form(max_length=100)] = "",
    applied_in: Annotated[str, Form(max_length=12)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    amount: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Take an emergency application and record the aid paid first; the checks go on the queue."""
    require_role(user, Role.CASEWORKER)
    try:
        body = ApplicationIn(
            applicant_id=applicant_id.strip(),
            applicant_name=applicant_name,
            applied_in=applied_in.strip(),
            reason=reason,
            amount=float(amount),
        )
    except (ValidationError, ValueError):
        raise PageError(
            422,
            N_("Fill in the application: the ID number, the name, the region code where they apply, the emergency and the amount paid."),
        ) from None
    await api_call(request, user, "applications.create", services.create_application, body=body)
    return _to_queues("taken")


@router.post("/applications/{application_id}/{step}")
async def follow_up(
    request: Request,
    user: UserDep,
    application_id: Annotated[str, Path(max_length=80)],
    step: Literal["checks", "decision"],
    outcome: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Run the checks after help, or record the decision once they are done."""
    require_role(user, Role.CASEWORKER)
    if step == "checks":
        await api_call(request, user, "applications.check", services.run_checks, application_id=application_id)
        return _to_queues("checked")
    try:
        body = DecisionIn(outcome=outcome, note=note.strip() or None)  # type: ignore[arg-type]
    except ValidationError:
        raise PageError(422, N_("Choose the outcome.")) from None
    await api_call(request, user, "applications.decide", services.decide, application_id=application_id, body=body)
    return _to_queues("decided")
