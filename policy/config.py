"""A region's assistance policy as configuration: a TOML file validated by pydantic.

Errors name the file and the key (``district.toml: maintenance.share: Input should be less than
or equal to 1``). ``load_policy()`` with no path gives the shipped default; ``DISTRICT`` is the
district in DOMAIN.md (740 base, rural 10% lower, urban 10% higher).

>>> policy = load_policy(DISTRICT)
>>> [policy.standard.for_area(a) for a in ("rural", None, "urban")]
[666, 740, 814]
>>> policy.thresholds("urban")
{'standard': 814, 'marginal': 1221.0, 'watch': 1628.0}
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = ["DEFAULT", "DISTRICT", "PolicyConfig", "PolicyError", "load_policy", "read_toml"]

CONFIGS = Path(__file__).resolve().parent / "configs"
DEFAULT = CONFIGS / "default.toml"
DISTRICT = CONFIGS / "district.toml"
TIERS = ("特困", "低保", "低保边缘", "刚性支出困难", "防止返贫监测", "其他")


_M = TypeVar("_M", bound=BaseModel)


class PolicyError(ValueError):
    """A policy file that cannot be used, with the file and key that are wrong."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Standard(_Section):
    """The 低保 standard, yuan per person per month, with the urban/rural adjustment."""

    base: float = Field(gt=0)
    urban_adjustment: float = Field(0.0, ge=-0.9, le=2.0, description="e.g. 0.10: urban 10% higher")
    rural_adjustment: float = Field(0.0, ge=-0.9, le=2.0, description="e.g. -0.10: rural 10% lower")

    def for_area(self, urban_rural: str | None) -> float:
        """The standard where a household lives (the base where the data says neither)."""
        adjustment = {"urban": self.urban_adjustment, "rural": self.rural_adjustment}.get(urban_rural or "", 0.0)
        value = round(self.base * (1 + adjustment), 2)
        return int(value) if value == int(value) else value


class Multiples(_Section):
    marginal: float = Field(1.5, gt=1, description="低保边缘: income below this multiple of the standard")
    watch: float = Field(2.0, gt=1, description="防止返贫监测 and the warning push list: below this multiple")

    @model_validator(mode="after")
    def _order(self) -> Multiples:
        if self.watch < self.marginal:
            raise ValueError("watch must be at least marginal")
        return self


class Category(_Section):
    """An identity category (分类施保) and its benefit coefficient."""

    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    coefficient: float = Field(ge=1.0, le=3.0)


class Income(_Section):
    """How income is counted in the means test."""

    earned_kinds: list[str] = Field(default_factory=lambda: ["wage", "flexible_work", "business"])
    job_cost_share: float = Field(0.0, ge=0, le=1, description="necessary job costs deducted from earned income (share)")
    job_cost_max: float = Field(0.0, ge=0, description="... at most this much per earner per month (0: no cap)")
    exempt_kinds: list[str] = Field(default_factory=list, description="income kinds not counted")
    farm_per_unit: dict[str, float] = Field(
        default_factory=dict, description="imputed monthly net income per unit of an asset kind (land_mu, livestock_head)"
    )


class Assets(_Section):
    """Asset limits: over any of them, a household is not 低保 or 低保边缘 whatever its income."""

    deposit_months: float | None = Field(
        None, ge=0, description="deposits above this many months of the standard for all members (none: no limit)"
    )
    max_units: dict[str, float] = Field(default_factory=dict, description="more units than this of a kind (house, vehicle)")


RIGID_CONDITIONS = ("major_illness", "severe_disability", "student")


class RigidExpenditure(_Section):
    """Monthly rigid expenditure counted per person (刚性支出), by condition."""

    major_illness: float = Field(0.0, ge=0)
    severe_disability: float = Field(0.0, ge=0)
    student: float = Field(0.0, ge=0)
    deducted: list[Literal["major_illness", "severe_disability", "student"]] = Field(
        default_factory=list,
        description="支出型贫困: the conditions whose costs are deducted from income before the 低保 test (none: only listed as 刚性支出困难)",
    )


class Tekun(_Section):
    """特困 support: the basic living standard and the care allowance by self-care ability."""

    basic_multiple: float = Field(1.3, ge=1.3, description="basic living standard: at least 1.3 x the 低保 standard (national rule)")
    care: dict[Literal["able", "partly_dependent", "fully_dependent"], float] = Field(
        default_factory=lambda: {"able": 0.0, "partly_dependent": 0.0, "fully_dependent": 0.0},
        description="monthly care allowance by self-care ability",
    )


