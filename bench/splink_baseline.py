"""Splink's default-trained model on the same records as bench.resolve, for the comparison.

    python -m bench.splink_baseline --records RECORDS.parquet --clusters OUT.parquet [--memory-limit 2GB]

The model is Splink's documented default path: comparisons from its library (Levenshtein on the
ID number, NameComparison, DateOfBirthComparison, exact sex and phone, Jaccard on the address),
the match prior from deterministic rules, u by random sampling, m by EM on two blocking rules,
prediction on blocks of the ID halves, name and birth, and phone, clusters at 0.9 (the fields a
file lacks are left out). DuckDB works in a file of its own under the clusters' folder, within the
same memory limit as AidGraph's model.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on
from splink.backends.duckdb import DuckDBAPI
from splink.internals.exceptions import EMTrainingException


def cluster(records: pa.Table | Path, folder: Path, memory_limit: str = "2GB") -> pa.Table:
    """Splink's default path on ``records`` (bench.resolve's columns): (record_id, cluster_id).

    Comparisons and blocking rules only for the fields the records have (a rule on an empty field
    would block every pair together).
    """
    folder = Path(tempfile.mkdtemp(prefix="splink-", dir=folder))
    con = duckdb.connect(str(folder / "splink.duckdb"), config={"memory_limit": memory_limit, "temp_directory": str(folder / "spill")})
    try:
        if isinstance(records, pa.Table):
            con.register("source", records)
            source = "source"
        else:
            source = f"'{records}'"
        columns = {d[0] for d in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        wanted = ("name", "id_number", "birth_date", "sex", "phone", "address")
        select = ", ".join(f"nullif(trim(CAST({c} AS VARCHAR)), '') AS {c}" if c in columns else f"NULL::VARCHAR AS {c}" for c in wanted)
        con.execute(f"CREATE TABLE raw AS SELECT record_id AS unique_id, {select} FROM {source}").fetchall()
        con.execute(
            """CREATE TABLE records AS SELECT *,
                left(id_number, CASE WHEN length(id_number) = 18 THEN 12 ELSE length(id_number) // 2 END) AS id_head,
                substr(id_number, CASE WHEN length(id_number) = 18 THEN 13 ELSE length(id_number) // 2 + 1 END) AS id_tail
            FROM raw"""
        ).fetchall()
        present = {c for c in wanted if con.execute(f"SELECT count({c}) FROM records").fetchall()[0][0]}
        library = {
            "id_number": lambda: cl.LevenshteinAtThresholds("id_number", [1, 2]),
            "name": lambda: cl.NameComparison("name"),
            "birth_date": lambda: cl.DateOfBirthComparison("birth_date", input_is_string=True),
            "sex": lambda: cl.ExactMatch("sex"),
            "phone": lambda: cl.ExactMatch("phone"),
            "address": lambda: cl.JaccardAtThresholds("address", [0.6, 0.3]),
        }
        blocks = []
        if "id_number" in present:
            blocks += [block_on("id_head"), block_on("id_tail")]
        if {"name", "birth_date"} <= present:
            blocks.append(block_on("name", "birth_date"))
        if "id_number" not in present:  # without an ID, the usual blocks of Splink's examples: name, birth date
            blocks += [block_on(c) for c in ("name", "birth_date") if c in present]
        if "phone" in present:
            blocks.append(block_on("phone"))
        settings = SettingsCreator(
            link_type="dedupe_only",
            comparisons=[library[c]() for c in wanted if c in present],
            blocking_rules_to_generate_predictions=blocks,
        )
        linker = Linker(DuckDBAPI(connection=con).register("records", table_name="records_input"), settings)
        deterministic = [block_on(*rule) for rule in (("id_number",), ("name", "birth_date")) if set(rule) <= present]
        sure = [" AND ".join(f"l.{c} = r.{c}" for c in rule) for rule in (("id_number",), ("name", "birth_date")) if set(rule) <= present]
        if any(
            con.execute(f"SELECT count(*) FROM records l JOIN records r ON {on} AND l.unique_id < r.unique_id").fetchall()[0][0]
            for on in sure
        ):
            linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.9)
        # else Splink's default prior (0.0001): its estimate fails with a math domain error when the rules find no pair
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=7)
        sessions = [("name", "birth_date"), ("id_head",) if "id_number" in present else ("birth_date",)]
        for rule in sessions:
            left = present - set(rule) - ({"id_number"} if "id_head" in rule else set())
            if set(rule) <= present | {"id_head"} and left:  # a session with nothing left to estimate makes Splink write broken SQL
                try:
                    linker.training.estimate_parameters_using_expectation_maximisation(block_on(*rule))
                except EMTrainingException:  # no pairs on this rule in this file: Splink refuses it
                    continue
        predictions = linker.inference.predict(threshold_match_probability=0.5)
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.9)
        return con.sql(f"SELECT unique_id AS record_id, cluster_id FROM {clusters.physical_name}").to_arrow_table()
    finally:
        con.close()
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=Path, required=True)
    parser.add_argument("--clusters", type=Path, required=True)
    parser.add_argument("--memory-limit", default="2GB")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    pq.write_table(cluster(args.records, args.clusters.parent, args.memory_limit), args.clusters)
    seconds = round(time.perf_counter() - started, 1)
    print(json.dumps({"seconds": seconds, "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
