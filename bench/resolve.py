"""Identity resolution on a generated prefecture, AidGraph's model and Splink's defaults in one run.

    python -m bench.resolve --data DATA [--work DIR] [--out RESULT.json] [--no-splink]

DATA is a folder written by ``aidgraph generate`` (with truth.json). The records are the register
(persons.csv: name, ID, birth, sex, phone, address) and every department record about a person
(aid_records.csv: the name, ID and birth as the department wrote them); the truth is who each
record really is, from the register and truth.json's identity variants (mistyped and transposed
digits, missing characters, traditional names, second registrations).

Each model runs in a child process of its own, so its time and peak memory are its own: the
records are handed over as Parquet, the clusters come back as Parquet, and the pairwise precision,
recall and F1 are counted in DuckDB here.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent


def prepare(data: Path, work: Path) -> tuple[Path, Path]:
    """records.parquet (the resolver's input) and truth.parquet (record_id, person) under ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    records, truth = work / "records.parquet", work / "truth.parquet"
    variants = json.loads((data / "truth.json").read_text(encoding="utf-8"))["identity_variants"]
    con = duckdb.connect()
    try:
        second = [v for v in variants if v["kind"] == "second_registration"]
        con.register("second", pa.table({"variant": [v["variant_id"] for v in second], "person": [v["register_id"] for v in second]}))
        by_record = [v for v in variants if v.get("file") == "aid_records"]
        con.register("by_record", pa.table({"record": [v["record"] for v in by_record], "person": [v["register_id"] for v in by_record]}))
        csv = "read_csv('{}', all_varchar = true, header = true)"
        con.execute(
            f"""CREATE TABLE rows AS
            SELECT 'P:' || p.id_number AS record_id, p.name, p.id_number, p.birth_date, p.sex, p.phone, h.address,
                   'register' AS source, coalesce(s.person, p.id_number) AS person
            FROM {csv.format(data / "persons.csv")} p
            LEFT JOIN {csv.format(data / "households.csv")} h USING (household_id)
            LEFT JOIN second s ON s.variant = p.id_number
            UNION ALL
            SELECT 'A:' || a.record_id, a.beneficiary_name, a.beneficiary_ref, a.beneficiary_birth_date, NULL, NULL, NULL,
                   a.source_department, coalesce(r.person, s.person, a.beneficiary_ref)
            FROM {csv.format(data / "aid_records.csv")} a
            LEFT JOIN by_record r ON r.record = a.record_id
            LEFT JOIN second s ON s.variant = a.beneficiary_ref
            WHERE a.beneficiary_type = 'person'"""
        ).fetchall()
        con.execute(f"COPY (SELECT * EXCLUDE (person) FROM rows) TO '{records}' (FORMAT parquet)").fetchall()
        con.execute(f"COPY (SELECT record_id, person FROM rows) TO '{truth}' (FORMAT parquet)").fetchall()
    finally:
        con.close()
    return records, truth


def pairwise(clusters: Path | pa.Table, truth: Path | pa.Table) -> dict[str, float]:
    """Pairwise precision, recall and F1 of a clustering (record_id, cluster_id) against the truth (record_id, person)."""
    con = duckdb.connect()
    try:
        for name, table in (("clusters", clusters), ("truth", truth)):
            if isinstance(table, pa.Table):
                con.register(name, table)
            else:
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM '{table}'").fetchall()
        tp, predicted, actual = con.execute(
            """WITH j AS (SELECT c.cluster_id, t.person FROM clusters c JOIN truth t USING (record_id))
            SELECT (SELECT sum(n * (n - 1) // 2) FROM (SELECT count(*) n FROM j GROUP BY cluster_id, person)),
                   (SELECT sum(n * (n - 1) // 2) FROM (SELECT count(*) n FROM j GROUP BY cluster_id)),
                   (SELECT sum(n * (n - 1) // 2) FROM (SELECT count(*) n FROM j GROUP BY person))"""
        ).fetchall()[0]
    finally:
        con.close()
    precision = tp / predicted if predicted else 1.0
    recall = tp / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "true_pairs": int(actual),
        "predicted_pairs": int(predicted),
        "correct_pairs": int(tp),
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def _child_aidgraph(records: Path, clusters: Path, memory_limit: str) -> dict:
    import pyarrow.parquet as pq

    from ingest.resolve import resolve

    started = time.perf_counter()
    table = pq.read_table(records)
    result = resolve(
        table, memory_limit=memory_limit, workdir=clusters.parent, progress=lambda m: print("  aidgraph", m, file=sys.stderr, flush=True)
    )
    pq.write_table(result.cluster_table, clusters)
    return {"seconds": round(time.perf_counter() - started, 1), "stages": result.stages, "review_pairs": len(result.review)}


def run(model: str, records: Path, clusters: Path, memory_limit: str) -> dict:
    """One model in a child process: its seconds, its peak memory (MB) and what it reports."""
    command = [sys.executable, "-m", "bench.resolve", "--child", model, "--records", str(records), "--clusters", str(clusters)]
    if model == "splink":
        command = [sys.executable, "-m", "bench.splink_baseline", "--records", str(records), "--clusters", str(clusters)]
    command += ["--memory-limit", memory_limit]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)  # noqa: S603
    sys.stderr.write(done.stderr[-4000:])
    if done.returncode != 0:
        raise SystemExit(f"{model} failed ({done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--work", type=Path, help="Where the Parquet files go (default DATA/resolve).")
    parser.add_argument("--out", type=Path, help="Write the results as JSON here too.")
    parser.add_argument("--no-splink", action="store_true", help="AidGraph's model only.")
    parser.add_argument("--memory-limit", default="2GB", help="DuckDB's memory limit for each model (default 2GB).")
    parser.add_argument("--child", choices=["aidgraph"], help=argparse.SUPPRESS)
    parser.add_argument("--records", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--clusters", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        report = _child_aidgraph(args.records, args.clusters, args.memory_limit)
        report["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        print(json.dumps(report))
        return 0
    if args.data is None:
        parser.error("--data is required")
    work = args.work or args.data / "resolve"
    records, truth = prepare(args.data, work)
    count = duckdb.connect().execute(f"SELECT count(*) FROM '{records}'").fetchall()[0][0]
    results: dict = {"data": str(args.data), "records": count, "memory_limit": args.memory_limit}
    for model in ("aidgraph",) if args.no_splink else ("aidgraph", "splink"):
        clusters = work / f"clusters-{model}.parquet"
        results[model] = run(model, records, clusters, args.memory_limit) | pairwise(clusters, truth)
        r = results[model]
        print(
            f"{model}: {count:,} records in {r['seconds']:.1f} s, peak {r['peak_mb']:,} MB; precision {r['precision']:.4f}, "
            f"recall {r['recall']:.4f}, F1 {r['f1']:.4f} ({r['correct_pairs']:,} of {r['true_pairs']:,} true pairs, {r['predicted_pairs']:,} predicted)"
        )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
