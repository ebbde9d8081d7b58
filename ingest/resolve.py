"""Identity resolution: which records are the same person, however each department spelled them.

Splink 5 on DuckDB does the linkage (blocking, u by random sampling, m by EM in sessions, term
frequencies, prediction, connected components); what is AidGraph's own is here:

- **normalise** (``prepare``): ID numbers upper-cased, 15-digit legacy numbers upgraded to 18;
  birth date and sex from a valid ID when the record lacks them; names traditional → simplified
  (opencc), then pinyin (pypinyin) with surname and given name sorted, so that 周建軍, 周建军 and
  "Zhou Jianjun" compare; phones to their last 8 digits; addresses to character pairs. Each becomes
  a derived column of the DuckDB table Splink reads;
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
import math
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
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

__all__ = ["FIELDS", "Cluster", "Pair", "Resolution", "check_csv", "compare", "evidence", "prepared_rows", "resolve", "simplified"]

FIELDS = ("id", "name", "birth", "sex", "phone", "address")
#: The columns a raw record may carry (any may be missing; ``record_id`` may not).
RAW_COLUMNS = ("record_id", "name", "id_number", "other_id", "birth_date", "sex", "phone", "address", "source")
#: Random pairs for the u estimate (Splink advises 1e7 or more). On the generated prefectures of
#: 121,856 and 350,787 records 2e6 gave the same clusters as 1e7 (F1 0.9985 and 0.9986) and cut
#: training from 4.0 s to 1.6 s; the u priors (``_blend_u``) cover the levels a sample this size misses.
U_PAIRS = 2e6
#: Pairs per EM session (Splink samples records to about this many blocked pairs).
EM_PAIRS = 2e6
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


def _sql(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[tuple]:
    """Run ``sql`` to its end (DuckDB refuses the next statement while a result is unread)."""
    return con.execute(sql, params).fetchall()


def check_csv(path: Path) -> None:
    """Refuse a records file without a usable ``record_id``, naming the file, row and field."""
    con = duckdb.connect()
    try:
        source = f"read_csv('{_quoted(path)}', all_varchar = true, header = true)"
        columns = [r[0] for r in _sql(con, f"DESCRIBE SELECT * FROM {source}")]
        if "record_id" not in columns:
            raise ValueError(f"{path}: the header must have a record_id column")
        numbered = f"(SELECT record_id, row_number() OVER () + 1 AS line FROM {source})"
        empty = _sql(con, f"SELECT min(line) FROM {numbered} WHERE nullif(trim(record_id), '') IS NULL")[0][0]
        if empty is not None:
            raise ValueError(f"{path} row {empty} field record_id: empty")
        twice = _sql(
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
        present = {r[0] for r in _sql(con, f"DESCRIBE SELECT * FROM {source}")}
    else:
        if isinstance(records, pa.Table):
            table = records
        else:
            rows = list(records)
            table = pa.table({c: [None if r.get(c) in (None, "") else str(r[c]) for r in rows] for c in RAW_COLUMNS})
        con.register("raw_arrow", table)
        source, present = "raw_arrow", set(table.column_names)
    cols = ", ".join(f"nullif(trim(CAST({c} AS VARCHAR)), '') AS {c}" if c in present else f"NULL::VARCHAR AS {c}" for c in RAW_COLUMNS)
    _sql(con, f"CREATE OR REPLACE TABLE raw AS SELECT {cols} FROM {source}")
    if source == "raw_arrow":
        con.unregister("raw_arrow")


def _lookup(con: duckdb.DuckDBPyConnection, name: str, keys: list[str], fn: Callable, columns: tuple[str, ...]) -> None:
    """Table ``name`` (key, *columns) of ``fn`` over distinct ``keys``: Python runs once per value, not per record."""
    values = [fn(k) for k in keys]
    data = {"key": keys}
    for i, c in enumerate(columns):
        data[c] = [None if v is None else v[i] for v in values]
    con.register(f"{name}_arrow", pa.table(data))
    _sql(con, f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {name}_arrow")
    con.unregister(f"{name}_arrow")


def prepare(con: duckdb.DuckDBPyConnection, records: Iterable[dict[str, Any]] | pa.Table | Path) -> None:
    """Table ``records``: one row per raw record with the derived columns Splink compares and blocks on."""
    _load(con, records)
    names = [r[0] for r in con.execute("SELECT DISTINCT name FROM raw WHERE name IS NOT NULL").fetchall()]
    _lookup(con, "name_forms", names, _name_forms, ("name", "pinyin", "name_a", "name_b"))
    ids = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT upper(coalesce(id_number, other_id)) FROM raw WHERE coalesce(id_number, other_id) IS NOT NULL"
        ).fetchall()
    ]
    _lookup(con, "id_forms", ids, _id_forms, ("id", "id_birth", "id_sex"))
    addresses = [r[0] for r in con.execute("SELECT DISTINCT address FROM raw WHERE address IS NOT NULL").fetchall()]
    _lookup(con, "address_forms", addresses, lambda a: (simplified(a).lower(),), ("address",))
    _sql(
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
    _sql(con, "ALTER TABLE records DROP COLUMN grams")
    for table in ("raw", "name_forms", "id_forms", "address_forms"):
        _sql(con, f"DROP TABLE {table}")


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


# Each comparison: its columns (a field is compared only when the file has them) and its levels,
# most alike first, each with the evidence a caseworker reads. Level SQL is DuckDB's.
#: Addresses compare by the Jaccard similarity of their character pairs, estimated by MinHash: each
#: address keeps the least hash of its pairs under SIGNATURE hash functions, and the share of equal
#: positions estimates the Jaccard (to 1/SIGNATURE). The exact set operation (DuckDB's
#: list_intersect) took 67 s for 5M pairs of FEBRL's addresses; the signature takes under a second.
SIGNATURE = 16
_AGREE = "(" + " + ".join(f"(address_sig_l[{k + 1}] = address_sig_r[{k + 1}])::INTEGER" for k in range(SIGNATURE)) + ")"
_SWAPPED = "left(birth_l, 4) = left(birth_r, 4) AND substr(birth_l, 6, 2) = substr(birth_r, 9, 2) AND substr(birth_l, 9, 2) = substr(birth_r, 6, 2)"
_LEVELS: dict[str, list[tuple[str, str]]] = {
    "id": [
        ("id_l = id_r", "ID number equal"),
        ("length(id_l) = length(id_r) AND hamming(id_l, id_r) = 1", "ID number one digit apart"),
        ("length(id_l) = length(id_r) AND hamming(id_l, id_r) = 2 AND damerau_levenshtein(id_l, id_r) = 1", "ID number digits transposed"),
    ],
    "name": [
        ("name_l = name_r", "name equal"),
        ("pinyin_l = pinyin_r", "name equal in pinyin"),
        (
            "abs(length(name_l) - length(name_r)) = 1 AND left(name_l, 1) = left(name_r, 1) AND levenshtein(name_l, name_r) = 1",
            "name with a character missing",
        ),
        ("jaro_winkler_similarity(pinyin_l, pinyin_r) >= 0.93", "name close in pinyin"),
    ],
    "birth": [
        ("birth_l = birth_r", "birth date equal"),
        (_SWAPPED, "birth day and month swapped"),
        ("length(birth_l) = length(birth_r) AND hamming(birth_l, birth_r) = 1", "birth date one digit apart"),
        ("left(birth_l, 7) = left(birth_r, 7)", "birth in the same month"),
    ],
    "sex": [("sex_l = sex_r", "sex agrees")],
    "phone": [("phone_l = phone_r", "phone equal")],
    "address": [(f"{_AGREE} >= {0.6 * SIGNATURE}", "address alike"), (f"{_AGREE} >= {0.3 * SIGNATURE}", "address partly alike")],
}
_DIFFER = {
    "id": "ID numbers differ",
    "name": "names differ",
    "birth": "birth dates differ",
    "sex": "sex differs",
    "phone": "phones differ",
    "address": "addresses differ",
}
#: Starting m and u per level (most alike first, "differ" last): the model on a file too small to
#: train a level (a county's feed, a test). u as measured between random people of a generated
#: 100k-people prefecture, m as a caseworker would guess; any level a file trains replaces them.
PRIORS: dict[str, tuple[list[float], list[float]]] = {
    "id": ([0.93, 0.03, 0.02, 0.02], [5e-06, 5e-06, 5e-06, 0.999985]),
    "name": ([0.88, 0.04, 0.03, 0.02, 0.03], [1e-04, 1e-05, 1e-04, 1.3e-04, 0.99966]),
    "birth": ([0.88, 0.02, 0.04, 0.03, 0.03], [4e-05, 2.5e-05, 4e-04, 9.7e-04, 0.998565]),
    "sex": ([0.98, 0.02], [0.5, 0.5]),
    "phone": ([0.9, 0.1], [7e-05, 0.99993]),
    "address": ([0.7, 0.15, 0.15], [0.0036, 0.0478, 0.9486]),
}
#: The least m an EM session may estimate (see ``_em_tolerates_zero_m``).
M_FLOOR = 1e-10
#: The share of the m priors mixed into what EM estimated (see ``_apply_priors``).
M_PRIOR_SHARE = 0.01
#: The weight of the u priors, in random pairs (see ``_apply_priors``).
U_PRIOR_PAIRS = 10_000
#: Fewer blocked pairs than this and an EM session is not run: its m would be noise (Splink asks
#: for a few hundred at least).
EM_MIN_PAIRS = 300
#: Fewer sure matches than this share of an EM session's pairs and it is not run (``_worth_training``).
EM_MIN_MATCH_SHARE = 0.01
_NULL = {"id": "id", "name": "name", "birth": "birth", "sex": "sex", "phone": "phone", "address": "address_sig"}


def evidence(field_name: str, level: int) -> str | None:
    """What level ``level`` (1 most alike; 0 missing) of a field says.

    >>> evidence("id", 3), evidence("birth", 5), evidence("name", 0)
    ('ID number digits transposed', 'birth dates differ', None)
    """
    if level == 0:
        return None
    texts = [text for _, text in _LEVELS[field_name]] + [_DIFFER[field_name]]
    return texts[level - 1]


def _null_sql(f: str) -> str:
    column = _NULL[f]
    return f"{column}_l IS NULL OR {column}_r IS NULL"


def _level_sql(f: str) -> str:
    """The level of field ``f`` (0 missing, 1 most alike) of a pair whose columns end in _l and _r."""
    whens = " ".join(f"WHEN {sql} THEN {i}" for i, (sql, _) in enumerate(_LEVELS[f], start=1))
    return f"CASE WHEN {_null_sql(f)} THEN 0 {whens} ELSE {len(_LEVELS[f]) + 1} END"


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
        levels = ", ".join(_level_sql(f) for f in FIELDS)
        row = _sql(
            con,
            f"SELECT {levels} FROM {side['l']} l, {side['r']} r WHERE unique_id_l = $a AND unique_id_r = $b",
            {"a": str(a["record_id"]), "b": str(b["record_id"])},
        )[0]
        return dict(zip(FIELDS, row, strict=True))
    finally:
        con.close()


def comparisons(present: set[str]) -> list:
    """Splink comparisons for the fields of ``FIELDS`` that are ``present``."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    out = []
    for f in FIELDS:
        if f not in present:
            continue
        levels: list = [cll.CustomLevel(_null_sql(f), "missing").configure(is_null_level=True)]
        m, u = PRIORS[f]
        for i, (sql, text) in enumerate(_LEVELS[f]):
            level = cll.CustomLevel(sql, text).configure(m_probability=m[i], u_probability=u[i])
            if f in ("name", "phone") and i == 0:
                # a common name, or a village office's phone, is more often shared by chance than a rare one
                level = level.configure(tf_adjustment_column=f, tf_adjustment_weight=1.0)
            levels.append(level)
        levels.append(cll.ElseLevel().configure(label_for_charts=_DIFFER[f], m_probability=m[-1], u_probability=u[-1]))
        out.append(cl.CustomComparison(levels, output_column_name=f, comparison_description=f))
    return out


