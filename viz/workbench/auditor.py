"""The auditor's pages (审计/纪检): findings filtered and sorted, one finding as a picture, confirm or
dismiss with a reason, exports of the current filter, the HTML audit report."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.core.security import Role, may_call
from api.deps import narrow_region, respond
from api.models import MarkIn
from api.routes import findings as finding_routes
from graph.model import NodeKind
from policy.audit import AuditFinding, finding_in_region, summarize
from viz.export import FINDING_COLUMNS, SUMMARY_COLUMNS, audit_report_html, audit_xlsx, findings_csv
from viz.workbench.caseworker import api_call, as_of
from viz.workbench.graphs import finding_graph, legend
from viz.workbench.web import N_, PREFIX, PageError, User, render, require_role, signed_in, status_text

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)
UserDep = Annotated[User, Depends(signed_in)]
PAGE = 25
Sort = Literal["amount", "kind", "county", "status"]


class Filters:
    """The list's filter, from the query string; every value checked."""

    def __init__(
        self,
        kind: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]*$")] = None,
        county: Annotated[str | None, Query(pattern=r"^(\d{6})?$")] = None,
        status: Annotated[Literal["", "open", "confirmed", "dismissed"] | None, Query()] = None,
        min_amount: Annotated[str | None, Query(max_length=16, pattern=r"^(\d{1,12}(\.\d{1,2})?)?$")] = None,
        sort: Annotated[Sort, Query()] = "amount",
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    ):
        self.kind, self.county, self.status, self.sort, self.page = kind or None, county or None, status or None, sort, page
        self.min_amount = float(min_amount) if min_amount else None  # an empty box sends ""

    def query(self, **changes: Any) -> dict[str, Any]:
        values = {"kind": self.kind, "county": self.county, "status": self.status, "min_amount": self.min_amount, "sort": self.sort}
        return {**values, **changes}


def _status(f: AuditFinding) -> str:
    return (f.mark or {}).get("status", "open")


async def _filtered(request: Request, user: User, day: dt.date, flt: Filters) -> tuple[list[AuditFinding], list[AuditFinding], Any]:
    """(the findings the filter keeps, sorted; every finding in the user's scope; the report)."""
    if not may_call(user.caller, "findings.list"):
        raise PageError(403, status_text(403))
    ctx = request.app.state.aidgraph
    caller = user.caller
    scope = narrow_region(caller, flt.county) if flt.county else caller.region
    report = await finding_routes._report(ctx, day)
    in_scope = [f for f in report.findings if finding_in_region(f, caller.region, caller.tree)]
    kept = [
        f
        for f in in_scope
        if finding_in_region(f, scope, caller.tree)
        and (flt.kind is None or f.kind == flt.kind)
        and (flt.status is None or _status(f) == flt.status)
        and (flt.min_amount is None or f.amount_at_stake >= flt.min_amount)
    ]
    keys = {
        "amount": lambda f: (-f.amount_at_stake, f.id),
        "kind": lambda f: (f.kind, -f.amount_at_stake, f.id),
        "county": lambda f: ((f.region_code or "")[:6], -f.amount_at_stake, f.id),
        "status": lambda f: (_status(f), -f.amount_at_stake, f.id),
    }
    return sorted(kept, key=keys[flt.sort]), in_scope, report


