"""What a user would write instead: three duplicate-aid rules as plain SQL over the exchange files (DuckDB).

The baseline for ``python -m bench``: rules 1 (exclusive programmes overlapping for one person),
3 (one need paid twice) and 4 (one payment delivered twice) of ``queries/duplicate_aid.py``, written
as an analyst would, straight on the CSV files, linking beneficiaries by exact ID and household
id as AidGraph's ingest does. The time includes reading the CSV files (DuckDB has no load step
to separate); the counts are compared with AidGraph's findings by the bench, so the two answer
the same question. Rules 2 (one person in two households) and 5 (identifier rings: connected
components) are left out: the first needs identity matching, the second a graph traversal SQL
does not express in one query.

    python -m bench.duckdb_baseline FOLDER
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["duplicate_aid_sql"]


def duplicate_aid_sql(folder: Path) -> dict[str, Any]:
    """Finding counts per rule and the seconds each took, on a fresh in-memory DuckDB."""
    import duckdb

    con = duckdb.connect()
    t0 = time.perf_counter()
    for name in ("aid_records", "programs", "persons", "needs", "services", "resources"):
        path = folder / f"{name}.csv"
        # The table name comes from the fixed tuple above; the path is a parameter.
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv(?, all_varchar = true, header = true)", [str(path)])  # noqa: S608
    loaded = time.perf_counter() - t0
    out: dict[str, Any] = {"load_s": loaded, "rules": {}}

    t = time.perf_counter()
    exclusive = con.execute(
        """
        WITH rec AS (
            SELECT r.record_id, r.program_code, r.beneficiary_type, r.beneficiary_ref, r.period_start, r.period_end,
                   p.exclusive_group AS grp
            FROM aid_records r JOIN programs p USING (program_code)
            WHERE p.exclusive_group IS NOT NULL
        ), benef AS (
            SELECT rec.record_id, pe.id_number AS person FROM rec
            JOIN persons pe ON rec.beneficiary_type = 'person' AND upper(trim(rec.beneficiary_ref)) = upper(pe.id_number)
            UNION
            SELECT rec.record_id, pe.id_number FROM rec
            JOIN persons pe ON rec.beneficiary_type = 'household' AND trim(rec.beneficiary_ref) = pe.household_id
        )
        SELECT count(*) FROM (
            SELECT DISTINCT a.record_id, b.record_id
            FROM benef x JOIN benef y ON x.person = y.person AND x.record_id < y.record_id
            JOIN rec a ON a.record_id = x.record_id JOIN rec b ON b.record_id = y.record_id
            WHERE a.grp = b.grp AND a.program_code <> b.program_code AND a.period_start <= coalesce(b.period_end, '9999-12-31') AND b.period_start <= coalesce(a.period_end, '9999-12-31')
        )
        """
    ).fetchone()[0]
    out["rules"]["exclusive_overlap"] = {"findings": exclusive, "seconds": time.perf_counter() - t}

    t = time.perf_counter()
    need_twice = con.execute(
        """
        WITH pay AS (
            SELECT r.need_id, 'department' AS payer_type, r.source_department AS payer, r.period_start, r.period_end
            FROM aid_records r JOIN needs n ON n.need_id = r.need_id
            WHERE CAST(r.amount AS DECIMAL(18, 2)) > 0
            UNION ALL
            SELECT s.need_id, res.provider_type, s.resource_id, s.start, s."end"
            FROM services s JOIN resources res USING (resource_id) JOIN needs n ON n.need_id = s.need_id
            WHERE CAST(s.amount AS DECIMAL(18, 2)) > 0
        ), numbered AS (SELECT row_number() OVER () AS i, * FROM pay)
        SELECT count(DISTINCT a.need_id)
        FROM numbered a JOIN numbered b ON a.need_id = b.need_id AND a.i < b.i
        WHERE ((a.payer_type = 'department' AND b.payer_type = 'charity') OR (a.payer_type = 'charity' AND b.payer_type IN ('department', 'charity'))
               OR (a.payer_type = 'department' AND b.payer_type = 'department' AND a.payer <> b.payer))
          AND a.period_start <= coalesce(b.period_end, '9999-12-31') AND b.period_start <= coalesce(a.period_end, '9999-12-31')
        """
    ).fetchone()[0]
    out["rules"]["need_paid_twice"] = {"findings": need_twice, "seconds": time.perf_counter() - t}

    t = time.perf_counter()
    delivered = con.execute(
        """
        SELECT count(*) FROM (
            SELECT 1 FROM aid_records
            GROUP BY beneficiary_type, beneficiary_ref, program_code, CAST(amount AS DECIMAL(18, 2)), period_start, coalesce(period_end, '')
            HAVING count(*) > 1
        )
        """
    ).fetchone()[0]
    out["rules"]["delivered_twice"] = {"findings": delivered, "seconds": time.perf_counter() - t}
    out["total_s"] = time.perf_counter() - t0
    con.close()
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(duplicate_aid_sql(Path(sys.argv[1])), indent=1))
