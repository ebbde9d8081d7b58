"""The audit's findings as files: CSV, Excel and the HTML report, for `aidgraph audit` and the workbench.

The findings given are already masked for whoever receives them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from pathlib import Path
from typing import Any

from graph.store import GraphStore
from policy.config import PolicyConfig
from queries.regions import region_tree

__all__ = ["FINDING_COLUMNS", "audit_report_html", "audit_xlsx", "findings_csv", "write_findings_csv"]

FINDING_COLUMNS = (
    "id",
    "family",
    "kind",
    "rule",
    "region_code",
    "persons",
    "households",
    "records",
    "services",
    "needs",
    "programs",
    "amount_at_stake",
    "mark",
    "evidence",
)
SUMMARY_COLUMNS = ("family", "kind", "county", "findings", "amount_at_stake", "confirmed", "dismissed")


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "" if value is None else value


def findings_csv(findings: list[dict[str, Any]], headers: dict[str, str] | None = None) -> str:
    """One row per finding; ``headers`` renames the columns (the workbench's, in the user's language)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([(headers or {}).get(c, c) for c in FINDING_COLUMNS])
    for f in findings:
        writer.writerow([_cell(f.get(c)) for c in FINDING_COLUMNS])
    return buffer.getvalue()


def write_findings_csv(findings: list[dict[str, Any]], path: Path | None) -> None:
    text = findings_csv(findings)
    if path is None:
        sys.stdout.write(text)
    else:
        path.write_text(text, encoding="utf-8")


def audit_xlsx(data: dict[str, Any], headers: dict[str, str] | None = None) -> bytes:
    """A workbook: the summary, the findings and the generic identifiers discounted."""
    from openpyxl import Workbook

    names = headers or {}
    book = Workbook()
    sheet = book.active
    sheet.title = names.get("summary", "summary")
    sheet.append([names.get(c, c) for c in SUMMARY_COLUMNS])
    for row in data["summary"]:
        sheet.append([row[c] for c in SUMMARY_COLUMNS])
    findings = book.create_sheet(names.get("findings", "findings"))
    findings.append([names.get(c, c) for c in FINDING_COLUMNS])
    for f in data["findings"]:
        findings.append([_cell(f.get(c)) for c in FINDING_COLUMNS])
    generic = book.create_sheet(names.get("generic identifiers", "generic identifiers"))
    generic.append(["kind", "value", "households"])
    for g in data.get("generic_identifiers", []):
        generic.append([g["kind"], g["value"], g["households"]])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def audit_report_html(graph_store: GraphStore, data: dict[str, Any], day: dt.date | None, region: str | None, policy: PolicyConfig) -> str:
    """The HTML audit report (charts and the findings table) of the masked report ``data``."""
    from policy.means_test import evaluate_in_parts
    from queries.changes import warnings_over_time
    from queries.linkage import unmatched_families
    from viz.report import render_report, report_data

    inside = region_tree(graph_store).within(region)
    tiers: dict[str, dict[str, int]] = {}
    # Counted part by part: the whole evaluation is never held (obligations cross regions, so every household is evaluated).
    for d in (d for part in evaluate_in_parts(graph_store, policy, as_of=day) for d in part.households):
        if inside(d.region_code):
            county = (d.region_code or "")[:6] or "unknown"
            tiers.setdefault(county, {})
            tiers[county][d.tier or "none"] = tiers[county].get(d.tier or "none", 0) + 1
    unmatched = [f.model_dump() for f in unmatched_families(graph_store, as_of=day) if inside(f.region_code)]
    return render_report(data, report_data(data, tiers, warnings_over_time(graph_store), unmatched))
