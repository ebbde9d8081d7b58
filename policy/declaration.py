"""Trust-based enrolment (告知承诺): an applicant's declaration against what the departments hold.

A declaration (JSON) lists the household's members, their monthly incomes and the household's
assets::

    {"household_id": "H-...",                        # optional: a household the register knows
     "members": [{"id_number": "...", "name": "...", "relation_to_head": "head"}],
     "incomes": [{"id_number": "...", "kind": "wage", "monthly_amount": 1800}],
     "assets":  [{"kind": "land_mu", "quantity": 2.5}]}

Each field is compared with the graph: members against the register (and the household they are
registered in), names, incomes current on the day by person and kind (with the department that
recorded each), assets by kind. A name in traditional characters is the same name in simplified
ones (周建軍 is 周建军). Every difference is listed with the department whose record shows it.

One-step approval needs both: every declared fact agrees, and the means test of the region's
policy (``policy.means_test.evaluate``) says the household qualifies (特困 or 低保); the check
shows the tier it relied on and the rule that decided it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ingest.normalise import simplified
from policy.config import PolicyConfig, load_policy
from queries.findings import covers, deceased_by
from queries.means_facts import means_facts
from queries.search import person_view

__all__ = ["Declaration", "DeclarationCheck", "check_declaration", "load_declaration"]

AMOUNT_TOLERANCE = 1.0  # yuan a month: rounding in a declaration is not a difference


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeclaredMember(_Strict):
    id_number: str = Field(min_length=15, max_length=18)
    name: str | None = None
    relation_to_head: str | None = None


class DeclaredIncome(_Strict):
    id_number: str = Field(min_length=15, max_length=18)
    kind: str
    monthly_amount: float = Field(ge=0)


class DeclaredAsset(_Strict):
    kind: str
    quantity: float = Field(ge=0)


class Declaration(_Strict):
    household_id: str | None = None
    members: list[DeclaredMember] = Field(min_length=1)
    incomes: list[DeclaredIncome] = []
    assets: list[DeclaredAsset] = []


class DeclarationCheck(BaseModel):
    household_id: str | None
    agrees: bool  # every declared fact agrees with the records
    approvable: bool = False  # agrees, and the means test says 特困 or 低保: one-step approval
    tier: str | None = None  # the tier the means test gives the household (None: none, or no household)
    tier_rule: str | None = None  # the rule that decided the tier
    verdict: str
    checked: list[str]  # what was compared and agreed
    differences: list[dict[str, Any]]  # field, declared, held, department


def load_declaration(path: str | Path) -> Declaration:
    """Read a declaration file; a ValueError names the file and the field that is wrong.

    Examples
    --------
    >>> import json, tempfile
    >>> path = Path(tempfile.mkdtemp()) / "declaration.json"
    >>> _ = path.write_text(json.dumps({"members": [{"id_number": "420203197506111710"}]}), encoding="utf-8")
    >>> [m.id_number for m in load_declaration(path).members]
    ['420203197506111710']
    >>> _ = path.write_text(json.dumps({"members": []}), encoding="utf-8")
    >>> load_declaration(path)
    Traceback (most recent call last):
    ValueError: declaration.json: members: List should have at least 1 item after validation, not 0
    """
    path = Path(path)
    try:
        return Declaration(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the declaration: {exc}") from None
    except ValidationError as exc:
        e = exc.errors()[0]
        raise ValueError(f"{path.name}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}") from None


def check_declaration(
    store: Any, declaration: Declaration, *, as_of: dt.date | None = None, policy: PolicyConfig | None = None
) -> DeclarationCheck:
    """Compare a declaration with the graph, field by field, and evaluate the household by ``policy``
    (default: the shipped one).

    Examples
    --------
    >>> from queries.examples import DAY, two_cases
    >>> honest = Declaration(household_id="H-420203-0001",
    ...     members=[DeclaredMember(id_number=i) for i in ("420203197506111710", "420203197802041825", "420203201307092421")],
    ...     incomes=[DeclaredIncome(id_number="420203197506111710", kind="flexible_work", monthly_amount=1800),
    ...              DeclaredIncome(id_number="420203197802041825", kind="flexible_work", monthly_amount=1200)])
    >>> check = check_declaration(two_cases(), honest, as_of=DAY)  # the 2.5 mu of farmland is not declared
    >>> check.agrees, check.differences[0]["field"], check.differences[0]["held"], check.tier
    (False, 'assets[land_mu]', 2.5, '防止返贫监测')
    """
    from policy.means_test import evaluate

    day = as_of or dt.date.today()
    declared_ids = [m.id_number.upper() for m in declaration.members]
    views = {pid: person_view(store, id_number=pid) for pid in declared_ids}
    households = {v.household["household_id"] for v in views.values() if v is not None and v.household}
    household_id = declaration.household_id or (sorted(households)[0] if len(households) == 1 else None)
    differences: list[dict[str, Any]] = []
    checked: list[str] = []

    # Members: in the register, in this household, by this name.
    for m in declaration.members:
        pid, view = m.id_number.upper(), views[m.id_number.upper()]
        if view is None:
            differences.append(
                {"field": f"members[{pid}]", "declared": "member", "held": "not in any department's records", "department": None}
            )
            continue
        registered = (view.household or {}).get("household_id")
        if household_id and registered != household_id:
            differences.append(
                {"field": f"members[{pid}].household", "declared": household_id, "held": registered, "department": "register"}
            )
        if m.name and view.person.get("name") and simplified(m.name) != simplified(view.person["name"]):
            differences.append({"field": f"members[{pid}].name", "declared": m.name, "held": view.person["name"], "department": "register"})
        if deceased_by(view.person, day):
            differences.append(
                {
                    "field": f"members[{pid}]",
                    "declared": "living member",
                    "held": f"deceased on {view.person['deceased_on']}",
                    "department": "register",
                }
            )
        checked.append(f"member {pid}")
    if household_id:
        facts = means_facts(store, household_ids=[household_id])
        held_members = {x["id"] for x in facts[0]["members"]} if facts else set()
        for pid in sorted(held_members - set(declared_ids)):
            differences.append(
                {"field": f"members[{pid}]", "declared": "not declared", "held": f"registered in {household_id}", "department": "register"}
            )
        held_assets: dict[str, float] = defaultdict(float)
        for a in facts[0]["assets"] if facts else []:
            held_assets[a["kind"]] += a.get("quantity") or 0
        declared_assets: dict[str, float] = defaultdict(float)
        for a in declaration.assets:
            declared_assets[a.kind] += a.quantity
        for kind in sorted(set(held_assets) | set(declared_assets)):
            if abs(held_assets[kind] - declared_assets[kind]) > 1e-9:
                differences.append(
                    {
                        "field": f"assets[{kind}]",
                        "declared": declared_assets[kind],
                        "held": held_assets[kind],
                        "department": "asset records",
                    }
                )
            else:
                checked.append(f"asset {kind}")

    # Incomes: by person and kind, current on the day.
    held: dict[tuple[str, str], list[tuple[float, str | None]]] = defaultdict(list)
    for pid, view in views.items():
        for i in view.incomes if view else []:
            if covers(i.get("period_start"), i.get("period_end"), day):
                held[(pid, i["kind"])].append((i["monthly_amount"], i.get("source_department")))
    declared: dict[tuple[str, str], float] = defaultdict(float)
    for i in declaration.incomes:
        declared[(i.id_number.upper(), i.kind)] += i.monthly_amount
    for key in sorted(set(held) | set(declared)):
        amount = sum(a for a, _ in held.get(key, []))
        departments = sorted({d or "?" for _, d in held.get(key, [])})
        if abs(amount - declared.get(key, 0.0)) > AMOUNT_TOLERANCE:
            differences.append(
                {
                    "field": f"incomes[{key[0]}].{key[1]}",
                    "declared": declared.get(key, 0.0),
                    "held": amount,
                    "department": ", ".join(departments) or None,
                }
            )
        else:
            checked.append(f"income {key[0]} {key[1]}")
    agrees = not differences
    decision = None
    if household_id:
        decision = next(iter(evaluate(store, policy or load_policy(), as_of=day, household_ids=[household_id]).households), None)
    tier = decision.tier if decision else None
    approvable = agrees and tier in ("特困", "低保")
    if not agrees:
        verdict = f"{len(differences)} difference(s) with the departments' records: verify before approval"
    elif approvable:
        verdict = f"all declared facts agree with the departments' records and the means test gives {tier}: one-step approval may proceed"
    else:
        verdict = (
            f"all declared facts agree, but the means test gives {tier or 'no tier'}"
            + (f" ({decision.rule})" if decision else " (no household to evaluate)")
            + ": not eligible for one-step approval"
        )
    return DeclarationCheck(
        household_id=household_id,
        agrees=agrees,
        approvable=approvable,
        tier=tier,
        tier_rule=decision.rule if decision else None,
        verdict=verdict,
        checked=checked,
        differences=differences,
    )
