"""Incomes, kinship (who owes whom maintenance) and assets of the generated households."""

from __future__ import annotations

import datetime as dt

from ingest.synthetic.geography import AS_OF, POLICY
from ingest.synthetic.people import _Household, _Person


class _Family:
    """The generator's part that incomes, kinship (who owes whom maintenance) and assets of the generated households: a mixin of ``_Generator``."""

    def assign_incomes(self) -> None:
        rng = self.rng
        for hh in self.households:
            std = self.standard(hh.urban_rural)
            size = len(hh.members)
            factor = {
                "poor": rng.uniform(0.0, 0.75),
                "marginal": rng.uniform(1.1, 1.4),
                "rigid": rng.uniform(1.6, 2.4),
                "ok": rng.uniform(2.3, 4.5),
                "well_off": rng.uniform(5.0, 12.0),
            }[hh.profile]
            total = round(std * factor * size / 10) * 10
            if hh.profile == "poor" and hh.structure == "elderly_alone" and rng.random() < 0.5:
                total = 0  # a rural elder with no pension and nobody's wage
            self.set_income(hh, total)

    def set_income(self, hh: _Household, total: float) -> None:
        """Spread a household's monthly income over its members' income items (replacing any)."""
        self.rows_for_household_incomes = getattr(self, "rows_for_household_incomes", {})
        self.rows_for_household_incomes[hh.household_id] = []
        hh.monthly_income = total
        if total <= 0:
            return
        retirees = [p for p in hh.members if p.employment == "retired"]
        workers = [p for p in hh.members if p.employment in ("employed", "flexible") and p.labour != "none"]
        earners = workers + retirees or [p for p in hh.members if p.age() >= 16] or hh.members[:1]
        shares = [self.rng.uniform(0.6, 1.4) for _ in earners]
        left = total
        for i, (p, sh) in enumerate(zip(earners, shares, strict=True)):
            amount = left if i == len(earners) - 1 else round(total * sh / sum(shares) / 10) * 10
            amount = min(amount, left)
            left -= amount
            if amount <= 0:
                continue
            if p.employment == "retired":
                kind, dept = "pension", "RS"
            elif hh.urban_rural == "rural" and self.rng.random() < 0.4:
                kind, dept = "farm", "MZ"
            else:
                kind, dept = ("wage" if p.employment == "employed" else "flexible_work"), "RS"
            start = AS_OF - dt.timedelta(days=self.rng.randint(200, 3000))
            self.rows_for_household_incomes[hh.household_id].append(
                {
                    "income_id": "",
                    "id_number": p.id_number,
                    "kind": kind,
                    "monthly_amount": f"{amount:.0f}",
                    "source_department": dept,
                    "period_start": start.isoformat(),
                    "period_end": "",
                }
            )

    def per_capita(self, hh: _Household) -> float:
        return hh.monthly_income / len(hh.members)

    # -- kinship and obligations ------------------------------------------------------------------

    def make_kinship(self) -> None:
        rng = self.rng
        for hh in self.households:
            head = hh.members[0]
            for p in hh.members[1:]:
                if p.relation == "spouse":
                    self.kin(head, p, "spouse_of")
                elif p.relation == "child":
                    self.kin(head, p, "parent_of")
                    spouse = next((q for q in hh.members if q.relation == "spouse"), None)
                    if spouse:
                        self.kin(spouse, p, "parent_of")
                elif p.relation == "parent":
                    self.kin(p, head, "parent_of")
            parents = [p for p in hh.members if p.relation == "parent"]
            if len(parents) == 2:
                self.kin(parents[0], parents[1], "spouse_of")
        # Adult children living elsewhere: the obligors of elderly households (赡养).
        adults_by_decade: dict[int, list[tuple[_Person, _Household]]] = {}
        for hh in self.households:
            # Heads of three-generation households live with their parents already.
            if hh.structure in ("couple_children", "single_adult"):
                head = hh.members[0]
                adults_by_decade.setdefault(head.birth.year // 5, []).append((head, hh))
        self.obligors_of: dict[str, list[tuple[_Person, _Household]]] = {}
        taken: set[str] = set()
        for hh in self.households:
            if hh.structure not in ("elderly_couple", "elderly_alone") or hh.planted:
                continue
            elder = hh.members[0]
            n_children = rng.choices([0, 1, 2, 3], [0.25, 0.35, 0.3, 0.1])[0]
            for _ in range(n_children):
                pool = adults_by_decade.get((elder.birth.year + rng.randint(22, 34)) // 5)
                if not pool:
                    continue
                child, chh = rng.choice(pool)
                # One set of parents per person: a child already claimed stays with them.
                if child.id_number in taken:
                    continue
                taken.add(child.id_number)
                for parent in hh.members:
                    self.kin(parent, child, "parent_of")
                self.obligors_of.setdefault(hh.household_id, []).append((child, chh))

    def kin(self, a: _Person, b: _Person, relation: str) -> None:
        self.rows["kinship"].append({"from_id_number": a.id_number, "to_id_number": b.id_number, "relation": relation})

    def maintenance_owed(self, hh: _Household) -> float:
        """What the household's obligors elsewhere owe it a month, by the maintenance rule."""
        rule = POLICY["maintenance_rule"]
        return sum(
            round(max(0.0, self.per_capita(chh) - rule["k"] * self.standard(chh.urban_rural)) * rule["share"], 2)
            for _, chh in getattr(self, "obligors_of", {}).get(hh.household_id, [])
        )

    def has_outside_obligors(self, hh: _Household) -> bool:
        return bool(getattr(self, "obligors_of", {}).get(hh.household_id))

    def assets(self) -> None:
        rng = self.rng
        for hh in self.households:
            if rng.random() < 0.8:
                self.rows["assets"].append(
                    {
                        "asset_id": self.next_id("AS"),
                        "household_id": hh.household_id,
                        "kind": "house",
                        "quantity": "1",
                        "value": "",
                        "note": "",
                    }
                )
            if hh.urban_rural == "rural":
                self.rows["assets"].append(
                    {
                        "asset_id": self.next_id("AS"),
                        "household_id": hh.household_id,
                        "kind": "land_mu",
                        "quantity": f"{rng.randint(2, 30) / 2:g}",
                        "value": "",
                        "note": "contracted farmland",
                    }
                )
            if hh.profile in ("ok", "well_off") and rng.random() < 0.4:
                self.rows["assets"].append(
                    {
                        "asset_id": self.next_id("AS"),
                        "household_id": hh.household_id,
                        "kind": "vehicle",
                        "quantity": "1",
                        "value": str(rng.randint(3, 30) * 10000),
                        "note": "",
                    }
                )
