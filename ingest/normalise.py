"""Identity resolution's normalisation (``ingest.resolve``): each raw record's derived columns in
the DuckDB table Splink reads. ID numbers upper-cased, 15-digit legacy numbers upgraded to 18;
birth date and sex from a valid ID when the record lacks them; names traditional → simplified
(opencc), then pinyin (pypinyin) with surname and given name sorted, so that 周建軍, 周建军 and
"Zhou Jianjun" compare; phones to their last 8 digits; addresses to a MinHash signature of their
character pairs.

>>> row, = prepared_rows([{"record_id": "a", "name": "周建軍", "id_number": "420106830514151"}])
>>> row["name"], row["pinyin"], row["id"], row["birth"], row["sex"]
('周建军', 'jianjun zhou', '420106198305141516', '1983-05-14', 'M')
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import opencc
import pyarrow as pa
from pypinyin import lazy_pinyin

from graph.names import split_chinese_name
from graph.national_id import is_valid_id_number, upgrade_15_to_18
from ingest.resolve_model import (
    SIGNATURE,
    run_sql,
)

__all__ = ["RAW_COLUMNS", "check_csv", "prepare", "prepared_rows", "simplified"]

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


def _name_forms(raw: str) -> tuple[str, str, str, str, str | None] | None:
    """(name, pinyin key, first and last part of the key, first part as written) of a raw name; None for no name.

    The key's parts are sorted, so that surname and given name compare in either order. A Chinese
    name has two parts, surname and given name, both blocked on as the key's first and last; a name in
    Latin letters may have more, and a typo can change their order in the key (meyer michael,
    michael myer), so its first part as written is kept as well.

    >>> _name_forms("Michael MYER")
    ('michael myer', 'michael myer', 'michael', 'myer', 'michael')
    >>> _name_forms("周建軍")[1:]
    ('jianjun zhou', 'jianjun', 'zhou', None)
    """
    name = re.sub(r"\s+", " ", raw).strip()
    if not name:
        return None
    first = None
    if _CJK.search(name):
        name = simplified(name)
        parts = [_pinyin(part) for part in split_chinese_name(name)]
    else:
        name = name.lower()
        parts = re.findall(r"[^\W\d_]+", name)
        first = parts[0] if len(parts) > 1 else None
    parts = sorted(p for p in parts if p) or [name]
    return name, " ".join(parts), parts[0], parts[-1], first


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
    _lookup(
        con,
        "name_forms",
        "SELECT DISTINCT name FROM raw WHERE name IS NOT NULL",
        _name_forms,
        ("name", "pinyin", "name_a", "name_b", "name_first"),
    )
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
            SELECT r.record_id AS unique_id, i.id, n.name, n.pinyin, n.name_a, n.name_b, n.name_first,
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
