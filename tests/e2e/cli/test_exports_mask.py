"""Finding 4 of the attack round: full bank accounts, phones and ID numbers reached the findings'
exports and ``explain --json`` (as the keys of ``job_cost_deductions``). Every output format of the
CLI goes through one masking function; scanned here byte for byte, Excel included."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app

ACCOUNT = "6217002870012345678"
PHONE = "13912345678"
HEAD_WUCHANG, HEAD_XISAISHAN = "420106198305141516", "420203197506111710"
DISTRICT = Path(__file__).resolve().parents[3] / "policy" / "configs" / "district.toml"
# A whole identifier: an ID number, a mobile, a bank account; anything else of 11+ digits counts too.
_WHOLE = re.compile(rb"(?<!\d)(\d{17}[\dXx]|\d{15,}|1[3-9]\d{9})(?!\d)")


def _ring_fixture(two_cases_dir: Path, tmp_path: Path) -> Path:
    """The two cases, with one bank account and one phone given to both household heads: a ring."""
    folder = tmp_path / "ring"
    shutil.copytree(two_cases_dir, folder)
    persons = (folder / "persons.csv").read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(persons):
        cells = line.split(",")
        if cells[0] in (HEAD_WUCHANG, HEAD_XISAISHAN):
            cells[13], cells[14] = PHONE, ACCOUNT
            persons[i] = ",".join(cells)
    (folder / "persons.csv").write_text("\n".join(persons) + "\n", encoding="utf-8")
    return folder


def _leaks(data: bytes) -> list[bytes]:
    return sorted(set(_WHOLE.findall(data)))


def test_every_export_of_the_audit_and_explain_is_masked(two_cases_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    store = ["--store", str(tmp_path / "store")]
    assert runner.invoke(app, ["ingest", str(_ring_fixture(two_cases_dir, tmp_path)), *store]).exit_code == 0
    as_json = runner.invoke(app, ["audit", "--format", "json", *store])
    assert as_json.exit_code == 0 and "shared_identifier_ring" in as_json.output and ACCOUNT[:3] in as_json.output
    outputs = {"json": as_json.output.encode()}
    for fmt in ("csv", "xlsx", "html"):
        out = tmp_path / f"audit.{fmt}"
        result = runner.invoke(app, ["audit", "--format", fmt, "--out", str(out), *store])
        assert result.exit_code == 0, result.output
        if fmt == "xlsx":
            with zipfile.ZipFile(out) as book:
                outputs[fmt] = b"".join(book.read(n) for n in book.namelist())
        else:
            outputs[fmt] = out.read_bytes()
    explained = runner.invoke(app, ["explain", "H-420203-0001", "--policy", str(DISTRICT), "--json", *store])
    assert explained.exit_code == 0 and "job_cost_deductions" in explained.output
    outputs["explain"] = explained.output.encode()
    for name, data in outputs.items():
        assert not _leaks(data), f"{name}: {_leaks(data)}"
