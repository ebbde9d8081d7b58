"""Persons: one person with their household, kin, aid received and incomes."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from api.core.errors import ERROR_RESPONSES
from api.core.security import Caller
from api.deps import ContextDep, check_region, not_found, require, respond
from graph.privacy import mask_value
from queries.search import PersonView, person_view

router = APIRouter(prefix="/persons", tags=["persons"], responses=ERROR_RESPONSES)


@router.get("/{id_number}", response_model=PersonView)
async def get_person(
    request: Request,
    ctx: ContextDep,
    caller: Annotated[Caller, Depends(require("persons.get"))],
    id_number: Annotated[str, Path(min_length=1, max_length=32)],
) -> Any:
    """A person by ID number, within your region (their household's, else where they live)."""
    shown_id = mask_value("id_number", id_number)
    view = await ctx.runtime.read(lambda s: person_view(s, id_number=id_number.upper()))
    if view is None:
        raise not_found(f"person {shown_id}")
    p = view.person
    region = (view.household or {}).get("region_code") or p.get("residence_region_code") or p.get("hukou_region_code")
    check_region(caller, region, f"person {shown_id}")
    return await respond(request, ctx, caller, view.model_dump(mode="json"))
