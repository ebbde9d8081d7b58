"""Identity resolution: which records are the same person, however each department spelled them.

Splink 5 on DuckDB does the linkage (blocking, u by random sampling, m by EM in sessions, term
frequencies, prediction, connected components); what is AidGraph's own is here and in
``ingest.resolve_model`` (the fields' comparison levels, the blocking rules, the training):

- **normalise** (``ingest.normalise.prepare``): ID numbers upper-cased, 15-digit legacy numbers upgraded to 18;
  birth date and sex from a valid ID when the record lacks them; names traditional → simplified
  (opencc), then pinyin (pypinyin) with surname and given name sorted, so that 周建軍, 周建军 and
  "Zhou Jianjun" compare; phones to their last 8 digits; addresses to a MinHash signature of their
  character pairs. Each becomes a derived column of the DuckDB table Splink reads;
- **compare** (``comparisons``): the levels written for this data (ID: exact / one digit / two
  transposed; name: exact with term frequencies / same pinyin / a character missing / Jaro-Winkler
  on pinyin or as written; birth: exact / day and month swapped / one digit / same month; sex; phone; address);
- **block** (``blocking_rules``): the second part of the ID number alone, the first part with the
  name, each part of the name (and a Latin name's first part as written) with the birth date, the
  name with the birth year, the phone, so one wrong digit or one wrong name character still meets;
  without ID numbers, the birth date alone while it pairs few enough records;
- **wire**: a register entry (``register_prefix``) is a distinct person, so a cluster Splink made of
  two register entries is split again, strongest link first (``_split_register_clusters``).

Only the fields a file has are compared or blocked on: a file without ID numbers, or with Latin
names, trains and links by the same call.

>>> compare({"record_id": "a", "name": "周建軍"}, {"record_id": "b", "name": "周建军"})["name"]  # 1: the most alike
1
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from ingest.normalise import prepare
from ingest.resolve_model import (
    FIELDS,
    NULL_COLUMN,
    birth_block_pairs,
    blocking_rules,
    comparisons,
    evidence,
    level_sql,
    parameters,
    run_sql,
    train,
)

__all__ = ["FIELDS", "Cluster", "Pair", "Resolution", "compare", "evidence", "resolve"]


def _sides(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """``records`` twice, its columns suffixed _l and _r, as Splink names the two records of a pair."""
    cursor = con.execute("SELECT * FROM records LIMIT 0")
    columns = [d[0] for d in cursor.description]
    cursor.fetchall()
    return {s: f"(SELECT {', '.join(f'{c} AS {c}_{s}' for c in columns)} FROM records)" for s in "lr"}


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, int]:
    """The level of each field for two raw records (0 missing, 1 most alike): the SQL Splink runs.

    >>> compare({"record_id": "a", "name": "周建军", "birth_date": "1983-05-04"},
    ...         {"record_id": "b", "name": "周军", "birth_date": "1983-04-05"})
    {'id': 0, 'name': 3, 'birth': 2, 'sex': 0, 'phone': 0, 'address': 0}
    """
    con = duckdb.connect()
    try:
        prepare(con, [a, b])
        side = _sides(con)
        levels = ", ".join(level_sql(f) for f in FIELDS)
        row = run_sql(
            con,
            f"SELECT {levels} FROM {side['l']} l, {side['r']} r WHERE unique_id_l = $a AND unique_id_r = $b",
            {"a": str(a["record_id"]), "b": str(b["record_id"])},
        )[0]
        return dict(zip(FIELDS, row, strict=True))
    finally:
        con.close()


@dataclass
class Pair:
    a: str
    b: str
    probability: float
    weight: float
    levels: dict[str, int]
    evidence: list[str]


@dataclass
class Cluster:
    record_id: str
    cluster_id: str
    score: float


@dataclass
class Resolution:
    """Clusters (a row per record) and the scored pairs at or above ``review``, as Arrow tables;
    ``clusters``, ``pairs`` and ``review`` as Python objects for callers of small files."""

    cluster_table: pa.Table
    pair_table: pa.Table
    accept: float
    fields: tuple[str, ...]
    m: dict[str, list[float]] = field(default_factory=dict)
    u: dict[str, list[float]] = field(default_factory=dict)
    prior: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage

    @cached_property
    def clusters(self) -> list[Cluster]:
        return [
            Cluster(r, c, s)
            for r, c, s in zip(*(self.cluster_table[k].to_pylist() for k in ("record_id", "cluster_id", "score")), strict=True)
        ]

    @cached_property
    def pairs(self) -> list[Pair]:
        columns = {k: self.pair_table[k].to_pylist() for k in self.pair_table.column_names}
        out = []
        for i in range(len(self.pair_table)):
            levels = {f: columns[f"level_{f}"][i] if f in self.fields else 0 for f in FIELDS}
            texts = [text for f, level in levels.items() if (text := evidence(f, level))]
            out.append(
                Pair(columns["a"][i], columns["b"][i], round(columns["probability"][i], 6), round(columns["weight"][i], 3), levels, texts)
            )
        return out

    @cached_property
    def review(self) -> list[Pair]:
        cluster_of = dict(zip(self.cluster_table["record_id"].to_pylist(), self.cluster_table["cluster_id"].to_pylist(), strict=True))
        return [p for p in self.pairs if p.probability < self.accept and cluster_of[p.a] != cluster_of[p.b]]


def resolve(
    raw_records: Iterable[dict[str, Any]] | pa.Table | Path,
    *,
    accept: float = 0.9,
    review: float = 0.5,
    seed: int = 7,
    register_prefix: str | None = "P:",
    workdir: Path | None = None,
    memory_limit: str = "2GB",
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> Resolution:
    """Cluster ``raw_records`` (dicts, an Arrow table or a CSV file, with ``record_id`` and any of name,
    id_number, other_id, birth_date, sex, address, phone, source) into persons.

    Records whose id starts with ``register_prefix`` are population-register entries: distinct
    people, never put in one cluster (a record one mistyped digit from two registered people goes
    to the one its name and birth date agree with, not to both). DuckDB works in a file under
    ``workdir`` (a temporary folder when None) within ``memory_limit``, spilling beyond it.
    """
    from splink import Linker, SettingsCreator
    from splink.backends.duckdb import DuckDBAPI

    say = progress or (lambda _message: None)
    folder = Path(tempfile.mkdtemp(prefix="aidgraph-resolve-", dir=workdir))
    config = {"memory_limit": memory_limit, "temp_directory": str(folder / "spill"), "preserve_insertion_order": False}
    if threads:
        config["threads"] = threads
    con = duckdb.connect(str(folder / "resolve.duckdb"), config=config)
    stages: dict[str, float] = {}
    splink_log = logging.getLogger("splink")
    level_before = splink_log.level
    splink_log.setLevel(logging.WARNING)  # Splink's INFO lines are for notebooks; the stages below say what runs

    def stage(name: str, started: float) -> None:
        stages[name] = round(time.perf_counter() - started, 2)
        say(f"{name}: {stages[name]:.1f} s")

    try:
        t = time.perf_counter()
        prepare(con, raw_records)
        count = con.execute("SELECT count(*) FROM records").fetchall()[0][0]
        present = {f for f in FIELDS if con.execute(f"SELECT count({NULL_COLUMN[f]}) FROM records").fetchall()[0][0] > 0}
        stage(f"normalised {count:,} records ({', '.join(f for f in FIELDS if f in present)})", t)
        if count < 2 or not present - {"sex"}:
            return _singletons(con, accept, stages)

        t = time.perf_counter()
        settings = SettingsCreator(
            link_type="dedupe_only",
            comparisons=comparisons(present),
            blocking_rules_to_generate_predictions=blocking_rules(present, birth_block_pairs(con) if "birth" in present else None),
            retain_intermediate_calculation_columns=False,
            retain_matching_columns=False,
        )
        linker = Linker(DuckDBAPI(connection=con).register("records", table_name="records_input"), settings, log_level=logging.WARNING)
        trained = train(con, linker, present, count, seed)
        stage(f"trained (u from random pairs, m by EM blocked on {', '.join(trained) or 'nothing: too few pairs, priors kept'})", t)

        t = time.perf_counter()
        predictions = linker.inference.predict(threshold_match_probability=review)
        stage("scored the blocked pairs", t)

        t = time.perf_counter()
        clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, accept)
        run_sql(con, f"CREATE OR REPLACE TABLE clusters AS SELECT unique_id, cluster_id FROM {clustered.physical_name}")
        # Splink 5 keeps each comparison's weight, not its level: the levels of the pairs kept come
        # from the same SQL, run again on those pairs only.
        side = _sides(con)
        levels = ", ".join(f"{level_sql(f)} AS level_{f}" for f in FIELDS if f in present)
        run_sql(
            con,
            f"""CREATE OR REPLACE TABLE pairs AS
                SELECT p.unique_id_l AS a, p.unique_id_r AS b, p.match_probability AS probability, p.match_weight AS weight, {levels}
                FROM {predictions.physical_name} p JOIN {side["l"]} l ON l.unique_id_l = p.unique_id_l
                JOIN {side["r"]} r ON r.unique_id_r = p.unique_id_r""",
        )
        split = _split_register_clusters(con, register_prefix, accept)
        stage(f"clustered ({split} clusters of two register people split)", t)
        return _result(con, accept, tuple(f for f in FIELDS if f in present), stages, parameters(linker))
    finally:
        splink_log.setLevel(level_before)
        con.close()
        shutil.rmtree(folder, ignore_errors=True)


def _split_register_clusters(con: duckdb.DuckDBPyConnection, register_prefix: str | None, accept: float) -> int:
    """Split the clusters that hold two register entries: links strongest first, none between two registered people.

    Splink's connected components joins everything a chain of links reaches, so one record a
    mistyped digit from two registered people makes them one person; this redoes only those
    clusters (a few dozen in a prefecture) in Python.
    """
    if not register_prefix:
        return 0
    like = register_prefix.replace("%", r"\%").replace("_", r"\_") + "%"
    crowded = con.execute(
        "SELECT cluster_id FROM clusters WHERE unique_id LIKE ? ESCAPE '\\' GROUP BY cluster_id HAVING count(*) > 1", [like]
    ).fetchall()
    if not crowded:
        return 0
    run_sql(
        con,
        "CREATE OR REPLACE TEMP TABLE crowded AS SELECT unique_id, cluster_id FROM clusters WHERE cluster_id IN (SELECT unnest(?))",
        [[c[0] for c in crowded]],
    )
    members = con.execute("SELECT unique_id FROM crowded").fetchall()
    links = con.execute(
        """SELECT p.a, p.b, p.probability FROM pairs p JOIN crowded ca ON ca.unique_id = p.a JOIN crowded cb ON cb.unique_id = p.b
           WHERE ca.cluster_id = cb.cluster_id AND p.probability >= ? ORDER BY p.probability DESC, p.a, p.b""",
        [accept],
    ).fetchall()
    parent = {m[0]: m[0] for m in members}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    anchored = {x for x in parent if x.startswith(register_prefix)}
    for a, b, _ in links:
        ra, rb = find(a), find(b)
        if ra != rb and not (ra in anchored and rb in anchored):
            root, other = min(ra, rb), max(ra, rb)
            parent[other] = root
            if other in anchored:
                anchored.add(root)
    con.register("regrouped", pa.table({"unique_id": list(parent), "cluster_id": [find(x) for x in parent]}))
    run_sql(con, "UPDATE clusters SET cluster_id = g.cluster_id FROM regrouped g WHERE clusters.unique_id = g.unique_id")
    con.unregister("regrouped")
    return len(crowded)


def _result(
    con: duckdb.DuckDBPyConnection,
    accept: float,
    fields: tuple[str, ...],
    stages: dict[str, float],
    params: tuple[dict, dict, float],
) -> Resolution:
    """Clusters named by their least record id, each record scored by its strongest link inside its cluster (1.0 alone)."""
    clusters = con.sql(
        """
        WITH named AS (SELECT unique_id, min(unique_id) OVER (PARTITION BY cluster_id) AS cluster_id FROM clusters),
        kept AS (
            SELECT p.a, p.b, p.probability FROM pairs p JOIN named x ON x.unique_id = p.a JOIN named y ON y.unique_id = p.b
            WHERE p.probability >= $accept AND x.cluster_id = y.cluster_id
        ),
        links AS (SELECT a AS unique_id, probability FROM kept UNION ALL SELECT b, probability FROM kept),
        best AS (SELECT unique_id, max(probability) AS score FROM links GROUP BY unique_id)
        SELECT n.unique_id AS record_id, n.cluster_id, round(coalesce(b.score, 1.0), 6) AS score
        FROM named n LEFT JOIN best b USING (unique_id) ORDER BY n.cluster_id, n.unique_id
        """,
        params={"accept": accept},
    ).to_arrow_table()
    pairs = con.sql("SELECT * FROM pairs ORDER BY probability DESC, a, b").to_arrow_table()
    m, u, prior = params
    return Resolution(clusters, pairs, accept, fields, m=m, u=u, prior=prior, stages=stages)


def _singletons(con: duckdb.DuckDBPyConnection, accept: float, stages: dict) -> Resolution:
    """Too little to link on: every record its own person."""
    run_sql(con, "CREATE OR REPLACE TABLE clusters AS SELECT unique_id, unique_id AS cluster_id FROM records")
    run_sql(con, "CREATE OR REPLACE TABLE pairs (a VARCHAR, b VARCHAR, probability DOUBLE, weight DOUBLE)")
    return _result(con, accept, (), stages, ({}, {}, 0.0))
