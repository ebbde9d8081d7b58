"""The audit trail, for auditors: who read or changed whose data, when, through which route."""

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Query

from api.core.errors import ERROR_RESPONSES
from api.core.security import Caller
from api.deps import ContextDep, PageDep, moment_query, require
from api.models import AuditLogPublic

router = APIRouter(tags=["audit log"], responses=ERROR_RESPONSES)


@router.get("/audit-log", response_model=AuditLogPublic)
async def list_audit_log(
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("audit_log.list"))],
    page: PageDep,
    key_id: Annotated[str | None, Query(max_length=32)] = None,
    action: Annotated[str | None, Query(max_length=64, description="A route name, e.g. households.get.")] = None,
    household: Annotated[str | None, Query(max_length=64)] = None,
    person: Annotated[str | None, Query(min_length=15, max_length=18, description="A full ID number: matched by its keyed hash.")] = None,
    subject: Annotated[str | None, Query(max_length=128, description="A finding, need or resource id.")] = None,
    since: moment_query("Entries from this moment (UTC if no offset is given).") = None,
    until: moment_query("Entries before this moment.") = None,
) -> Any:
    """Entries, newest first. Identifiers in them are masked; ``person`` finds a person's entries by full ID number.

    An auditor scoped to a region reads only the entries about households of that region.
    """
    filters = {
        "key_id": key_id,
        "route": action,
        "household": household,
        "person": person.upper() if person else None,
        "subject": subject,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "region": caller.region,
    }
    log = ctx.audit_log
    rows = await anyio.to_thread.run_sync(lambda: log.query(**filters, tree=caller.tree, offset=page.offset, limit=page.limit))
    count = await anyio.to_thread.run_sync(lambda: log.count(**filters, tree=caller.tree))
    return page.answer(count, rows)
