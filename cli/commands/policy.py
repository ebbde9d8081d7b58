"""The policy engine over every household: evaluation, warnings, reviews, changes, declarations."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.app import EXIT_ROWS_REJECTED, AsOfOpt, JsonOpt, Neo4jOpt, PolicyOpt, StoreOpt, _day, _open, _table, app, emit, friendly, out
from graph.privacy import mask_tree
from graph.store import GraphStore
from queries.regions import region_tree


def _evaluate_and_record(graph_store: GraphStore, rules: Any, day: dt.date | None, tally: Any = None) -> Any:
    """Evaluate every household, part by part; write the obligations and the tier records (what
    changed is kept in history). ``tally`` sees each part as it goes by."""
    from actions.evaluations import record_parts
    from policy.means_test import evaluate_in_parts

    def parts() -> Iterator[Any]:
        for part in evaluate_in_parts(graph_store, rules, as_of=day):
            if tally is not None:
                tally(part)
            yield part

    return record_parts(graph_store, parts(), rules)


@app.command()
@friendly
def evaluate(
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    policy: PolicyOpt = None,
    as_of: AsOfOpt = None,
    region: Annotated[str | None, typer.Option("--region", help="A region code and its subtree.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Obligations and tiers of every household by the policy; writes the OBLIGED_TO_SUPPORT relationships."""
    from policy.config import load_policy

    rules = load_policy(policy)
    counts: Counter[str] = Counter()
    owed = [0, 0]  # obligations of the households reported, those with an amount due

    with _open(store, neo4j) as graph_store:
        inside = region_tree(graph_store).within(region)

        def tally(part: Any) -> None:
            # Obligations cross regions (a son in another county owes his parents): the whole graph
            # is evaluated, and --region only narrows what is reported.
            wanted = {d.household_id for d in part.households if not region or inside(d.region_code)}
            counts.update(d.tier or "none" for d in part.households if d.household_id in wanted)
            mine = [o for o in part.obligations if o.dependant_household in wanted]
            owed[0] += len(mine)
            owed[1] += sum(1 for o in mine if o.monthly_amount > 0)

        done = _evaluate_and_record(graph_store, rules, _day(as_of), tally)
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "as_of": done.as_of,
                    "policy": done.policy,
                    "tiers": dict(counts),
                    "obligations": owed[0],
                    "written": done.obligations,
                    "recorded": done.records,
                },
                ensure_ascii=False,
            )
        )
        return
    table = _table(
        f"tiers as of {done.as_of} ({done.policy})" + (f", region {region}" if region else ""),
        "tier",
        "households",
        numeric=("households",),
    )
    for tier in ("特困", "低保", "低保边缘", "刚性支出困难", "防止返贫监测", "其他", "none"):
        if tier in counts:
            table.add_row(tier, str(counts[tier]))
    out.print(table)
    out.print(f"obligations: {owed[0]} ({owed[1]} with an amount due); OBLIGED_TO_SUPPORT written: {done.obligations}")
    out.print(
        f"tier records: {done.records['created']} new, {done.records['updated']} changed, {done.records['unchanged']} unchanged (see `aidgraph changes`)"
    )


@app.command()
@friendly
def warnings(
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    policy: PolicyOpt = None,
    as_of: AsOfOpt = None,
    region: Annotated[str | None, typer.Option("--region", help="A region code and its subtree.")] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Rows to print.")] = 30,
    as_json: JsonOpt = False,
) -> None:
    """The early-warning push list: top 5% hardship index, or income under 2x the standard, not enrolled."""
    from policy.config import load_policy
    from policy.lists import policy_lists

    rules = load_policy(policy)
    with _open(store, neo4j) as graph_store:
        # Ranked among every household evaluated; --region only narrows what is shown.
        rows = policy_lists(graph_store, rules, as_of=_day(as_of)).warnings
        inside = region_tree(graph_store).within(region)
    rows = [r for r in rows if inside(r.region_code)]

    def show() -> None:
        columns = ("household", "region", "index", "rank", "tier", "income/head", "why")
        table = _table(f"early warnings ({len(rows)})", *columns, numeric=("index", "rank", "income/head"))
        for r in rows[:top]:
            table.add_row(
                r.household_id,
                r.region_code or "",
                f"{r.index:.3f}",
                str(r.rank),
                r.tier or "",
                f"{r.per_capita_income:,.0f}",
                "; ".join(r.reasons),
            )
        out.print(table)

    emit([r.model_dump() for r in rows], as_json=as_json, table=show)


