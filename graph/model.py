"""The AidGraph domain model: node and relationship kinds, and one pydantic model per node.

Field names are the exchange format's column names (shared/EXCHANGE-FORMAT.md), so a row that
validates is a node's properties. Relationships are derived from the rows by ``ingest``.

>>> Household(household_id="H-1", region_code="420106005001").model_dump(exclude_none=True)
{'household_id': 'H-1', 'region_code': '420106005001'}
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "EXTRA_NODE_PROPS",
    "NODE_KEY",
    "NODE_MODELS",
    "NODE_PROPS",
    "REL_ENDPOINTS",
    "REL_PROPS",
    "REL_UNIQUE_END",
    "NodeKind",
    "RelKind",
    "node_id",
    "split_node_id",
]


class NodeKind(StrEnum):
    """Node labels. Only these ever reach Cypher as labels."""

    REGION = "Region"
    DEPARTMENT = "Department"
    PROGRAM = "Program"
    HOUSEHOLD = "Household"
    PERSON = "Person"
    INCOME = "Income"
    ASSET = "Asset"
    AID_RECORD = "AidRecord"
    NEED = "Need"
    RESOURCE = "Resource"
    SERVICE = "Service"
    FINDING_MARK = "FindingMark"
    LINK_DECISION = "LinkDecision"
    TIER_RECORD = "TierRecord"
    IDENTITY_REVIEW = "IdentityReview"
    WORK_ORDER = "WorkOrder"
    VISIT = "Visit"
    RESOURCE_EVALUATION = "ResourceEvaluation"
    REFERRAL = "Referral"
    APPLICATION = "Application"


class RelKind(StrEnum):
    """Relationship types. Only these ever reach Cypher as types."""

    PART_OF = "PART_OF"  # Region -> parent Region
    LIVES_IN = "LIVES_IN"  # Household -> Region; Person -> residence Region
    REGISTERED_IN = "REGISTERED_IN"  # Person -> hukou Region
    MEMBER_OF = "MEMBER_OF"  # Person -> Household {relation_to_head}
    KIN = "KIN"  # Person -> Person {relation: parent_of | spouse_of | sibling_of}
    ADMINISTERS = "ADMINISTERS"  # Department -> Program
    HAS_INCOME = "HAS_INCOME"  # Person -> Income
    OWNS = "OWNS"  # Household -> Asset
    RECEIVES = "RECEIVES"  # Household or Person -> AidRecord {match, score}
    PAID_BY = "PAID_BY"  # AidRecord -> Program
    FOR_NEED = "FOR_NEED"  # AidRecord or Service -> Need
    HAS_NEED = "HAS_NEED"  # Household -> Need
    CONCERNS = "CONCERNS"  # Need -> Person
    PROVIDES = "PROVIDES"  # Resource -> Service
    SERVES = "SERVES"  # Service -> Household
    BASED_IN = "BASED_IN"  # Resource -> Region it serves (with its subtree)
    RESOLVED_TO = "RESOLVED_TO"  # AidRecord or Income -> Person {score, evidence}: identity resolution's link
    OBLIGED_TO_SUPPORT = "OBLIGED_TO_SUPPORT"  # Person (obligor) -> Person (dependant) {kind, monthly_amount, rule}; derived


#: The property that keys each node kind (the first column of its exchange file).
NODE_KEY: dict[NodeKind, str] = {
    NodeKind.REGION: "region_code",
    NodeKind.DEPARTMENT: "department_code",
    NodeKind.PROGRAM: "program_code",
    NodeKind.HOUSEHOLD: "household_id",
    NodeKind.PERSON: "id_number",
    NodeKind.INCOME: "income_id",
    NodeKind.ASSET: "asset_id",
    NodeKind.AID_RECORD: "record_id",
    NodeKind.NEED: "need_id",
    NodeKind.RESOURCE: "resource_id",
    NodeKind.SERVICE: "service_id",
    NodeKind.FINDING_MARK: "finding_id",
    NodeKind.LINK_DECISION: "decision_id",
    NodeKind.TIER_RECORD: "household_id",
    NodeKind.IDENTITY_REVIEW: "review_id",
    NodeKind.WORK_ORDER: "order_id",
    NodeKind.VISIT: "visit_id",
    NodeKind.RESOURCE_EVALUATION: "evaluation_id",
    NodeKind.REFERRAL: "referral_id",
    NodeKind.APPLICATION: "application_id",
}

#: Which node kinds each relationship joins (source kinds, target kinds).
REL_ENDPOINTS: dict[RelKind, tuple[frozenset[NodeKind], frozenset[NodeKind]]] = {
    RelKind.PART_OF: (frozenset({NodeKind.REGION}), frozenset({NodeKind.REGION})),
    RelKind.LIVES_IN: (
        frozenset({NodeKind.HOUSEHOLD, NodeKind.PERSON}),
        frozenset({NodeKind.REGION}),
    ),
    RelKind.REGISTERED_IN: (frozenset({NodeKind.PERSON}), frozenset({NodeKind.REGION})),
    RelKind.MEMBER_OF: (frozenset({NodeKind.PERSON}), frozenset({NodeKind.HOUSEHOLD})),
    RelKind.KIN: (frozenset({NodeKind.PERSON}), frozenset({NodeKind.PERSON})),
    RelKind.ADMINISTERS: (frozenset({NodeKind.DEPARTMENT}), frozenset({NodeKind.PROGRAM})),
    RelKind.HAS_INCOME: (frozenset({NodeKind.PERSON}), frozenset({NodeKind.INCOME})),
    RelKind.OWNS: (frozenset({NodeKind.HOUSEHOLD}), frozenset({NodeKind.ASSET})),
    RelKind.RECEIVES: (
        frozenset({NodeKind.HOUSEHOLD, NodeKind.PERSON}),
        frozenset({NodeKind.AID_RECORD}),
    ),
    RelKind.PAID_BY: (frozenset({NodeKind.AID_RECORD}), frozenset({NodeKind.PROGRAM})),
    RelKind.FOR_NEED: (
        frozenset({NodeKind.AID_RECORD, NodeKind.SERVICE}),
        frozenset({NodeKind.NEED}),
    ),
    RelKind.HAS_NEED: (frozenset({NodeKind.HOUSEHOLD}), frozenset({NodeKind.NEED})),
    RelKind.CONCERNS: (frozenset({NodeKind.NEED}), frozenset({NodeKind.PERSON})),
    RelKind.PROVIDES: (frozenset({NodeKind.RESOURCE}), frozenset({NodeKind.SERVICE})),
    RelKind.SERVES: (frozenset({NodeKind.SERVICE}), frozenset({NodeKind.HOUSEHOLD})),
    RelKind.BASED_IN: (frozenset({NodeKind.RESOURCE}), frozenset({NodeKind.REGION})),
    RelKind.OBLIGED_TO_SUPPORT: (frozenset({NodeKind.PERSON}), frozenset({NodeKind.PERSON})),
    RelKind.RESOLVED_TO: (frozenset({NodeKind.AID_RECORD, NodeKind.INCOME}), frozenset({NodeKind.PERSON})),
}

#: The end of a relationship that can have only one of it: a person is a member of one household,
#: an aid record is received by one beneficiary. Writing a new one replaces the old one, so a
#: person who moves household does not stay in both.
REL_UNIQUE_END: dict[RelKind, Literal["src", "dst"] | None] = {
    RelKind.PART_OF: "src",
    RelKind.LIVES_IN: "src",
    RelKind.REGISTERED_IN: "src",
    RelKind.MEMBER_OF: "src",
    RelKind.KIN: None,
    RelKind.ADMINISTERS: "dst",
    RelKind.HAS_INCOME: "dst",
    RelKind.OWNS: "dst",
    RelKind.RECEIVES: "dst",
    RelKind.PAID_BY: "src",
    RelKind.FOR_NEED: "src",
    RelKind.HAS_NEED: "dst",
    RelKind.CONCERNS: "src",
    RelKind.PROVIDES: "dst",
    RelKind.SERVES: "src",
    RelKind.BASED_IN: "src",
    RelKind.OBLIGED_TO_SUPPORT: None,
    RelKind.RESOLVED_TO: "src",
}


#: The properties relationships carry, with their types (a database with a schema declares them).
REL_PROPS: dict[RelKind, dict[str, type]] = {
    RelKind.MEMBER_OF: {"relation_to_head": str},
    RelKind.KIN: {"relation": str},
    RelKind.RECEIVES: {"match": str, "score": float},
    RelKind.RESOLVED_TO: {"score": float, "evidence": list, "by": str},
    RelKind.OBLIGED_TO_SUPPORT: {
        "kind": str,
        "monthly_amount": float,
        "rule": str,
        "basis": str,
        "dependant_household": str,
    },
}

#: Node properties written by the system beside the model's fields (a person named by a
#: department but absent from the register, with an ID number that does not check).
EXTRA_NODE_PROPS: dict[NodeKind, dict[str, type]] = {NodeKind.PERSON: {"id_valid": bool}}


def _node_props() -> dict[NodeKind, frozenset[str]]:
    return {kind: frozenset(NODE_MODELS[kind].model_fields) | frozenset(EXTRA_NODE_PROPS.get(kind, {})) for kind in NodeKind}


def node_id(kind: NodeKind, key: str) -> str:
    """The embedded engine's node id: ``"Household:H-1"``."""
    # str + str on the StrEnum member (a str): enum's ``.value`` property costs a Python call,
    # and this runs a dozen times per ingested row.
    return kind + ":" + key


