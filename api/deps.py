"""Dependencies every route takes, defined once: the server context, the caller, the route's permission.

A route declares ``caller: Annotated[Caller, Depends(require("households.get"))]``: the key is
checked, the rate limit applied, and the role matched against ``ROUTE_ROLES`` before the route
runs. Object-level checks (region, organisation) are the helpers below, called by the routes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, BeforeValidator

from api.core.audit_log import AuditLog
from api.core.config import Settings
from api.core.errors import ApiError
from api.core.limits import RateLimiter
from api.core.presenting import present
from api.core.runtime import StoreRuntime
from api.core.security import Caller, KeyRing, Role, may_call
from graph.model import NodeKind
from policy.catalogue import Catalogue
from policy.config import PolicyConfig

__all__ = [
    "MAX_PAGE_SIZE",
    "AsOf",
    "Context",
    "ContextDep",
    "Limit",
    "Offset",
    "Page",
    "PageDep",
    "RegionQuery",
    "about_household",
    "day_query",
    "moment_query",
    "paging",
    "require",
]

#: The largest page any list route returns (OWASP API4); declared in the schema.
MAX_PAGE_SIZE = 100


@dataclass
class Context:
    """What the server holds for its lifetime."""

    settings: Settings
    runtime: StoreRuntime
    keys: KeyRing
    audit_log: AuditLog
    limiter: RateLimiter
    policy: PolicyConfig
    catalogue: Catalogue


def get_context(request: Request) -> Context:
    return request.app.state.aidgraph


ContextDep = Annotated[Context, Depends(get_context)]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="How many matches to skip.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description=f"Page size, at most {MAX_PAGE_SIZE}.")]


@dataclass(frozen=True)
class Page:
    """The slice of a list a route returns: ``offset`` matches skipped, at most ``limit`` shown."""

    offset: int = 0
    limit: int = 50

    def of(self, rows: Sequence[Any]) -> list[Any]:
        """This page of ``rows``."""
        return list(rows[self.offset : self.offset + self.limit])

    def answer(self, count: int, data: Any, **more: Any) -> dict[str, Any]:
        """A list route's body: how many matched, which slice, the rows shown, and what else the route adds."""
        return {"count": count, "offset": self.offset, "limit": self.limit, "data": data, **more}


def paging(default_limit: int = 50) -> Callable[..., Page]:
    """The dependency reading ``offset`` and ``limit`` from the query, ``limit`` defaulting to ``default_limit``."""

    def page(offset: Offset = 0, limit: Limit = default_limit) -> Page:
        return Page(offset, limit)

    return page


PageDep = Annotated[Page, Depends(paging())]

#: The days a question may be asked about: from the first 低保 programmes to a few years ahead
#: (reviews due). Outside it the answer is a 422 naming the range; the schema says so as well.
AS_OF_FIRST = dt.date(1990, 1, 1)
AS_OF_YEARS_AHEAD = 5


def as_of_last(today: dt.date | None = None) -> dt.date:
    return dt.date((today or dt.date.today()).year + AS_OF_YEARS_AHEAD, 12, 31)


def _check_as_of(day: dt.date | None) -> dt.date | None:
    if day is not None and not AS_OF_FIRST <= day <= as_of_last():
        raise ValueError(f"must be a day from {AS_OF_FIRST} to {as_of_last()}")
    return day


def _years_pattern() -> str:
    years = "|".join(str(y) for y in range(AS_OF_FIRST.year, as_of_last().year + 1))
    return rf"^(?:{years})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])$"


_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_text(value: Any) -> Any:
    """Days and moments are ISO 8601 text: a bare number (which pydantic would read as a Unix time) is refused."""
    if value is not None and not (isinstance(value, str) and _ISO_DAY.match(value)):
        raise ValueError("must be an ISO 8601 day (YYYY-MM-DD) or moment (YYYY-MM-DDTHH:MM:SS)")
    return value


def day_query(description: str) -> Any:
    """A query parameter holding a day within the range questions may be asked about."""
    return Annotated[
        dt.date | None,
        Query(
            description=f"{description} From {AS_OF_FIRST} to the end of the fifth year ahead.",
            json_schema_extra={"pattern": _years_pattern()},
        ),
        BeforeValidator(_iso_text),
        AfterValidator(_check_as_of),
    ]