def blocking_rules(present: set[str]) -> list:
    """The blocking rules the ``present`` fields allow: each survives one wrong character somewhere else."""
    from splink import block_on

    rules = []
    if "id" in present:
        rules.append(block_on("id_tail"))
        if "name" in present:
            rules.append(block_on("id_head", "pinyin"))
    if "name" in present and "birth" in present:
        rules += [block_on("name_a", "birth"), block_on("name_b", "birth"), block_on("pinyin", "birth_year")]
    if "phone" in present:
        rules.append(block_on("phone"))
    if "name" in present and "address" in present and "birth" not in present:
        rules.append(block_on("pinyin"))
    return rules


def _training(present: set[str]) -> tuple[list, list]:
    """(deterministic rules for the prior, EM sessions). The sessions block on different fields so
    each comparison is estimated in at least one of them (Splink leaves out, in a session, the
    comparisons whose columns the session blocks on). With ID numbers, the fields other than the
    ID learn their m from the pairs that share an ID instead (``_m_from_shared_ids``)."""
    deterministic: list[str] = []
    sessions: list[tuple[str, ...]] = []
    if "id" in present:
        deterministic.append("l.id = r.id")
    if "name" in present and "birth" in present:
        deterministic.append("l.name = r.name AND l.birth = r.birth")
        sessions.append(("pinyin", "birth_year"))
        if "id" not in present:
            sessions.append(("birth",))
    elif "name" in present:
        deterministic.append("l.name = r.name")
        sessions.append(("pinyin",))
    if "phone" in present and len(sessions) < 2:
        sessions.append(("phone",))
    return deterministic, sessions


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
    review_above: float
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
    from splink import Linker, SettingsCreator, block_on
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
        present = {f for f in FIELDS if con.execute(f"SELECT count({_NULL[f]}) FROM records").fetchall()[0][0] > 0}
        stage(f"normalised {count:,} records ({', '.join(f for f in FIELDS if f in present)})", t)
        if count < 2 or not present - {"sex"}:
            return _singletons(con, accept, review, tuple(sorted(present)), stages)

        t = time.perf_counter()
        deterministic, sessions = _training(present)
        sure_pairs = _sure_pairs(con, deterministic)
        settings = SettingsCreator(
            link_type="dedupe_only",
            probability_two_random_records_match=_prior(sure_pairs, count),
            comparisons=comparisons(present),
            blocking_rules_to_generate_predictions=blocking_rules(present),
            retain_intermediate_calculation_columns=False,
            retain_matching_columns=False,
        )
        db_api = DuckDBAPI(connection=con)
        linker = Linker(db_api.register("records", table_name="records_input"), settings, log_level=logging.WARNING)
        sampled_pairs = min(U_PAIRS, count * (count - 1) / 2)
        linker.training.estimate_u_using_random_sampling(max_pairs=sampled_pairs, seed=seed)
        _blend_u(linker, sampled_pairs)
        trained = []
        if "id" in present and _m_from_shared_ids(con, linker):
            trained.append("pairs sharing an ID")
        few_sure = sure_pairs < EM_MIN_PAIRS
        if few_sure:  # the prior, and which pairs are likely matches, from the model as it stands
            _prior_by_em(con, linker, count)
        with _em_tolerates_zero_m():
            for columns in sessions:
                if _worth_training(con, columns, deterministic, likely="likely" if few_sure else None):
                    linker.training.estimate_parameters_using_expectation_maximisation(block_on(*columns), max_pairs=EM_PAIRS)
                    trained.append("+".join(columns))
        _smooth_m(linker)
        if few_sure:
            _prior_by_em(con, linker, count)
            trained.append("the prior by EM over the blocked pairs")
        stage(f"trained (u from random pairs, m by EM blocked on {', '.join(trained) or 'nothing: too few pairs, priors kept'})", t)

        t = time.perf_counter()
        predictions = linker.inference.predict(threshold_match_probability=review)
        stage("scored the blocked pairs", t)

        t = time.perf_counter()
        clustered = linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, accept)
        _sql(con, f"CREATE OR REPLACE TABLE clusters AS SELECT unique_id, cluster_id FROM {clustered.physical_name}")
        # Splink 5 keeps each comparison's weight, not its level: the levels of the pairs kept come
        # from the same SQL, run again on those pairs only.
        side = _sides(con)
        levels = ", ".join(f"{_level_sql(f)} AS level_{f}" for f in FIELDS if f in present)
        _sql(
            con,
            f"""CREATE OR REPLACE TABLE pairs AS
                SELECT p.unique_id_l AS a, p.unique_id_r AS b, p.match_probability AS probability, p.match_weight AS weight, {levels}
                FROM {predictions.physical_name} p JOIN {side["l"]} l ON l.unique_id_l = p.unique_id_l
                JOIN {side["r"]} r ON r.unique_id_r = p.unique_id_r""",
        )
        split = _split_register_clusters(con, register_prefix, accept)
        stage(f"clustered ({split} clusters of two register people split)", t)
        return _result(con, accept, review, tuple(f for f in FIELDS if f in present), stages, _parameters(linker))
    finally:
        splink_log.setLevel(level_before)
        con.close()
        shutil.rmtree(folder, ignore_errors=True)


