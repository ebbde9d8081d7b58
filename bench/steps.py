"""One measured step of ``python -m bench``, run in its own process so its peak memory is its own.

    python -m bench.steps STEP '{"json": "arguments"}'

Prints one JSON object: the step's figures plus ``peak_rss_mb`` (the process's VmHWM).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from graph.store import GraphStore, bulk_load
from queries.registry import get_question

AS_OF = dt.date(2026, 6, 30)  # the generator's "today": findings and tiers stand on this day
AUDIT_QUESTIONS = (
    "dup_exclusive_overlap",
    "dup_person_in_two_households",
    "dup_need_paid_twice",
    "dup_delivered_twice",
    "dup_shared_identifiers",
    "dup_enrolled_twice",
    "means_facts",
    "missed_unserved_needs",
)


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _open(engine: dict[str, str]) -> GraphStore:
    if "neo4j" in engine:
        from graph.stores.neo4j import Neo4jStore

        return Neo4jStore(engine["neo4j"])
    from graph.stores.ladybug import LadybugStore

    return LadybugStore(engine["store"])


def parse(folder: str) -> dict[str, Any]:
    """The floor: only reading every exchange file with the csv module (no validation, no store)."""
    t = time.perf_counter()
    rows = cells = 0
    for path in sorted(Path(folder).glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.reader(f):
                rows += 1
                cells += len(row)
    return {"seconds": time.perf_counter() - t, "rows": rows, "cells": cells}


def generate(folder: str, households: int, seed: int) -> dict[str, Any]:
    from ingest.synthetic import generate_prefecture

    t = time.perf_counter()
    truth = generate_prefecture(households=households, seed=seed, out=Path(folder), ledgers=True)
    # Rows per file only: the truth itself (every planted case) is megabytes at 1M people.
    return {"seconds": time.perf_counter() - t, "counts": truth["counts"]}


def ingest(folder: str, engine: dict[str, str], batch_size: int) -> dict[str, Any]:
    from ingest.loader import ingest_folder

    if engine.get("initial"):
        from ingest.neo4j_import import import_initial

        t = time.perf_counter()
        loaded = import_initial(Path(folder), engine["neo4j"], batch_size=batch_size)
        seconds = time.perf_counter() - t
        # The import tool is a child process: peak_rss_mb is this (validating) process's alone.
        return {"seconds": seconds, "rows": loaded.rows, "rows_per_s": loaded.rows / seconds, "steps": loaded.seconds}

    with _open(engine) as store:
        if "neo4j" in engine:
            store.clear()
        t = time.perf_counter()
        report = ingest_folder(store, folder, batch_size=batch_size)
        seconds = time.perf_counter() - t
    rows = sum(f.rows for f in report.files)
    return {"seconds": seconds, "rows": rows, "rows_per_s": rows / seconds, "rejected_rows": report.rejected_rows}


def _median_ms(fn: Any, items: list[str]) -> dict[str, float]:
    times = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"median_ms": statistics.median(times), "p90_ms": times[int(len(times) * 0.9)], "n": len(times)}


def _facts_in_slices(store: GraphStore) -> int:
    """Every household's facts, read as the audit's missed aid reads them (``evaluate_in_parts``):
    a slice of households at a time by ranges of ids, each let go; the households read."""
    from policy.means_test import household_slices
    from queries.means_facts import household_order, means_facts

    slices = household_slices(household_order(store))
    return sum(len(means_facts(store, household_from=start, household_to=upto)) for start, upto in slices)


def queries(engine: dict[str, str], sample: int) -> dict[str, Any]:
    from graph.model import NodeKind
    from queries.household_chain import household_chain
    from queries.linkage import recommend

    t = time.perf_counter()
    store = _open(engine)
    opened = time.perf_counter() - t
    out: dict[str, Any] = {"open_s": opened, "audit": {}}
    try:
        params: dict[str, dict[str, Any]] = {"missed_unserved_needs": {"as_of": AS_OF.isoformat()}}
        params["dup_shared_identifiers"] = {"generic_threshold": 8}
        findings = 0
        with bulk_load():  # as `aidgraph audit` (policy.audit.audit) runs its questions
            for name in AUDIT_QUESTIONS:
                t = time.perf_counter()
                if name == "means_facts":
                    found = _facts_in_slices(store)
                else:
                    found = len(get_question(name)(store, **params.get(name, {})))
                out["audit"][name] = time.perf_counter() - t
                findings += found
        out["audit_total_s"] = sum(out["audit"].values())
        out["findings"] = findings
        households = [n.key for n in store.iter_nodes(NodeKind.HOUSEHOLD)]
        out["households"] = len(households)
        picked = random.Random(7).sample(households, min(sample, len(households)))
        out["chain"] = _median_ms(lambda h: household_chain(store, h, as_of=AS_OF), picked)
        out["recommend"] = _median_ms(lambda h: recommend(store, h, as_of=AS_OF), picked)
    finally:
        store.close()
    return out


def evaluation(engine: dict[str, str]) -> dict[str, Any]:
    """Every household's tier and obligations, as `aidgraph evaluate` and the audit's missed aid take
    them: part by part (``evaluate_in_parts``), each part counted and let go; nothing is written."""
    from policy.config import load_policy
    from policy.means_test import evaluate_in_parts

    tiers: Counter[str] = Counter()
    parts = obligations = 0
    with _open(engine) as store:
        t = time.perf_counter()
        for part in evaluate_in_parts(store, load_policy(), as_of=AS_OF):
            parts += 1
            obligations += len(part.obligations)
            tiers.update(d.tier or "none" for d in part.households)
        seconds = time.perf_counter() - t
    return {"seconds": seconds, "households": tiers.total(), "obligations": obligations, "parts": parts, "tiers": dict(tiers)}


def resolution(engine: dict[str, str]) -> dict[str, Any]:
    from ingest.identity import resolve_store

    with _open(engine) as store:
        t = time.perf_counter()
        outcome = resolve_store(store)
        seconds = time.perf_counter() - t
    return {"seconds": seconds, "linked": len(outcome.linked), "queued": len(outcome.queued), "unresolved": len(outcome.unresolved)}


def duckdb_duplicates(folder: str) -> dict[str, Any]:
    from bench.duckdb_baseline import duplicate_aid_sql

    return duplicate_aid_sql(Path(folder))


def services(engine: dict[str, str], folder: str) -> dict[str, Any]:
    """Play the service history into the ingested store (it writes: run it after the other
    questions); time it, the service findings, and the orders' times."""
    from ingest.synthetic.services import order_times, plant_services
    from policy.service_findings import service_findings
    from queries.work_orders import work_orders

    store = _open(engine)
    seed = json.loads((Path(folder) / "truth.json").read_text(encoding="utf-8"))["seed"]
    t = time.perf_counter()
    played = plant_services(store, seed=seed)
    seconds = time.perf_counter() - t
    t = time.perf_counter()
    found = service_findings(store, as_of=AS_OF)
    findings_s = time.perf_counter() - t
    planted = {(c["kind"], c.get("order") or c["resource"]) for c in played["planted"]}
    got = {(f.kind, f.evidence.get("order_id") or f.evidence["resource_id"]) for f in found}
    times = order_times(work_orders(store))
    store.close()
    return {
        "play_s": seconds,
        "service_findings_s": findings_s,
        "planted": len(planted),
        "found_planted": len(planted & got),
        "found_other": len(got - planted),
        **played["counts"],
        **times,
        "peak_rss_mb": peak_rss_mb(),
    }


STEPS = {
    "parse": parse,
    "generate": generate,
    "ingest": ingest,
    "queries": queries,
    "evaluation": evaluation,
    "resolution": resolution,
    "duckdb": duckdb_duplicates,
    "services": services,
}


def main() -> None:
    step, args = sys.argv[1], json.loads(sys.argv[2])
    result = STEPS[step](**args)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