class Dibao(_Section):
    single_person: bool = Field(
        False, description="单人保: a severely disabled or seriously ill member of a 低保边缘 household may be enrolled alone"
    )


class Maintenance(_Section):
    """What an obligor owes: max(0, obligor household per-capita income - k x their standard) x share."""

    k: float = Field(2.0, ge=0)
    share: float = Field(0.3, ge=0, le=1)
    split: Literal["none", "equal"] = Field("none", description="equal: one amount per dependant household, shared by its obligors")


class Review(_Section):
    """Review cadence in months."""

    no_labour_capacity_months: int = Field(6, ge=1)
    stable_income_months: int = Field(3, ge=1)
    unstable_income_months: int = Field(1, ge=1)
    unstable_kinds: list[str] = Field(default_factory=lambda: ["flexible_work", "business", "farm"])


class Exit(_Section):
    gradual_exit_months: int = Field(12, ge=0, le=24, description="benefit kept after rising above the line through work")


class Warning(_Section):
    """The hardship index: weights of its dimensions (each scored 0..1) and the push list."""

    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "income_gap": 0.35,
            "age_structure": 0.15,
            "health": 0.2,
            "dependency": 0.15,
            "recent_events": 0.1,
            "expenditure": 0.05,
        }
    )
    top_share: float = Field(0.05, gt=0, le=1)
    income_multiple: float = Field(2.0, gt=0)


class Program(_Section):
    """Who a programme is for: the tiers it serves."""

    tiers: list[Literal["特困", "低保", "低保边缘", "刚性支出困难", "防止返贫监测", "其他"]] = Field(min_length=1)
    exclusive_group: str | None = None
    repeatable: bool = Field(
        False, description="one person may hold it twice at once (basic-living and special programmes are once-only by default)"
    )


class PolicyConfig(_Section):
    name: str = Field(min_length=1)
    region: str | None = Field(None, pattern=r"^\d{2,12}$")
    standard: Standard
    multiples: Multiples = Multiples()
    categories: list[Category] = Field(default_factory=list)
    income: Income = Income()
    assets: Assets = Assets()
    rigid_expenditure: RigidExpenditure = RigidExpenditure()
    tekun: Tekun = Tekun()
    dibao: Dibao = Dibao()
    maintenance: Maintenance = Maintenance()
    review: Review = Review()
    exit: Exit = Exit()
    warning: Warning = Warning()
    programs: dict[str, Program] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_categories(self) -> PolicyConfig:
        codes = [c.code for c in self.categories]
        if len(codes) != len(set(codes)):
            raise ValueError(f"categories: duplicate codes {sorted({c for c in codes if codes.count(c) > 1})}")
        return self

    def thresholds(self, urban_rural: str | None) -> dict[str, float]:
        standard = self.standard.for_area(urban_rural)
        return {
            "standard": standard,
            "marginal": round(standard * self.multiples.marginal, 2),
            "watch": round(standard * self.multiples.watch, 2),
        }

    def repeatable_programs(self) -> list[str]:
        """The programmes one person may hold more than once at a time."""
        return sorted(code for code, p in self.programs.items() if p.repeatable)

    def coefficient(self, category_codes: list[str]) -> float:
        """The benefit coefficient of a person: the highest of their categories' (1.0 with none)."""
        by_code = {c.code: c.coefficient for c in self.categories}
        return max([by_code[c] for c in category_codes if c in by_code] or [1.0])


def load_policy(path: str | Path | None = None) -> PolicyConfig:
    """Read and validate a policy file (the shipped default when ``path`` is None).

    Examples
    --------
    >>> load_policy().name
    'default'
    """
    return read_toml(Path(path) if path is not None else DEFAULT, PolicyConfig)


def read_toml(path: Path, model: type[_M]) -> _M:
    r"""The TOML file ``path`` as ``model``; a PolicyError naming the file and the keys that are wrong.

    Examples
    --------
    >>> import tempfile
    >>> bad = Path(tempfile.mkdtemp()) / "mine.toml"
    >>> _ = bad.write_text('name = "mine"\n[standard]\nbase = -1\n', encoding="utf-8")
    >>> read_toml(bad, PolicyConfig)
    Traceback (most recent call last):
    ...
    policy.config.PolicyError: mine.toml: standard.base: Input should be greater than 0
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path.name}: not valid TOML: {exc}") from None
    try:
        return model(**data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors()[:5]:
            key = "".join(f"{p}: " for p in [".".join(str(p) for p in e["loc"])] if p)
            problems.append(f"{path.name}: {key}{str(e['msg']).removeprefix('Value error, ')}")
        raise PolicyError("; ".join(problems)) from None
