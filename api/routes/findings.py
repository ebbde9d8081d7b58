"""Duplicate-aid and missed-aid findings, with confirm and dismiss for auditors."""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from actions.marks import mark_finding
from api.core.errors import ERROR_RESPONSES
from api.core.security import Caller
from api.deps import AsOf, Context, ContextDep, PageDep, RegionQuery, narrow_region, not_found, require, respond
from api.models import FindingsPublic, MarkIn
from graph.model import FindingMark
from policy.audit import AuditFinding, AuditReport, audit, finding_in_region, summarize

router = APIRouter(prefix="/findings", tags=["findings"], responses=ERROR_RESPONSES)

#: The status a decision in the path gives the finding.
MARKED = {"confirm": "confirmed", "dismiss": "dismissed"}


async def _report(ctx: Context, as_of: dt.date | None) -> AuditReport:
    day = as_of or dt.date.today()
    # The whole audit takes seconds at 100k households: reused until a write or the cache time.
    return await ctx.runtime.cached(
        ("audit", day), lambda s: audit(s, as_of=day, policy=ctx.policy, standing_rules=ctx.catalogue.evaluation)
    )


@router.get("", response_model=FindingsPublic)
async def list_findings(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("findings.list"))],
    page: PageDep,
    as_of: AsOf = None,
    family: Annotated[Literal["duplicate_aid", "missed_aid", "service"] | None, Query()] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    region: RegionQuery = None,
    status: Annotated[Literal["open", "confirmed", "dismissed"] | None, Query(description="open: not yet marked.")] = None,
    household: Annotated[str | None, Query(max_length=64, description="Only findings about this household.")] = None,
) -> Any:
    """Findings within your region, filtered, a page at a time; the summary counts all of them."""
    scope = narrow_region(caller, region)
    report = await _report(ctx, as_of)

    def keep(f: AuditFinding) -> bool:
        marked = (f.mark or {}).get("status", "open")
        return (
            finding_in_region(f, scope, caller.tree)
            and (family is None or f.family == family)
            and (kind is None or f.kind == kind)
            and (status is None or marked == status)
            and (household is None or household in f.households)
        )

    found = [f for f in report.findings if keep(f)]
    scoped = [f for f in report.findings if finding_in_region(f, scope)]
    rows = [f.model_dump(mode="json") for f in page.of(found)]
    shown = await respond(request, ctx, caller, rows, today=as_of)
    request.state.audit_others = {f["id"] for f in rows}
    return page.answer(len(found), shown, as_of=report.as_of, summary=[r.model_dump() for r in summarize(scoped)])


async def _finding_in_scope(ctx: Context, caller: Caller, finding_id: str, as_of: dt.date | None) -> AuditFinding:
    report = await _report(ctx, as_of)
    finding = next((f for f in report.findings if f.id == finding_id), None)
    if finding is None:
        raise not_found(f"finding {finding_id}")
    if not finding_in_region(finding, caller.region):
        raise not_found(f"finding {finding_id}")
    return finding


@router.get("/{finding_id}", response_model=AuditFinding)
async def get_finding(
    request: Request, ctx: ContextDep, caller: Annotated[Caller, Depends(require("findings.get"))], finding_id: str, as_of: AsOf = None
) -> Any:
    """One finding with its evidence."""
    finding = await _finding_in_scope(ctx, caller, finding_id, as_of)
    request.state.audit_others = {finding_id}
    return await respond(request, ctx, caller, finding.model_dump(mode="json"), today=as_of)


@router.post("/{finding_id}/{decision}", response_model=FindingMark)
async def mark(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("findings.mark"))],
    finding_id: str,
    decision: Annotated[Literal["confirm", "dismiss"], Path(description="confirm: the finding holds; dismiss: it does not.")],
    body: MarkIn,
    as_of: AsOf = None,
) -> Any:
    """Confirm or dismiss a finding (auditors), with the reason: the mark stays across re-ingest and re-audit."""
    finding = await _finding_in_scope(ctx, caller, finding_id, as_of)
    request.state.audit_others = {finding_id}
    by = f"{caller.name} ({caller.key_id})"
    status = MARKED[decision]
    saved = await ctx.runtime.write(lambda s: mark_finding(s, finding_id, status=status, reason=body.reason, by=by, kind=finding.kind))
    return await respond(request, ctx, caller, saved)
