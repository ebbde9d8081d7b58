"""One household: everything linked to it, its drawing, and why its tier is what it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.app import AsOfOpt, CatalogueOpt, JsonOpt, Neo4jOpt, PolicyOpt, StoreOpt, _day, _open, _table, app, friendly, out
from graph.privacy import mask_tree


@app.command()
@friendly
def draw(
    household_id: Annotated[str, typer.Argument(help="The household id.")],
    out_file: Annotated[Path, typer.Option("--out", help="The HTML file to write (self-contained: opens with no network).")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    as_of: AsOfOpt = None,
) -> None:
    """Draw a household's chain into one HTML file for a case file (ID numbers masked; findings in red)."""
    from policy.audit import audit as run_audit
    from queries.household_chain import household_chain
    from viz.draw import draw_chain

    with _open(store, neo4j) as graph_store:
        chain = household_chain(graph_store, household_id, as_of=_day(as_of))
        if chain is None:
            raise ValueError(f"no household {household_id} in this store")
        findings = [f.model_dump(mode="json") for f in run_audit(graph_store, as_of=_day(as_of)).findings if household_id in f.households]
    counts = draw_chain(mask_tree(chain.model_dump(mode="json")), mask_tree(findings), out_file)
    out.print(f"wrote {out_file}: {counts['nodes']} nodes, {counts['edges']} relationships, {len(findings)} finding(s) outlined")


def _period(props: dict[str, Any], start: str = "period_start", end: str = "period_end") -> str:
    return f"{props.get(start, '?')} .. {props.get(end) or 'ongoing'}"


