"""Households and their members: identifiers, names, ages, the regions and the files written."""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graph.national_id import check_character
from ingest.exchange import FILE_SPECS
from ingest.synthetic.geography import (
    _COUNTIES,
    _DEPARTMENTS,
    _FEMALE,
    _MALE,
    _PREFECTURE,
    _PROGRAMS,
    _PROVINCE,
    _SURNAMES,
    _TOWN_WORDS,
    _WHOLE_PREFECTURE,
    AS_OF,
    POLICY,
    _age_on,
)


@dataclass
class _Person:
    id_number: str
    name: str
    sex: str
    birth: dt.date
    household_id: str
    relation: str
    hukou: str
    residence: str
    disability: int = 0
    chronic: bool = False
    major: bool = False
    labour: str = "full"
    employment: str = "employed"
    phone: str = ""
    bank: str = ""
    deceased: str = ""  # date of death, ISO; empty: living

    def age(self) -> int:
        b = self.birth
        return AS_OF.year - b.year - ((AS_OF.month, AS_OF.day) < (b.month, b.day))


def _without_labour_capacity(p: _Person) -> bool:
    """特困's class of people without labour capacity (policy.tiers._no_labour_capacity)."""
    age = _age_on(p.birth, AS_OF)
    return p.labour != "full" and (age >= 60 or age < 16 or p.disability in (1, 2) or (age < 18 and p.employment == "student"))


@dataclass
class _Household:
    household_id: str
    region: str
    county: str
    urban_rural: str
    address: str
    structure: str
    members: list[_Person] = field(default_factory=list)
    profile: str = "ok"  # poor | marginal | rigid | ok | well_off
    monthly_income: float = 0.0
    dibao: bool = False
    planted: str = ""  # why this household must not be touched by later random choices


