"""The caseworker's pages (社工/救助干事): work queues, search, the household file (户档案) and its graph.

Auditors open household files too (from a finding); the API decides what each role sees.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from api.core.errors import ApiError
from api.core.security import Role, may_call
from api.deps import AS_OF_FIRST, Page, as_of_last, household_in_scope
from api.routes import findings, households, linkage, policy
from graph.model import NodeKind
from graph.privacy import mask_text
from policy.lists import PolicyLists
from queries.search import id_parts
from viz.style import FINDING_COLOUR
from viz.workbench.graphs import chain_graph, legend
from viz.workbench.web import N_, PREFIX, PageError, User, render, require_role, signed_in, status_text

__all__ = ["api_call", "as_of", "router", "with_names"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)
PAGE = 20
_HOUSEHOLD_ID = re.compile(r"^[A-Za-z]{1,4}-[\w-]{1,40}$")


async def api_call(request: Request, user: User, route: str, fn: Any, **kwargs: Any) -> Any:
    """An API route's answer for the signed-in user: the same permission, scope and masking."""
    if not may_call(user.caller, route):
        raise PageError(403, status_text(403))
    try:
        return await fn(request=request, ctx=request.app.state.aidgraph, caller=user.caller, **kwargs)
    except ApiError as exc:
        raise PageError(exc.status, status_text(exc.status)) from None


def as_of(request: Request, user: User) -> dt.date:
    """The working day: chosen with the date picker (kept in the session), else the server's
    ``workbench_day`` setting, else today."""
    text = request.query_params.get("as_of") or user.session.as_of
    if not text:
        return request.app.state.aidgraph.settings.workbench_day or dt.date.today()
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise PageError(422, N_("The date is not valid: choose a day with the date picker.")) from None
    if not AS_OF_FIRST <= day <= as_of_last():
        raise PageError(422, N_("The date is outside the range AidGraph answers for: choose a day from 1990 to five years ahead."))
    user.session.as_of = day.isoformat()
    return day


UserDep = Annotated[User, Depends(signed_in)]


@router.get("/queues", response_class=HTMLResponse)
async def queues(request: Request, user: UserDep) -> Response:
    require_role(user, Role.CASEWORKER, Role.AUDITOR)
    day = as_of(request, user)
    warnings = await api_call(request, user, "policy.warnings", policy.list_warnings, as_of=day, region=None, page=Page(0, PAGE))
    reviews = await api_call(
        request, user, "policy.reviews", policy.list_reviews, as_of=day, due_before=None, region=None, page=Page(0, PAGE)
    )
    waiting = await with_names(
        request, await api_call(request, user, "linkage.proposals", linkage.list_proposals, region=None, page=Page(0, PAGE))
    )
    unmatched = await api_call(
        request, user, "linkage.unmatched", linkage.list_unmatched_families, as_of=day, region=None, page=Page(0, PAGE)
    )
    from viz.workbench.casework import pending_applications
    from viz.workbench.orders import open_orders

    overdue = await open_orders(request, user, overdue=True)
    applications = await pending_applications(request, user)
    return render(
        request,
        "queues.html",
        day=day,
        warnings=warnings,
        reviews=reviews,
        waiting=waiting,
        unmatched=unmatched,
        overdue=overdue,
        applications=applications,
    )