def _sure_pairs(con: duckdb.DuckDBPyConnection, rules: list[str], where: str = "true") -> int:
    """How many pairs the sure rules find (those meeting ``where``)."""
    found = 0
    for i, rule in enumerate(rules):
        earlier = " ".join(f"AND NOT coalesce({r}, false)" for r in rules[:i])
        first = rule.split(" AND ")[0].replace("l.", "").split(" = ")[0]
        found += _sql(
            con,
            f"SELECT count(*) FROM records l JOIN records r ON l.{first} = r.{first} AND l.unique_id < r.unique_id WHERE {rule} {earlier} AND {where}",
        )[0][0]
    return found


def _prior(found: int, count: int) -> float:
    """The share of all pairs that match, from the ``found`` pairs sure rules find at a recall of 0.9
    (Splink's ``estimate_probability_two_random_records_match`` does this sum; it fails with a math
    domain error when the rules find nothing)."""
    return min(max(found / 0.9, 1) / (count * (count - 1) / 2), 0.5)


def _prior_by_em(con: duckdb.DuckDBPyConnection, linker, count: int) -> None:
    """Set the share of all pairs that match, by EM over every blocked pair with m and u fixed, and
    keep the pairs then likelier matches than not as table ``likely``: for a file where the sure
    rules find (almost) nothing, as in RLdata, where every second record has one error in its name
    or its birth date and none equals another exactly.
    """
    prior = linker._settings_obj._probability_two_random_records_match
    scored = linker.inference.predict()
    evidence = f"SELECT match_weight - {math.log2(prior / (1 - prior))} AS w FROM {scored.physical_name}"
    blocked = _sql(con, f"SELECT count(*) FROM ({evidence})")[0][0]
    share = 0.1
    for _ in range(30):
        # At most even odds among blocked pairs: the evidence must carry a match, not the prior.
        expected = _sql(con, f"SELECT sum(1 / (1 + pow(2, -(w + {math.log2(share / (1 - share))})))) FROM ({evidence})")[0][0] or 0.0
        share = min(max(expected / max(blocked, 1), 1e-9), 0.5)
    shift = math.log2(share / (1 - share))
    _sql(
        con,
        f"""CREATE OR REPLACE TABLE likely AS SELECT unique_id_l, unique_id_r FROM {scored.physical_name}
            WHERE match_weight - {math.log2(prior / (1 - prior))} + {shift} >= 0""",
    )
    scored.drop_table_from_database_and_remove_from_cache()
    linker._settings_obj._probability_two_random_records_match = min(max(share * blocked, 1) / (count * (count - 1) / 2), 0.5)