@app.command()
@friendly
def reviews(
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    policy: PolicyOpt = None,
    as_of: AsOfOpt = None,
    due_before: Annotated[str | None, typer.Option("--due-before", help="Only reviews due before this day (YYYY-MM-DD).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Enrolled households' next reviews by the cadence rules, and the gradual exits."""
    from policy.config import load_policy
    from policy.lists import policy_lists

    rules = load_policy(policy)
    with _open(store, neo4j) as graph_store:
        lists = policy_lists(graph_store, rules, as_of=_day(as_of))
    due, exits = lists.reviews_before(_day(due_before)), lists.exits

    def show() -> None:
        columns = ("household", "tier", "enrolled since", "basis", "every (months)", "next review")
        table = _table(f"reviews due ({len(due)})", *columns, numeric=("every (months)",))
        for r in due:
            table.add_row(r.household_id, r.tier or "none", r.enrolled_since, r.basis, str(r.every_months), r.next_review)
        out.print(table)
        table = _table(f"exits ({len(exits)})", "household", "tier now", "income/head", "exit on", "why", numeric=("income/head",))
        for e in exits:
            table.add_row(e.household_id, e.tier or "none", f"{e.per_capita_income:,.0f}", e.exit_on, e.why)
        out.print(table)

    emit({"reviews": [r.model_dump() for r in due], "exits": [e.model_dump() for e in exits]}, as_json=as_json, table=show)


@app.command()
@friendly
def changes(
    since: Annotated[str, typer.Option("--since", help="A time (YYYY-MM-DD or ISO date-time, UTC unless it says otherwise).")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    policy: PolicyOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-evaluate, then list every household whose tier, benefit, obligations or warning changed since a time, with the facts that changed."""
    from policy.config import load_policy
    from queries.changes import changes_since

    moment = dt.datetime.fromisoformat(since)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    rules = load_policy(policy)
    with _open(store, neo4j) as graph_store:
        _evaluate_and_record(graph_store, rules, _day(as_of))
        found = changes_since(graph_store, moment)
    data = mask_tree([c.model_dump() for c in found])
    if as_json:
        out.print_json(json.dumps(data, ensure_ascii=False))
        return
    out.print(f"{len(found)} change(s) since {moment.isoformat()}")
    for c in data:
        b, a = c["before"], c["after"]
        out.print(
            f"[bold]{c['household_id']}[/bold] at {c['at']}: tier {b['tier']} -> {a['tier']}, income/head {b['per_capita_income']} -> {a['per_capita_income']}, benefit {b['benefit']} -> {a['benefit']}, warned {b['warned']} -> {a['warned']}"
        )
        for line in c["facts_removed"]:
            out.print(f"   - {line}", markup=False)
        for line in c["facts_added"]:
            out.print(f"   + {line}", markup=False)
        for line in c["obligors_removed"]:
            out.print(f"   - obligor {line}", markup=False)
        for line in c["obligors_added"]:
            out.print(f"   + obligor {line}", markup=False)


@app.command("check-declaration")
@friendly
def check_declaration_cmd(
    file: Annotated[Path, typer.Argument(help="The applicant's declaration (JSON; see policy/declaration.py).")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="The region's policy file: the means test one-step approval relies on.")
    ] = None,
) -> None:
    """Trust-based enrolment (告知承诺): compare a declaration with every department's records and
    evaluate the household. Exit 0 if one-step approval may proceed, 3 if not."""
    from policy.config import load_policy
    from policy.declaration import check_declaration, load_declaration

    declaration = load_declaration(file)
    with _open(store, neo4j) as graph_store:
        result = check_declaration(graph_store, declaration, as_of=_day(as_of), policy=load_policy(policy))
    data = mask_tree(result.model_dump())
    if as_json:
        out.print_json(json.dumps(data, ensure_ascii=False))
    else:
        out.print(f"{result.household_id or 'applicant'}: {result.verdict}", markup=False)
        if data["differences"]:
            table = _table("differences", "field", "declared", "held", "department")
            for d in data["differences"]:
                table.add_row(str(d["field"]), str(d["declared"]), str(d["held"]), str(d["department"] or ""))
            out.print(table)
        out.print(
            f"agreed: {len(result.checked)} field(s); means test: {result.tier or 'no tier'} ({result.tier_rule or '-'})", markup=False
        )
    if not result.approvable:
        raise typer.Exit(EXIT_ROWS_REJECTED)
