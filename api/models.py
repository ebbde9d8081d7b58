"""Request and response models of the HTTP API, in families: ``XPublic`` out, ``XCreate``/``XIn`` in,
``XsPublic(data, count)`` for pages (the FastAPI full-stack template's convention).

Query results reuse the models of ``queries/``; their personal fields are plain dicts, already
masked for the caller when they leave the server.
"""

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from api.core.security import ROUTE_ROLES, Role
from graph.model import LinkDecision, Referral, WorkOrder
from policy.audit import AuditFinding, SummaryRow
from policy.groups import GroupMembership
from queries.household_chain import ChainResult
from queries.linkage import Allocation, UnmatchedFamily

__all__ = [
    "AcceptIn",
    "ApplicationIn",
    "ApplicationsPublic",
    "AuditEntryPublic",
    "AuditLogPublic",
    "DecisionIn",
    "DeclineIn",
    "DispatchIn",
    "EvaluationIn",
    "FindingsPublic",
    "HealthPublic",
    "HouseholdSummary",
    "HouseholdsPublic",
    "IngestReportPublic",
    "KeyCreate",
    "KeyCreated",
    "KeyPublic",
    "KeysPublic",
    "MarkIn",
    "OrderStepIn",
    "ReferralAnswerIn",
    "ReferralIn",
    "ReferralPublic",
    "ReferralsPublic",
    "StandingPublic",
    "UnmatchedPublic",
    "UnresolvedPublic",
    "WorkOrderPublic",
    "WorkOrdersPublic",
]

#: "Not only spaces": a character no regex dialect counts as a space. Python's, the server's (Rust,
#: under pydantic) and the schema's (ECMA) disagree on NEL, U+001C-U+001F and U+FEFF, so a schema
#: client could send a text the server then refused.
NOT_BLANK = r"[^\s\u0085\u001c-\u001f\ufeff]"


class Page(BaseModel):
    count: int = Field(description="Every match, not only this page.")
    offset: int
    limit: int


class HouseholdSummary(BaseModel):
    household: dict[str, Any]
    members: list[dict[str, Any]]


class HouseholdsPublic(Page):
    data: list[HouseholdSummary]


class FindingsPublic(Page):
    as_of: str
    data: list[AuditFinding]
    summary: list[SummaryRow]


class MarkIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, pattern=NOT_BLANK, description="Why: kept with the mark (not only spaces).")


class UnmatchedPublic(Page):
    as_of: str
    data: list[UnmatchedFamily]


class AllocationPublic(Allocation):
    as_of: str


class AcceptIn(BaseModel):
    need_id: str = Field(min_length=1, max_length=64)
    resource_id: str = Field(min_length=1, max_length=64)


class ProposalsPublic(Page):
    data: list[LinkDecision]


class DeclineIn(AcceptIn):
    reason: str = Field(min_length=1, max_length=2000, pattern=NOT_BLANK, description="Why (not only spaces).")


class IngestFilePublic(BaseModel):
    file: str
    rows: int
    rejected_rows: int
    rejects_unlisted: int = Field(0, description="Rejects of this file past the first 100,000: counted, not listed.")
    created: int
    updated: int
    unchanged: int
    removed: int


class IngestReportPublic(BaseModel):
    ingest_id: str
    files: list[IngestFilePublic]
    files_rejected: list[dict[str, str]]
    rejects: list[dict[str, Any]] = Field(description="The first 1,000 rejected rows by file, row and field; values masked.")
    rejects_total: int
    ignored: list[str]


class UnresolvedPublic(Page):
    data: list[dict[str, Any]] = Field(description="Department references that matched nobody: the identity-resolution queue.")


class AuditEntryPublic(BaseModel):
    seq: int
    at: str
    request_id: str
    key_id: str | None
    key_name: str | None
    role: str | None
    method: str
    route: str
    status: int
    households: list[str]
    persons: list[str] = Field(description="Masked ID numbers (first 6 + last 4).")
    other_subjects: list[Any]
    params: dict[str, Any]
    regions: list[str] = Field([], description="The regions of the households the entry concerns.")


class AuditLogPublic(Page):
    data: list[AuditEntryPublic]


_REGION_CODE = r"^\d{2,12}$"


def _not_a_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


#: Requests per minute: an integer as JSON Schema means it (8565.0 is one), never a boolean.
RatePerMinute = Annotated[int, Field(ge=1, le=1_000_000), BeforeValidator(_not_a_bool)]
#: The routes a consumer key may be given (everything a consumer role may call).
ConsumerRoute = Literal[tuple(sorted(r for r, roles in ROUTE_ROLES.items() if Role.CONSUMER in roles))]  # type: ignore[valid-type]


class _KeyCreateBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=NOT_BLANK, description="Who or which system holds the key.")
    rate_per_minute: RatePerMinute | None = Field(None, description="Requests per minute, 1 to 1,000,000 (default: the server's).")


class CaseworkerKeyCreate(_KeyCreateBase):
    role: Literal["caseworker"]
    region: str = Field(pattern=_REGION_CODE, description="The region whose subtree the caseworker works in.")


