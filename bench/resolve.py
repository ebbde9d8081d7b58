"""Identity resolution on a generated prefecture: pairwise precision, recall, F1 and records per second.

    python -m bench.resolve --data DATA [--splink-python /tmp/splink-env/bin/python]

DATA is a folder written by ``aidgraph generate`` (with truth.json). The records are the register
(persons.csv: name, ID, birth, sex, phone, address) and every department record about a person
(aid_records.csv: the name, ID and birth as the department wrote them); the truth is who each
record really is, from the register and truth.json's identity variants (mistyped and transposed
digits, missing characters, traditional names, second registrations).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path


def load_records(data: Path) -> tuple[list[dict], dict[str, str]]:
    truth = json.loads((data / "truth.json").read_text(encoding="utf-8"))
    addresses = {r["household_id"]: r.get("address", "") for r in csv.DictReader((data / "households.csv").open(encoding="utf-8"))}
    second = {v["variant_id"]: v["register_id"] for v in truth["identity_variants"] if v["kind"] == "second_registration"}
    by_record = {v["record"]: v["register_id"] for v in truth["identity_variants"] if v.get("file") == "aid_records"}
    records, who = [], {}
    for r in csv.DictReader((data / "persons.csv").open(encoding="utf-8")):
        rid = "P:" + r["id_number"]
        records.append(
            {
                "record_id": rid,
                "name": r.get("name"),
                "id_number": r["id_number"],
                "birth_date": r.get("birth_date"),
                "sex": r.get("sex"),
                "phone": r.get("phone"),
                "address": addresses.get(r.get("household_id") or "", ""),
                "source": "register",
            }
        )
        who[rid] = second.get(r["id_number"], r["id_number"])
    for r in csv.DictReader((data / "aid_records.csv").open(encoding="utf-8")):
        if r["beneficiary_type"] != "person":
            continue
        rid = "A:" + r["record_id"]
        records.append(
            {
                "record_id": rid,
                "name": r.get("beneficiary_name"),
                "id_number": r["beneficiary_ref"],
                "birth_date": r.get("beneficiary_birth_date"),
                "source": r["source_department"],
            }
        )
        who[rid] = by_record.get(r["record_id"], second.get(r["beneficiary_ref"], r["beneficiary_ref"]))
    return records, who


def pairwise(clusters: dict[str, str], who: dict[str, str]) -> dict[str, float]:
    """Pairwise precision, recall and F1 of a clustering against the truth."""

    def pairs(n: int) -> int:
        return n * (n - 1) // 2

    cells: Counter[tuple[str, str]] = Counter((clusters[r], who[r]) for r in who)
    tp = sum(pairs(n) for n in cells.values())
    predicted = sum(pairs(n) for n in Counter(clusters[r] for r in who).values())
    actual = sum(pairs(n) for n in Counter(who.values()).values())
    precision = tp / predicted if predicted else 1.0
    recall = tp / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"true_pairs": actual, "predicted_pairs": predicted, "correct_pairs": tp, "precision": precision, "recall": recall, "f1": f1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument(
        "--splink-python", help="A Python with Splink installed: run bench.splink_baseline on the same records in this run."
    )
    args = parser.parse_args(argv)
    from ingest.resolve import resolve  # here: bench.splink_baseline reuses this module without AidGraph's dependencies

    records, who = load_records(args.data)
    started = time.perf_counter()
    result = resolve(records)
    took = time.perf_counter() - started
    clusters = {c.record_id: c.cluster_id for c in result.clusters}
    scores = pairwise(clusters, who)
    misses = defaultdict(list)
    truth_groups = defaultdict(list)
    for r, person in who.items():
        truth_groups[person].append(r)
    for group in truth_groups.values():
        if len({clusters[r] for r in group}) > 1:
            misses["split"].append(group)
    print(
        f"{len(records)} records in {took:.1f} s ({len(records) / took:,.0f} records/s); {len(result.pairs):,} candidate pairs; "
        f"precision {scores['precision']:.4f}, recall {scores['recall']:.4f}, F1 {scores['f1']:.4f} "
        f"({scores['correct_pairs']:,} of {scores['true_pairs']:,} true pairs found, {scores['predicted_pairs']:,} predicted); "
        f"{len(result.review)} pairs for review; {result.skipped_blocks} generic blocks skipped; {len(misses['split'])} persons split"
    )
    for group in misses["split"][:5]:
        print("  split:", group)
    if args.splink_python:
        import os
        import subprocess

        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": root}
        done = subprocess.run(  # noqa: S603 (the interpreter the user named)
            [args.splink_python, "-m", "bench.splink_baseline", "--data", str(args.data)], env=env, capture_output=True, text=True, cwd=root
        )
        print(next((line for line in done.stdout.splitlines() if line.startswith("splink:")), done.stderr[-2000:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
