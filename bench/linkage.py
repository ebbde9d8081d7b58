"""Recommendation latency and allocation quality at scale, on the embedded engine.

    python -m bench.linkage --households 100000

Generates the prefecture (seed 7), ingests it, times one recommendation for 300 households (the
unmatched ones first, then random ones: median and 95th percentile), then makes capacity scarce
(one free place in every k-th resource, about half as many places as unserved needs) and compares the global allocation with the greedy
first-come ranking: urgency-weighted need met, and the time to compute it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

from graph.model import NodeKind
from graph.stores.ladybug import LadybugStore
from ingest.loader import ingest_folder
from ingest.synthetic import AS_OF, generate_prefecture
from queries.linkage import allocate, linkage_resources, recommend, unmatched_families
from tests.e2e.queries.test_linkage import make_scarce


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("bench/results"))
    args = parser.parse_args(argv)
    folder = args.work / f"linkage-prefecture-{args.households}"
    shutil.rmtree(folder, ignore_errors=True)
    generate_prefecture(households=args.households, seed=7, out=folder)
    store_dir = args.work / f"linkage-store-{args.households}"
    shutil.rmtree(store_dir, ignore_errors=True)
    store = LadybugStore(store_dir)
    ingest_folder(store, folder)
    day: dt.date = AS_OF
    families = [f.household_id for f in unmatched_families(store, as_of=day)]
    others = random.Random(7).sample([n.key for n in store.iter_nodes(NodeKind.HOUSEHOLD)], 300 - min(len(families), 150))
    sample = families[:150] + others
    times = []
    for household_id in sample:
        t = time.perf_counter()
        recommend(store, household_id, as_of=day)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(
        f"recommendation, {args.households} households, {len(sample)} calls: median {statistics.median(times):.1f} ms, "
        f"p95 {times[int(len(times) * 0.95)]:.1f} ms, max {times[-1]:.1f} ms"
    )
    # Scarce: free places for about half the unserved needs.
    every = max(2, round(len(linkage_resources(store, as_of=day.isoformat(), region_codes=None)) / max(1, len(families) // 2)))
    free = sum(make_scarce(store, every).values())
    t = time.perf_counter()
    result = allocate(store, as_of=day)
    elapsed = time.perf_counter() - t
    print(
        f"allocation with scarce capacity ({free} free places, one in every {every}th resource): "
        f"{len(result.assignments) + len(result.unmet)} unserved needs; global meets "
        f"{result.weighted_met} urgency-weighted ({len(result.assignments)} needs), greedy {result.greedy_weighted_met} "
        f"({len(result.greedy_assignments)} needs), of {result.weighted_total}; computed in {elapsed:.2f} s"
    )
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
