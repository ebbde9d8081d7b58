"""What truth.json lists besides the planted cases: identity variants and tier samples."""

from __future__ import annotations

from ingest.synthetic.geography import _TRADITIONAL, AS_OF, POLICY, _age_on
from ingest.synthetic.people import _without_labour_capacity


class _Truth:
    """The generator's part that what truth.json lists besides the planted cases: identity variants and tier samples: a mixin of ``_Generator``."""

    def identity_variants(self) -> None:
        """Department records that name a registered person differently (typos, variants).

        Only records that are never a household's sole assistance of their kind are varied, so a
        variant hides no aid the audit would then report missing (that is identity resolution's
        case to win, not the audit's to lose).
        """
        rng = self.rng
        person_records = [
            r
            for r in self.rows["aid_records"]
            if r["beneficiary_type"] == "person"
            and r["program_code"] in ("ZIZHU_CANBAO", "CANJI_HULI")
            and r["record_id"] not in self.exact_records
        ]
        rng.shuffle(person_records)
        n = max(4, self.n // 100)
        kinds = ["mistyped_digit", "transposed_digits", "traditional_name", "missing_character"]
        for i, row in enumerate(person_records[:n]):
            kind = kinds[i % len(kinds)]
            original = row["beneficiary_ref"]
            if kind == "mistyped_digit":
                pos = rng.randrange(6, 17)
                row["beneficiary_ref"] = original[:pos] + str((int(original[pos]) + rng.randint(1, 9)) % 10) + original[pos + 1 :]
            elif kind == "transposed_digits":
                pos = next((j for j in range(14, 6, -1) if original[j] != original[j + 1]), None)
                if pos is None:
                    continue
                row["beneficiary_ref"] = original[:pos] + original[pos + 1] + original[pos] + original[pos + 2 :]
            elif kind == "traditional_name":
                name = row["beneficiary_name"]
                if not any(c in _TRADITIONAL for c in name):
                    continue
                row["beneficiary_name"] = "".join(_TRADITIONAL.get(c, c) for c in name)
            elif kind == "missing_character":
                name = row["beneficiary_name"]
                if len(name) != 3:
                    continue
                row["beneficiary_name"] = name[0] + name[2]
            self.truth["identity_variants"].append(
                {
                    "kind": kind,
                    "register_id": original,
                    "file": "aid_records",
                    "record": row["record_id"],
                    "as_recorded": {"beneficiary_ref": row["beneficiary_ref"], "beneficiary_name": row["beneficiary_name"]},
                }
            )

    def samples(self) -> None:
        """Obligations and tiers the policy engine must reproduce, on unambiguous households."""
        rule = POLICY["maintenance_rule"]
        for hh in self.households:
            for child, chh in self.obligors_of.get(hh.household_id, []):
                pc = self.per_capita(chh)
                std = self.standard(chh.urban_rural)
                amount = round(max(0.0, pc - rule["k"] * std) * rule["share"], 2)
                self.truth["obligations"].append(
                    {
                        "obligor": child.id_number,
                        "obligor_household": chh.household_id,
                        "dependant_household": hh.household_id,
                        # Who the child owes: parents aged 60+ or without labour capacity.
                        "dependants": sorted(p.id_number for p in hh.members if _age_on(p.birth, AS_OF) >= 60 or p.labour == "none"),
                        "kind": "赡养 support of parents",
                        "obligor_household_per_capita_income": round(pc, 2),
                        "monthly_amount": amount,
                    }
                )
        for hh in self.households:
            if hh.planted or self.has_outside_obligors(hh) or any(p.major or p.disability in (1, 2) for p in hh.members):
                continue
            std = self.standard(hh.urban_rural)
            pc = self.per_capita(hh)
            tekun = hh.structure == "elderly_alone" and hh.monthly_income == 0 and hh.members[0].labour == "none"
            if not tekun and any(_without_labour_capacity(p) for p in hh.members):
                continue  # 特困 is judged person by person on each one's own income: not for this sample
            tier = (
                "特困"
                if tekun and hh.profile == "poor"
                else "低保"
                if pc < std
                else "低保边缘"
                if pc < std * POLICY["marginal_multiple"]
                else "none"
                if pc >= std * POLICY["watch_multiple"]
                else None
            )
            if tier is None:
                continue
            self.truth["tier_sample"].append(
                {"household": hh.household_id, "tier": tier, "per_capita_income": round(pc, 2), "standard": std, "size": len(hh.members)}
            )
        # Keep the sample a documented size: every 特困/低保/边缘 and every tenth of the others.
        sample = self.truth["tier_sample"]
        self.truth["tier_sample"] = [s for i, s in enumerate(sample) if s["tier"] != "none" or i % 10 == 0]
