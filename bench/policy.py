"""The policy engine at scale: evaluation time on both engines and the planted tiers and obligations.

    python -m bench.policy --store STORE --data DATA [--neo4j bolt://127.0.0.1:17690]

The stores must hold the prefecture generated into DATA (``aidgraph generate`` then ``aidgraph
ingest`` into each). Prints the time of a whole evaluation (obligations, means test, tiers,
hardship index) on each engine, whether both engines agree, and how many of truth.json's planted
tiers and obligations are reproduced by the default policy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

from graph.open import open_store
from policy.config import load_policy
from policy.means_test import evaluate
from policy.warnings import early_warnings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--neo4j")
    args = parser.parse_args(argv)
    truth = json.loads((args.data / "truth.json").read_text(encoding="utf-8"))
    day = dt.date.fromisoformat(truth["as_of"])
    policy = load_policy()
    results = {}
    for engine, store in [("embedded", open_store(args.store))] + ([("neo4j", open_store(neo4j_uri=args.neo4j))] if args.neo4j else []):
        with store:
            started = time.perf_counter()
            evaluation = evaluate(store, policy, as_of=day)
            took = time.perf_counter() - started
            warnings = early_warnings(evaluation, policy)
        results[engine] = evaluation
        tiers = {d.household_id: d.tier or "none" for d in evaluation.households}
        tier_ok = sum(1 for s in truth["tier_sample"] if tiers.get(s["household"]) == s["tier"])
        owed = {(o.obligor, o.dependant_household): o for o in evaluation.obligations}
        obligation_ok = sum(
            1
            for o in truth["obligations"]
            if (got := owed.get((o["obligor"], o["dependant_household"])))
            and got.monthly_amount == o["monthly_amount"]
            and got.dependants == o["dependants"]
        )
        counts: dict[str, int] = {}
        for d in evaluation.households:
            counts[d.tier or "none"] = counts.get(d.tier or "none", 0) + 1
        print(
            f"{engine}: evaluated {len(evaluation.households)} households in {took:.1f} s; tiers {counts}; "
            f"{len(evaluation.obligations)} obligations; {len(warnings)} on the push list; "
            f"planted tiers reproduced {tier_ok}/{len(truth['tier_sample'])}, obligations {obligation_ok}/{len(truth['obligations'])}",
            flush=True,
        )
    if len(results) == 2:
        print(f"engines agree: {results['embedded'] == results['neo4j']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