class AuditorKeyCreate(_KeyCreateBase):
    role: Literal["auditor"]
    region: str | None = Field(None, pattern=_REGION_CODE, description="Omit to read across regions.")


class CharityKeyCreate(_KeyCreateBase):
    role: Literal["charity"]
    org: str = Field(min_length=1, max_length=64, description="The organisation's resource id.")
    region: str | None = Field(None, pattern=_REGION_CODE)


class ConsumerKeyCreate(_KeyCreateBase):
    role: Literal["consumer"]
    routes: list[ConsumerRoute] = Field(min_length=1, max_length=20)  # type: ignore[valid-type]
    region: str | None = Field(None, pattern=_REGION_CODE)


class AdminKeyCreate(_KeyCreateBase):
    role: Literal["admin"]


#: A new key: what it needs depends on its role (a caseworker needs a region, a coordinator an organisation, ...).
KeyCreate = Annotated[
    CaseworkerKeyCreate | AuditorKeyCreate | CharityKeyCreate | ConsumerKeyCreate | AdminKeyCreate, Field(discriminator="role")
]


class KeyPublic(BaseModel):
    key_id: str
    name: str
    role: str
    region: str | None
    org: str | None
    routes: list[str]
    rate_per_minute: int | None
    created_at: str
    created_by: str
    revoked_at: str | None = None
    revoked_by: str | None = None


class KeysPublic(BaseModel):
    data: list[KeyPublic]
    count: int


class KeyCreated(BaseModel):
    key_id: str
    token: str = Field(description="Shown once; only its hash is kept.")


class HealthPublic(BaseModel):
    status: str
    engine: str | None = None
    detail: str | None = None


class HouseholdChain(ChainResult):
    """The chain with the service groups the household belongs to (by the server's catalogue), its
    referral path as recorded (each step: level, who, when, why, the answer), its work orders and
    its emergency applications (aid paid first, the checks, the outcome)."""

    groups: list[GroupMembership]
    referrals: list[dict[str, Any]] = Field(default_factory=list)
    work_orders: list[dict[str, Any]] = Field(default_factory=list)
    applications: list[dict[str, Any]] = Field(default_factory=list)


class WorkOrderPublic(WorkOrder):
    """A work order with its household's region and its visits."""

    region_code: str | None = None
    visits: list[dict[str, Any]] = Field(default_factory=list)


class WorkOrdersPublic(Page):
    data: list[WorkOrderPublic]


class DispatchIn(AcceptIn):
    """A need to send to a resource as a work order."""


class OrderStepIn(BaseModel):
    """What a step records: a visit's ``done``, ``hours`` and ``on``; completion's ``satisfaction``; a return's ``reason``."""

    model_config = ConfigDict(extra="forbid")

    done: str | None = Field(None, min_length=1, max_length=2000)
    hours: float | None = Field(None, gt=0, le=24)
    on: dt.date | None = None
    satisfaction: float | None = Field(None, ge=0, le=1)
    reason: str | None = Field(None, min_length=1, max_length=2000, pattern=NOT_BLANK)


class EvaluationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: Literal["mid_term", "final"]
    on: dt.date = Field(description="The evaluation's day: a bar runs from it.")
    score: float = Field(ge=0, le=1, description="The evaluators' score.")
    note: str | None = Field(None, max_length=2000)


class StandingPublic(BaseModel):
    resource_id: str
    as_of: str
    satisfaction: float | None
    source: str | None
    scores: int
    barred: bool
    barred_until: str | None = None
    barred_by: str | None = None
    why: str | None = None
    evaluations: list[dict[str, Any]]


class ReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    household_id: str = Field(min_length=1, max_length=64)
    level: Literal["village_window", "township_station", "district_centre"]
    reason: str = Field(min_length=1, max_length=2000, pattern=NOT_BLANK)
    need_id: str | None = Field(None, min_length=1, max_length=64)


class ReferralAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    response: str = Field(min_length=1, max_length=2000, pattern=NOT_BLANK)
    resolved: bool


class ReferralPublic(Referral):
    region_code: str | None = None


class ReferralsPublic(Page):
    data: list[ReferralPublic]


class ApplicationIn(BaseModel):
    """An emergency application, taken where the applicant is whatever their hukou."""

    model_config = ConfigDict(extra="forbid")

    applicant_id: str = Field(min_length=15, max_length=18, description="The applicant's ID number.")
    applicant_name: str = Field(min_length=1, max_length=100)
    applied_in: str = Field(pattern=r"^\d{6,12}$", description="The region where they apply (within your region).")
    reason: str = Field(min_length=1, max_length=2000, pattern=NOT_BLANK)
    amount: float = Field(gt=0, description="The aid paid first, in yuan (at most the catalogue's max_first_amount).")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["confirmed", "enrol", "recover"]
    note: str | None = Field(None, max_length=2000)


class ApplicationsPublic(Page):
    data: list[dict[str, Any]]  # Application, the applicant's ID number masked