def split_node_id(nid: str) -> tuple[NodeKind, str]:
    """Inverse of :func:`node_id`."""
    kind, _, key = nid.partition(":")
    return NodeKind(kind), key


# ---------------------------------------------------------------------------------------------
# Value types with the exchange format's rules. Each accepts CSV text or a JSON value.

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _blank_to_none(v: Any) -> Any:
    if isinstance(v, str):
        v = v.strip()
        return None if v == "" else v
    return v


def _parse_date(v: Any) -> Any:
    if isinstance(v, str):
        return _date_text(v)
    if v is None or isinstance(v, dt.date):
        return v
    raise ValueError("must be a date written YYYY-MM-DD")


# Dates and amounts repeat across millions of rows (a payment ledger's month starts): each
# distinct text is parsed once. Errors are not cached; they are raised again for each row.
@functools.lru_cache(maxsize=65536)
def _date_text(v: str) -> dt.date | None:
    v = v.strip()
    if v == "":
        return None
    if not _DATE.match(v):
        raise ValueError("must be a date written YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        raise ValueError(f"{v} is not a calendar date") from None


def _parse_bool(v: Any) -> Any:
    v = _blank_to_none(v)
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.lower() in ("true", "1"):
        return True
    if isinstance(v, str) and v.lower() in ("false", "0"):
        return False
    raise ValueError("must be true or false (or 1 or 0)")


def _parse_money(v: Any) -> Any:
    if isinstance(v, str):
        return _money_text(v)
    if v is None:
        return None
    if isinstance(v, bool):
        raise ValueError("must be an amount in yuan")
    return _money(v)


@functools.lru_cache(maxsize=65536)
def _money_text(v: str) -> float | None:
    v = v.strip()
    return None if v == "" else _money(v)


def _money(v: Any) -> float:
    try:
        d = Decimal(str(v))
    except InvalidOperation:
        raise ValueError("must be an amount in yuan, like 1476 or 380.50") from None
    if not d.is_finite():
        raise ValueError("must be a finite amount")
    if d < 0:
        raise ValueError("must not be negative")
    if d.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("has more than 2 decimals")
    if d >= Decimal(10) ** 9:
        raise ValueError("is implausibly large (1 billion yuan or more)")
    return float(d)


def _parse_list(v: Any) -> Any:
    v = _blank_to_none(v)
    if v is None:
        return None
    if isinstance(v, str):
        items = [p.strip() for p in v.split(";")]
        return [p for p in items if p]
    return v


class _Code:
    """Marks a code field: a JSON number given there is the code's text (12 → "12"). Done by the
    row's one before-validator (:class:`_Row`), not a validator per field: those were a third of
    an ingest's validation time."""


_CODE = _Code()
# Blank cells are None before any field is validated (:class:`_Row`): no validator per field.
Text = Annotated[str, Field(max_length=500)]
# A key or code names a node in URLs, file names, finding ids and reports: it is a code, not prose.
_NOT_IN_CODES = re.compile(r"[\s'\"`\\;<>{}$\x00-\x1f\x7f]")


def _check_code(v: str) -> str:
    bad = _NOT_IN_CODES.search(v)
    if bad:
        raise ValueError(f"must be a code: no spaces, quotes, brackets or control characters (found {bad.group()!r})")
    return v


Key = Annotated[str, _CODE, Field(min_length=1, max_length=64), AfterValidator(_check_code)]
RegionCode = Annotated[str, _CODE, Field(pattern=r"^\d{6,12}$")]
Date = Annotated[dt.date, BeforeValidator(_parse_date)]
Bool = Annotated[bool, BeforeValidator(_parse_bool)]
Money = Annotated[float, BeforeValidator(_parse_money)]
Quantity = Annotated[float, BeforeValidator(_parse_money)]


@dataclass(frozen=True)
class Ref:
    """Marks a field that names another node (in ``Annotated``): the exchange format, the loader's
    reference checks and the ingest order are derived from these (``ingest.exchange``).

    ``rel`` is the relationship a valid row draws, from this node to the one named (``outgoing``)
    or from it to this node; None draws none. ``required``: an unknown key rejects the row; else
    the code is kept on the node and the relationship drawn only when the key is known (a
    department's ID that matches no register entry stays for identity resolution). ``kind_from``
    names the field whose value (``person``/``household``) says which kind is named.
    """

    kind: NodeKind
    rel: RelKind | None = None
    outgoing: bool = True
    required: bool = True
    kind_from: str | None = None


class _InFile:
    """Marks a field the exchange file requires though the node may lack it (a person known only
    from a department's feed has no name)."""


class _Derived:
    """Marks a field AidGraph sets, never read from an exchange file."""


REQUIRED_IN_FILE, DERIVED = _InFile(), _Derived()


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)

    _code_fields: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._code_fields = frozenset(name for name, f in cls.model_fields.items() if _is_code(f.metadata, f.annotation))

    @model_validator(mode="before")
    @classmethod
    def _blanks_are_unknown(cls, data: Any) -> Any:
        # An empty cell means "not known", whatever the field's type.
        if isinstance(data, dict):
            # _blank_to_none inlined: one dict comprehension per row instead of a call per cell.
            data = {k: (v.strip() or None) if type(v) is str else v for k, v in data.items()}
            if int in map(type, data.values()):  # JSON lines only: a number in a code field is its text
                for name in cls._code_fields & data.keys():
                    if type(data[name]) is int:
                        data[name] = str(data[name])
        return data