class _People:
    """The generator's part that households and their members: identifiers, names, ages, the regions and the files written: a mixin of ``_Generator``."""

    def __init__(
        self,
        households: int,
        seed: int,
        ledgers: bool = False,
        *,
        total: int | None = None,
        first: int = 0,
        block_seed: str | None = None,
        ids: set[int] | None = None,
        counter: dict[str, int] | None = None,
    ):
        self.n = households
        self.total = total or households
        self.first = first
        self.ledgers = ledgers
        # A system that keeps ledgers has run for years: its monthly enrolments go further back.
        self.tenure = 1.7 if ledgers else 1.0
        self.rng = random.Random(seed if block_seed is None else block_seed)
        self.ids: set[int] = set() if ids is None else ids
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in FILE_SPECS}
        self.truth: dict[str, Any] = {
            "as_of": AS_OF.isoformat(),
            "seed": seed,
            "policy": POLICY,
            "duplicate_aid": [],
            "missed_aid": [],
            "identity_variants": [],
            "generic_identifiers": [],
            "obligations": [],
            "tier_sample": [],
        }
        self.households: list[_Household] = []
        self.planted_persons: set[str] = set()  # people whose aid a planted case already wrote
        self.villages: list[tuple[str, str, str]] = []  # code, county, urban_rural
        self.counter: dict[str, int] = {} if counter is None else counter

    # -- helpers -----------------------------------------------------------------------------

    def next_id(self, prefix: str) -> str:
        self.counter[prefix] = self.counter.get(prefix, 0) + 1
        return f"{prefix}-{self.counter[prefix]:07d}"

    def standard(self, urban_rural: str) -> int:
        return POLICY["dibao_standard"][urban_rural]

    def id_number(self, county: str, birth: dt.date, sex: str) -> str:
        while True:
            seq = self.rng.randrange(0, 500) * 2 + (1 if sex == "M" else 0)
            if seq == 0:
                continue
            first17 = f"{county}{birth:%Y%m%d}{seq:03d}"
            # Kept as the number of its first 17 digits (the 18th follows from them): a third of
            # the memory of the strings, over the 6 million people of a prefecture.
            if int(first17) not in self.ids:
                self.ids.add(int(first17))
                return first17 + check_character(first17)

    def name(self, sex: str, surname: str | None = None) -> str:
        rng = self.rng
        surname = surname or rng.choice(_SURNAMES)
        chars = _MALE if sex == "M" else _FEMALE
        given = rng.choice(chars) + (rng.choice(chars) if rng.random() < 0.72 else "")
        return surname + given

    def birth(self, age_low: int, age_high: int) -> dt.date:
        age = self.rng.randint(age_low, age_high)
        return AS_OF - dt.timedelta(days=age * 365 + self.rng.randrange(0, 365))

    def person(self, hh: _Household, relation: str, sex: str, age: tuple[int, int], surname: str | None = None) -> _Person:
        birth = self.birth(*age)
        p = _Person(
            id_number=self.id_number(hh.county, birth, sex),
            name=self.name(sex, surname),
            sex=sex,
            birth=birth,
            household_id=hh.household_id,
            relation=relation,
            hukou=hh.county,
            residence=hh.region,
        )
        a = p.age()
        if a < 16:
            p.labour, p.employment = "none", ("student" if a >= 6 else "none")
        elif a < 23 and self.rng.random() < 0.6:
            p.labour, p.employment = "full", "student"
        elif a >= 65:
            p.labour, p.employment = ("none" if a >= 75 or self.rng.random() < 0.5 else "partial"), "retired"
        else:
            p.employment = self.rng.choices(["employed", "flexible", "unemployed"], [0.55, 0.3, 0.15])[0]
        r = self.rng.random()
        if r < 0.035:
            p.disability = self.rng.choice([1, 2, 2, 3, 4])
            if p.disability <= 2 and a >= 16:
                p.labour, p.employment = "none", ("retired" if a >= 60 else "none")
        if self.rng.random() < (0.25 if a >= 60 else 0.05):
            p.chronic = True
        if self.rng.random() < 0.02:
            p.major = True
            if 16 <= a < 60:
                p.labour = "partial"
        if a >= 18 and self.rng.random() < 0.45:
            p.phone = f"1{self.rng.choice('3578')}{self.rng.randrange(0, 10**9):09d}"
        hh.members.append(p)
        return p

    # -- regions, departments, programmes -----------------------------------------------------

    def make_regions(self) -> None:
        rows = self.rows["regions"]
        rows.append({"region_code": _PROVINCE[0], "name": _PROVINCE[1], "level": "province"})
        rows.append(
            {"region_code": _PREFECTURE[0], "name": _PREFECTURE[1], "level": "city", "parent_code": _PROVINCE[0], "urban_rural": "urban"}
        )
        n_villages = max(26, self.total // 150)  # the whole prefecture's, in every block
        per_county = max(1, n_villages // len(_COUNTIES))
        for code, name, ur in _COUNTIES:
            rows.append({"region_code": code, "name": name, "level": "county", "parent_code": _PREFECTURE[0], "urban_rural": ur})
            n_towns = max(1, min(9, per_county // 6 + 1))
            for t in range(n_towns):
                town_urban = ur == "urban" or (t == 0 and n_towns > 1)  # a county seat is urban
                tcode = f"{code}{(t + 1) if town_urban else (100 + t):03d}"
                tname = _TOWN_WORDS[(t + int(code[-2:])) % len(_TOWN_WORDS)] + ("街道" if town_urban else "镇")
                rows.append(
                    {
                        "region_code": tcode,
                        "name": tname,
                        "level": "township",
                        "parent_code": code,
                        "urban_rural": "urban" if town_urban else "rural",
                    }
                )
                for v in range(max(1, per_county // n_towns)):
                    vcode = f"{tcode}{(v + 1) if town_urban else (200 + v):03d}"
                    vname = f"{tname[:2]}{'第' + str(v + 1) + '社区' if town_urban else str(v + 1) + '村'}"
                    vur = "urban" if town_urban else "rural"
                    rows.append({"region_code": vcode, "name": vname, "level": "village", "parent_code": tcode, "urban_rural": vur})
                    self.villages.append((vcode, code, vur))

    def make_departments_and_programs(self) -> None:
        for code, name in _DEPARTMENTS:
            self.rows["departments"].append({"department_code": code, "name": name})
        for code, name, dept, kind, target, group, desc in _PROGRAMS:
            self.rows["programs"].append(
                {
                    "program_code": code,
                    "name": name,
                    "department_code": dept,
                    "kind": kind,
                    "target": target,
                    "exclusive_group": group,
                    "description": desc,
                }
            )

    # -- households and people ------------------------------------------------------------------

    def make_households(self) -> None:
        rng = self.rng
        structures = [
            "elderly_couple",
            "elderly_alone",
            "three_generation",
            "couple_children",
            "single_parent",
            "single_adult",
            "disabled_adult",
        ]
        weights = [0.15, 0.09, 0.20, 0.32, 0.08, 0.10, 0.06]
        for i in range(self.first, self.first + self.n):
            vcode, county, ur = self.villages[i % len(self.villages)] if i < len(self.villages) else rng.choice(self.villages)
            hid = f"H-{vcode[:6]}-{i + 1:07d}"
            addr = (
                f"{vcode[:9]}号{rng.randint(1, 40)}栋{rng.randint(1, 6)}单元{rng.randint(101, 1802)}"
                if ur == "urban"
                else f"{rng.randint(1, 12)}组{rng.randint(1, 80)}号"
            )
            hh = _Household(hid, vcode, county, ur, addr, rng.choices(structures, weights)[0])
            self.populate(hh)
            self.households.append(hh)

    def populate(self, hh: _Household) -> None:
        rng = self.rng
        s = hh.structure
        if s == "elderly_couple":
            head = self.person(hh, "head", "M", (65, 88))
            self.person(hh, "spouse", "F", (max(60, head.age() - 6), head.age() + 2))
        elif s == "elderly_alone":
            self.person(hh, "head", rng.choice("MF"), (68, 95))
        elif s == "three_generation":
            head = self.person(hh, "head", "M", (32, 55))
            self.person(hh, "spouse", "F", (head.age() - 5, head.age() + 2))
            for _ in range(rng.randint(1, 2)):
                self.person(hh, "child", rng.choice("MF"), (1, min(17, head.age() - 20)), surname=head.name[0])
            self.person(hh, "parent", "M", (head.age() + 22, head.age() + 34), surname=head.name[0])
            if rng.random() < 0.7:
                self.person(hh, "parent", "F", (head.age() + 20, head.age() + 32))
        elif s == "couple_children":
            head = self.person(hh, "head", "M", (26, 58))
            self.person(hh, "spouse", "F", (head.age() - 5, head.age() + 2))
            for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
                self.person(hh, "child", rng.choice("MF"), (0, min(22, head.age() - 20)), surname=head.name[0])
        elif s == "single_parent":
            head = self.person(hh, "head", rng.choice("MFF"), (25, 50))
            for _ in range(rng.randint(1, 2)):
                self.person(hh, "child", rng.choice("MF"), (1, min(17, head.age() - 18)))
        elif s == "single_adult":
            self.person(hh, "head", rng.choice("MF"), (20, 64))
        else:  # an adult with a severe disability living with an ageing parent
            parent = self.person(hh, "head", rng.choice("MF"), (55, 80))
            child = self.person(hh, "child", rng.choice("MF"), (18, parent.age() - 20))
            child.disability, child.labour, child.employment = rng.choice([1, 2]), "none", "none"
        # Profiles: poor, marginal, rigid expenditure (illness), ordinary, well off.
        r = rng.random()
        hh.profile = "poor" if r < 0.11 else "marginal" if r < 0.19 else "rigid" if r < 0.22 else "ok" if r < 0.85 else "well_off"
        if hh.profile == "rigid":
            rng.choice(hh.members).major = True
        if s == "disabled_adult" and hh.profile in ("ok", "well_off") and rng.random() < 0.5:
            hh.profile = "marginal"

    # -- output ----------------------------------------------------------------------------------

    def collect_people(self) -> None:
        for hh in self.households:
            self.rows["households"].append(
                {
                    "household_id": hh.household_id,
                    "region_code": hh.region,
                    "address": hh.address,
                    "urban_rural": hh.urban_rural,
                    "registered_size": str(len(hh.members)),
                }
            )
            for p in hh.members:
                self.rows["persons"].append(
                    {
                        "id_number": p.id_number,
                        "name": p.name,
                        "sex": p.sex,
                        "birth_date": p.birth.isoformat(),
                        "household_id": p.household_id,
                        "relation_to_head": p.relation,
                        "hukou_region_code": p.hukou,
                        "residence_region_code": p.residence,
                        "disability_grade": str(p.disability),
                        "chronic_illness": str(p.chronic).lower(),
                        "major_illness": str(p.major).lower(),
                        "labour_capacity": p.labour,
                        "employment": p.employment,
                        "phone": p.phone,
                        "bank_account": p.bank,
                        "deceased_on": p.deceased,
                    }
                )
            for row in self.rows_for_household_incomes.get(hh.household_id, []):
                row["income_id"] = self.next_id("INC")
                self.rows["incomes"].append(row)

    def write(self, out: Path) -> None:
        """Write this block's rows: the first block starts each file (and alone writes the regions,
        departments and programmes), the others append."""
        first = self.first == 0
        out.mkdir(parents=True, exist_ok=True)
        for name, spec in FILE_SPECS.items():
            if name in _WHOLE_PREFECTURE and not first:
                self.rows[name] = []
                continue
            with (out / f"{name}.csv").open("w" if first else "a", newline="", encoding="utf-8") as f:
                w = csv.DictWriter(f, fieldnames=list(spec.columns), lineterminator="\n", extrasaction="raise")
                if first:
                    w.writeheader()
                for row in self.rows[name]:
                    w.writerow({c: row.get(c, "") for c in spec.columns})
        self.truth["counts"] = {name: len(rows) for name, rows in self.rows.items()}

    def run(self, out: Path) -> dict[str, Any]:
        self.make_regions()
        self.make_departments_and_programs()
        self.make_households()
        self.assign_incomes()
        self.make_kinship()
        self.make_needs_and_resources()
        self.plant()
        # Planting may change who is in a household and their income; re-spread the planted ones.
        for hh in self.households:
            if hh.planted == "dup_two_households":
                self.set_income(hh, hh.monthly_income)
        self.regular_aid()
        if self.ledgers:
            self.payment_ledgers()
        self.identity_variants()
        self.assets()
        self.samples()
        self.collect_people()
        self.write(out)
        return self.truth
