"""What the rules read from a household's facts: who is alive on a day, which items are current,
money to the fen, and the household's own income as the means test counts it (the common ground of
the means test and the obligations).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from policy.config import PolicyConfig
from queries.findings import FAR_FUTURE

__all__ = ["ADULT", "ELDERLY"]

ADULT, ELDERLY = 18, 60


def _alive(p: dict[str, Any], on: dt.date) -> bool:
    return not p.get("deceased") or p["deceased"] > on.isoformat()


def _current(items: Iterable[dict[str, Any]], on: dt.date) -> list[dict[str, Any]]:
    """The items whose period covers ``on`` (``covers`` inlined: this runs for every household)."""
    iso = on.isoformat()
    return [i for i in items if (i.get("start") or "0000-01-01") <= iso <= (i.get("end") or FAR_FUTURE)]


def _money(x: float) -> float:
    return round(x + 0.0, 2)


def _own_income(fact: dict[str, Any], policy: PolicyConfig, on: dt.date) -> dict[str, Any]:
    """A household's own counted income (no maintenance): items, deductions, imputed farm income."""
    living = {m["id"] for m in fact["members"] if _alive(m, on)}
    rules = policy.income
    items, earned_by = [], defaultdict(float)
    for i in _current(fact["incomes"], on):
        if i["person"] not in living:
            continue
        counted = i["kind"] not in rules.exempt_kinds
        items.append(
            {
                "id": i["id"],
                "person": i["person"],
                "kind": i["kind"],
                "amount": i["amount"],
                "counted": counted,
                "department": i.get("department"),
            }
        )
        if counted and i["kind"] in rules.earned_kinds:
            earned_by[i["person"]] += i["amount"]
    deductions = {}
    for person, earned in sorted(earned_by.items()):
        cut = earned * rules.job_cost_share
        if rules.job_cost_max:
            cut = min(cut, rules.job_cost_max)
        if cut:
            deductions[person] = _money(cut)
    imputed = []
    if not any(i["kind"] == "farm" for i in items):
        for a in fact["assets"]:
            per_unit = rules.farm_per_unit.get(a["kind"])
            if per_unit:
                imputed.append(
                    {
                        "asset": a["id"],
                        "kind": a["kind"],
                        "quantity": a["quantity"],
                        "per_unit": per_unit,
                        "amount": _money(a["quantity"] * per_unit),
                    }
                )
    own = sum(i["amount"] for i in items if i["counted"])
    total = own - sum(deductions.values()) + sum(x["amount"] for x in imputed)
    return {
        "members": len(living),
        "items": items,
        "own": _money(own),
        "deductions": deductions,
        "imputed": imputed,
        "counted": _money(max(0.0, total)),
    }
