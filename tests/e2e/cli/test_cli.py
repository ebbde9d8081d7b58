"""The aidgraph command through typer's test runner: outputs, exit codes, one-line errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from typer.testing import CliRunner

from cli.main import EXIT_FILE_REJECTED, EXIT_ROWS_REJECTED, app

runner = CliRunner()
FULL_ID = re.compile(r"\b\d{17}[\dX]\b")


def test_generate_twice_gives_identical_folders(tmp_path: Path) -> None:
    for name in ("A", "B"):
        result = runner.invoke(app, ["generate", "--households", "2000", "--seed", "7", "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        assert "2000 households" in result.output
    for path in sorted((tmp_path / "A").iterdir()):
        assert path.read_bytes() == (tmp_path / "B" / path.name).read_bytes(), path.name


def test_ingest_stats_household(tmp_path: Path, two_cases_dir: Path) -> None:
    store = str(tmp_path / "store")
    result = runner.invoke(app, ["ingest", str(two_cases_dir), "--store", store])
    assert result.exit_code == 0, result.output
    assert "persons.csv" in result.output

    stats = runner.invoke(app, ["stats", "--store", store, "--json"])
    data = json.loads(stats.output)
    assert data["nodes"]["Household"] == 2 and data["nodes"]["Person"] == 7
    assert data["unlinked"]["aid_records"] == ["YB-2023-007731"]

    table = runner.invoke(app, ["household", "H-420106-0001", "--store", store])
    assert table.exit_code == 0, table.output
    assert "周建军" in table.output and "最低生活保障" in table.output and "大学生志愿者" in table.output
    assert "420106********1516" in table.output
    assert not FULL_ID.search(table.output)

    as_json = runner.invoke(app, ["household", "H-420106-0001", "--store", store, "--json"])
    view = json.loads(as_json.output)
    assert [m["person"]["name"] for m in view["members"]] == ["周建军", "周雨欣", "周德明", "李秀兰"]
    assert view["members"][0]["person"]["phone"] == "138****0001"
    assert not FULL_ID.search(as_json.output)


def test_store_from_environment(tmp_path: Path, two_cases_dir: Path) -> None:
    env = {"AIDGRAPH_STORE": str(tmp_path / "envstore")}
    assert runner.invoke(app, ["ingest", str(two_cases_dir)], env=env).exit_code == 0
    assert (tmp_path / "envstore" / "graph.lbug").is_file()


def test_rejected_rows_exit_3_with_a_report(tmp_path: Path, two_cases_dir: Path) -> None:
    folder = tmp_path / "delivery"
    shutil.copytree(two_cases_dir, folder)
    with (folder / "households.csv").open("a", encoding="utf-8") as f:
        f.write("H-X,999999,,,\n")
    report = tmp_path / "rejects.csv"
    result = runner.invoke(app, ["ingest", str(folder), "--store", str(tmp_path / "s"), "--rejects", str(report)])
    assert result.exit_code == EXIT_ROWS_REJECTED
    assert "households.csv row 4 field region_code: unknown region 999999" in result.output
    assert "households.csv,4,region_code,unknown region 999999,999999" in report.read_text(encoding="utf-8")


def test_file_rejected_whole_exits_4(tmp_path: Path, two_cases_dir: Path) -> None:
    folder = tmp_path / "delivery"
    shutil.copytree(two_cases_dir, folder)
    (folder / "needs.csv").write_text("need_id;household_id\n", encoding="utf-8")
    result = runner.invoke(app, ["ingest", str(folder), "--store", str(tmp_path / "s")])
    assert result.exit_code == EXIT_FILE_REJECTED
    assert "rejected whole: needs.csv: missing required column" in result.output


def test_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["household", "H-none", "--store", str(tmp_path / "empty")])
    assert result.exit_code == 1
    assert result.output.strip() == "error: no household H-none in this store"
    missing = runner.invoke(app, ["ingest", str(tmp_path / "nope"), "--store", str(tmp_path / "s")])
    assert missing.exit_code == 1 and "Traceback" not in missing.output
    assert missing.output.strip().endswith("is not a folder or a zip archive")


def test_household_chain_in_the_cli(tmp_path: Path, two_cases_dir: Path) -> None:
    store = str(tmp_path / "store")
    assert runner.invoke(app, ["ingest", str(two_cases_dir), "--store", store]).exit_code == 0
    shown = runner.invoke(app, ["household", "H-420203-0001", "--store", store, "--chain", "--as-of", "2026-06-30"])
    assert shown.exit_code == 0
    assert "aid timeline: 2023-09-01 MZ DIBAO -> 2023-09-10 YB YILIAO_JIUZHU" in shown.output
    assert "no referral recorded; the needs suggest village_window" in shown.output
    data = json.loads(runner.invoke(app, ["household", "H-420106-0001", "--store", store, "--chain", "--json"]).output)
    assert {"obligors", "timeline", "referral_level", "referrals", "work_orders", "applications", "nodes", "edges", "view"} <= set(data)
    assert {"src": "Resource:R-V2", "rel": "PROVIDES", "dst": "Service:S-2"} in data["edges"]
    assert not FULL_ID.search(json.dumps(data))


def test_ingest_a_zip_of_a_folder_equals_ingesting_the_folder(tmp_path: Path, two_cases_dir: Path) -> None:
    import zipfile

    archive = tmp_path / "two-cases.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for p in sorted(two_cases_dir.iterdir()):
            z.write(p, f"two-cases/{p.name}")
    zipped = runner.invoke(app, ["ingest", str(archive), "--store", str(tmp_path / "zipped"), "--json"])
    folder = runner.invoke(app, ["ingest", str(two_cases_dir), "--store", str(tmp_path / "folder"), "--json"])
    assert zipped.exit_code == folder.exit_code == 0, zipped.output
    stats = [runner.invoke(app, ["stats", "--store", str(tmp_path / s), "--json"]).output for s in ("zipped", "folder")]
    assert stats[0] == stats[1]
    assert json.loads(zipped.output)["ignored"] == ["two-cases/README.md"]
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    bad = runner.invoke(app, ["ingest", str(tmp_path / "bad.zip"), "--store", str(tmp_path / "bad")])
    assert bad.exit_code == 4 and "bad.zip: is not a readable zip archive" in bad.output
