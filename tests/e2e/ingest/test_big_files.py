"""Files far larger than memory are streamed: a 2 GB file is refused in constant memory, a large
valid file is read in constant memory, and a wrong file of many rows does not fill memory with rejects."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

from ingest.exchange import FILE_SPECS, check_structure, read_rows
from ingest.loader import ingest_folder

ROOT = Path(__file__).resolve().parents[3]
PERSONS = "id_number,name,sex,birth_date,household_id,relation_to_head\n"


def test_a_2_gb_file_is_refused_without_being_read_whole(tmp_path: Path, two_cases_dir: Path) -> None:
    folder = tmp_path / "delivery"
    folder.mkdir()
    big = folder / "persons.csv"
    with big.open("wb") as f:
        f.write(PERSONS.encode())
        f.write(b"420106199001011231,x,M,1990-01-01,H-420106-0001,other\n" * 3)
        f.truncate(2 << 30)  # 2 GiB: sparse on disk, read as NUL bytes after the rows
    assert big.stat().st_size == 2 << 30
    script = (
        "import json, sys\n"
        "from graph.stores.ladybug import LadybugStore\n"
        "from ingest.loader import ingest_folder\n"
        "with LadybugStore(sys.argv[2]) as s:\n"
        f"    ingest_folder(s, {str(two_cases_dir)!r})\n"
        "    before = s.counts().nodes['Person']\n"
        "    status = lambda key: [int(l.split()[1]) for l in open('/proc/self/status') if l.startswith(key)][0]\n"
        "    rss = status('VmRSS:')\n"
        "    open('/proc/self/clear_refs', 'w').write('5')\n"  # VmHWM counts from here: the peak of this ingest
        "    r = ingest_folder(s, sys.argv[1])\n"
        "    peak = status('VmHWM:')\n"
        "    after = s.counts().nodes['Person']\n"
        "print(json.dumps({'refused': [str(x) for x in r.files_rejected], 'before': before, 'after': after,\n"
        "                  'rss_mb': rss / 1024, 'growth_mb': (peak - rss) / 1024}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(folder), str(tmp_path / "store")], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    [refused] = result["refused"]
    assert refused.startswith("persons.csv: line 5 ")  # the first line after the three rows
    assert result["after"] == result["before"]  # the three good rows of a broken file are not stored
    assert result["growth_mb"] < 100, result  # the file is read a line at a time, not 2 GB


def test_a_large_valid_file_is_read_in_constant_memory(tmp_path: Path) -> None:
    path = tmp_path / "departments.csv"
    line = b"D-%07d,\xe6\xb0\x91\xe6\x94\xbf\xe5\xb1\x80 a department with a reasonably long name to fill the line\n"
    with path.open("wb") as f:
        f.write(b"department_code,name\n")
        for start in range(0, 1_000_000, 100_000):
            f.write(b"".join(line % i for i in range(start, start + 100_000)))
    assert path.stat().st_size > 70 << 20
    tracemalloc.start()
    try:
        assert check_structure(path, FILE_SPECS["departments"]) == 1_000_000
        last = max((number for number, _ in read_rows(path, FILE_SPECS["departments"])), default=None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert last == 1_000_001
    assert peak < 8 << 20, f"peak {peak / 2**20:.1f} MiB while reading a {path.stat().st_size / 2**20:.0f} MiB file"


def test_rejects_past_the_listing_cap_are_counted_not_kept(tmp_path: Path, monkeypatch, embedded_store) -> None:
    import ingest.loader as loader

    monkeypatch.setattr(loader, "MAX_REJECTS_LISTED", 100)
    folder = tmp_path / "delivery"
    folder.mkdir()
    with (folder / "departments.csv").open("w", encoding="utf-8") as f:
        f.write("department_code,name\n")
        f.writelines(f"bad code {i},x\n" for i in range(5000))
        f.write("GOOD,kept\n")
    report = ingest_folder(embedded_store, folder, chunk_rows=64)
    [fr] = report.files
    assert fr.rows == 5001 and fr.rejected_rows == 5000
    assert len(report.rejects) == 100 and fr.rejects_unlisted == 4900
    assert [r.row for r in report.rejects] == list(range(2, 102))
    assert embedded_store.get_node(loader.NodeKind.DEPARTMENT, "GOOD") == {"department_code": "GOOD", "name": "kept"}
    out = tmp_path / "rejects.csv"
    report.write_rejects_csv(out)
    assert "4,900 more rejects not listed" in out.read_text(encoding="utf-8")