def _worth_training(con: duckdb.DuckDBPyConnection, columns: tuple[str, ...], sure: list[str], likely: str | None = None) -> bool:
    """Whether EM blocked on ``columns`` has pairs enough, and matches among them: at least
    ``EM_MIN_MATCH_SHARE`` of its pairs meet a sure rule, or are in table ``likely`` when given.

    EM needs both kinds of pair (Splink asks for matches between 1% and 99% of them): on the 780
    pairs of forty records sharing a village office's phone, all different people, it learned that
    differing in everything else is what matches look like, and made one person of the village.
    """
    keys = ", ".join(columns)
    pairs = _sql(
        con,
        f"SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM (SELECT count(*) AS n FROM records WHERE {' AND '.join(f'{c} IS NOT NULL' for c in columns)} GROUP BY {keys})",
    )[0][0]
    same = " AND ".join(f"l.{c} = r.{c}" for c in columns)
    if likely:
        matches = _sql(
            con,
            f"SELECT count(*) FROM {likely} p JOIN records l ON l.unique_id = p.unique_id_l JOIN records r ON r.unique_id = p.unique_id_r WHERE {same}",
        )[0][0]
    else:
        matches = _sure_pairs(con, sure, where=same)
    return pairs >= EM_MIN_PAIRS and matches >= EM_MIN_MATCH_SHARE * pairs


