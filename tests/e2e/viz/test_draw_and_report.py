"""`aidgraph draw` and the HTML audit report: self-contained, masked, and the numbers of the JSON report."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from tests.e2e.api.conftest import unmasked_ids

AS_OF = "2026-06-30"


def _prefecture_store(tmp_path: Path, generated_2000: Path) -> list[str]:
    store = ["--store", str(tmp_path / "store")]
    assert CliRunner().invoke(app, ["ingest", str(generated_2000), *store]).exit_code == 0
    return store


def test_draw_writes_a_self_contained_masked_page(tmp_path: Path, generated_2000: Path) -> None:
    truth = json.loads((generated_2000 / "truth.json").read_text(encoding="utf-8"))
    household = next(c["households"][0] for c in truth["duplicate_aid"] if c["kind"] == "need_paid_twice")
    store = _prefecture_store(tmp_path, generated_2000)
    out = tmp_path / "case.html"
    done = CliRunner().invoke(app, ["draw", household, "--out", str(out), "--as-of", AS_OF, *store])
    assert done.exit_code == 0, done.output
    page = out.read_text(encoding="utf-8")
    # No script or style from the network: everything the page needs is inside it.
    assert re.findall(r'(?:src|href)="https?://', page) == []
    assert "vis.Network" in page and f"Household:{household}" in page
    assert "need_paid_twice" in page and "#d62728" in page  # the finding, outlined
    assert unmasked_ids(page) == []


def test_html_report_has_every_chart_with_the_json_numbers(tmp_path: Path, generated_2000: Path) -> None:
    runner = CliRunner()
    store = _prefecture_store(tmp_path, generated_2000)
    assert runner.invoke(app, ["evaluate", "--as-of", AS_OF, *store]).exit_code == 0
    out = tmp_path / "report.html"
    done = runner.invoke(app, ["audit", "--as-of", AS_OF, "--format", "html", "--out", str(out), *store])
    assert done.exit_code == 0, done.output
    page = out.read_text(encoding="utf-8")
    report = json.loads(runner.invoke(app, ["audit", "--as-of", AS_OF, "--format", "json", *store]).stdout)
    for chart in (
        "findings_by_kind",
        "findings_by_county",
        "amount_by_kind",
        "warnings_over_time",
        "unmatched_needs_by_category",
        "tier_低保_by_county",
    ):
        assert f'<figure id="{chart}">' in page, chart

    def table(chart: str) -> dict[str, str]:
        block = page.split(f'<figure id="{chart}">', 1)[1].split("</figure>", 1)[0]
        return dict(re.findall(r'<tr><td>([^<]*)</td><td class="num">([^<]*)</td></tr>', block))

    by_kind: dict[str, int] = {}
    for row in report["summary"]:
        key = f"{row['family']} / {row['kind']}"
        by_kind[key] = by_kind.get(key, 0) + row["findings"]
    assert table("findings_by_kind") == {k: f"{v:,}" for k, v in by_kind.items()}
    assert sum(int(v.replace(",", "")) for v in table("findings_by_county").values()) == len(report["findings"])
    unmatched = json.loads(runner.invoke(app, ["unmatched", "--as-of", AS_OF, "--json", *store]).stdout)
    needs = sum(len(f["needs"]) for f in unmatched)
    assert sum(int(v.replace(",", "")) for v in table("unmatched_needs_by_category").values()) == needs
    tiers = json.loads(runner.invoke(app, ["evaluate", "--as-of", AS_OF, "--json", *store]).stdout)["tiers"]
    assert sum(int(v.replace(",", "")) for v in table("tier_低保_by_county").values()) == tiers["低保"]
    assert table("warnings_over_time")  # the evaluation above is recorded
    assert unmasked_ids(page) == []
