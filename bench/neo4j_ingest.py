"""Ingest speed on Neo4j next to the embedded engine, measured in one run on the same folder.

    python -m bench.neo4j_ingest --neo4j bolt://127.0.0.1:17687 --households 100000 \\
        --sweep-households 10000 --batch-sizes 1000,2000,5000,10000,20000

1. Generates the folders (seed 7) unless they exist under --work.
2. Sweeps the batch sizes on the smaller folder into Neo4j (emptied each time) and keeps the fastest.
3. Ingests the full folder into a fresh embedded store and into the emptied Neo4j with that batch
   size, and prints input rows per second for both, plus the graph written per second.

The Neo4j database is emptied: point it at a throw-away server (ops/neo4j/start.sh).
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import time
from pathlib import Path

from graph.store import GraphStore
from graph.stores.ladybug import LadybugStore
from graph.stores.neo4j import Neo4jStore
from ingest.loader import count_changes, ingest_folder
from ingest.synthetic import generate_prefecture


def input_rows(folder: Path) -> int:
    total = 0
    for path in folder.glob("*.csv"):
        with path.open(encoding="utf-8") as f:
            total += sum(1 for _ in csv.reader(f)) - 1
    return total


def prefecture(work: Path, households: int, reuse: bool = False) -> Path:
    folder = work / f"prefecture-{households}"
    if not reuse or not (folder / "truth.json").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        t = time.perf_counter()
        generate_prefecture(households=households, seed=7, out=folder)
        print(f"generated {households} households in {time.perf_counter() - t:.1f} s", flush=True)
    return folder


def timed_ingest(store: GraphStore, folder: Path, batch_size: int) -> tuple[float, int]:
    t = time.perf_counter()
    report = ingest_folder(store, folder, batch_size=batch_size)
    elapsed = time.perf_counter() - t
    if not report.ok:
        raise SystemExit(f"ingest of {folder} rejected rows: {report.rejects[:3]}")
    return elapsed, sum(count_changes(report).values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--neo4j", required=True)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--sweep-households", type=int, default=10_000)
    parser.add_argument("--batch-sizes", default="1000,2000,5000,10000,20000")
    parser.add_argument("--work", type=Path, default=Path("bench/results"))
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)

    neo4j = Neo4jStore.from_env(args.neo4j)
    sweep_folder = prefecture(args.work, args.sweep_households)
    sweep_rows = input_rows(sweep_folder)
    sweep: dict[int, float] = {}
    for size in (int(s) for s in args.batch_sizes.split(",")):
        neo4j.clear()
        elapsed, _ = timed_ingest(neo4j, sweep_folder, size)
        sweep[size] = sweep_rows / elapsed
        print(f"sweep: batch {size:>6}: {sweep_rows} rows in {elapsed:6.1f} s = {sweep[size]:8.0f} rows/s", flush=True)
    best = max(sweep, key=lambda s: sweep[s])
    print(f"chosen batch size: {best}", flush=True)

    folder = prefecture(args.work, args.households)
    rows = input_rows(folder)
    store_dir = args.work / f"embedded-{args.households}"
    shutil.rmtree(store_dir, ignore_errors=True)
    results = {"households": args.households, "input_rows": rows, "batch_size": best, "sweep_rows_per_s": sweep}
    with LadybugStore(store_dir) as embedded:
        elapsed, written = timed_ingest(embedded, folder, best)
        results["embedded"] = {"seconds": elapsed, "rows_per_s": rows / elapsed, "graph_items_per_s": written / elapsed}
        print(f"embedded: {rows} rows in {elapsed:.1f} s = {rows / elapsed:.0f} rows/s ({written / elapsed:.0f} nodes+rels/s)", flush=True)
        neo4j.clear()
        elapsed, written = timed_ingest(neo4j, folder, best)
        results["neo4j"] = {"seconds": elapsed, "rows_per_s": rows / elapsed, "graph_items_per_s": written / elapsed}
        print(
            f"neo4j:    {rows} rows in {elapsed:.1f} s = {rows / elapsed:.0f} rows/s ({written / elapsed:.0f} nodes+rels/s), batch {best}",
            flush=True,
        )
        same = embedded.counts() == neo4j.counts()
        results["same_counts"] = same
        print(f"same counts on both engines: {same}")
    neo4j.close()
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=1))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