def _in_utc(moment: dt.datetime | None) -> dt.datetime | None:
    """The moment in UTC (no offset: taken as UTC); one beyond the calendar's ends is clamped to it."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        edge = dt.datetime.min if moment.year == 1 else dt.datetime.max
        return edge.replace(tzinfo=dt.UTC)


def moment_query(description: str) -> Any:
    """A query parameter holding a moment (date and time), as UTC."""
    return Annotated[dt.datetime | None, Query(description=description), BeforeValidator(_iso_text), AfterValidator(_in_utc)]


AsOf = day_query("The day to judge on (default today).")
RegionQuery = Annotated[str | None, Query(pattern=r"^\d{2,12}$", description="A region code: it and its subtree.")]

_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An AidGraph API key (aidgraph keys create).")
_bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")


async def get_caller(
    request: Request,
    ctx: ContextDep,
    api_key: Annotated[str | None, Security(_api_key)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> Caller:
    # Two credentials must agree, and an Authorization header must be a bearer key: a request
    # with a malformed or a second, different key is refused, not half-read.
    raw_authorization = request.headers.get("authorization")
    if raw_authorization is not None and bearer is None:
        raise ApiError(401, "unauthorized", "Authorization must be 'Bearer <API key>' (or send the key in X-API-Key alone)")
    if api_key and bearer and bearer.credentials != api_key:
        raise ApiError(401, "unauthorized", "X-API-Key and Authorization name two different keys; send one")
    token = api_key or (bearer.credentials if bearer else None)
    if not token:
        raise ApiError(401, "unauthorized", "send your API key in X-API-Key (or Authorization: Bearer)")
    # Guessing a key's secret: past a few wrong secrets a minute, the key id answers 429 without
    # the secret being checked at all (the right one too, until the minute is over).
    key_id = "key:" + (token.split("_", 2)[1] if token.count("_") >= 2 else "?")
    per_minute = ctx.settings.key_failures_per_minute
    if ctx.limiter.exhausted(key_id, per_minute=per_minute):
        raise ApiError(429, "rate_limited", "too many wrong secrets for this key; wait a minute", {"Retry-After": "60"})
    caller = ctx.keys.verify(token)
    if caller is None:
        ctx.limiter.allow(key_id, per_minute=per_minute)
        raise ApiError(401, "unauthorized", "unknown or revoked API key")
    request.state.caller = caller
    allowed, wait = ctx.limiter.allow(caller.key_id, per_minute=caller.rate_per_minute or ctx.settings.default_rate_per_minute)
    if not allowed:
        raise ApiError(
            429,
            "rate_limited",
            f"too many requests for key {caller.key_id}; retry in {wait:.1f} s",
            {"Retry-After": str(max(1, round(wait)))},
        )
    return caller


def require(route: str) -> Callable[..., Coroutine[Any, Any, Caller]]:
    """A dependency: the caller, if their role may use ``route`` at all (403 otherwise)."""

    async def dependency(request: Request, ctx: ContextDep, caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        request.state.action = route
        caller = dataclasses.replace(caller, tree=await ctx.runtime.region_tree())
        if not may_call(caller, route):
            what = f"a {caller.role.value} key" if caller.role is not Role.CONSUMER else f"consumer key {caller.key_id}"
            raise ApiError(403, "forbidden", f"{what} may not use {route}")
        return caller

    return dependency


def acting(caller: Caller) -> str:
    """Who a write is by, in its record and history: the key's name and id."""
    return f"{caller.name} ({caller.key_id})"


def not_found(what: str) -> ApiError:
    """The one answer for "absent" and "outside your scope", so scope cannot be probed (OWASP API1)."""
    return ApiError(404, "not_found", f"no {what} in your scope")


def check_region(caller: Caller, region_code: str | None, what: str) -> None:
    if not caller.sees_region(region_code):
        raise not_found(what)


def narrow_region(caller: Caller, region: str | None) -> str | None:
    """The region a list is limited to: the caller's scope, or a part of it they asked for."""
    if region is None:
        return caller.region
    if not caller.tree.contains(caller.region, region):
        raise not_found(f"region {region}")
    return region


