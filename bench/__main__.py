"""Where AidGraph stands as the data grows: one entry point, both engines in the same run.

    python -m bench --people 10000,100000 [--neo4j bolt://127.0.0.1:17690 | --neo4j-launch 17690] [--resolution] [--out DIR]

For each size it generates a prefecture (seed 7) of the issue's shape: 0.35 households a person
(1M people: 350,000 households; the generator makes about 2.95 people a household) and the
departments' monthly payment ledgers (about 3 aid records a person), and measures, each step in
its own process so each peak memory is its own: generation;
the parse-only floor (every file read with the csv module); per engine: ingest (rows/s and its
ratio to the floor), store size on disk, store open, each audit question, one household chain
and one recommendation (median and p90 of 200), a full evaluation of tiers and obligations
(in parts, as `aidgraph evaluate` takes it);
identity resolution (``--resolution``, embedded); the service history played into the store
(work orders from dispatch to completion, the share answered on time, the planted service cases
found); and the DuckDB baseline of three duplicate-aid
rules, with its finding counts checked against AidGraph's. Writes ``results.json``,
``results.md`` and ``growth.svg`` (time against size, log-log) under ``--out``.

The Neo4j database is emptied before each ingest: point it at a throw-away server
(``ops/neo4j/start.sh PORT``); ``--neo4j-data`` (default: the launcher's data folder for that
port) is measured for the size on disk.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOUSEHOLDS_PER_PERSON = 0.35


def _step(name: str, **args: Any) -> dict[str, Any]:
    # A fixed command line of this interpreter and module; the arguments travel as one JSON string.
    proc = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.steps", name, json.dumps(args)], capture_output=True, text=True, cwd=ROOT, env={**os.environ}
    )
    if proc.returncode != 0:
        raise SystemExit(f"bench step {name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _du_mb(path: Path) -> float | None:
    if not path.exists():
        return None
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def _neo4j_data(uri: str, given: str | None) -> Path | None:
    if given:
        return Path(given)
    port = uri.rsplit(":", 1)[-1]
    path = ROOT / "ops" / "neo4j" / "run" / f"data-{port}"
    return path if path.exists() else None


def measure_size(people: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    households = max(20, round(people * HOUSEHOLDS_PER_PERSON))
    folder = work / f"prefecture-{households}-ledgers"
    row: dict[str, Any] = {"people_target": people, "households": households}
    if not (folder / "truth.json").is_file():
        row["generate"] = _step("generate", folder=str(folder), households=households, seed=7)
    row["counts"] = json.loads((folder / "truth.json").read_text(encoding="utf-8"))["counts"]
    row["files_mb"] = _du_mb(folder)
    row["parse"] = _step("parse", folder=str(folder))
    row["input_rows"] = row["parse"]["rows"]
    engines: list[tuple[str, dict[str, str]]] = [("embedded", {"store": str(work / f"store-{households}")})]
    if args.neo4j:
        if args.neo4j_initial:
            engines.append(("neo4j --initial", {"neo4j": args.neo4j, "initial": "yes"}))
        else:
            engines.append(("neo4j", {"neo4j": args.neo4j}))
    row["engines"] = {}
    for name, engine in engines:
        if name == "embedded":
            import shutil

            shutil.rmtree(engine["store"], ignore_errors=True)
        elif args.neo4j_launch:
            _neo4j_server("start", args.neo4j_launch)
        print(f"[{people:,} people] {name}: ingest", flush=True)
        result: dict[str, Any] = {"ingest": _step("ingest", folder=str(folder), engine=engine, batch_size=args.batch_size)}
        result["ingest"]["x_parse_floor"] = result["ingest"]["seconds"] / row["parse"]["seconds"]
        result["disk_mb"] = (
            _du_mb(Path(engine["store"])) if name == "embedded" else _du_mb_or_none(_neo4j_data(args.neo4j, args.neo4j_data))
        )
        print(f"[{people:,} people] {name}: queries", flush=True)
        result["queries"] = _step("queries", engine=engine, sample=args.sample)
        if not args.no_evaluation:
            print(f"[{people:,} people] {name}: evaluation", flush=True)
            result["evaluation"] = _step("evaluation", engine=engine)
        if args.resolution and name == "embedded":
            print(f"[{people:,} people] {name}: identity resolution", flush=True)
            result["resolution"] = _step("resolution", engine=engine)
        print(f"[{people:,} people] {name}: service history", flush=True)
        result["services"] = _step("services", engine=engine, folder=str(folder))
        row["engines"][name] = result
        if name.startswith("neo4j") and args.neo4j_launch:
            _neo4j_server("stop", args.neo4j_launch)
    print(f"[{people:,} people] DuckDB baseline", flush=True)
    row["duckdb"] = _step("duckdb", folder=str(folder))
    return row


def _neo4j_server(action: str, port: int) -> None:
    """Start a fresh throw-away Neo4j (its data wiped) or stop it, with the launcher in ops/."""
    proc = subprocess.run(  # noqa: S603
        ["bash", str(ROOT / "ops" / "neo4j" / f"{action}.sh"), str(port)],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0:
        raise SystemExit(f"ops/neo4j/{action}.sh {port} failed:\n{proc.stderr[-3000:]}")


def _du_mb_or_none(path: Path | None) -> float | None:
    return _du_mb(path) if path else None


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.3g}{unit}" if v < 100 else f"{v:,.0f}{unit}"
    return f"{v:,}{unit}"


def markdown(results: dict[str, Any]) -> str:
    lines = [f"# AidGraph bench, {results['at']}", "", f"Machine: {results['machine']}", ""]
    lines += [
        "| people | households | persons | aid records | input rows | generate s | parse floor s | engine | ingest s | rows/s | x parse floor | peak MB (ingest) | disk MB | open s | audit s | chain median ms | recommend median ms | peak MB (queries) | evaluation s | peak MB (evaluation) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["sizes"]:
        for engine, r in row["engines"].items():
            q, e = r["queries"], r.get("evaluation", {})
            lines.append(
                f"| {_fmt(row['people_target'])} | {_fmt(row['households'])} | {_fmt(row['counts']['persons'])} | "
                f"{_fmt(row['counts']['aid_records'])} | {_fmt(row['input_rows'])} | "
                f"{_fmt(row.get('generate', {}).get('seconds'))} | {_fmt(row['parse']['seconds'])} | {engine} | {_fmt(r['ingest']['seconds'])} | "
                f"{_fmt(r['ingest']['rows_per_s'])} | {_fmt(r['ingest']['x_parse_floor'])} | {_fmt(r['ingest']['peak_rss_mb'])} | {_fmt(r['disk_mb'])} | "
                f"{_fmt(q['open_s'])} | {_fmt(q['audit_total_s'])} | {_fmt(q['chain']['median_ms'])} | {_fmt(q['recommend']['median_ms'])} | "
                f"{_fmt(q['peak_rss_mb'])} | {_fmt(e.get('seconds'))} | {_fmt(e.get('peak_rss_mb'))} |"
            )
    lines += ["", "Each audit question, seconds:", ""]
    names = list(results["sizes"][0]["engines"]["embedded"]["queries"]["audit"])
    lines += ["| people | engine | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for row in results["sizes"]:
        for engine, r in row["engines"].items():
            lines.append(f"| {_fmt(row['people_target'])} | {engine} | " + " | ".join(_fmt(r["queries"]["audit"][n]) for n in names) + " |")
    lines += [
        "",
        "Duplicate-aid rules 1, 3, 4 against the DuckDB baseline (plain SQL on the CSV files; its time includes reading them):",
        "",
    ]
    lines += [
        "| people | rule | DuckDB findings | AidGraph findings | DuckDB s (rule) | DuckDB s (load + all three) | AidGraph embedded s | AidGraph Neo4j s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in results["sizes"]:
        for rule, d in row["duckdb"]["rules"].items():
            ours = {e: r["queries"]["audit"][f"dup_{rule}"] for e, r in row["engines"].items()}
            lines.append(
                f"| {_fmt(row['people_target'])} | {rule} | {d['findings']} | {row['aidgraph_findings'].get(rule)} | {_fmt(d['seconds'])} | "
                f"{_fmt(row['duckdb']['total_s'])} | {_fmt(ours.get('embedded'))} | {_fmt(ours.get('neo4j', ours.get('neo4j --initial')))} |"
            )
    lines += [
        "",
        "Service assistance (the generated service history, `ingest/synthetic/services.py`): work orders, dispatch to completion,",
        "the share answered within the tag's response time, the planted service cases the audit found:",
        "",
        "| people | engine | orders | completed | to completion h, median | p90 | on time | planted found | other findings | play s | findings s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["sizes"]:
        for engine, r in row["engines"].items():
            if sv := r.get("services"):
                lines.append(
                    f"| {_fmt(row['people_target'])} | {engine} | {sv['orders']} | {sv['completed']} | {_fmt(sv['to_completion_hours_median'])} | "
                    f"{_fmt(sv['to_completion_hours_p90'])} | {_fmt(sv['on_time_share'])} | {sv['found_planted']} of {sv['planted']} | "
                    f"{sv['found_other']} | {_fmt(sv['play_s'])} | {_fmt(sv['service_findings_s'])} |"
                )
    resolution = [(row, row["engines"]["embedded"].get("resolution")) for row in results["sizes"]]
    if any(r for _, r in resolution):
        lines += ["", "| people | identity resolution s | linked | queued | peak MB |", "|---|---|---|---|---|"]
        lines += [
            f"| {_fmt(row['people_target'])} | {_fmt(r['seconds'])} | {r['linked']} | {r['queued']} | {_fmt(r['peak_rss_mb'])} |"
            for row, r in resolution
            if r
        ]
    return "\n".join(lines) + "\n"


def chart(results: dict[str, Any], path: Path) -> None:
    """Seconds against people, log-log, one line per measured operation and engine."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = results["sizes"]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    people = [row["people_target"] for row in sizes]
    series = {"ingest": lambda r: r["ingest"]["seconds"], "audit": lambda r: r["queries"]["audit_total_s"]}
    series["evaluation"] = lambda r: r.get("evaluation", {}).get("seconds")
    for engine in sizes[0]["engines"]:
        for label, get in series.items():
            ys = [get(row["engines"][engine]) for row in sizes]
            if all(y is not None for y in ys):
                ax.plot(people, ys, marker="o", linestyle="-" if engine == "embedded" else "--", label=f"{label} ({engine})")
    ax.plot(people, [row["parse"]["seconds"] for row in sizes], marker="x", color="grey", label="parse floor")
    ax.plot(people, [row["duckdb"]["total_s"] for row in sizes], marker="s", color="black", label="DuckDB rules 1,3,4 (incl. read)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("people in the prefecture")
    ax.set_ylabel("seconds")
    ax.set_title("AidGraph: time against size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _our_counts(folder: Path) -> dict[str, int]:
    from collections import Counter

    from graph.stores.ladybug import LadybugStore
    from queries.duplicate_aid import duplicate_aid

    with LadybugStore(folder) as store:
        return dict(Counter(f.kind for f in duplicate_aid(store)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", default="10000,100000", help="Sizes, comma-separated (default 10000,100000).")
    parser.add_argument("--neo4j", help="A throw-away Neo4j to measure too (emptied before each ingest).")
    parser.add_argument(
        "--neo4j-launch",
        type=int,
        metavar="PORT",
        help="Start a fresh Neo4j on PORT for each size's Neo4j steps and stop it after, so the embedded steps run without it "
        "(AIDGRAPH_NEO4J_HEAP and AIDGRAPH_NEO4J_PAGECACHE size it). Implies --neo4j bolt://127.0.0.1:PORT.",
    )
    parser.add_argument(
        "--neo4j-initial",
        action="store_true",
        help="Load Neo4j with `aidgraph ingest --initial` (Neo4j's import tool; needs --neo4j-launch) instead of transactions.",
    )
    parser.add_argument("--neo4j-data", help="Its data folder, for the size on disk (default: the launcher's for that port).")
    parser.add_argument("--resolution", action="store_true", help="Also time identity resolution (embedded; 100k people need ~2 GB).")
    parser.add_argument("--no-evaluation", action="store_true", help="Skip the full evaluation of tiers and obligations.")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--sample", type=int, default=200, help="Households timed for the chain and the recommendation.")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "results" / "work", help="Generated prefectures and stores.")
    parser.add_argument("--out", type=Path, default=None, help="Where results go (default bench/results/bench-<time>).")
    args = parser.parse_args(argv)
    if args.neo4j_launch:
        args.neo4j = f"bolt://127.0.0.1:{args.neo4j_launch}"
    if args.neo4j_initial and not args.neo4j_launch:
        parser.error("--neo4j-initial needs --neo4j-launch PORT (the import tool loads a launcher's Neo4j)")
    out = args.out or ROOT / "bench" / "results" / f"bench-{dt.datetime.now():%Y%m%dT%H%M}"
    out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, Python {sys.version.split()[0]}",
        "sizes": [],
    }
    for people in (int(p) for p in args.people.split(",")):
        row = measure_size(people, args, args.work)
        row["aidgraph_findings"] = _our_counts(args.work / f"store-{row['households']}")
        for rule, d in row["duckdb"]["rules"].items():
            d["agrees"] = d["findings"] == row["aidgraph_findings"].get(rule, 0)
        results["sizes"].append(row)
        (out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    results["total_s"] = time.perf_counter() - started
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    (out / "results.md").write_text(markdown(results), encoding="utf-8")
    chart(results, out / "growth.svg")
    print(markdown(results))
    print(f"bench: {results['total_s']:.0f} s; results in {out}")
    disagree = [(row["people_target"], rule) for row in results["sizes"] for rule, d in row["duckdb"]["rules"].items() if not d["agrees"]]
    if disagree:
        print(f"DuckDB and AidGraph disagree on {disagree}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
