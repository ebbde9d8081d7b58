"""Service assistance over HTTP: work orders, resources' evaluations and standing, referral records
and emergency applications (docs/services.md). Every write names the caller in the record's
history; every object is scoped by the region of the household it is about (a resource's by the
region it is based in; an application's by where it was made, never the hukou)."""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from actions.intake import check_application, decide_application, take_application
from actions.referrals import answer_referral, refer
from actions.resource_evaluations import evaluate_resource
from actions.work_orders import accept_order, complete_order, dispatch, return_order, visit_order
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
from api.models import (
    ApplicationIn,
    ApplicationsPublic,
    DecisionIn,
    DispatchIn,
    EvaluationIn,
    OrderStepIn,
    ReferralAnswerIn,
    ReferralIn,
    ReferralPublic,
    ReferralsPublic,
    StandingPublic,
    WorkOrderPublic,
    WorkOrdersPublic,
)
from graph.model import NodeKind, ResourceEvaluation
from queries.applications import applications
from queries.referrals import referrals
from queries.standing import resource_feedback, standing
from queries.work_orders import work_orders

router = APIRouter(tags=["services"], responses=ERROR_RESPONSES)


async def _write(ctx: Context, act: Any) -> Any:
    """Run a write; an unknown object is a 404, a refused step a 409 naming why."""
    try:
        return await ctx.runtime.write(act)
    except KeyError as exc:
        raise not_found(str(exc.args[0]).removeprefix("no ")) from None
    except ValueError as exc:
        raise ApiError(409, "conflict", str(exc)) from None


async def _household_region(ctx: Context, caller: Caller, household_id: str, what: str) -> str | None:
    household = await ctx.runtime.read(lambda s: s.get_node(NodeKind.HOUSEHOLD, household_id))
    if household is None:
        raise not_found(what)
    check_region(caller, household.get("region_code"), what)
    return household.get("region_code")


# --- work orders -------------------------------------------------------------------------------


@router.get("/work-orders", response_model=WorkOrdersPublic)
async def list_work_orders(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("orders.list"))],
    page: PageDep,
    household: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[Literal["dispatched", "accepted", "visited", "completed", "returned"] | None, Query()] = None,
    overdue: Annotated[bool, Query(description="Only orders still unanswered past their deadline: the work queue.")] = False,
    region: RegionQuery = None,
) -> Any:
    """Work orders in your region, soonest deadline first, with their visits; a coordinator sees its organisation's."""
    scope = narrow_region(caller, region)
    late = dt.datetime.now(dt.UTC).isoformat(timespec="seconds") if overdue else None
    rows = await ctx.runtime.read(lambda s: work_orders(s, household_id=household, state=state, overdue_at=late))
    if caller.role is Role.CHARITY:
        mine = (await charity_org(ctx, caller))["resource_id"]
        rows = [o for o in rows if o["resource_id"] == mine]
    elif scope is not None:
        rows = [o for o in rows if caller.tree.contains(scope, o["region_code"])]
    return page.answer(len(rows), await respond(request, ctx, caller, page.of(rows)))


@router.post("/work-orders", response_model=WorkOrderPublic, status_code=201)
async def dispatch_order(
    request: Request, ctx: ContextDep, caller: Annotated[Caller, Depends(require("orders.dispatch"))], body: DispatchIn
) -> Any:
    """Send a need of your region to a resource that can serve it now: due within its tag's response hours (409 if it cannot)."""
    need = await ctx.runtime.read(lambda s: s.get_node(NodeKind.NEED, body.need_id))
    if need is None:
        raise not_found(f"need {body.need_id}")
    await _household_region(ctx, caller, need["household_id"], f"need {body.need_id}")
    order = await _write(ctx, lambda s: dispatch(s, body.need_id, body.resource_id, by=acting(caller), catalogue=ctx.catalogue))
    return await respond(request, ctx, caller, order)


