"""Aid records, needs and the resources that serve them; the departments' payment ledgers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ingest.synthetic.geography import _COUNTIES, _FEMALE, _MALE, _MONTHLY, _SURNAMES, _TOWN_WORDS, AS_OF, POLICY, _next_month
from ingest.synthetic.people import _Household, _Person


class _Aid:
    """The generator's part that aid records, needs and the resources that serve them; the departments' payment ledgers: a mixin of ``_Generator``."""

    # -- aid -------------------------------------------------------------------------------------

    def aid(
        self,
        dept: str,
        program: str,
        btype: str,
        ref: str,
        amount: float,
        start: dt.date,
        end: dt.date | None = None,
        name: str = "",
        birth: str = "",
        need_id: str = "",
        status: str | None = None,
    ) -> dict[str, Any]:
        row = {
            "record_id": self.next_id(dept),
            "source_department": dept,
            "program_code": program,
            "beneficiary_type": btype,
            "beneficiary_ref": ref,
            "beneficiary_name": name,
            "beneficiary_birth_date": birth,
            "amount": f"{amount:.2f}".rstrip("0").rstrip("."),
            "period_start": start.isoformat(),
            "period_end": end.isoformat() if end else "",
            "status": status or ("ended" if end and end < AS_OF else "active"),
            "need_id": need_id,
        }
        self.rows["aid_records"].append(row)
        return row

    def person_aid(
        self, dept: str, program: str, p: _Person, amount: float, start: dt.date, end: dt.date | None = None, need_id: str = ""
    ) -> dict[str, Any]:
        return self.aid(dept, program, "person", p.id_number, amount, start, end, name=p.name, birth=p.birth.isoformat(), need_id=need_id)

    def enrol_dibao(self, hh: _Household, start: dt.date | None = None, end: dt.date | None = None) -> dict[str, Any]:
        std = self.standard(hh.urban_rural)
        amount = max(50, round((std - self.per_capita(hh)) * len(hh.members)))
        hh.dibao = True
        return self.aid(
            "MZ",
            "DIBAO",
            "household",
            hh.household_id,
            amount,
            start or AS_OF - dt.timedelta(days=self.rng.randint(60, round(1400 * self.tenure))),
            end,
            name=hh.members[0].name,
        )

    def past_start(self, low: int = 30, high: int = 900) -> dt.date:
        return AS_OF - dt.timedelta(days=self.rng.randint(low, high))

    def make_needs_and_resources(self) -> None:
        rng = self.rng
        counties = [c for c, _, _ in _COUNTIES]
        self.resources_by_county: dict[str, dict[str, list[str]]] = {}
        for county in counties:
            by_cat: dict[str, list[str]] = {}
            for kind, cats, n in (
                ("charity", ["medical", "daily_living", "schooling", "housing"], 2),
                ("volunteer", ["schooling", "care", "psychological"], 3),
                ("service_org", ["care", "psychological", "employment", "daily_living"], 2),
            ):
                for _ in range(n + self.n // 4000):
                    rid = self.next_id("R")
                    mine = rng.sample(cats, rng.randint(1, len(cats)))
                    name = {
                        "charity": f"{rng.choice(_TOWN_WORDS)}慈善基金 project",
                        "volunteer": f"志愿者{rng.choice(_SURNAMES)}{rng.choice(_MALE + _FEMALE)}",
                        "service_org": f"{rng.choice(_TOWN_WORDS)}社工服务中心",
                    }[kind]
                    self.rows["resources"].append(
                        {
                            "resource_id": rid,
                            "provider_name": name,
                            "provider_type": kind,
                            "categories": ";".join(sorted(mine)),
                            "region_code": county,
                            "capacity": str(rng.randint(2, 6) if kind == "volunteer" else rng.randint(10, 80)),
                            "funds_left": f"{rng.randint(20, 500) * 1000}" if kind == "charity" else "",
                            "satisfaction": f"{rng.uniform(0.55, 0.99):.2f}",
                            "skills": {
                                "volunteer": rng.choice(["数学辅导 maths tutoring", "陪伴探访 visits", "心理疏导 counselling"]),
                                "service_org": "个案管理 case management",
                            }.get(kind, ""),
                            "languages": "zh" if rng.random() < 0.8 else "zh;en",
                        }
                    )
                    for c in mine:
                        by_cat.setdefault(c, []).append(rid)
            self.resources_by_county[county] = by_cat

    def need(self, hh: _Household, p: _Person | None, category: str, urgency: str, status: str, description: str) -> dict[str, Any]:
        row = {
            "need_id": self.next_id("N"),
            "household_id": hh.household_id,
            "person_ref": p.id_number if p else "",
            "category": category,
            "urgency": urgency,
            "raised_on": self.past_start(20, 700).isoformat(),
            "status": status,
            "description": description,
        }
        self.rows["needs"].append(row)
        return row

    def serve(
        self, hh: _Household, need: dict[str, Any], amount: float | None = None, start: dt.date | None = None
    ) -> dict[str, Any] | None:
        pool = self.resources_by_county[hh.county].get(need["category"])
        if not pool:
            return None
        raised = dt.date.fromisoformat(need["raised_on"])
        row = {
            "service_id": self.next_id("S"),
            "resource_id": self.rng.choice(pool),
            "household_id": hh.household_id,
            "need_id": need["need_id"],
            "start": (start or raised + dt.timedelta(days=self.rng.randint(3, 40))).isoformat(),
            "end": "",
            "amount": f"{amount:.0f}" if amount else "",
        }
        self.rows["services"].append(row)
        return row

    def regular_aid(self) -> None:
        """Aid as a careful bureau would give it: every eligible household enrolled, every need served."""
        rng = self.rng
        for hh in self.households:
            if hh.planted:
                # A planted case is planted on top of ordinary special assistance; only the cliff
                # case is, by definition, a household that special assistance missed.
                if hh.planted != "cliff":
                    self.special_assistance(hh, True)
                continue
            std = self.standard(hh.urban_rural)
            pc = self.per_capita(hh)
            elders_alone = (
                hh.structure == "elderly_alone"
                and hh.monthly_income == 0
                and hh.members[0].labour == "none"
                and not self.has_outside_obligors(hh)
            )
            if hh.profile == "poor":
                if elders_alone:
                    p = hh.members[0]
                    self.person_aid("MZ", "TEKUN", p, round(std * POLICY["tekun_multiple"]), self.past_start(60, round(1500 * self.tenure)))
                elif (hh.monthly_income + self.maintenance_owed(hh)) / len(hh.members) < std:  # an able son's support counts
                    self.enrol_dibao(hh)
                    for p in hh.members:
                        self.person_aid("YB", "ZIZHU_CANBAO", p, 380, dt.date(AS_OF.year, 1, 1), dt.date(AS_OF.year, 12, 31))
                    for p in hh.members:
                        if p.employment == "student" and p.age() >= 6:
                            n = self.need(hh, p, "schooling", "needs_care", "served", "school costs")
                            self.person_aid("JY", "JIAOYU_JIUZHU", p, 150, self.past_start(30, 300), need_id=n["need_id"])
            self.special_assistance(hh, hh.profile in ("poor", "marginal", "rigid") or pc < std * POLICY["marginal_multiple"])
            if hh.profile == "poor" and hh.urban_rural == "rural" and rng.random() < 0.25:
                n = self.need(hh, None, "housing", "safety_net", "served", "dilapidated house needs repair")
                self.aid(
                    "ZJ",
                    "ZHUFANG_JIUZHU",
                    "household",
                    hh.household_id,
                    rng.randint(10, 40) * 1000,
                    self.past_start(30, 600),
                    name=hh.members[0].name,
                    need_id=n["need_id"],
                )
            if hh.profile == "poor":
                for p in hh.members:
                    if p.employment == "unemployed" and p.labour == "full" and 18 <= p.age() < 60:
                        n = self.need(hh, p, "employment", "needs_care", "served", "looking for work")
                        self.person_aid("RS", "JIUYE_JIUZHU", p, 300, self.past_start(30, round(500 * self.tenure)), need_id=n["need_id"])
                if rng.random() < 0.1:
                    start = self.past_start(30, 700)
                    self.aid("MZ", "LINSHI", "household", hh.household_id, rng.randint(5, 30) * 100, start, start, name=hh.members[0].name)
            if hh.urban_rural == "rural" and rng.random() < 0.01:
                start = self.past_start(30, 700)
                self.aid("YJ", "SHOUZAI", "household", hh.household_id, rng.randint(10, 50) * 100, start, start, name=hh.members[0].name)
            if hh.structure == "elderly_alone" and rng.random() < 0.5:
                n = self.need(
                    hh, hh.members[0], "care", rng.choice(["needs_care", "keep_watching"]), "served", "lives alone, needs regular visits"
                )
                self.serve(hh, n) or self.close_need(n)
            if hh.profile == "poor" and rng.random() < 0.2:
                n = self.need(hh, None, "psychological", "needs_care", "served", "family under stress")
                self.serve(hh, n) or self.close_need(n)

    def special_assistance(self, hh: _Household, special: bool) -> None:
        """Disability allowances and medical assistance, as the departments give them."""
        rng = self.rng
        for p in hh.members:
            if p.id_number in self.planted_persons:
                continue
            if p.disability in (1, 2):
                self.person_aid("CL", "CANJI_HULI", p, 120, self.past_start(30, round(900 * self.tenure)))
                if special:
                    self.person_aid("CL", "CANJI_SHENGHUO", p, 100, self.past_start(30, round(900 * self.tenure)))
            if p.major and special:
                n = self.need(hh, p, "medical", rng.choice(["urgent_intervention", "safety_net"]), "served", "hospital treatment")
                self.person_aid("YB", "YILIAO_JIUZHU", p, rng.randint(20, 300) * 100, self.past_start(30, 400), need_id=n["need_id"])
            elif p.major:
                # A well-off household pays its own way; the need is met by insurance and closed.
                self.need(hh, p, "medical", "keep_watching", "closed", "treated, covered by insurance")

    def payment_ledgers(self) -> None:
        """A payment line for each whole month paid of every ongoing monthly enrolment.

        Lines are ended records of one calendar month each, from the first whole month of the
        enrolment to the last month before the reference date's; the enrolment record itself stays
        (it is the decision that is still in force). Lines carry no need: the enrolment answers it.
        Planted households get none, so the audit's findings stay the planted ones.
        """
        planted = {hh.household_id for hh in self.households if hh.planted}
        planted |= {p.id_number for hh in self.households if hh.planted for p in hh.members} | self.planted_persons
        last = AS_OF.replace(day=1)  # lines end before the reference date's month
        for row in list(self.rows["aid_records"]):
            if row["program_code"] not in _MONTHLY or row["period_end"] or row["beneficiary_ref"] in planted:
                continue
            start = dt.date.fromisoformat(row["period_start"])
            month = start if start.day == 1 else _next_month(start)
            while month < last:
                following = _next_month(month)
                self.aid(
                    row["source_department"],
                    row["program_code"],
                    row["beneficiary_type"],
                    row["beneficiary_ref"],
                    float(row["amount"]),
                    month,
                    following - dt.timedelta(days=1),
                    name=row["beneficiary_name"],
                    birth=row["beneficiary_birth_date"],
                    status="ended",
                )
                month = following

    def close_need(self, need: dict[str, Any]) -> None:
        need["status"] = "closed"
