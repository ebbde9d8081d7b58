"""The audit report as an HTML page with charts, drawn server-side as SVG (no script, no network).

One chart per question, titled and labelled: findings by kind, findings by county, amount at stake
by kind, tiers by county, households on the warning list over time, unmatched needs by category.
Every number in a chart is also in its table, and comes from the same JSON report.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from typing import Any

__all__ = ["bar_chart", "render_report", "report_data"]

_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def _number(value: float) -> str:
    return f"{value:,.2f}" if value != int(value) else f"{int(value):,}"


def bar_chart(title: str, rows: list[tuple[str, float]], *, unit: str = "", chart_id: str = "") -> str:
    """A horizontal bar chart as SVG, with the values printed at the bars, and the same rows as a table.

    >>> "findings" in bar_chart("findings", [("a", 2.0)])
    True
    """
    width, bar_h, left = 860, 22, 320
    top = max((v for _, v in rows), default=0) or 1
    bars = []
    for i, (label, value) in enumerate(rows):
        y = 30 + i * (bar_h + 6)
        w = (width - left - 90) * value / top
        text = _number(value)
        bars.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" font-size="12">{html.escape(label)}</text>'
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{_COLOURS[i % len(_COLOURS)]}"><title>{html.escape(label)}: {text}</title></rect>'
            f'<text x="{left + w + 4:.1f}" y="{y + 15}" font-size="12" class="value">{text}{html.escape(unit)}</text>'
        )
    height = 40 + len(rows) * (bar_h + 6)
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="{html.escape(title)}">'
        f'<text x="0" y="16" font-size="14" font-weight="bold">{html.escape(title)}</text>{"".join(bars)}'
        + ("" if rows else '<text x="0" y="40" font-size="12">nothing to show</text>')
        + "</svg>"
    )
    table = "".join(f'<tr><td>{html.escape(label)}</td><td class="num">{_number(value)}</td></tr>' for label, value in rows)
    return f'<figure id="{chart_id}">{svg}<table class="data"><tr><th>{html.escape(title)}</th><th>value</th></tr>{table}</table></figure>'


def report_data(
    audit: dict[str, Any], tiers: dict[str, dict[str, int]], warnings_over_time: list[tuple[str, int]], unmatched: list[dict[str, Any]]
) -> dict[str, list[tuple[str, float]]]:
    """The numbers of every chart, from the (masked) JSON audit report and the policy engine's answers."""
    by_kind: Counter[str] = Counter()
    by_county: Counter[str] = Counter()
    amount: defaultdict[str, float] = defaultdict(float)
    for row in audit["summary"]:
        by_kind[f"{row['family']} / {row['kind']}"] += row["findings"]
        by_county[row["county"] or "unknown"] += row["findings"]
        amount[f"{row['family']} / {row['kind']}"] += row["amount_at_stake"]
    needs: Counter[str] = Counter(n["category"] for f in unmatched for n in f["needs"])
    data = {
        "findings_by_kind": sorted(by_kind.items()),
        "findings_by_county": sorted(by_county.items()),
        "amount_by_kind": sorted((k, round(v, 2)) for k, v in amount.items()),
        "warnings_over_time": [(day, float(n)) for day, n in warnings_over_time],
        "unmatched_needs_by_category": sorted(needs.items()),
    }
    for tier in ("特困", "低保", "低保边缘", "刚性支出困难", "防止返贫监测", "其他"):
        data[f"tier {tier} by county"] = sorted((county, float(counts.get(tier, 0))) for county, counts in tiers.items())
    return {k: [(label, float(v)) for label, v in rows] for k, rows in data.items()}


def render_report(audit: dict[str, Any], data: dict[str, list[tuple[str, float]]]) -> str:
    """The page: the charts, then the findings table (already masked)."""
    charts = [
        bar_chart("Findings by kind", data["findings_by_kind"], chart_id="findings_by_kind"),
        bar_chart("Findings by county", data["findings_by_county"], chart_id="findings_by_county"),
        bar_chart("Amount at stake by kind (yuan; recurring aid per month)", data["amount_by_kind"], chart_id="amount_by_kind"),
    ]
    for key, rows in data.items():
        if key.startswith("tier "):
            charts.append(bar_chart(f"Households in {key.removeprefix('tier ')}", rows, chart_id=key.replace(" ", "_")))
    charts.append(bar_chart("Households on the warning list, by evaluation day", data["warnings_over_time"], chart_id="warnings_over_time"))
    charts.append(bar_chart("Unmatched needs by category", data["unmatched_needs_by_category"], chart_id="unmatched_needs_by_category"))
    rows = "".join(
        f"<tr><td>{html.escape(f['id'])}</td><td>{html.escape(f['family'])}</td><td>{html.escape(f['kind'])}</td><td>{html.escape(f.get('region_code') or '')}</td>"
        f"<td>{html.escape(', '.join(f['households']))}</td><td class='num'>{f['amount_at_stake']:,.2f}</td><td>{html.escape(f['rule'])}</td></tr>"
        for f in audit["findings"]
    )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>AidGraph audit report</title>'
        "<style>body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;margin:20px}table{border-collapse:collapse;margin:6px 0 24px}"
        "td,th{border:1px solid #ddd;padding:3px 6px;font-size:12px}.num{text-align:right}figure{margin:0 0 18px}</style></head><body>"
        f"<h1>AidGraph audit report as of {html.escape(audit['as_of'])}</h1>"
        f"<p>{len(audit['findings'])} findings"
        + (f" in region {html.escape(audit['region'])}" if audit.get("region") else "")
        + ". ID numbers are masked.</p>"
        + "".join(charts)
        + "<h2>Findings</h2><table><tr><th>id</th><th>family</th><th>kind</th><th>region</th><th>households</th><th>amount at stake</th><th>rule</th></tr>"
        + rows
        + "</table></body></html>"
    )
