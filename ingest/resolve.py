"""Identity resolution: which records are the same person, however each department spelled them.

Splink 5 on DuckDB does the linkage (blocking, u by random sampling, m by EM in sessions, term
frequencies, prediction, connected components); what is AidGraph's own is here and in
``ingest.resolve_model`` (the fields' comparison levels, the blocking rules, the training):

- **normalise** (``prepare``): ID numbers upper-cased, 15-digit legacy numbers upgraded to 18;
  birth date and sex from a valid ID when the record lacks them; names traditional → simplified
  (opencc), then pinyin (pypinyin) with surname and given name sorted, so that 周建軍, 周建军 and
  "Zhou Jianjun" compare; phones to their last 8 digits; addresses to a MinHash signature of their
  character pairs. Each becomes a derived column of the DuckDB table Splink reads;
- **compare** (``comparisons``): the levels written for this data (ID: exact / one digit / two
  transposed; name: exact with term frequencies / same pinyin / a character missing / Jaro-Winkler
  on pinyin; birth: exact / day and month swapped / one digit / same month; sex; phone; address);
- **block** (``blocking_rules``): the second part of the ID number alone, the first part with the
  name, each part of the name with the birth date, the name with the birth year, the phone, so one
  wrong digit or one wrong name character still meets;
- **wire**: a register entry (``register_prefix``) is a distinct person, so a cluster Splink made of
  two register entries is split again, strongest link first (``_split_register_clusters``).

Only the fields a file has are compared or blocked on: a file without ID numbers, or with Latin
names, trains and links by the same call.

>>> from ingest.resolve import prepared_rows
>>> row, = prepared_rows([{"record_id": "a", "name": "周建軍", "id_number": "420106830514151"}])
>>> row["name"], row["pinyin"], row["id"], row["birth"], row["sex"]
('周建军', 'jianjun zhou', '420106198305141516', '1983-05-14', 'M')
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import duckdb
import opencc
import pyarrow as pa
from pypinyin import lazy_pinyin

from graph.names import split_chinese_name
from graph.national_id import is_valid_id_number, upgrade_15_to_18
from ingest.resolve_model import (
    FIELDS,
    NULL_COLUMN,
    SIGNATURE,
    blocking_rules,
    comparisons,
    evidence,
    level_sql,
    parameters,
    run_sql,
    train,
)

__all__ = ["FIELDS", "Cluster", "Pair", "Resolution", "check_csv", "compare", "evidence", "prepared_rows", "resolve", "simplified"]

#: The columns a raw record may carry (any may be missing; ``record_id`` may not).
RAW_COLUMNS = ("record_id", "name", "id_number", "other_id", "birth_date", "sex", "phone", "address", "source")
_T2S = opencc.OpenCC("t2s")
_CJK = re.compile(r"[\u3400-\u9fff]")


def simplified(text: str) -> str:
    """``text`` in simplified characters, spaces dropped: one spelling of a name.

    >>> simplified("周建軍") == simplified("周建军")
    True
    """
    return _T2S.convert(text).replace(" ", "")


@lru_cache(maxsize=200_000)
def _pinyin(part: str) -> str:
    """A surname or given name in pinyin; a prefecture's names share far fewer parts than names."""
    return "".join(lazy_pinyin(part))


def _name_forms(raw: str) -> tuple[str, str, str, str] | None:
    """(name, pinyin key, first and last part of the key) of a raw name; None for no name."""
    name = re.sub(r"\s+", " ", raw).strip()
    if not name:
        return None
    if _CJK.search(name):
        name = simplified(name)
        parts = [_pinyin(part) for part in split_chinese_name(name)]
    else:
        name = name.lower()
        parts = re.findall(r"[^\W\d_]+", name)
    parts = sorted(p for p in parts if p) or [name]
    return name, " ".join(parts), parts[0], parts[-1]


def _id_forms(number: str) -> tuple[str, str | None, str | None]:
    """(normalised ID, birth date, sex) of an ID number; birth and sex only from a valid 18-character one."""
    if len(number) == 15 and number.isdigit():
        number = upgrade_15_to_18(number)
    if len(number) == 18 and is_valid_id_number(number):
        return number, f"{number[6:10]}-{number[10:12]}-{number[12:14]}", "M" if int(number[16]) % 2 else "F"
    return number, None, None