def _m_from_shared_ids(con: duckdb.DuckDBPyConnection, linker) -> bool:
    """m of every field but the ID from pairs that share an ID number, taken as matches (Splink's
    ``estimate_m_from_pairwise_labels``); False when too few pairs share one.

    EM does not fit here: blocked on part of the ID, most pairs are one person's records with the
    same number, and at 350,787 records EM drove the m of "ID numbers differ", "names differ" and
    "birth dates differ" towards 0 (1e-46, 1e-174, 1e-195 within seven iterations) until its
    expectation step gave NaN.
    """
    _sql(
        con,
        f"""CREATE OR REPLACE TABLE shared_ids AS
            SELECT l.unique_id AS unique_id_l, r.unique_id AS unique_id_r FROM records l JOIN records r ON l.id = r.id AND l.unique_id < r.unique_id
            LIMIT {int(EM_PAIRS)}""",
    )
    if _sql(con, "SELECT count(*) FROM shared_ids")[0][0] < EM_MIN_PAIRS:
        return False
    id_levels = [lv for c in linker._settings_obj.comparisons if c.output_column_name == "id" for lv in c.comparison_levels]
    for level in id_levels:  # sharing an ID says nothing of how often matches differ in it
        level._fix_m_probability = True
    try:
        linker.training.estimate_m_from_pairwise_labels("shared_ids")
    finally:
        for level in id_levels:
            level._fix_m_probability = False
    return True