async def charity_org(ctx: Context, caller: Caller) -> dict[str, Any]:
    """A coordinator's organisation (a Resource); a key naming an unknown one may do nothing."""
    resource = await ctx.runtime.read(lambda s: s.get_node(NodeKind.RESOURCE, caller.org))
    if resource is None:
        raise ApiError(403, "forbidden", f"this key's organisation {caller.org} is not a resource in the graph")
    return resource


def _regions(store: Any, household_ids: Iterable[str]) -> dict[str, str | None]:
    return {k: v.get("region_code") for k, v in store.get_nodes(NodeKind.HOUSEHOLD, list(household_ids)).items()}


def record_subjects(request: Request, payload: Any, *, others: Iterable[str] = ()) -> None:
    """Note whose data a response holds, for the audit trail (before masking: the trail keeps keyed hashes)."""
    households: set[str] = set()
    persons: set[str] = set()

    def walk(obj: Any, key: str | None = None) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, k)
        elif isinstance(obj, list):
            for v in obj:
                walk(v, key)
        elif isinstance(obj, str):
            if key in ("household_id", "households"):
                households.add(obj)
            elif key in ("id_number", "persons", "beneficiary_ref", "person_ref", "dependant", "of_member"):
                persons.add(obj)

    walk(payload)
    state = request.state
    state.audit_households = households | set(getattr(state, "audit_households", ()))
    state.audit_persons = persons | set(getattr(state, "audit_persons", ()))
    state.audit_others = set(others) | set(getattr(state, "audit_others", ()))


def shown_to(
    caller: Caller,
    store: Any,
    payload: Any,
    *,
    today: dt.date | None = None,
    deidentified: bool = False,
    known_regions: dict[str, str | None] | None = None,
) -> Any:
    """``payload`` as ``caller`` may see it (see ``api.core.presenting``); call it inside a store read.
    ``known_regions``: households' regions already looked up in this read, not asked again."""
    known = known_regions or {}

    def household_regions(ids: Iterable[str]) -> dict[str, str | None]:
        wanted = set(ids)
        return {**{h: known[h] for h in wanted & known.keys()}, **_regions(store, wanted - known.keys())}

    minors_region = caller.region if caller.role is Role.CASEWORKER else None
    return present(
        payload,
        tree=caller.tree,
        minors_region=minors_region,
        household_regions=household_regions,
        today=today,
        deidentified=deidentified,
        scope_region=None if caller.role is Role.CHARITY else caller.region,
    )


async def respond(
    request: Request, ctx: Context, caller: Caller, payload: Any, *, today: dt.date | None = None, deidentified: bool = False
) -> Any:
    """Record the subjects, then return ``payload`` as ``caller`` may see it."""
    record_subjects(request, payload)

    def answer(store: Any) -> Any:
        known = _record_regions(request, store)
        return shown_to(caller, store, payload, today=today, deidentified=deidentified, known_regions=known)

    return await ctx.runtime.read(answer)


def _record_regions(request: Request, store: Any) -> dict[str, str | None]:
    """The regions of every household the answer touches, for the trail entry: an auditor scoped to a
    region reads the entries about it."""
    state = request.state
    found = _regions(store, getattr(state, "audit_households", ()))
    state.audit_regions = {r for r in found.values() if r} | set(getattr(state, "audit_regions", ()))
    return found


def household_in_scope(store: Any, caller: Caller, household_id: str) -> dict[str, Any]:
    """The household's properties, if it exists and is in the caller's region; else the 404."""
    household = store.get_node(NodeKind.HOUSEHOLD, household_id)
    if household is None:
        raise not_found(f"household {household_id}")
    check_region(caller, household.get("region_code"), f"household {household_id}")
    return household


async def about_household(
    request: Request, ctx: Context, caller: Caller, household_id: str, compute: Callable[[Any], BaseModel | None], today: dt.date | None
) -> Any:
    """Scope check, query and masking in one trip to a worker thread (the API's hot routes)."""

    def answer(store: Any) -> tuple[Any, Any]:
        household_in_scope(store, caller, household_id)
        result = compute(store)
        if result is None:
            raise not_found(f"household {household_id}")
        raw = result.model_dump(mode="json")
        record_subjects(request, raw)
        known = _record_regions(request, store)
        return raw, shown_to(caller, store, raw, today=today, known_regions=known)

    _, shown = await ctx.runtime.read(answer)
    return shown
