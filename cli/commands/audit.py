"""The audit: duplicate and missed aid with evidence, and auditors' marks."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli.app import AsOfOpt, CatalogueOpt, Neo4jOpt, StoreOpt, _day, _open, _table, app, err, friendly, out
from graph.privacy import mask_tree


class AuditFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"
    html = "html"


@app.command()
@friendly
def audit(
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
    region: Annotated[str | None, typer.Option("--region", help="A region code: keep findings in it and its subtree.")] = None,
    as_of: AsOfOpt = None,
    fmt: Annotated[AuditFormat, typer.Option("--format", help="table, json, csv or xlsx.")] = AuditFormat.table,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the full evidence here (required for xlsx).")] = None,
    generic_threshold: Annotated[
        int, typer.Option("--generic-threshold", min=1, help="An identifier shared by more households is generic.")
    ] = 8,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="The region's policy file: the means test of the missed-aid rules (default: the shipped one)."),
    ] = None,
    catalogue: CatalogueOpt = None,
) -> None:
    """Duplicate aid, missed aid and the service findings (overdue orders, returned needs never sent
    out again, barred resources still serving), with evidence. Findings are results: the exit code is 0.

    --format html writes a page with charts (findings by kind and county, amount at stake, tiers by
    county, warnings over time, unmatched needs by category); xlsx a workbook for auditors.
    """
    from policy.audit import audit as run_audit
    from policy.catalogue import load_catalogue
    from policy.config import load_policy
    from viz.export import audit_report_html, audit_xlsx, write_findings_csv

    if fmt in (AuditFormat.xlsx, AuditFormat.html) and out_file is None:
        raise ValueError(f"--format {fmt.value} needs --out FILE")
    with _open(store, neo4j) as graph_store:
        report = run_audit(
            graph_store,
            as_of=_day(as_of),
            region=region,
            generic_threshold=generic_threshold,
            policy=load_policy(policy),
            standing_rules=load_catalogue(catalogue).evaluation,
        )
        if fmt is AuditFormat.html:
            page = audit_report_html(graph_store, mask_tree(report.model_dump(mode="json")), _day(as_of), region, load_policy(policy))
            out_file.write_text(page, encoding="utf-8")  # type: ignore[union-attr]
            err.print(f"report written to {out_file}", markup=False)
            return
    if fmt is AuditFormat.table:
        totals: dict[tuple[str, str], list[float]] = {}
        for row in report.summary:
            t = totals.setdefault((row.family, row.kind), [0, 0.0])
            t[0] += row.findings
            t[1] += row.amount_at_stake
        by_kind = _table("findings by kind", "family", "kind", "findings", "amount at stake", numeric=("findings", "amount at stake"))
        for (family, kind), (n, amount) in totals.items():
            by_kind.add_row(family, kind, str(int(n)), f"{amount:,.2f}")
        out.print(by_kind)
        summary = _table(
            f"audit as of {report.as_of}" + (f", region {region}" if region else ""),
            "family",
            "kind",
            "county",
            "findings",
            "amount at stake",
            "confirmed",
            "dismissed",
            numeric=("findings", "amount at stake", "confirmed", "dismissed"),
        )
        for row in report.summary:
            summary.add_row(
                row.family,
                row.kind,
                row.county or "",
                str(row.findings),
                f"{row.amount_at_stake:,.2f}",
                str(row.confirmed),
                str(row.dismissed),
            )
        out.print(summary)
        out.print(f"{len(report.findings)} findings; generic identifiers discounted: {len(report.generic_identifiers)}")
    data = mask_tree(report.model_dump(mode="json"))
    if fmt is AuditFormat.json:
        text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
        if out_file:
            out_file.write_text(text + "\n", encoding="utf-8")
        else:
            sys.stdout.write(text + "\n")
    elif fmt is AuditFormat.csv:
        write_findings_csv(data["findings"], out_file)
    elif fmt is AuditFormat.xlsx:
        out_file.write_bytes(audit_xlsx(data))  # type: ignore[union-attr]
    if fmt is AuditFormat.table and out_file is not None:
        out_file.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if out_file is not None:
        err.print(f"evidence written to {out_file}", markup=False)


@app.command()
@friendly
def mark(
    finding_id: Annotated[str, typer.Argument(help="The finding's id, as the audit prints it.")],
    status: Annotated[str, typer.Option("--status", help="confirmed or dismissed.")],
    reason: Annotated[str, typer.Option("--reason", help="Why: kept with the mark.")],
    by: Annotated[str, typer.Option("--by", help="Who marks it (kept, with the time).")],
    store: StoreOpt = None,
    neo4j: Neo4jOpt = None,
) -> None:
    """Mark an audit finding confirmed or dismissed; the mark survives re-ingest and re-audit."""
    from actions.marks import mark_finding

    if status not in ("confirmed", "dismissed"):
        raise ValueError("--status must be confirmed or dismissed")
    with _open(store, neo4j) as graph_store:
        saved = mark_finding(graph_store, finding_id, status=status, reason=reason, by=by)
    out.print(f"{finding_id}: {saved['status']} by {saved['marked_by']} at {saved['marked_at']}", markup=False)