@contextmanager
def _em_tolerates_zero_m() -> Iterator[None]:
    """Let an EM session estimate m = 0 for a level (``_apply_priors`` smooths it after).

    Splink refuses its own estimate when a level is seen only among non-matches: at 350,787
    records, EM blocked on the ID's second part drove "name close in pinyin" to m = 0.0 and Splink
    raised "m_probability value 0.0 is below the minimum allowed value of 1e-300" in its
    maximisation step. Here such an m becomes ``M_FLOOR`` for the rest of the session (1e-300 itself
    made the next expectation step divide zero by zero).
    """
    import splink.internals.expectation_maximisation as em

    original = em.populate_m_u_from_lookup

    def populate(fixed, level, column, lookup):
        for values in lookup.get(column, {}).values():
            if values.get("m_probability") == 0.0:
                values["m_probability"] = M_FLOOR
        return original(fixed, level, column, lookup)

    em.populate_m_u_from_lookup = populate
    try:
        yield
    finally:
        em.populate_m_u_from_lookup = original


def _blend_u(linker, sampled_pairs: float) -> None:
    """u as Splink sampled it, with the prior counted as ``U_PRIOR_PAIRS`` more random pairs.

    On a large file the sample decides; on a small one (a county's feed, a test of eight records)
    the pair being resolved is one of the 28 "random" pairs and would make its own agreement look
    common.
    """
    from splink.internals.constants import LEVEL_NOT_OBSERVED_TEXT

    for comparison in linker._settings_obj.comparisons:
        u = PRIORS[comparison.output_column_name][1]
        for i, level in enumerate(lv for lv in comparison.comparison_levels if not lv.is_null_level):
            sampled = 0.0 if level._u_probability in (None, LEVEL_NOT_OBSERVED_TEXT) else float(level._u_probability)
            level.u_probability = (sampled * sampled_pairs + u[i] * U_PRIOR_PAIRS) / (sampled_pairs + U_PRIOR_PAIRS)