def check_csv(path: Path) -> None:
    """Refuse a records file without a usable ``record_id``, naming the file, row and field."""
    con = duckdb.connect()
    try:
        source = f"read_csv('{_quoted(path)}', all_varchar = true, header = true)"
        columns = [r[0] for r in run_sql(con, f"DESCRIBE SELECT * FROM {source}")]
        if "record_id" not in columns:
            raise ValueError(f"{path}: the header must have a record_id column")
        numbered = f"(SELECT record_id, row_number() OVER () + 1 AS line FROM {source})"
        empty = run_sql(con, f"SELECT min(line) FROM {numbered} WHERE nullif(trim(record_id), '') IS NULL")[0][0]
        if empty is not None:
            raise ValueError(f"{path} row {empty} field record_id: empty")
        twice = run_sql(
            con,
            f"""SELECT record_id, line FROM (SELECT *, row_number() OVER (PARTITION BY record_id ORDER BY line) AS k FROM {numbered})
                WHERE k = 2 ORDER BY line LIMIT 1""",
        )
        if twice:
            raise ValueError(f"{path} row {twice[0][1]} field record_id: {twice[0][0]!r} appears twice")
    finally:
        con.close()


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _load(con: duckdb.DuckDBPyConnection, records: Iterable[dict[str, Any]] | pa.Table | Path) -> None:
    """The raw records as table ``raw``: every column of ``RAW_COLUMNS`` as text (absent ones empty)."""
    if isinstance(records, Path):
        source = f"read_csv('{_quoted(records)}', all_varchar = true, header = true)"
        present = {r[0] for r in run_sql(con, f"DESCRIBE SELECT * FROM {source}")}
    else:
        if isinstance(records, pa.Table):
            table = records
        else:
            rows = list(records)
            table = pa.table({c: [None if r.get(c) in (None, "") else str(r[c]) for r in rows] for c in RAW_COLUMNS})
        con.register("raw_arrow", table)
        source, present = "raw_arrow", set(table.column_names)
    cols = ", ".join(f"nullif(trim(CAST({c} AS VARCHAR)), '') AS {c}" if c in present else f"NULL::VARCHAR AS {c}" for c in RAW_COLUMNS)
    run_sql(con, f"CREATE OR REPLACE TABLE raw AS SELECT {cols} FROM {source}")
    if source == "raw_arrow":
        con.unregister("raw_arrow")


def _lookup(con: duckdb.DuckDBPyConnection, name: str, distinct: str, fn: Callable, columns: tuple[str, ...]) -> None:
    """Table ``name`` (key, *columns) of ``fn`` over the values the query ``distinct`` gives: Python
    runs once per distinct value, not per record."""
    keys = [r[0] for r in run_sql(con, distinct)]
    values = [fn(k) for k in keys]
    data = {"key": keys}
    for i, c in enumerate(columns):
        data[c] = [None if v is None else v[i] for v in values]
    con.register(f"{name}_arrow", pa.table(data))
    run_sql(con, f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {name}_arrow")
    con.unregister(f"{name}_arrow")


def prepare(con: duckdb.DuckDBPyConnection, records: Iterable[dict[str, Any]] | pa.Table | Path) -> None:
    """Table ``records``: one row per raw record with the derived columns Splink compares and blocks on."""
    _load(con, records)
    _lookup(con, "name_forms", "SELECT DISTINCT name FROM raw WHERE name IS NOT NULL", _name_forms, ("name", "pinyin", "name_a", "name_b"))
    _lookup(
        con,
        "id_forms",
        "SELECT DISTINCT upper(coalesce(id_number, other_id)) FROM raw WHERE coalesce(id_number, other_id) IS NOT NULL",
        _id_forms,
        ("id", "id_birth", "id_sex"),
    )
    _lookup(
        con, "address_forms", "SELECT DISTINCT address FROM raw WHERE address IS NOT NULL", lambda a: (simplified(a).lower(),), ("address",)
    )
    run_sql(
        con,
        """
        CREATE OR REPLACE TABLE records AS
        WITH base AS (
            SELECT r.record_id AS unique_id, i.id, n.name, n.pinyin, n.name_a, n.name_b,
                   coalesce(
                       strftime(try_strptime(r.birth_date, ['%Y-%m-%d', '%Y%m%d', '%Y/%m/%d', '%d/%m/%Y']), '%Y-%m-%d'),
                       i.id_birth) AS birth,
                   coalesce(upper(left(r.sex, 1)), i.id_sex) AS sex,
                   nullif(right(regexp_replace(coalesce(r.phone, ''), '[^0-9]', '', 'g'), 8), '') AS phone,
                   a.address, r.source
            FROM raw r
            LEFT JOIN name_forms n ON n.key = r.name
            LEFT JOIN id_forms i ON i.key = upper(coalesce(r.id_number, r.other_id))
            LEFT JOIN address_forms a ON a.key = r.address
        )
        SELECT *,
            -- the ID in two parts: one wrong digit leaves one of them whole. An 18-character number
            -- splits before the birth month, so the second part (month, day, sequence, check) is
            -- rare enough to block on alone and the first (region, year) is blocked with the name.
            left(id, CASE WHEN length(id) = 18 THEN 10 ELSE length(id) // 2 END) AS id_head,
            substr(id, CASE WHEN length(id) = 18 THEN 11 ELSE length(id) // 2 + 1 END) AS id_tail,
            left(birth, 4) AS birth_year,
            CASE WHEN length(address) > 1 THEN list_value({_MINHASH}) END AS address_sig
        FROM (SELECT *, list_distinct(list_transform(range(1, length(address)), lambda k: substr(address, k, 2))) AS grams FROM base)
        """.replace("{_MINHASH}", ", ".join(f"list_min(list_transform(grams, lambda g: hash(g, {k})))" for k in range(SIGNATURE))),
    )
    run_sql(con, "ALTER TABLE records DROP COLUMN grams")
    for table in ("raw", "name_forms", "id_forms", "address_forms"):
        run_sql(con, f"DROP TABLE {table}")


def prepared_rows(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The derived columns of ``records``, as ``resolve`` compares them (for a look at one record)."""
    con = duckdb.connect()
    try:
        prepare(con, records)
        cursor = con.execute("SELECT * EXCLUDE (address_sig) FROM records ORDER BY unique_id")
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
        return [dict(zip(columns, row, strict=True)) for row in rows]
    finally:
        con.close()


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
            blocking_rules_to_generate_predictions=blocking_rules(present),
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
