"""The planted cases: duplicate aid, missed aid and maintenance owed, each recorded for truth.json."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ingest.synthetic.geography import AS_OF, POLICY
from ingest.synthetic.people import _Household, _Person


class _Planted:
    """The generator's part that the planted cases: duplicate aid, missed aid and maintenance owed, each recorded for truth.json: a mixin of ``_Generator``."""

    # -- planted cases ----------------------------------------------------------------------------

    def pick(self, predicate: Any, used: set[str]) -> _Household | None:
        """A random household fit for a planted case (drawn, not scanned: planting stays linear)."""

        def fits(h: _Household) -> bool:
            return not h.planted and h.household_id not in used and predicate(h)

        for _ in range(5000):
            hh = self.households[self.rng.randrange(len(self.households))]
            if fits(hh):
                break
        else:
            candidates = [h for h in self.households if fits(h)]
            if not candidates:
                return None
            hh = self.rng.choice(candidates)
        used.add(hh.household_id)
        return hh

    def plant(self) -> None:
        rng = self.rng
        self.exact_records: set[str] = set()
        k = max(2, self.n // 500)
        used: set[str] = set()
        truth = self.truth

        def plain_poor(h: _Household) -> bool:
            return h.profile == "poor" and not self.has_outside_obligors(h) and h.structure not in ("elderly_alone",)

        # Missed aid 1: eligible by income, not enrolled (应救尽救).
        for _ in range(k):
            hh = self.pick(lambda h: plain_poor(h) and self.per_capita(h) < 0.6 * self.standard(h.urban_rural), used)
            if hh:
                hh.planted = "missed_eligible"
                truth["missed_aid"].append(
                    {
                        "kind": "eligible_not_enrolled",
                        "household": hh.household_id,
                        "program": "DIBAO",
                        "per_capita_income": round(self.per_capita(hh), 2),
                        "standard": self.standard(hh.urban_rural),
                    }
                )
        # Missed aid 2: cliff effect: a marginal household with a severely disabled or seriously
        # ill member and no special assistance.
        for _ in range(k):
            hh = self.pick(lambda h: h.profile == "marginal" and not self.has_outside_obligors(h), used)
            if hh:
                hh.planted = "cliff"
                p = rng.choice(hh.members)
                if rng.random() < 0.5:
                    p.disability, p.labour = 1, "none"
                    why = "severe disability"
                else:
                    p.major = True
                    why = "serious illness"
                truth["missed_aid"].append(
                    {
                        "kind": "cliff_effect",
                        "household": hh.household_id,
                        "person": p.id_number,
                        "reason": why,
                        "program": "special_assistance",
                        "per_capita_income": round(self.per_capita(hh), 2),
                        "standard": self.standard(hh.urban_rural),
                    }
                )
        # Missed aid 3: aid ended while the reason persists.
        for _ in range(k):
            hh = self.pick(lambda h: plain_poor(h), used)
            if hh:
                hh.planted = "ended"
                rec = self.enrol_dibao(hh, start=AS_OF - dt.timedelta(days=900), end=AS_OF - dt.timedelta(days=rng.randint(60, 200)))
                hh.dibao = False
                truth["missed_aid"].append(
                    {
                        "kind": "aid_ended_reason_persists",
                        "household": hh.household_id,
                        "program": "DIBAO",
                        "records": [rec["record_id"]],
                        "per_capita_income": round(self.per_capita(hh), 2),
                    }
                )
        # Wrong aid 1: 低保 paid to a household well above the line (错保), enrolled after its income began.
        for _ in range(k):
            hh = self.pick(
                lambda h: (
                    h.profile in ("ok", "well_off")
                    and not self.has_outside_obligors(h)
                    and self.per_capita(h) >= self.standard(h.urban_rural) * POLICY["marginal_multiple"]
                ),
                used,
            )
            if hh:
                hh.planted = "wrongly_enrolled"
                rec = self.aid(
                    "MZ",
                    "DIBAO",
                    "household",
                    hh.household_id,
                    300,
                    AS_OF - dt.timedelta(days=rng.randint(30, 90)),
                    None,
                    name=hh.members[0].name,
                )
                truth["missed_aid"].append(
                    {"kind": "wrongly_enrolled", "household": hh.household_id, "program": "DIBAO", "records": [rec["record_id"]]}
                )
        # Wrong aid 2: a person's allowance paid on after their death (死亡未销户).
        for _ in range(k):
            hh = self.pick(
                lambda h: (
                    plain_poor(h)
                    and len(h.members) >= 2
                    and h.monthly_income / (len(h.members) - 1) < 0.8 * self.standard(h.urban_rural)
                    and not (h.members[-1].disability or h.members[-1].major)
                    and h.members[-1].birth < AS_OF - dt.timedelta(days=400)
                ),
                used,
            )
            if hh:
                hh.planted = "paid_after_death"  # still poor without the one who died: still 低保
                self.enrol_dibao(hh)
                p = hh.members[-1]
                p.deceased = (AS_OF - dt.timedelta(days=rng.randint(60, 300))).isoformat()
                rec = self.person_aid("YB", "ZIZHU_CANBAO", p, 380, AS_OF - dt.timedelta(days=400))
                self.exact_records.add(rec["record_id"])  # its ID stays exact: the case is not identity resolution's
                truth["missed_aid"].append(
                    {
                        "kind": "paid_after_death",
                        "household": hh.household_id,
                        "person": p.id_number,
                        "died_on": p.deceased,
                        "records": [rec["record_id"]],
                    }
                )
        # Duplicate aid: one person enrolled in 低保 twice: with their household, and on their own.
        for _ in range(k):
            hh = self.pick(lambda h: plain_poor(h), used)
            if hh:
                hh.planted = "enrolled_twice"
                first = self.enrol_dibao(hh)
                p = hh.members[0]
                second = self.person_aid("MZ", "DIBAO", p, 420, AS_OF - dt.timedelta(days=rng.randint(100, 400)))
                truth["duplicate_aid"].append(
                    {
                        "kind": "enrolled_twice",
                        "persons": [p.id_number],
                        "households": [hh.household_id],
                        "records": sorted([first["record_id"], second["record_id"]]),
                    }
                )
        # Missed aid 4: a need nobody serves.
        for _ in range(k):
            hh = self.pick(lambda h: h.profile in ("poor", "marginal") and not self.has_outside_obligors(h), used)
            if hh:
                hh.planted = "unserved"
                self.enrol_dibao(hh) if hh.profile == "poor" else None
                p = rng.choice(hh.members)
                n = self.need(
                    hh,
                    p,
                    rng.choice(["care", "psychological", "employment", "housing"]),
                    # Varied urgency: a waiting list is what resource allocation has to order.
                    rng.choice(["urgent_intervention", "safety_net", "needs_care", "keep_watching"]),
                    "open",
                    "reported at a home visit",
                )
                truth["missed_aid"].append({"kind": "unserved_need", "household": hh.household_id, "need": n["need_id"], "program": None})

        # Duplicate 1: mutually exclusive programmes overlapping for one person, across departments.
        for i in range(k):
            if i % 2 == 0:
                hh = self.pick(lambda h: plain_poor(h) and any(p.employment == "student" and p.age() >= 6 for p in h.members), used)
                if not hh:
                    continue
                hh.planted = "dup_exclusive"
                self.enrol_dibao(hh)
                p = next(p for p in hh.members if p.employment == "student" and p.age() >= 6)
                a = self.person_aid("JY", "JIAOYU_JIUZHU", p, 150, AS_OF - dt.timedelta(days=300))
                b = self.person_aid("MZ", "XUESHENG_BUZHU", p, 200, AS_OF - dt.timedelta(days=200))
                group = "student_living"
            else:
                hh = self.pick(lambda h: plain_poor(h) and any(q.age() >= 60 for q in h.members), used)
                if not hh:
                    continue
                hh.planted = "dup_exclusive"
                a = self.enrol_dibao(hh, start=AS_OF - dt.timedelta(days=500))
                p = next(q for q in hh.members if q.age() >= 60)
                b = self.person_aid("MZ", "TEKUN", p, round(self.standard(hh.urban_rural) * 1.3), AS_OF - dt.timedelta(days=250))
                group = "basic_living"
            truth["duplicate_aid"].append(
                {
                    "kind": "exclusive_overlap",
                    "group": group,
                    "persons": [p.id_number],
                    "households": [hh.household_id],
                    "records": sorted([a["record_id"], b["record_id"]]),
                }
            )
        # Duplicate 2: one person registered in two households that both receive household aid.
        for _ in range(k):
            h1 = self.pick(lambda h: plain_poor(h) and len(h.members) >= 2, used)
            h2 = self.pick(lambda h: plain_poor(h), used)
            if not h1 or not h2:
                continue
            h1.planted = h2.planted = "dup_two_households"
            p = next(q for q in h1.members if q.relation != "head")
            # Registered again under a second number (一人多户): same name, birth and sex.
            twin = _Person(
                **{
                    **p.__dict__,
                    "id_number": self.id_number(p.hukou, p.birth, p.sex),
                    "household_id": h2.household_id,
                    "relation": "other",
                    "residence": h2.region,
                    "phone": "",
                    "bank": "",
                }
            )
            h2.members.append(twin)
            self.planted_persons.update((p.id_number, twin.id_number))
            r1, r2 = self.enrol_dibao(h1), self.enrol_dibao(h2)
            truth["duplicate_aid"].append(
                {
                    "kind": "person_in_two_households",
                    "persons": sorted([p.id_number, twin.id_number]),
                    "households": sorted([h1.household_id, h2.household_id]),
                    "records": sorted([r1["record_id"], r2["record_id"]]),
                }
            )
            truth["identity_variants"].append(
                {
                    "kind": "second_registration",
                    "register_id": p.id_number,
                    "variant_id": twin.id_number,
                    "file": "persons",
                    "record": twin.id_number,
                }
            )
        # Duplicate 3: the same need paid by a department and by a charity in the same period.
        for _ in range(k):
            hh = self.pick(lambda h: h.profile in ("poor", "marginal") and not self.has_outside_obligors(h), used)
            if not hh or not self.resources_by_county[hh.county].get("medical"):
                continue
            hh.planted = "dup_need"
            self.enrol_dibao(hh) if hh.profile == "poor" else None
            p = rng.choice(hh.members)
            p.major = True
            self.planted_persons.add(p.id_number)
            n = self.need(hh, p, "medical", "urgent_intervention", "served", "hospital treatment")
            # Recent, so the medical assistance is current special assistance (not a cliff case too).
            n["raised_on"] = (AS_OF - dt.timedelta(days=rng.randint(20, 200))).isoformat()
            start = dt.date.fromisoformat(n["raised_on"]) + dt.timedelta(days=5)
            a = self.person_aid(
                "YB", "YILIAO_JIUZHU", p, rng.randint(50, 200) * 100, start, start + dt.timedelta(days=90), need_id=n["need_id"]
            )
            s = self.serve(hh, n, amount=rng.randint(20, 100) * 100, start=start + dt.timedelta(days=10))
            assert s is not None
            truth["duplicate_aid"].append(
                {
                    "kind": "need_paid_twice",
                    "persons": [p.id_number],
                    "households": [hh.household_id],
                    "need": n["need_id"],
                    "records": [a["record_id"]],
                    "services": [s["service_id"]],
                }
            )
        # Duplicate 4: one payment delivered twice by two feeds.
        for _ in range(k):
            hh = self.pick(lambda h: plain_poor(h), used)
            if not hh:
                continue
            hh.planted = "dup_delivered"
            a = self.enrol_dibao(hh)
            b = dict(a, record_id=self.next_id("MZ"))
            self.rows["aid_records"].append(b)
            truth["duplicate_aid"].append(
                {
                    "kind": "delivered_twice",
                    "persons": [],
                    "households": [hh.household_id],
                    "records": sorted([a["record_id"], b["record_id"]]),
                }
            )
        # Duplicate 5: households sharing a bank account, each on aid (the fraud-ring pattern).
        for _ring in range(max(1, k // 2)):
            members = [self.pick(lambda h: plain_poor(h), used) for _ in range(3)]
            members = [m for m in members if m]
            if len(members) < 3:
                continue
            account = f"6217{rng.randrange(10**14, 10**15)}"
            records = []
            for hh in members:
                hh.planted = "dup_ring"
                hh.members[0].bank = account
                records.append(self.enrol_dibao(hh)["record_id"])
            truth["duplicate_aid"].append(
                {
                    "kind": "shared_identifier_ring",
                    "identifier": "bank_account",
                    "value": account,
                    "persons": sorted(h.members[0].id_number for h in members),
                    "households": sorted(h.household_id for h in members),
                    "records": sorted(records),
                }
            )
        # A generic identifier: a village office phone many households gave. Not a case: the
        # audit must discount it rather than call every one of those households a ring.
        office = f"0717{rng.randrange(10**6, 10**7)}"
        village = self.households[0].region
        givers = [h for h in self.households if not h.planted and h.region == village][: max(12, self.n // 150)]
        for hh in givers:
            hh.members[0].phone = office
        truth["generic_identifiers"].append({"identifier": "phone", "value": office, "households": len(givers)})