async def with_names(request: Request, page: dict[str, Any]) -> dict[str, Any]:
    """Matches (rows with need_id and resource_id) with the need's category and the resource's name."""

    def names(store: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        rows = page["data"]
        return (
            store.get_nodes(NodeKind.NEED, {r["need_id"] for r in rows}),
            store.get_nodes(NodeKind.RESOURCE, {r["resource_id"] for r in rows}),
        )

    needs, resources = await request.app.state.aidgraph.runtime.read(names)
    for row in page["data"]:
        row["need_category"] = (needs.get(row["need_id"]) or {}).get("category")
        row["provider_name"] = (resources.get(row["resource_id"]) or {}).get("provider_name")
    return page


def _search_kind(q: str) -> str:
    if id_parts(q) is not None:
        return "id"
    if _HOUSEHOLD_ID.match(q):
        return "household"
    return "name"


@router.get("/search", response_class=HTMLResponse)
async def search(
    request: Request,
    user: UserDep,
    q: Annotated[str, Query(max_length=50)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Search by household id, name, full ID number, the masked ID as shown, or its last 4 to 6 digits."""
    require_role(user, Role.CASEWORKER, Role.AUDITOR)
    q = q.strip()
    template = "search_results.html" if request.headers.get("hx-request") else "search.html"
    if not q:
        return render(request, template, q=q, found=None, page=1, pages=0, kind="")
    kind = _search_kind(q)
    if kind == "household":
        try:
            await api_call(request, user, "households.get", households.get_household, household_id=q, as_of=None)
        except PageError:
            found = {"count": 0, "data": []}
        else:
            target = f"{PREFIX}/households/{q}"
            return Response(headers={"HX-Redirect": target}) if request.headers.get("hx-request") else RedirectResponse(target, 303)
    else:
        found = await api_call(
            request,
            user,
            "households.search",
            households.search_households,
            region=None,
            name=q if kind == "name" else None,
            id_number=q if kind == "id" else None,
            page=Page((page - 1) * PAGE, PAGE),
        )
    pages = max(1, -(-found["count"] // PAGE))
    # The page never shows a full ID number, the one typed either: it is echoed masked (and a
    # masked number searches as well as the full one).
    shown = mask_text(q)
    return render(request, template, q=shown, found=found, page=page, pages=pages, kind=kind, first=(page - 1) * PAGE + 1)


@router.get("/suggest", response_class=HTMLResponse)
async def suggest(request: Request, user: UserDep, q: Annotated[str, Query(max_length=20)] = "") -> Response:
    """Names as the caseworker types (two characters or more), within the key's region."""
    require_role(user, Role.CASEWORKER, Role.AUDITOR)
    q = q.strip()
    names: list[str] = []
    if len(q) >= 2 and _search_kind(q) == "name":
        found = await api_call(
            request, user, "households.search", households.search_households, region=None, name=q, id_number=None, page=Page(0, 10)
        )
        names = sorted({m["name"] for h in found["data"] for m in h["members"] if q.lower() in str(m.get("name", "")).lower()})[:10]
    return render(request, "suggest.html", names=names)


def _enrolments(timeline: list[dict[str, Any]], day: dt.date) -> tuple[list[dict[str, Any]], str, str]:
    """Monthly payment lines folded into one bar per enrolment (programme, beneficiary, department)."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for line in timeline:
        groups[(line.get("program") or "", line.get("beneficiary") or "", line.get("department") or "")].append(line)
    first = min((line["date"] for line in timeline), default=day.isoformat())
    last = day.isoformat()
    span = max(1, (dt.date.fromisoformat(last) - dt.date.fromisoformat(first)).days)
    bars = []
    for (program, beneficiary, department), lines in sorted(groups.items(), key=lambda kv: min(x["date"] for x in kv[1])):
        start = min(x["date"] for x in lines)
        ends = [x.get("end") for x in lines]
        end = (
            last
            if any(e is None for e in ends) and any(x.get("status") == "active" for x in lines)
            else max((e or x["date"] for e, x in zip(ends, lines, strict=True)), default=start)
        )
        end = min(end, last)
        left = (dt.date.fromisoformat(start) - dt.date.fromisoformat(first)).days / span * 100
        width = max(0.8, (dt.date.fromisoformat(end) - dt.date.fromisoformat(start)).days / span * 100)
        bars.append(
            {
                "program": program,
                "program_name": lines[0].get("program_name"),
                "department": department,
                "department_name": lines[0].get("department_name"),
                "beneficiary": beneficiary,
                "start": start,
                "end": end,
                "lines": len(lines),
                "total": sum(float(x.get("amount") or 0) for x in lines),
                "active": any(x.get("status") == "active" for x in lines),
                "left": round(min(left, 99.2), 2),
                "width": round(min(width, 100 - min(left, 99.2)), 2),
            }
        )
    return bars, first, last


@router.get("/households/{household_id}", response_class=HTMLResponse)
async def household_file(request: Request, user: UserDep, household_id: Annotated[str, Path(max_length=64)]) -> Response:
    """户档案: members, tier and why, aid timeline, obligations, referral, needs. The warnings and the
    findings, which need the whole prefecture's evaluation and audit (cached once computed), follow
    as their own fragments, so the file shows at once on a server that has not computed them yet."""
    require_role(user, Role.CASEWORKER, Role.AUDITOR)
    day = as_of(request, user)
    chain = await api_call(request, user, "households.chain", households.get_household_chain, household_id=household_id, as_of=day)
    tier = await _tier(request, user, household_id, day)
    advice = None
    if chain["unserved_needs"]:
        advice = await api_call(
            request, user, "households.recommendations", households.get_recommendations, household_id=household_id, as_of=day, top=3
        )
    bars, first, last = _enrolments(chain["timeline"], day)
    return render(
        request,
        "household.html",
        day=day,
        chain=chain,
        view=chain["view"],
        tier=tier,
        advice=advice,
        bars=bars,
        first=first,
        last=last,
        legend=legend(user.lang),
    )


async def _tier(request: Request, user: User, household_id: str, day: dt.date) -> dict[str, Any]:
    """The household's tier with its explanation, by the API's route for this household (the
    server keeps the prefecture's lists, not its whole evaluation)."""
    return await api_call(request, user, "households.tier", policy.get_tier, household_id=household_id, as_of=day)


class _Signals:
    """Each household's early warning, review due and gradual exit of one evaluation, by household."""

    def __init__(self, lists: PolicyLists):
        self.rows: list[Any] = []  # what the server's cache counts (api.core.limits.rows_of)
        self.by_household: dict[str, dict[str, Any]] = {}
        for kind, rows in (("warning", lists.warnings), ("review", lists.reviews), ("leaving", lists.exits)):
            for row in rows:
                self.rows.append(row)
                self.by_household.setdefault(row.household_id, {}).setdefault(kind, row)


async def _in_scope(request: Request, user: User, household_id: str) -> None:
    """The household's 404 if it is outside the user's region (a fragment says no more than the file)."""
    ctx = request.app.state.aidgraph
    try:
        await ctx.runtime.read(lambda store: household_in_scope(store, user.caller, household_id))
    except ApiError as exc:
        raise PageError(exc.status, status_text(exc.status)) from None


async def _findings_about(request: Request, user: User, household_id: str, day: dt.date) -> dict[str, Any]:
    await _in_scope(request, user, household_id)
    return await api_call(
        request,
        user,
        "findings.list",
        findings.list_findings,
        as_of=day,
        family=None,
        kind=None,
        region=None,
        status=None,
        household=household_id,
        page=Page(0, 100),
    )


@router.get("/households/{household_id}/warnings", response_class=HTMLResponse)
async def household_warnings(request: Request, user: UserDep, household_id: Annotated[str, Path(max_length=64)]) -> Response:
    """The household's early warning (rank and reasons), review due and gradual exit."""
    require_role(user, Role.CASEWORKER, Role.AUDITOR)
    day = as_of(request, user)
    await _in_scope(request, user, household_id)
    ctx = request.app.state.aidgraph
    lists = await policy.policy_lists_on(ctx, day)
    signals = await ctx.runtime.cached(("signals", day), lambda _: _Signals(lists))
    return render(request, "household_warnings.html", **signals.by_household.get(household_id, {}))


@router.get("/households/{household_id}/findings", response_class=HTMLResponse)
async def household_findings(request: Request, user: UserDep, household_id: Annotated[str, Path(max_length=64)]) -> Response:
    require_role(user, Role.CASEWORKER, Role.AUDITOR)
    return render(request, "household_findings.html", findings=await _findings_about(request, user, household_id, as_of(request, user)))


@router.get("/households/{household_id}/graph.json")
async def household_graph(request: Request, user: UserDep, household_id: Annotated[str, Path(max_length=64)]) -> Response:
    """The household's chain as vis-network data (payment lines folded per enrolment)."""
    require_role(user, Role.CASEWORKER, Role.AUDITOR)
    day = as_of(request, user)
    try:
        chain = await api_call(request, user, "households.chain", households.get_household_chain, household_id=household_id, as_of=day)
    except PageError as exc:
        return JSONResponse({"error": user.lang.gettext(exc.message)}, status_code=exc.status)
    return JSONResponse(chain_graph(chain, user.lang), headers={"Cache-Control": "no-store"})


@router.get("/households/{household_id}/flags.json")
async def household_flags(request: Request, user: UserDep, household_id: Annotated[str, Path(max_length=64)]) -> Response:
    """What the findings about the household name (households, persons, records, needs): the graph outlines them."""
    require_role(user, Role.CASEWORKER, Role.AUDITOR)
    try:
        about = await _findings_about(request, user, household_id, as_of(request, user))
    except PageError as exc:
        return JSONResponse({"error": user.lang.gettext(exc.message)}, status_code=exc.status)
    flagged = sorted({k for f in about["data"] for k in (*f["households"], *f["persons"], *f["records"], *f.get("needs", []))})
    return JSONResponse({"flagged": flagged, "colour": FINDING_COLOUR}, headers={"Cache-Control": "no-store"})