def _smooth_m(linker) -> None:
    """m as EM estimated it with ``M_PRIOR_SHARE`` of the prior mixed in, and the prior alone for a
    level no session observed (Splink would give it m = 1e-6).

    The mixing keeps a level that EM never saw among one session's matches (a name close in pinyin
    among pairs that met on the ID) from vetoing a match for ever.
    """
    from splink.internals.constants import LEVEL_NOT_OBSERVED_TEXT

    for comparison in linker._settings_obj.comparisons:
        m = PRIORS[comparison.output_column_name][0]
        for i, level in enumerate(lv for lv in comparison.comparison_levels if not lv.is_null_level):
            trained = None if level._m_probability in (None, LEVEL_NOT_OBSERVED_TEXT) else float(level._m_probability)
            level.m_probability = m[i] if trained is None else (1 - M_PRIOR_SHARE) * trained + M_PRIOR_SHARE * m[i]


def _parameters(linker) -> tuple[dict[str, list[float]], dict[str, list[float]], float]:
    """m and u per field (index 0 for missing, then the levels most alike first) and the prior."""
    m, u = {}, {}
    settings = linker._settings_obj  # Splink keeps the trained model there; its JSON form is the same
    for comparison in settings.comparisons:
        levels = comparison.comparison_levels
        m[comparison.output_column_name] = [0.0] + [lv.m_probability or 0.0 for lv in levels if not lv.is_null_level]
        u[comparison.output_column_name] = [0.0] + [lv.u_probability or 0.0 for lv in levels if not lv.is_null_level]
    return m, u, settings._probability_two_random_records_match


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
    _sql(
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
    _sql(con, "UPDATE clusters SET cluster_id = g.cluster_id FROM regrouped g WHERE clusters.unique_id = g.unique_id")
    con.unregister("regrouped")
    return len(crowded)


def _result(
    con: duckdb.DuckDBPyConnection,
    accept: float,
    review: float,
    fields: tuple[str, ...],
    stages: dict[str, float],
    params: tuple[dict, dict, float],
) -> Resolution:
    """Clusters named by their least record id, each record scored by its strongest link inside its cluster (1.0 alone)."""
    clusters = con.sql(
        """
        WITH named AS (SELECT unique_id, min(unique_id) OVER (PARTITION BY cluster_id) AS cluster_id FROM clusters),
        links AS (
            SELECT p.a AS unique_id, p.probability FROM pairs p JOIN named x ON x.unique_id = p.a JOIN named y ON y.unique_id = p.b
            WHERE p.probability >= $accept AND x.cluster_id = y.cluster_id
            UNION ALL
            SELECT p.b, p.probability FROM pairs p JOIN named x ON x.unique_id = p.a JOIN named y ON y.unique_id = p.b
            WHERE p.probability >= $accept AND x.cluster_id = y.cluster_id
        ),
        best AS (SELECT unique_id, max(probability) AS score FROM links GROUP BY unique_id)
        SELECT n.unique_id AS record_id, n.cluster_id, round(coalesce(b.score, 1.0), 6) AS score
        FROM named n LEFT JOIN best b USING (unique_id) ORDER BY n.cluster_id, n.unique_id
        """,
        params={"accept": accept},
    ).to_arrow_table()
    pairs = con.sql("SELECT * FROM pairs ORDER BY probability DESC, a, b").to_arrow_table()
    m, u, prior = params
    return Resolution(clusters, pairs, accept, review, fields, m=m, u=u, prior=prior, stages=stages)


def _singletons(con: duckdb.DuckDBPyConnection, accept: float, review: float, fields: tuple[str, ...], stages: dict) -> Resolution:
    """Too little to link on: every record its own person."""
    _sql(con, "CREATE OR REPLACE TABLE clusters AS SELECT unique_id, unique_id AS cluster_id FROM records")
    _sql(con, "CREATE OR REPLACE TABLE pairs (a VARCHAR, b VARCHAR, probability DOUBLE, weight DOUBLE)")
    return _result(con, accept, review, (), stages, ({}, {}, 0.0))