@router.get("/findings", response_class=HTMLResponse)
async def findings_list(request: Request, user: UserDep, flt: Annotated[Filters, Depends()]) -> Response:
    require_role(user, Role.AUDITOR, Role.CASEWORKER)
    day = as_of(request, user)
    kept, in_scope, _ = await _filtered(request, user, day, flt)
    start = (flt.page - 1) * PAGE
    page = await respond(request, request.app.state.aidgraph, user.caller, [f.model_dump(mode="json") for f in kept[start : start + PAGE]])
    counties = sorted({(f.region_code or "")[:6] for f in in_scope if f.region_code})
    kinds = sorted({f.kind for f in in_scope})
    return render(
        request,
        "findings.html",
        day=day,
        flt=flt,
        page=page,
        count=len(kept),
        first=start + 1,
        pages=max(1, -(-len(kept) // PAGE)),
        counties=counties,
        kinds=kinds,
        total=sum(f.amount_at_stake for f in kept),
        summary=summarize(kept),
    )


@router.get("/findings/export.{fmt}")
async def findings_export(request: Request, user: UserDep, fmt: Literal["csv", "xlsx"], flt: Annotated[Filters, Depends()]) -> Response:
    """The current filter as CSV or Excel (masked as the page is)."""
    require_role(user, Role.AUDITOR, Role.CASEWORKER)
    day = as_of(request, user)
    kept, _, _ = await _filtered(request, user, day, flt)
    shown = await respond(request, request.app.state.aidgraph, user.caller, [f.model_dump(mode="json") for f in kept])
    headers = {c: user.lang.term("column", c) for c in (*FINDING_COLUMNS, *SUMMARY_COLUMNS, "summary", "findings", "generic identifiers")}
    name = f"aidgraph-findings-{day.isoformat()}.{fmt}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    if fmt == "csv":
        return Response("\ufeff" + findings_csv(shown, headers), media_type="text/csv; charset=utf-8", headers=disposition)
    data = {"summary": [r.model_dump() for r in summarize(kept)], "findings": shown, "generic_identifiers": []}
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(audit_xlsx(data, headers), media_type=media, headers=disposition)


@router.get("/findings/report.html", response_class=HTMLResponse)
async def findings_report(request: Request, user: UserDep) -> Response:
    """The HTML audit report of the user's region (charts and the findings table)."""
    require_role(user, Role.AUDITOR)
    day = as_of(request, user)
    kept, _, report = await _filtered(request, user, day, Filters())
    shown = await respond(request, request.app.state.aidgraph, user.caller, [f.model_dump(mode="json") for f in kept])
    data = {"as_of": report.as_of, "region": user.caller.region, "findings": shown, "summary": [r.model_dump() for r in summarize(kept)]}
    ctx = request.app.state.aidgraph
    page = await ctx.runtime.read(
        lambda s: audit_report_html(s, data, day, user.caller.region, ctx.policy), _timeout=ctx.settings.whole_graph_timeout_s
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@router.get("/findings/{finding_id}", response_class=HTMLResponse)
async def finding_page(request: Request, user: UserDep, finding_id: Annotated[str, Path(max_length=80)]) -> Response:
    require_role(user, Role.AUDITOR, Role.CASEWORKER)
    day = as_of(request, user)
    finding = await api_call(request, user, "findings.get", finding_routes.get_finding, finding_id=finding_id, as_of=day)
    ctx = request.app.state.aidgraph
    history = await ctx.runtime.read(lambda s: s.history(NodeKind.FINDING_MARK, finding_id))
    # The mark now, then the ones it replaced (each change keeps the mark before it), newest first.
    earlier = [h["before"] for h in reversed(history) if h.get("before")]
    marks = await respond(request, ctx, user.caller, [m for m in [finding.get("mark"), *earlier] if m])
    graph = finding_graph(finding, user.lang)
    return render(
        request,
        "finding.html",
        day=day,
        f=finding,
        marks=marks,
        graph=graph,
        legend=legend(user.lang),
        may_mark=may_call(user.caller, "findings.mark"),
    )


@router.post("/findings/{finding_id}/mark")
async def mark(
    request: Request,
    user: UserDep,
    finding_id: Annotated[str, Path(max_length=80)],
    status: Annotated[Literal["confirmed", "dismissed"], Form()],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Confirm or dismiss with a reason; the earlier marks stay in the history shown below."""
    require_role(user, Role.AUDITOR)
    try:
        body = MarkIn(reason=reason)
    except ValidationError:
        raise PageError(422, N_("Write the reason for your decision: it is kept with the mark.")) from None
    decision = next(d for d, marked in finding_routes.MARKED.items() if marked == status)
    day = as_of(request, user)
    await api_call(request, user, "findings.mark", finding_routes.mark, finding_id=finding_id, decision=decision, body=body, as_of=day)
    return RedirectResponse(f"{PREFIX}/findings/{finding_id}?marked={status}", status_code=303)
