"""`python -m bench` at 10k people on both engines: a smoke test that the whole bench runs and
writes its results (no timing is asserted: timings belong to the bench, not the tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_bench_runs_at_10k_people_on_both_engines(neo4j_uri: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "bench", "--people", "10000", "--neo4j", neo4j_uri, "--resolution", "--sample", "20"]
    proc = subprocess.run(
        [*cmd, "--work", str(tmp_path / "work"), "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=900
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    [row] = results["sizes"]
    assert row["households"] == 3500 and row["input_rows"] > 10_000
    # The shape: 0.35 households and about 3 aid records a person (monthly payment ledgers).
    assert 2.5 <= row["counts"]["aid_records"] / row["counts"]["persons"] <= 3.5
    assert set(row["engines"]) == {"embedded", "neo4j"}
    for engine in row["engines"].values():
        assert engine["ingest"]["rejected_rows"] == 0 and engine["ingest"]["rows"] > 10_000
        assert engine["evaluation"]["households"] == 3500 and engine["evaluation"]["parts"] >= 1
        assert len(engine["queries"]["audit"]) == 8 and engine["queries"]["chain"]["n"] == 20
    # Both engines found the same; DuckDB's three rules agree with AidGraph's counts.
    assert row["engines"]["embedded"]["queries"]["findings"] == row["engines"]["neo4j"]["queries"]["findings"] > 0
    assert row["engines"]["embedded"]["evaluation"]["tiers"] == row["engines"]["neo4j"]["evaluation"]["tiers"]
    assert all(d["agrees"] for d in row["duckdb"]["rules"].values())
    assert row["engines"]["embedded"]["resolution"]["linked"] > 0
    assert "| 10,000 | 3,500 |" in (out / "results.md").read_text(encoding="utf-8")
    assert (out / "growth.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