def _is_code(metadata: list[Any], annotation: Any) -> bool:
    """The field is a code (marked ``_CODE``), also inside ``Key | None``."""
    if any(m is _CODE for m in metadata):
        return True
    return any(_is_code(list(get_args(arg)[1:]) if get_origin(arg) is Annotated else [], arg) for arg in get_args(annotation))


class _Node(_Row):
    def props(self) -> dict[str, Any]:
        """The node's properties as stored: JSON values, unknown fields left out."""
        return self.model_dump(mode="json", exclude_none=True)


class UrbanRural(StrEnum):
    URBAN = "urban"
    RURAL = "rural"


class RegionLevel(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


class Region(_Node):
    """An administrative area (区划), from province down to village or community."""

    region_code: RegionCode
    name: Text
    level: RegionLevel
    parent_code: Annotated[RegionCode | None, Ref(NodeKind.REGION, RelKind.PART_OF)] = None
    urban_rural: UrbanRural | None = None


class Department(_Node):
    """A government department (部门): 民政, 医保, 教育, ..."""

    department_code: Key
    name: Text


class ProgramKind(StrEnum):
    BASIC_LIVING = "basic_living"
    SPECIAL = "special"
    EMERGENCY = "emergency"
    SERVICE = "service"
    CHARITY = "charity"
    OTHER = "other"


class Target(StrEnum):
    PERSON = "person"
    HOUSEHOLD = "household"


class Program(_Node):
    """An assistance programme or policy (政策), e.g. 低保, 特困供养, 医疗救助."""

    program_code: Key
    name: Text
    department_code: Annotated[Key, Ref(NodeKind.DEPARTMENT, RelKind.ADMINISTERS, outgoing=False)]
    kind: ProgramKind
    target: Target
    exclusive_group: Key | None = None
    description: Text | None = None


class Household(_Node):
    """A household (户), the unit of means testing."""

    household_id: Key
    region_code: Annotated[RegionCode, Ref(NodeKind.REGION, RelKind.LIVES_IN)]
    address: Text | None = None
    urban_rural: UrbanRural | None = None
    registered_size: Annotated[int | None, Field(ge=1, le=50)] = None

    @field_validator("registered_size", mode="before")
    @classmethod
    def _size(cls, v: Any) -> Any:
        return _blank_to_none(v)


class Sex(StrEnum):
    M = "M"
    F = "F"


class RelationToHead(StrEnum):
    HEAD = "head"
    SPOUSE = "spouse"
    CHILD = "child"
    PARENT = "parent"
    GRANDCHILD = "grandchild"
    GRANDPARENT = "grandparent"
    SIBLING = "sibling"
    OTHER = "other"


class LabourCapacity(StrEnum):
    FULL = "full"
    PARTIAL = "partial"
    NONE = "none"


class SelfCare(StrEnum):
    """Self-care ability (生活自理能力), which sets a 特困 person's care allowance."""

    ABLE = "able"
    PARTLY_DEPENDENT = "partly_dependent"
    FULLY_DEPENDENT = "fully_dependent"


class Employment(StrEnum):
    EMPLOYED = "employed"
    FLEXIBLE = "flexible"
    UNEMPLOYED = "unemployed"
    RETIRED = "retired"
    STUDENT = "student"
    NONE = "none"


class Person(_Node):
    """A person (人) in the population register, or known only by another department's record.

    ``in_register`` is False for a person that only a department feed (kinship, say) names:
    an obligor in another region still counts in a means test.
    """

    id_number: Annotated[str, Field(min_length=1, max_length=32)]
    name: Annotated[Text | None, REQUIRED_IN_FILE] = None
    sex: Annotated[Sex | None, REQUIRED_IN_FILE] = None
    birth_date: Annotated[Date | None, REQUIRED_IN_FILE] = None
    household_id: Annotated[Key | None, REQUIRED_IN_FILE, Ref(NodeKind.HOUSEHOLD, RelKind.MEMBER_OF)] = None
    relation_to_head: Annotated[RelationToHead | None, REQUIRED_IN_FILE] = None
    hukou_region_code: Annotated[RegionCode | None, Ref(NodeKind.REGION, RelKind.REGISTERED_IN, required=False)] = None
    residence_region_code: Annotated[RegionCode | None, Ref(NodeKind.REGION, RelKind.LIVES_IN, required=False)] = None
    disability_grade: Annotated[int | None, Field(ge=0, le=4)] = None
    chronic_illness: Bool | None = None
    major_illness: Bool | None = None
    labour_capacity: LabourCapacity | None = None
    employment: Employment | None = None
    phone: Annotated[str, _CODE, Field(pattern=r"^\+?[\d\- ]{5,20}$")] | None = None
    bank_account: Annotated[str, _CODE, Field(pattern=r"^[\d\- ]{6,34}$")] | None = None
    deceased_on: Date | None = None
    self_care: SelfCare | None = None
    in_register: Annotated[bool, DERIVED] = True

    @field_validator("disability_grade", mode="before")
    @classmethod
    def _grade(cls, v: Any) -> Any:
        return _blank_to_none(v)


class IncomeKind(StrEnum):
    WAGE = "wage"
    FLEXIBLE_WORK = "flexible_work"
    PENSION = "pension"
    FARM = "farm"
    BUSINESS = "business"
    MAINTENANCE_RECEIVED = "maintenance_received"
    TRANSFER = "transfer"
    OTHER = "other"


class Income(_Node):
    """An income item of a person, as a department recorded it (monthly)."""

    income_id: Key
    id_number: Annotated[
        str, _CODE, Field(min_length=1, max_length=32), Ref(NodeKind.PERSON, RelKind.HAS_INCOME, outgoing=False, required=False)
    ]
    kind: IncomeKind
    monthly_amount: Money
    source_department: Annotated[Key | None, Ref(NodeKind.DEPARTMENT)] = None
    period_start: Date | None = None
    period_end: Date | None = None
    #: For ``maintenance_received``: the obligor who pays it (maintenance "by fact" replaces theirs "by law").
    payer_id_number: Annotated[str, _CODE, Field(min_length=1, max_length=32)] | None = None


class AssetKind(StrEnum):
    HOUSE = "house"
    VEHICLE = "vehicle"
    DEPOSIT = "deposit"
    LAND_MU = "land_mu"
    LIVESTOCK_HEAD = "livestock_head"
    BUSINESS = "business"
    OTHER = "other"


class Asset(_Node):
    """An asset of a household (house, vehicle, deposit, land in mu, livestock, ...)."""

    asset_id: Key
    household_id: Annotated[Key, Ref(NodeKind.HOUSEHOLD, RelKind.OWNS, outgoing=False)]
    kind: AssetKind
    quantity: Quantity
    value: Money | None = None
    note: Text | None = None


class AidStatus(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"
    SUSPENDED = "suspended"


class AidRecord(_Node):
    """One payment or enrolment (救助记录), the evidence trail.

    ``beneficiary_ref`` is kept exactly as the sending department wrote it; it is linked to a
    Person or Household by identity resolution, never rejected for a mistyped ID.
    """

    record_id: Key
    source_department: Annotated[Key, Ref(NodeKind.DEPARTMENT)]
    program_code: Annotated[Key, Ref(NodeKind.PROGRAM, RelKind.PAID_BY)]
    beneficiary_type: Target
    beneficiary_ref: Annotated[
        str,
        _CODE,
        Field(min_length=1, max_length=64),
        Ref(NodeKind.PERSON, RelKind.RECEIVES, outgoing=False, required=False, kind_from="beneficiary_type"),
    ]
    beneficiary_name: Text | None = None
    beneficiary_birth_date: Date | None = None
    amount: Money
    period_start: Date
    period_end: Date | None = None
    status: AidStatus | None = None
    need_id: Annotated[Key | None, Ref(NodeKind.NEED, RelKind.FOR_NEED)] = None


class NeedCategory(StrEnum):
    MEDICAL = "medical"
    SCHOOLING = "schooling"
    CARE = "care"
    PSYCHOLOGICAL = "psychological"
    EMPLOYMENT = "employment"
    HOUSING = "housing"
    DAILY_LIVING = "daily_living"
    DISASTER = "disaster"


class Urgency(StrEnum):
    URGENT_INTERVENTION = "urgent_intervention"
    SAFETY_NET = "safety_net"
    NEEDS_CARE = "needs_care"
    KEEP_WATCHING = "keep_watching"


class NeedStatus(StrEnum):
    OPEN = "open"
    SERVED = "served"
    CLOSED = "closed"


class Need(_Node):
    """A need (需求) of a household or one of its members."""

    need_id: Key
    household_id: Annotated[Key, Ref(NodeKind.HOUSEHOLD, RelKind.HAS_NEED, outgoing=False)]
    person_ref: Annotated[Annotated[str, _CODE, Field(max_length=64)] | None, Ref(NodeKind.PERSON, RelKind.CONCERNS, required=False)] = None
    category: NeedCategory
    urgency: Urgency
    raised_on: Date
    status: NeedStatus | None = None
    description: Text | None = None
    #: The need type of the district's service catalogue (``policy/configs/catalogue.toml``), e.g. N060.
    need_type: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]{1,32}$")] | None = None


class ProviderType(StrEnum):
    CHARITY = "charity"
    VOLUNTEER = "volunteer"
    SERVICE_ORG = "service_org"
    DEPARTMENT = "department"


class Resource(_Node):
    """A provider of help: charity project (慈善组织), volunteer (志愿者), service organisation
    (社工机构) or department service. ``provider_type`` says which."""

    resource_id: Key
    provider_name: Text
    provider_type: ProviderType
    categories: Annotated[list[NeedCategory], BeforeValidator(_parse_list), Field(min_length=1)]
    region_code: Annotated[RegionCode, Ref(NodeKind.REGION, RelKind.BASED_IN)]
    capacity: Annotated[int, Field(ge=0, le=1_000_000)]
    funds_left: Money | None = None
    satisfaction: Annotated[float | None, Field(ge=0, le=1)] = None
    skills: Text | None = None
    languages: Annotated[list[str] | None, BeforeValidator(_parse_list)] = None
    #: The service market's sub-categories it offers (服务云超市, the catalogue's), ``;``-separated.
    market: Annotated[list[str] | None, BeforeValidator(_parse_list)] = None

    @field_validator("satisfaction", mode="before")
    @classmethod
    def _satisfaction(cls, v: Any) -> Any:
        return _blank_to_none(v)


class Charity(Resource):
    """A charity or charity project (慈善组织 / 项目)."""

    provider_type: Literal[ProviderType.CHARITY] = ProviderType.CHARITY


class Volunteer(Resource):
    """A volunteer or volunteer team (志愿者)."""

    provider_type: Literal[ProviderType.VOLUNTEER] = ProviderType.VOLUNTEER


class ServiceOrg(Resource):
    """A social-work or service organisation (社工机构) offering government-purchased services."""

    provider_type: Literal[ProviderType.SERVICE_ORG] = ProviderType.SERVICE_ORG


class Service(_Node):
    """A resource serving a household (and optionally one of its needs) from ``start``."""

    service_id: Key
    resource_id: Annotated[Key, Ref(NodeKind.RESOURCE, RelKind.PROVIDES, outgoing=False)]
    household_id: Annotated[Key, Ref(NodeKind.HOUSEHOLD, RelKind.SERVES)]
    need_id: Annotated[Key | None, Ref(NodeKind.NEED, RelKind.FOR_NEED)] = None
    start: Date
    end: Date | None = None
    amount: Money | None = None


class MarkStatus(StrEnum):
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class FindingMark(_Node):
    """An auditor's mark on an audit finding: kept by the finding's stable id, so it survives
    re-ingest and re-audit; every earlier mark stays in the node's history (who, when, why)."""

    finding_id: Key
    status: MarkStatus
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    marked_by: Annotated[str, Field(min_length=1, max_length=200)]
    marked_at: str  # ISO timestamp, UTC
    kind: Text | None = None


class LinkDecision(_Node):
    """An answer to a recommendation: ``proposed`` (a charity offers; a caseworker of the region
    still has to accept), ``accepted`` (a service now serves the need) or ``declined`` (never
    recommended again for that need). Keyed ``need_id|resource_id``."""

    decision_id: Key
    need_id: Key
    resource_id: Key
    household_id: Key
    decision: Literal["proposed", "accepted", "declined"]
    decided_by: Annotated[str, Field(min_length=1, max_length=200)]
    decided_at: str
    reason: Text | None = None
    service_id: Key | None = None
    proposed_by: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class TierRecord(_Node):
    """The last evaluation of a household by the policy engine, kept so that a change shows: every
    earlier version stays in the node's history (when, and what the tier and its facts were)."""

    household_id: Key
    tier: str  # a tier, or "none"
    per_capita_income: float
    benefit: float | None = None
    maintenance_due: float = 0.0
    warned: bool = False
    hardship_index: float = 0.0
    obligors: list[str] = []  # "obligor ID: amount"
    facts: list[str] = []  # the facts the decision rests on, one line each (members, incomes, assets)
    policy: str


class IdentityReview(_Node):
    """A department record and a register person identity resolution was unsure of: a caseworker
    confirms or rejects the pair, and the decision is kept (with who and when) and never asked again."""

    review_id: Key  # a hash of the record and the person (ingest.identity.review_id): no ID number in it
    record_kind: str
    record_key: Key
    person: Key
    probability: float
    evidence: list[str] = []
    status: Literal["pending", "confirmed", "rejected"] = "pending"
    decided_by: str | None = None
    decided_at: str | None = None
    reason: str | None = None


class OrderState(StrEnum):
    """Where a work order (需求工单) stands: dispatched → accepted → visited → completed, or returned."""

    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    VISITED = "visited"
    COMPLETED = "completed"
    RETURNED = "returned"


class WorkOrder(_Node):
    """A need sent to a resource to meet it (需求工单), answered by ``due_by``: the dispatch moment
    plus the need's tag's response hours in the catalogue. Every transition is a write with who and
    when in the node's history; the household's satisfaction (0 to 1) closes a completed order."""

    order_id: Key
    need_id: Key
    resource_id: Key
    household_id: Key
    urgency: Urgency
    state: OrderState
    dispatched_by: Annotated[str, Field(min_length=1, max_length=200)]
    dispatched_at: str  # ISO timestamp, UTC
    due_by: str  # ISO timestamp, UTC
    accepted_at: str | None = None
    completed_at: str | None = None
    returned_at: str | None = None
    return_reason: Text | None = None
    satisfaction: Annotated[float | None, Field(ge=0, le=1)] = None
    visit_count: int = 0
    visit_hours: float = 0.0
    last_by: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class Visit(_Node):
    """A visit made for a work order: who, on which day, what was done, how many hours."""

    visit_id: Key  # the order's id and the visit's number
    order_id: Key
    household_id: Key
    visited_by: Annotated[str, Field(min_length=1, max_length=200)]
    visited_on: Date
    hours: Annotated[float, Field(gt=0, le=24)]
    done: Annotated[str, Field(min_length=1, max_length=2000)]


class EvaluationStage(StrEnum):
    """When a resource is evaluated: mid-term (中期评估) or final (终期评估)."""

    MID_TERM = "mid_term"
    FINAL = "final"


class ResourceEvaluation(_Node):
    """A mid-term or final evaluation of a resource (服务评估): the evaluators' score and, from it and
    the households' feedback on its orders over the window before ``evaluated_on``, the satisfaction
    found; under the threshold, the resource is barred from ``evaluated_on`` to ``barred_until``."""

    evaluation_id: Key
    resource_id: Key
    stage: EvaluationStage
    evaluated_on: Date
    evaluated_by: Annotated[str, Field(min_length=1, max_length=200)]
    score: Annotated[float, Field(ge=0, le=1)]
    satisfaction: Annotated[float, Field(ge=0, le=1)]
    feedback_count: Annotated[int, Field(ge=1)]
    threshold: Annotated[float, Field(ge=0, le=1)]
    barred_until: Date | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None


class ReferralLevel(StrEnum):
    """Where a case is handled (DOMAIN.md, "Referral"), lowest first."""

    VILLAGE = "village_window"  # 村(社区)救助窗口
    TOWNSHIP = "township_station"  # 乡镇(街道)社工站
    DISTRICT = "district_centre"  # 区社会救助服务中心


class ReferralState(StrEnum):
    """open (waiting for an answer), answered (answered, hardship remains), resolved, escalated (sent up)."""

    OPEN = "open"
    ANSWERED = "answered"
    RESOLVED = "resolved"
    ESCALATED = "escalated"


class Referral(_Node):
    """One step of a household's referral path (转介): a case sent to a level, by whom, when, why,
    and the level's answer. Sending it up closes the step below as ``escalated``."""

    referral_id: Key  # the household's id and the step's number
    household_id: Key
    need_id: Key | None = None
    level: ReferralLevel
    urgency: Urgency
    state: ReferralState
    referred_by: Annotated[str, Field(min_length=1, max_length=200)]
    referred_at: str  # ISO timestamp, UTC
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    response: Annotated[str, Field(max_length=2000)] | None = None
    responded_by: Annotated[str, Field(max_length=200)] | None = None
    responded_at: str | None = None
    escalated_to: Key | None = None


class ApplicationState(StrEnum):
    """An emergency application: aid paid first, then checked, then decided."""

    PAID_FIRST = "paid_first"  # 先行救助: paid, the checks waiting on the caseworker's queue
    CHECKED = "checked"  # the duplicate and means checks done, the decision waiting
    DECIDED = "decided"


class ApplicationOutcome(StrEnum):
    CONFIRMED = "confirmed"  # the aid paid first stands
    ENROL = "enrol"  # the means test points to 低保 or 特困: start the enrolment
    RECOVER = "recover"  # paid twice or wrongly: recover the payment


class Application(_Node):
    """An emergency application (急难申请) taken where the applicant is, whatever their hukou, with
    the temporary aid paid first (先行救助) and the checks made after it."""

    application_id: Key
    applicant_id: Annotated[str, _CODE, Field(min_length=1, max_length=64)]
    applicant_name: Text
    hukou_region_code: RegionCode | None = None
    applied_in: RegionCode
    outside_hukou: bool
    household_id: Key | None = None
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    program_code: Key
    amount: Money
    record_id: Key  # the aid record of the payment made first
    paid_by: Annotated[str, Field(min_length=1, max_length=200)]
    paid_at: str  # ISO timestamp, UTC
    state: ApplicationState
    duplicate_check: Annotated[str, Field(max_length=2000)] | None = None
    means_check: Annotated[str, Field(max_length=2000)] | None = None
    suggested: ApplicationOutcome | None = None
    checked_by: Annotated[str, Field(max_length=200)] | None = None
    checked_at: str | None = None
    outcome: ApplicationOutcome | None = None
    outcome_note: Annotated[str, Field(max_length=2000)] | None = None
    decided_by: Annotated[str, Field(max_length=200)] | None = None
    decided_at: str | None = None


NODE_MODELS: dict[NodeKind, type[_Node]] = {
    NodeKind.REGION: Region,
    NodeKind.DEPARTMENT: Department,
    NodeKind.PROGRAM: Program,
    NodeKind.HOUSEHOLD: Household,
    NodeKind.PERSON: Person,
    NodeKind.INCOME: Income,
    NodeKind.ASSET: Asset,
    NodeKind.AID_RECORD: AidRecord,
    NodeKind.NEED: Need,
    NodeKind.RESOURCE: Resource,
    NodeKind.SERVICE: Service,
    NodeKind.FINDING_MARK: FindingMark,
    NodeKind.LINK_DECISION: LinkDecision,
    NodeKind.TIER_RECORD: TierRecord,
    NodeKind.IDENTITY_REVIEW: IdentityReview,
    NodeKind.WORK_ORDER: WorkOrder,
    NodeKind.VISIT: Visit,
    NodeKind.RESOURCE_EVALUATION: ResourceEvaluation,
    NodeKind.REFERRAL: Referral,
    NodeKind.APPLICATION: Application,
}


#: The properties a node of each kind may hold (what a store with a schema declares).
NODE_PROPS: dict[NodeKind, frozenset[str]] = _node_props()


class KinRelation(StrEnum):
    PARENT_OF = "parent_of"
    SPOUSE_OF = "spouse_of"
    SIBLING_OF = "sibling_of"


class Kinship(_Row):
    """A kinship row: ``from`` is the parent (parent_of) or either side (spouse_of, sibling_of)."""

    from_id_number: Annotated[str, _CODE, Field(min_length=1, max_length=32), Ref(NodeKind.PERSON, required=False)]
    to_id_number: Annotated[str, _CODE, Field(min_length=1, max_length=32), Ref(NodeKind.PERSON, required=False)]
    relation: KinRelation


def refs_of(model: type[BaseModel]) -> list[tuple[str, Ref]]:
    """The fields of ``model`` that name another node, in the model's order, with their ``Ref``.

    Examples
    --------
    >>> [(name, ref.kind.value, ref.rel) for name, ref in refs_of(Asset)]
    [('household_id', 'Household', <RelKind.OWNS: 'OWNS'>)]
    """
    return [(name, m) for name, f in model.model_fields.items() for m in f.metadata if isinstance(m, Ref)]


def file_columns(model: type[BaseModel]) -> tuple[list[str], list[str]]:
    """The exchange file's required and optional columns for ``model``, in the model's order.

    Examples
    --------
    >>> file_columns(Department)
    (['department_code', 'name'], [])
    >>> file_columns(Person)[0]
    ['id_number', 'name', 'sex', 'birth_date', 'household_id', 'relation_to_head']
    """
    required, optional = [], []
    for name, f in model.model_fields.items():
        if any(m is DERIVED for m in f.metadata):
            continue
        (required if f.is_required() or any(m is REQUIRED_IN_FILE for m in f.metadata) else optional).append(name)
    return required, optional
