"""The service catalogue as configuration: groups, service levels, tags, need types, market categories.

A TOML file beside the policy file (``policy/configs/catalogue.toml``, the district of DOMAIN.md:
6 groups, 4 service levels, 4 tags, the market's 8 categories and 25 sub-categories, a sample of
its need types). Every reference inside it is checked when it is read: a need type's level, groups,
need category and market sub-category must exist, and a group must be one that a rule of
``policy.groups`` derives. Errors name the file and the key, as the policy file's do.

>>> catalogue = load_catalogue()
>>> len(catalogue.groups), len(catalogue.levels), len(catalogue.tags), len(catalogue.market)
(6, 4, 4, 8)
>>> catalogue.need_type("N060").name, catalogue.tags["urgent_intervention"].response_hours
('课业辅导', 24)
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from graph.model import NeedCategory, ReferralLevel, Urgency
from ingest.codes import CatalogueCodes
from policy.config import CONFIGS, read_toml
from queries.standing import StandingRules

__all__ = ["CATALOGUE", "GROUPS", "Catalogue", "IntakeRules", "ReferralRules", "load_catalogue"]

CATALOGUE = CONFIGS / "catalogue.toml"
#: The groups a rule of ``policy.groups`` derives from the graph (a catalogue names them).
GROUPS = ("elderly", "disabled", "minors", "serious_illness", "unemployed", "single_parent")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GroupRules(_Section):
    """The ages the group rules read."""

    elderly_age: int = Field(60, ge=40, le=100)
    minor_age: int = Field(18, ge=1, le=25)
    working_age_from: int = Field(16, ge=10, le=30)
    working_age_to: int = Field(59, ge=40, le=80)


class Tag(_Section):
    """A need's urgency tag, and the hours a dispatched order has to be answered."""

    name: str = Field(min_length=1)
    response_hours: int = Field(gt=0, le=24 * 365)


class ReferralRules(_Section):
    """The referral path's levels (code → name) and when an unresolved case goes up a level."""

    levels: dict[ReferralLevel, str] = {
        ReferralLevel.VILLAGE: "村（社区）救助窗口",
        ReferralLevel.TOWNSHIP: "乡镇（街道）社工站",
        ReferralLevel.DISTRICT: "区社会救助服务中心",
    }
    urgent_hours: int = Field(24, gt=0, le=24 * 30)  # an urgent case (紧急干预) not resolved in this goes up
    unresolved_days: int = Field(14, gt=0, le=365)  # any case not resolved in this goes up


class IntakeRules(_Section):
    """Emergency intake (急难, 先行救助): what is paid first, up to how much, and how far back the
    duplicate check looks for emergency aid already paid."""

    program: str = Field("LINSHI", pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    max_first_amount: float = Field(5000, gt=0)
    repeat_days: int = Field(90, ge=1, le=3650)


class MarketCategory(_Section):
    """A category of the service market (服务云超市) and its sub-categories, code → name."""

    name: str = Field(min_length=1)
    sub: dict[str, str] = Field(min_length=1)


class NeedType(_Section):
    """A need of the catalogue: which level it is, whom it applies to, how resources meet it."""

    code: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,32}$")
    name: str = Field(min_length=1)
    level: str
    groups: list[str] = Field(min_length=1)
    category: NeedCategory
    market: str


class Catalogue(_Section):
    """A district's service catalogue, every reference inside it checked."""

    name: str = Field(min_length=1)
    rules: GroupRules = GroupRules()
    groups: dict[str, str] = Field(min_length=1)
    levels: dict[str, str] = Field(min_length=1)
    tags: dict[Urgency, Tag]
    market: dict[str, MarketCategory] = Field(min_length=1)
    need_types: list[NeedType] = Field(min_length=1)
    evaluation: StandingRules = StandingRules()
    referral: ReferralRules = ReferralRules()
    intake: IntakeRules = IntakeRules()

    @model_validator(mode="after")
    def _references(self) -> Catalogue:
        unknown = sorted(set(self.groups) - set(GROUPS))
        if unknown:
            raise ValueError(f"groups: no rule derives {', '.join(unknown)} (the groups are {', '.join(GROUPS)})")
        missing = sorted(set(Urgency) - set(self.tags))
        if missing:
            raise ValueError(f"tags: every urgency needs a tag; missing {', '.join(missing)}")
        subs = [code for category in self.market.values() for code in category.sub]
        if len(subs) != len(set(subs)):
            raise ValueError("market: a sub-category code stands in two categories")
        seen: set[str] = set()
        for i, t in enumerate(self.need_types):
            where = f"need_types[{i}] ({t.code})"
            if t.code in seen:
                raise ValueError(f"{where}: the code is used twice")
            seen.add(t.code)
            if t.level not in self.levels:
                raise ValueError(f"{where}: level {t.level!r} is not one of {', '.join(self.levels)}")
            if bad := [g for g in t.groups if g not in self.groups]:
                raise ValueError(f"{where}: group {bad[0]!r} is not one of {', '.join(self.groups)}")
            if t.market not in subs:
                raise ValueError(f"{where}: market {t.market!r} is not a sub-category of the market")
        return self

    def codes(self) -> CatalogueCodes:
        """The codes an ingest checks the need and resource files against.

        Examples
        --------
        >>> load_catalogue().codes().need_types["N060"], "tutoring" in load_catalogue().codes().market
        (('课业辅导', 'schooling'), True)
        """
        subs = frozenset(code for category in self.market.values() for code in category.sub)
        return CatalogueCodes(self.name, {t.code: (t.name, t.category.value) for t in self.need_types}, subs)

    def need_type(self, code: str) -> NeedType:
        """The need type of ``code``; a KeyError naming the code if the catalogue has none."""
        for t in self.need_types:
            if t.code == code:
                return t
        raise KeyError(f"need type {code!r} is not in the catalogue {self.name!r}")


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read and check a catalogue file (the shipped one when ``path`` is None).

    Examples
    --------
    >>> load_catalogue().groups["single_parent"]
    '单亲家庭'
    >>> import tempfile, pathlib
    >>> bad = pathlib.Path(tempfile.mkdtemp()) / "mine.toml"
    >>> _ = bad.write_text(CATALOGUE.read_text(encoding="utf-8").replace('level = "skills"', 'level = "sport"', 1), encoding="utf-8")
    >>> load_catalogue(bad)
    Traceback (most recent call last):
    ...
    policy.config.PolicyError: mine.toml: need_types[31] (N060): level 'sport' is not one of basic_care, psychological, health, skills
    """
    return read_toml(Path(path) if path is not None else CATALOGUE, Catalogue)
