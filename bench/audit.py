"""The full audit at scale, on both engines in one run, with precision and recall per kind.

    python -m bench.audit --households 100000 --neo4j bolt://127.0.0.1:17690

Generates the prefecture (seed 7) unless it exists under --work, ingests it into a fresh embedded
store and into the emptied Neo4j (skip with --no-neo4j), then times ``aidgraph audit`` on each and
scores the findings against truth.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import time
from pathlib import Path

from graph.stores.ladybug import LadybugStore
from ingest.loader import ingest_folder
from ingest.synthetic import generate_prefecture
from policy.audit import audit
from tests.e2e.queries.test_audit import found_key, planted_key


def scores(report: object, truth: dict) -> dict[str, tuple[float, float, int]]:
    planted_cases = truth["duplicate_aid"] + truth["missed_aid"]
    out = {}
    for kind in sorted({c["kind"] for c in planted_cases}):
        planted = {planted_key(kind, c) for c in planted_cases if c["kind"] == kind}
        found = {found_key(kind, f) for f in report.findings if f.kind == kind}  # type: ignore[attr-defined]
        hit = len(planted & found)
        out[kind] = (hit / len(planted), hit / len(found) if found else 0.0, len(found))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--neo4j")
    parser.add_argument("--work", type=Path, default=Path("bench/results"))
    parser.add_argument("--reuse", action="store_true", help="reuse a prefecture generated before (else it is made anew)")
    args = parser.parse_args(argv)
    folder = args.work / f"prefecture-{args.households}"
    # Made anew by default: a folder left by an older generator would score the wrong truth.
    if not args.reuse or not (folder / "truth.json").is_file():
        shutil.rmtree(folder, ignore_errors=True)
        generate_prefecture(households=args.households, seed=7, out=folder)
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    as_of = dt.date.fromisoformat(truth["as_of"])
    stores = []
    store_dir = args.work / f"audit-embedded-{args.households}"
    shutil.rmtree(store_dir, ignore_errors=True)
    embedded = LadybugStore(store_dir)
    ingest_folder(embedded, folder)
    stores.append(embedded)
    if args.neo4j:
        from graph.stores.neo4j import Neo4jStore

        neo4j = Neo4jStore.from_env(args.neo4j)
        neo4j.clear()
        t = time.perf_counter()
        ingest_folder(neo4j, folder)
        print(f"neo4j ingest: {time.perf_counter() - t:.1f} s", flush=True)
        stores.append(neo4j)
    reports = []
    for store in stores:
        t = time.perf_counter()
        report = audit(store, as_of=as_of)
        elapsed = time.perf_counter() - t
        reports.append(report)
        print(f"{store.engine}: full audit of {args.households} households in {elapsed:.1f} s, {len(report.findings)} findings", flush=True)
        for kind, (recall, precision, n) in scores(report, truth).items():
            print(f"  {kind:28} recall {recall:.3f}  precision {precision:.3f}  ({n} found)")
    if len(reports) == 2:
        print(f"same findings on both engines: {reports[0] == reports[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