@router.post("/work-orders/{order_id}/{step}", response_model=WorkOrderPublic)
async def move_order(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("orders.step"))],
    order_id: Annotated[str, Path(max_length=80)],
    step: Literal["accept", "visit", "complete", "return"],
    body: OrderStepIn,
) -> Any:
    """Move an order on: accept; visit (``done``, ``hours``, ``on``); complete (``satisfaction``); return (``reason``).
    A coordinator moves its organisation's orders; a caseworker those of its region."""
    order = await ctx.runtime.read(lambda s: s.get_node(NodeKind.WORK_ORDER, order_id))
    if order is None:
        raise not_found(f"work order {order_id}")
    if caller.role is Role.CHARITY:
        if order["resource_id"] != (await charity_org(ctx, caller))["resource_id"]:
            raise not_found(f"work order {order_id}")
    else:
        await _household_region(ctx, caller, order["household_id"], f"work order {order_id}")
    by = acting(caller)
    needed = {"visit": ("done", "hours"), "complete": ("satisfaction",), "return": ("reason",)}.get(step, ())
    if missing := [f for f in needed if getattr(body, f) is None]:
        raise ApiError(422, "invalid_request", f"{step} needs {', '.join(missing)}")
    if step == "accept":
        await _write(ctx, lambda s: accept_order(s, order_id, by=by))
    elif step == "visit":
        on = body.on or dt.date.today()
        await _write(ctx, lambda s: visit_order(s, order_id, by=by, on=on, hours=body.hours, done=body.done))
    elif step == "complete":
        await _write(ctx, lambda s: complete_order(s, order_id, by=by, satisfaction=body.satisfaction))
    else:
        await _write(ctx, lambda s: return_order(s, order_id, by=by, reason=body.reason))
    [moved] = await ctx.runtime.read(lambda s: [o for o in work_orders(s, need_id=order["need_id"]) if o["order_id"] == order_id])
    return await respond(request, ctx, caller, moved)


# --- resources ---------------------------------------------------------------------------------


async def _resource(ctx: Context, caller: Caller, resource_id: str) -> dict[str, Any]:
    resource = await ctx.runtime.read(lambda s: s.get_node(NodeKind.RESOURCE, resource_id))
    if resource is None:
        raise not_found(f"resource {resource_id}")
    if caller.role is Role.CHARITY:
        if resource_id != (await charity_org(ctx, caller))["resource_id"]:
            raise not_found(f"resource {resource_id}")
    else:
        check_region(caller, resource.get("region_code"), f"resource {resource_id}")
    return resource


@router.post("/resources/{resource_id}/evaluations", response_model=ResourceEvaluation, status_code=201)
async def evaluate(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("resources.evaluate"))],
    resource_id: Annotated[str, Path(max_length=64)],
    body: EvaluationIn,
) -> Any:
    """Record a mid-term or final evaluation of a resource based in your region; under the threshold it is barred from that day."""
    await _resource(ctx, caller, resource_id)
    rules = ctx.catalogue.evaluation
    made = await _write(
        ctx,
        lambda s: evaluate_resource(
            s, resource_id, stage=body.stage, on=body.on, score=body.score, by=acting(caller), note=body.note, rules=rules
        ),
    )
    return await respond(request, ctx, caller, made)


@router.get("/resources/{resource_id}/standing", response_model=StandingPublic)
async def get_standing(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("resources.standing"))],
    resource_id: Annotated[str, Path(max_length=64)],
    as_of: AsOf = None,
) -> Any:
    """A resource's satisfaction on a day and where it comes from, whether it is barred and until when, its evaluations."""
    resource = await _resource(ctx, caller, resource_id)
    day = as_of or dt.date.today()
    feedback = await ctx.runtime.read(lambda s: resource_feedback(s, resource_id=resource_id).get(resource_id))
    found = standing(resource, feedback, day, ctx.catalogue.evaluation)
    body = {
        "resource_id": resource_id,
        "as_of": day.isoformat(),
        **found.model_dump(),
        "evaluations": (feedback or {}).get("evaluations", []),
    }
    return await respond(request, ctx, caller, body)


# --- referrals ---------------------------------------------------------------------------------


@router.get("/referrals", response_model=ReferralsPublic)
async def list_referrals(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("referrals.list"))],
    page: PageDep,
    household: Annotated[str | None, Query(max_length=64)] = None,
    waiting: Annotated[bool, Query(description="Only steps still waiting (open, or answered with hardship remaining).")] = False,
    region: RegionQuery = None,
) -> Any:
    """Referral steps in your region, by household and in the order they were made."""
    scope = narrow_region(caller, region)
    states = ["open", "answered"] if waiting else None
    rows = await ctx.runtime.read(lambda s: referrals(s, household_id=household, states=states))
    if scope is not None:
        rows = [r for r in rows if caller.tree.contains(scope, r["region_code"])]
    return page.answer(len(rows), await respond(request, ctx, caller, page.of(rows)))