@app.command()
@friendly
def household(
    household_id: Annotated[str, typer.Argument(help="The household id, e.g. H-420106-0001.")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    as_json: JsonOpt = False,
    chain: Annotated[bool, typer.Option("--chain", help="Add the chain: obligors, aid, referrals, work orders, subgraph.")] = False,
    as_of: AsOfOpt = None,
    catalogue: CatalogueOpt = None,
) -> None:
    """A household, its members, the service groups it belongs to and everything linked to it (ID numbers and phones masked)."""
    from cli.commands.casework import service_path, show_service_path
    from policy.catalogue import load_catalogue
    from policy.groups import household_groups
    from queries.household_chain import household_chain

    services_catalogue = load_catalogue(catalogue)
    with _open(store, neo4j) as graph_store:
        result = household_chain(graph_store, household_id, as_of=_day(as_of))
        service = service_path(graph_store, household_id)
    if result is None:
        raise ValueError(f"no household {household_id} in this store")
    groups = household_groups(result.view, services_catalogue, as_of=_day(as_of))
    data = mask_tree(result.view.model_dump(mode="json"))
    if as_json:
        if chain:
            data = mask_tree({**result.model_dump(mode="json"), "groups": [g.model_dump() for g in groups], **service})
        out.print_json(json.dumps(data, ensure_ascii=False, sort_keys=True))  # same bytes from every engine
        return
    h = data["household"]
    where = " / ".join(r.get("name", r["region_code"]) for r in reversed(data["region_path"]))
    out.print(f"[bold]{h['household_id']}[/bold]  {where}  {h.get('address', '')}  ({h.get('urban_rural', '?')})")

    columns = ("ID number", "name", "sex", "age", "role", "disability", "illness", "labour", "employment", "income/month")
    members = _table("members", *columns, numeric=("age", "income/month"))
    for m in data["members"]:
        p = m["person"]
        illness = ", ".join(k for k, flag in (("chronic", p.get("chronic_illness")), ("major", p.get("major_illness"))) if flag)
        income = sum(i["monthly_amount"] for i in m["incomes"])
        members.add_row(
            p["id_number"],
            p.get("name", ""),
            p.get("sex", ""),
            "" if m.get("age") is None else str(m["age"]),
            (m["relation_to_head"] or "") + ("" if m.get("living", True) else f" (died {p.get('deceased_on')})"),
            str(p.get("disability_grade", "")),
            illness,
            p.get("labour_capacity", ""),
            p.get("employment", ""),
            f"{income:,.0f}" if m["incomes"] else "",
        )
    out.print(members)

    if data["relatives"]:
        relatives = _table("relatives outside the household", "ID number", "name", "is the", "of member", "household", "in register")
        for r in data["relatives"]:
            p = r["person"]
            relatives.add_row(
                p["id_number"],
                p.get("name", ""),
                r["relative_is"],
                r["of_member"],
                p.get("household_id", ""),
                "yes" if p.get("in_register") else "no",
            )
        out.print(relatives)

    aid = _table(
        "aid records", "record", "programme", "department", "beneficiary", "amount", "period", "status", "link", numeric=("amount",)
    )
    for a in data["aid_records"]:
        rec, prog, dept = a["record"], a["program"] or {}, a.get("sending_department") or {}
        aid.add_row(
            rec["record_id"],
            prog.get("name", rec["program_code"]),
            dept.get("name", rec["source_department"]),
            a["beneficiary"],
            f"{rec['amount']:,.2f}",
            _period(rec),
            rec.get("status", ""),
            f"{a['link'].get('match', '')} {a['link'].get('score', '')}".strip(),
        )
    out.print(aid)

    if data["needs"]:
        needs = _table("needs", "need", "category", "urgency", "status", "raised", "served by", "aid records")
        for n in data["needs"]:
            need = n["need"]
            served = "; ".join(
                f"{(s['resource'] or {}).get('provider_name', s['service']['resource_id'])} ({(s['resource'] or {}).get('provider_type', '')})"
                for s in n["services"]
            )
            needs.add_row(
                need["need_id"],
                need["category"],
                need["urgency"],
                need.get("status", ""),
                need["raised_on"],
                served,
                ", ".join(n["aid_record_ids"]),
            )
        out.print(needs)
    if data["services"]:
        services = _table("services to the household", "service", "provider", "type", "need", "period", "amount", numeric=("amount",))
        for s in data["services"]:
            svc, res = s["service"], s["resource"] or {}
            services.add_row(
                svc["service_id"],
                res.get("provider_name", svc["resource_id"]),
                res.get("provider_type", ""),
                svc.get("need_id", ""),
                _period(svc, "start", "end"),
                f"{svc['amount']:,.2f}" if "amount" in svc else "",
            )
        out.print(services)
    if data["assets"]:
        assets = ", ".join(f"{a['kind']} x{a['quantity']:g}" for a in data["assets"])
        out.print(f"assets: {assets}")
    for g in mask_tree([g.model_dump() for g in groups]):
        out.print(f"group {g['name']} ({g['group']}): {g['reason']}: {', '.join(g['persons'])}", markup=False)
    if chain:
        extra = mask_tree(result.model_dump(mode="json", include={"obligors", "timeline", "referral_level", "referral_reason"}))
        for o in extra["obligors"]:
            out.print(
                f"owes {o['owes']}: {o['person'].get('name', '')} {o['person']['id_number']} to {o['dependant']} ({o['basis']})",
                markup=False,
            )
        steps = " -> ".join(f"{t['date']} {t['department']} {t['program']}" for t in extra["timeline"])
        out.print(f"aid timeline: {steps or 'none'}", markup=False)
        show_service_path(mask_tree(service), f"{extra['referral_level']} ({extra['referral_reason']})")


@app.command()
@friendly
def explain(
    household_id: Annotated[str, typer.Argument(help="The household id.")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    policy: PolicyOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Why a household is in its tier: who, which numbers, which rule (ID numbers masked)."""
    from policy.config import load_policy
    from policy.means_test import evaluate as run

    rules = load_policy(policy)
    with _open(store, neo4j) as graph_store:
        result = run(graph_store, rules, as_of=_day(as_of), household_ids=[household_id])
    if not result.households:
        raise ValueError(f"no household {household_id} in this store")
    d = result.households[0]
    data = mask_tree(d.model_dump(mode="json"))
    if as_json:
        out.print_json(json.dumps(data, ensure_ascii=False, sort_keys=True))
        return
    e = data["explanation"]
    out.print(f"[bold]{d.household_id}[/bold]: {d.tier or 'no tier'} as of {result.as_of} (policy: {result.policy})")
    out.print(f"  because {d.rule}", markup=False)
    members = _table("members counted", "ID number", "name", "relation", "age", "labour", "categories", numeric=("age",))
    for m in e["members"]:
        members.add_row(
            m["id"],
            m.get("name") or "",
            m.get("relation") or "",
            str(m.get("age") or ""),
            m.get("labour") or "",
            ", ".join(m["categories"]),
        )
    out.print(members)
    lines = [f"  income items: {len(e['income_items'])}, counted {d.own_income:,.2f}"]
    for i in e["income_items"]:
        lines.append(
            f"    {i['person']} {i['kind']} {i['amount']:,.2f}{'' if i['counted'] else ' (exempt)'} from {i.get('department') or '?'}"
        )
    if e["job_cost_deductions"]:
        lines.append(f"  minus job costs {d.deductions:,.2f}")
    for x in e["imputed_income"]:
        lines.append(f"  plus imputed farm income {x['amount']:,.2f} ({x['quantity']:g} {x['kind']} x {x['per_unit']:g})")
    for o in e["obligors"]:
        lines.append(f"  plus maintenance {o['monthly_amount']:,.2f} from {o['obligor']} ({o['kind']}; {o['basis']}): {o['rule']}")
    lines.append(f"  = {d.counted_income:,.2f} for {d.members} members: {d.per_capita_income:,.2f} per person")
    t = e["thresholds"]
    lines.append(f"  thresholds: standard {t['standard']:g}, marginal {t['marginal']:g}, watch {t['watch']:g}")
    if d.rigid_expenditure:
        lines.append(
            f"  rigid expenditure {d.rigid_expenditure:,.2f}: "
            + "; ".join(f"{r['person']} {r['condition']} {r['amount']:g}" for r in e["rigid_expenditure"])
        )
    for a in d.assets_over_limit:
        lines.append(f"  assets over limit: {a}")
    if d.benefit is not None:
        lines.append(
            f"  benefit {d.benefit:,.2f} a month: " + "; ".join(f"{b['person']} {b['gap']:g} x {b['coefficient']:g}" for b in e["benefit"])
        )
    if d.classes:
        lines.append(f"  classes: {', '.join(d.classes)}")
    if d.eligible_programs:
        lines.append(f"  qualifies for: {', '.join(d.eligible_programs)}")
    for line in lines:
        out.print(line, markup=False)
