"""The policy engine's commands on the two real cases: evaluate, explain, warnings, reviews, changes, check-declaration."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from policy.config import DISTRICT


def _store(tmp_path: Path, two_cases_dir: Path) -> list[str]:
    store = ["--store", str(tmp_path / "store")]
    assert CliRunner().invoke(app, ["ingest", str(two_cases_dir), *store]).exit_code == 0
    return store


def test_evaluate_explain_warnings_reviews(tmp_path: Path, two_cases_dir: Path) -> None:
    runner = CliRunner()
    store = _store(tmp_path, two_cases_dir)
    done = runner.invoke(app, ["evaluate", "--as-of", "2024-01-31", "--json", *store])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert sum(summary["tiers"].values()) == 2 and summary["recorded"]["created"] == 2
    # --region narrows what is reported; the whole graph is evaluated and its records kept.
    wuhan = json.loads(runner.invoke(app, ["evaluate", "--as-of", "2024-01-31", "--region", "420106", "--json", *store]).stdout)
    assert sum(wuhan["tiers"].values()) == 1 and wuhan["recorded"]["unchanged"] == 2
    explained = runner.invoke(app, ["explain", "H-420203-0001", "--as-of", "2024-01-31", *store])
    assert explained.exit_code == 0, explained.output
    text = explained.stdout
    assert "防止返贫监测" in text and "1,000.00 per person" in text and "standard 666" in text
    assert "420203********1710" in text and "420203197506111710" not in text  # masked
    district = runner.invoke(
        app, ["explain", "H-420203-0001", "--as-of", "2024-01-31", "--policy", "policy/configs/district.toml", "--json", *store]
    )
    decision = json.loads(district.stdout)
    assert decision["deductions"] == 540.0  # 20% job costs: of 1,800 = 360, capped at 300; of 1,200 = 240
    reviews = json.loads(runner.invoke(app, ["reviews", "--as-of", "2024-01-31", "--json", *store]).stdout)
    assert {r["household_id"] for r in reviews["reviews"]} == {"H-420106-0001", "H-420203-0001"}
    assert runner.invoke(app, ["warnings", "--as-of", "2024-01-31", *store]).exit_code == 0
    bad = runner.invoke(app, ["evaluate", "--policy", str(tmp_path / "missing.toml"), *store])
    assert bad.exit_code == 1 and "missing.toml: cannot read" in bad.output


def test_check_declaration_exit_codes(tmp_path: Path, two_cases_dir: Path) -> None:
    runner = CliRunner()
    store = _store(tmp_path, two_cases_dir)
    honest = {
        # The father's name in traditional characters (紅): the same name, not a difference.
        "members": [
            {"id_number": "420203197506111710", "name": "王付紅"},
            {"id_number": "420203197802041825"},
            {"id_number": "420203201307092421"},
        ],
        "incomes": [
            {"id_number": "420203197506111710", "kind": "flexible_work", "monthly_amount": 1800},
            {"id_number": "420203197802041825", "kind": "flexible_work", "monthly_amount": 1200},
        ],
        "assets": [{"kind": "land_mu", "quantity": 2.5}],
    }
    path = tmp_path / "declaration.json"
    path.write_text(json.dumps(honest), encoding="utf-8")
    # Under the district's policy (medical and school costs deducted) the family is 低保: approved in one step.
    agreed = runner.invoke(app, ["check-declaration", str(path), "--as-of", "2024-01-31", "--policy", str(DISTRICT), *store])
    assert agreed.exit_code == 0 and "one-step approval may proceed" in agreed.stdout and "低保" in agreed.stdout
    # The default policy deducts nothing: 1,000 a head, 防止返贫监测; the facts agree, the tier does not.
    not_eligible = runner.invoke(app, ["check-declaration", str(path), "--as-of", "2024-01-31", *store])
    assert not_eligible.exit_code == 3 and "防止返贫监测" in not_eligible.stdout and "not eligible" in not_eligible.stdout
    honest["incomes"][0]["monthly_amount"] = 900
    path.write_text(json.dumps(honest), encoding="utf-8")
    differs = runner.invoke(app, ["check-declaration", str(path), "--as-of", "2024-01-31", *store])
    assert differs.exit_code == 3 and "1 difference" in differs.stdout and "RS" in differs.stdout
    assert "420203197506111710" not in differs.stdout