@router.post("/referrals", response_model=ReferralPublic, status_code=201)
async def send_referral(
    request: Request, ctx: ContextDep, caller: Annotated[Caller, Depends(require("referrals.send"))], body: ReferralIn
) -> Any:
    """Send a household's case of your region to a level; a step waiting below goes up with it (409 going down)."""
    await _household_region(ctx, caller, body.household_id, f"household {body.household_id}")
    step = await _write(
        ctx, lambda s: refer(s, body.household_id, level=body.level, by=acting(caller), reason=body.reason, need_id=body.need_id)
    )
    return await respond(request, ctx, caller, step)


@router.post("/referrals/{referral_id}/answer", response_model=ReferralPublic)
async def answer(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("referrals.answer"))],
    referral_id: Annotated[str, Path(max_length=80)],
    body: ReferralAnswerIn,
) -> Any:
    """The level's answer: resolved, or hardship remains (the step still goes up when the rules say so)."""
    step = await ctx.runtime.read(lambda s: s.get_node(NodeKind.REFERRAL, referral_id))
    if step is None:
        raise not_found(f"referral {referral_id}")
    await _household_region(ctx, caller, step["household_id"], f"referral {referral_id}")
    done = await _write(ctx, lambda s: answer_referral(s, referral_id, by=acting(caller), response=body.response, resolved=body.resolved))
    return await respond(request, ctx, caller, done)


# --- emergency applications --------------------------------------------------------------------


@router.post("/applications", response_model=dict[str, Any], status_code=201)
async def create_application(
    request: Request, ctx: ContextDep, caller: Annotated[Caller, Depends(require("applications.create"))], body: ApplicationIn
) -> Any:
    """Take an emergency application (急难) where the applicant is, whatever their hukou, and record the
    aid paid first (先行救助); the duplicate check and the means test wait on the queue. ``applied_in``
    must lie in your region; the applicant's hukou may be anywhere."""
    check_region(caller, body.applied_in, f"region {body.applied_in}")
    rules = ctx.catalogue.intake
    made = await _write(
        ctx,
        lambda s: take_application(
            s,
            applicant_id=body.applicant_id,
            applicant_name=body.applicant_name,
            applied_in=body.applied_in,
            reason=body.reason,
            amount=body.amount,
            by=acting(caller),
            rules=rules,
        ),
    )
    return await respond(request, ctx, caller, made)


@router.get("/applications", response_model=ApplicationsPublic)
async def list_applications(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("applications.list"))],
    page: PageDep,
    pending: Annotated[bool, Query(description="Only the queue: checks or the decision still to come.")] = False,
    household: Annotated[str | None, Query(max_length=64)] = None,
    region: RegionQuery = None,
) -> Any:
    """Emergency applications made in your region, oldest payment first."""
    scope = narrow_region(caller, region)
    states = ["paid_first", "checked"] if pending else None
    rows = await ctx.runtime.read(lambda s: applications(s, household_id=household, states=states))
    if scope is not None:
        rows = [a for a in rows if caller.tree.contains(scope, a["applied_in"])]
    return page.answer(len(rows), await respond(request, ctx, caller, page.of(rows)))


async def _application(ctx: Context, caller: Caller, application_id: str) -> None:
    found = await ctx.runtime.read(lambda s: s.get_node(NodeKind.APPLICATION, application_id))
    if found is None:
        raise not_found(f"application {application_id}")
    check_region(caller, found["applied_in"], f"application {application_id}")


@router.post("/applications/{application_id}/checks", response_model=dict[str, Any])
async def run_checks(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("applications.check"))],
    application_id: Annotated[str, Path(max_length=80)],
) -> Any:
    """The checks after help: emergency aid already paid (any county) and the household's means test."""
    await _application(ctx, caller, application_id)
    rules, policy = ctx.catalogue.intake, ctx.policy
    done = await _write(ctx, lambda s: check_application(s, application_id, by=acting(caller), policy=policy, rules=rules))
    return await respond(request, ctx, caller, done)


@router.post("/applications/{application_id}/decision", response_model=dict[str, Any])
async def decide(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("applications.decide"))],
    application_id: Annotated[str, Path(max_length=80)],
    body: DecisionIn,
) -> Any:
    """The outcome of a checked application: confirmed, enrol or recover (409 before the checks)."""
    await _application(ctx, caller, application_id)
    done = await _write(ctx, lambda s: decide_application(s, application_id, by=acting(caller), outcome=body.outcome, note=body.note))
    return await respond(request, ctx, caller, done)
