"""Splink's default-trained model on the same records as bench.resolve, for the comparison.

Run it with Splink installed in a separate environment (it is not a dependency of AidGraph)::

    python -m venv /tmp/splink-env && /tmp/splink-env/bin/pip install splink pandas
    PYTHONPATH=. /tmp/splink-env/bin/python -m bench.splink_baseline --data DATA

The model is Splink's documented default path: comparisons from its library (Levenshtein on the
ID number, NameComparison, DateOfBirthComparison, exact sex and phone, Jaccard on the address),
the match prior from deterministic rules, u by random sampling, m by EM on two blocking rules,
prediction on the same blocks as AidGraph's (ID halves, name and birth, phone), clusters at 0.9.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on
from splink.backends.duckdb import DuckDBAPI

from bench.resolve import load_records, pairwise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    args = parser.parse_args(argv)
    records, who = load_records(args.data)
    frame = pd.DataFrame(records).rename(columns={"record_id": "unique_id"})
    for column in ("name", "id_number", "birth_date", "sex", "phone", "address"):
        frame[column] = frame[column].replace("", None)
    frame["id_head"] = frame["id_number"].str.slice(0, 12)
    frame["id_tail"] = frame["id_number"].str.slice(12, 18)
    started = time.perf_counter()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.LevenshteinAtThresholds("id_number", [1, 2]),
            cl.NameComparison("name"),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.ExactMatch("sex"),
            cl.ExactMatch("phone"),
            cl.JaccardAtThresholds("address", [0.6, 0.3]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("id_head"),
            block_on("id_tail"),
            block_on("name", "birth_date"),
            block_on("phone"),
        ],
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(frame), settings)
    linker.training.estimate_probability_two_random_records_match([block_on("id_number"), block_on("name", "birth_date")], recall=0.9)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=7)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name", "birth_date"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("id_head"))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters_df = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, 0.9).as_pandas_dataframe()
    took = time.perf_counter() - started
    clusters = dict(zip(clusters_df["unique_id"].astype(str), clusters_df["cluster_id"].astype(str), strict=True))
    scores = pairwise(clusters, who)
    print(
        f"splink: {len(records)} records in {took:.1f} s ({len(records) / took:,.0f} records/s); "
        f"precision {scores['precision']:.4f}, recall {scores['recall']:.4f}, F1 {scores['f1']:.4f} "
        f"({scores['correct_pairs']:,} of {scores['true_pairs']:,} true pairs, {scores['predicted_pairs']:,} predicted)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
