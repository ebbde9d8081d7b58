"""The linkage model of identity resolution: fields, comparison levels, blocking and training.

Each field is compared at levels written for Chinese identity data (and general enough for Latin
names), each level with the evidence a caseworker reads; Splink runs the SQL. Training follows
Splink's path (u by random sampling, m by EM in sessions, the prior from sure rules) with the
repairs this data needed, each documented where it is made: m from pairs sharing an ID instead of
EM, priors for what a file is too small to train, an m floor inside EM, the prior by EM when no
sure rule finds a pair. ``ingest.resolve`` normalises the records and wires the result.

>>> evidence("id", 3), evidence("birth", 5), evidence("name", 0)
('ID number digits transposed', 'birth dates differ', None)
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb

__all__ = [
    "BIRTH_BLOCK_MAX_PAIRS",
    "FIELDS",
    "NULL_COLUMN",
    "SIGNATURE",
    "birth_block_pairs",
    "blocking_rules",
    "comparisons",
    "evidence",
    "level_sql",
    "parameters",
    "run_sql",
    "train",
]

FIELDS = ("id", "name", "birth", "sex", "phone", "address")

#: Random pairs for the u estimate (Splink advises 1e7 or more). On the generated prefectures of
#: 121,856 and 350,787 records 2e6 gave the same clusters as 1e7 (F1 0.9985 and 0.9986) and cut
#: training from 4.0 s to 1.6 s; the u priors (``_blend_u``) cover the levels a sample this size misses.
U_PAIRS = 2e6
#: Pairs per EM session (Splink samples records to about this many blocked pairs).
EM_PAIRS = 2e6


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[tuple]:
    """Run ``sql`` to its end (DuckDB refuses the next statement while a result is unread)."""
    return con.execute(sql, params).fetchall()


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
        # in either order: a typo near the front of a part sorted first weighs more in Jaro-Winkler than
        # the same typo as written (ernsr gerhard / ernst gerhard 0.919; gerhard ernsr / gerhard ernst 0.969)
        (
            "greatest(jaro_winkler_similarity(pinyin_l, pinyin_r), jaro_winkler_similarity(name_l, name_r)) >= 0.93",
            "name close in pinyin",
        ),
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
#: The share of the m priors mixed into what EM estimated (see ``_smooth_m``).
M_PRIOR_SHARE = 0.01
#: The weight of the u priors, in random pairs (see ``_blend_u``).
U_PRIOR_PAIRS = 10_000
#: Fewer blocked pairs than this and an EM session is not run: its m would be noise (Splink asks
#: for a few hundred at least).
EM_MIN_PAIRS = 300
#: Fewer sure matches than this share of an EM session's pairs and it is not run (``_worth_training``).
EM_MIN_MATCH_SHARE = 0.01
NULL_COLUMN = {"id": "id", "name": "name", "birth": "birth", "sex": "sex", "phone": "phone", "address": "address_sig"}


def evidence(field_name: str, level: int) -> str | None:
    """What level ``level`` (1 most alike; 0 missing) of a field says."""
    if level == 0:
        return None
    texts = [text for _, text in _LEVELS[field_name]] + [_DIFFER[field_name]]
    return texts[level - 1]


def _null_sql(f: str) -> str:
    column = NULL_COLUMN[f]
    return f"{column}_l IS NULL OR {column}_r IS NULL"


def level_sql(f: str) -> str:
    """The level of field ``f`` (0 missing, 1 most alike) of a pair whose columns end in _l and _r."""
    whens = " ".join(f"WHEN {sql} THEN {i}" for i, (sql, _) in enumerate(_LEVELS[f], start=1))
    return f"CASE WHEN {_null_sql(f)} THEN 0 {whens} ELSE {len(_LEVELS[f]) + 1} END"


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


#: Without ID numbers the birth date alone is blocked on too, so that a name with two typos still
#: meets its record, when it pairs at most this many records: the public benchmarks' files pair a few
#: thousand (docs/identity.md); a prefecture's register without IDs would pair hundreds of millions
#: and keeps the blocks on the name. With ID numbers the ID's two parts play that role.
BIRTH_BLOCK_MAX_PAIRS = 10_000_000


def birth_block_pairs(con: duckdb.DuckDBPyConnection) -> int:
    """How many pairs of table ``records`` share a birth date."""
    return run_sql(
        con, "SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM (SELECT count(*) AS n FROM records WHERE birth IS NOT NULL GROUP BY birth)"
    )[0][0]


def blocking_rules(present: set[str], birth_pairs: int | None = None) -> list:
    """The blocking rules the ``present`` fields allow: each survives one wrong character somewhere else.

    ``birth_pairs``: how many pairs share a birth date (``birth_block_pairs``); without ID numbers and
    within ``BIRTH_BLOCK_MAX_PAIRS`` the birth date alone is a rule too.
    """
    from splink import block_on

    rules = []
    if "id" in present:
        rules.append(block_on("id_tail"))
        if "name" in present:
            rules.append(block_on("id_head", "pinyin"))
    if "name" in present and "birth" in present:
        rules += [
            block_on("name_a", "birth"),
            block_on("name_b", "birth"),
            block_on("pinyin", "birth_year"),
            block_on("name_first", "birth"),
        ]
    if "birth" in present and "id" not in present and birth_pairs is not None and birth_pairs <= BIRTH_BLOCK_MAX_PAIRS:
        rules.append(block_on("birth"))
    if "phone" in present:
        rules.append(block_on("phone"))
    if "name" in present and "address" in present and "birth" not in present:
        rules.append(block_on("pinyin"))
    return rules


def sure_rules_and_sessions(present: set[str]) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """(deterministic rules for the prior, EM sessions), each as the columns two records share. The sessions block on different fields so
    each comparison is estimated in at least one of them (Splink leaves out, in a session, the
    comparisons whose columns the session blocks on). With ID numbers, the fields other than the
    ID learn their m from the pairs that share an ID instead (``_m_from_shared_ids``)."""
    deterministic: list[tuple[str, ...]] = []
    sessions: list[tuple[str, ...]] = []
    if "id" in present:
        deterministic.append(("id",))
    if "name" in present and "birth" in present:
        deterministic.append(("name", "birth"))
        sessions.append(("pinyin", "birth_year"))
        if "id" not in present:
            sessions.append(("birth",))
    elif "name" in present:
        deterministic.append(("name",))
        sessions.append(("pinyin",))
    if "phone" in present and len(sessions) < 2:
        sessions.append(("phone",))
    return deterministic, sessions


def _same(columns: tuple[str, ...]) -> str:
    """SQL: the records ``l`` and ``r`` agree on every one of ``columns``."""
    return " AND ".join(f"l.{c} = r.{c}" for c in columns)


def count_sure_pairs(con: duckdb.DuckDBPyConnection, rules: list[tuple[str, ...]], where: str = "true") -> int:
    """How many pairs the sure rules find (those meeting ``where``), each pair once."""
    found = 0
    for i, rule in enumerate(rules):
        earlier = " ".join(f"AND NOT coalesce({_same(r)}, false)" for r in rules[:i])
        found += run_sql(
            con,
            f"SELECT count(*) FROM records l JOIN records r ON {_same(rule)} AND l.unique_id < r.unique_id WHERE true {earlier} AND {where}",
        )[0][0]
    return found


def _share_of_pairs(matches: float, count: int) -> float:
    """``matches`` (at least one) as a share of the pairs of ``count`` records, at most even odds."""
    return min(max(matches, 1) / (count * (count - 1) / 2), 0.5)


def _log_odds(probability: float) -> float:
    return math.log2(probability / (1 - probability))


def _prior(found: int, count: int) -> float:
    """The share of all pairs that match, from the ``found`` pairs sure rules find at a recall of 0.9
    (Splink's ``estimate_probability_two_random_records_match`` does this sum; it fails with a math
    domain error when the rules find nothing)."""
    return _share_of_pairs(found / 0.9, count)


def _prior_by_em(con: duckdb.DuckDBPyConnection, linker, count: int) -> None:
    """Set the share of all pairs that match, by EM over every blocked pair with m and u fixed, and
    keep the pairs then likelier matches than not as table ``likely``: for a file where the sure
    rules find (almost) nothing, as in RLdata, where every second record has one error in its name
    or its birth date and none equals another exactly.
    """
    scored = linker.inference.predict()
    # each pair's weight of evidence: its match weight less the prior's
    weights = f"SELECT unique_id_l, unique_id_r, match_weight - {_log_odds(linker._settings_obj._probability_two_random_records_match)} AS w FROM {scored.physical_name}"
    blocked = run_sql(con, f"SELECT count(*) FROM ({weights})")[0][0]
    share = 0.1
    for _ in range(30):
        # At most even odds among blocked pairs: the evidence must carry a match, not the prior.
        expected = run_sql(con, f"SELECT sum(1 / (1 + pow(2, -(w + {_log_odds(share)})))) FROM ({weights})")[0][0] or 0.0
        share = min(max(expected / max(blocked, 1), 1e-9), 0.5)
    run_sql(con, f"CREATE OR REPLACE TABLE likely AS SELECT unique_id_l, unique_id_r FROM ({weights}) WHERE w + {_log_odds(share)} >= 0")
    scored.drop_table_from_database_and_remove_from_cache()
    linker._settings_obj._probability_two_random_records_match = _share_of_pairs(share * blocked, count)


def _worth_training(
    con: duckdb.DuckDBPyConnection, columns: tuple[str, ...], sure: list[tuple[str, ...]], likely: str | None = None
) -> bool:
    """Whether EM blocked on ``columns`` has pairs enough, and matches among them: at least
    ``EM_MIN_MATCH_SHARE`` of its pairs meet a sure rule, or are in table ``likely`` when given.

    EM needs both kinds of pair (Splink asks for matches between 1% and 99% of them): on the 780
    pairs of forty records sharing a village office's phone, all different people, it learned that
    differing in everything else is what matches look like, and made one person of the village.
    """
    keys = ", ".join(columns)
    pairs = run_sql(
        con,
        f"SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM (SELECT count(*) AS n FROM records WHERE {' AND '.join(f'{c} IS NOT NULL' for c in columns)} GROUP BY {keys})",
    )[0][0]
    same = _same(columns)
    if likely:
        matches = run_sql(
            con,
            f"SELECT count(*) FROM {likely} p JOIN records l ON l.unique_id = p.unique_id_l JOIN records r ON r.unique_id = p.unique_id_r WHERE {same}",
        )[0][0]
    else:
        matches = count_sure_pairs(con, sure, where=same)
    return pairs >= EM_MIN_PAIRS and matches >= EM_MIN_MATCH_SHARE * pairs


def _m_from_shared_ids(con: duckdb.DuckDBPyConnection, linker) -> bool:
    """m of every field but the ID from pairs that share an ID number, taken as matches (Splink's
    ``estimate_m_from_pairwise_labels``); False when too few pairs share one.

    EM does not fit here: blocked on part of the ID, most pairs are one person's records with the
    same number, and at 350,787 records EM drove the m of "ID numbers differ", "names differ" and
    "birth dates differ" towards 0 (1e-46, 1e-174, 1e-195 within seven iterations) until its
    expectation step gave NaN.
    """
    run_sql(
        con,
        f"""CREATE OR REPLACE TABLE shared_ids AS
            SELECT l.unique_id AS unique_id_l, r.unique_id AS unique_id_r FROM records l JOIN records r ON {_same(("id",))} AND l.unique_id < r.unique_id
            LIMIT {int(EM_PAIRS)}""",
    )
    if run_sql(con, "SELECT count(*) FROM shared_ids")[0][0] < EM_MIN_PAIRS:
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
    """Let an EM session estimate m = 0 for a level (``_smooth_m`` smooths it after).

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
        for i, level in enumerate(comparison._comparison_levels_excluding_null):
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
        for i, level in enumerate(comparison._comparison_levels_excluding_null):
            trained = None if level._m_probability in (None, LEVEL_NOT_OBSERVED_TEXT) else float(level._m_probability)
            level.m_probability = m[i] if trained is None else (1 - M_PRIOR_SHARE) * trained + M_PRIOR_SHARE * m[i]


def parameters(linker) -> tuple[dict[str, list[float]], dict[str, list[float]], float]:
    """m and u per field (index 0 for missing, then the levels most alike first) and the prior."""
    m, u = {}, {}
    settings = linker._settings_obj  # Splink keeps the trained model there; its JSON form is the same
    for comparison in settings.comparisons:
        levels = comparison._comparison_levels_excluding_null
        m[comparison.output_column_name] = [0.0] + [lv.m_probability or 0.0 for lv in levels]
        u[comparison.output_column_name] = [0.0] + [lv.u_probability or 0.0 for lv in levels]
    return m, u, settings._probability_two_random_records_match


def train(con: duckdb.DuckDBPyConnection, linker, present: set[str], count: int, seed: int) -> list[str]:
    """Train ``linker`` on table ``records``: u, m and the prior. Returns what m was learned from."""
    from splink import block_on

    sure, sessions = sure_rules_and_sessions(present)
    sure_pairs = count_sure_pairs(con, sure)
    linker._settings_obj._probability_two_random_records_match = _prior(sure_pairs, count)
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
            if _worth_training(con, columns, sure, likely="likely" if few_sure else None):
                linker.training.estimate_parameters_using_expectation_maximisation(block_on(*columns), max_pairs=EM_PAIRS)
                trained.append("+".join(columns))
    _smooth_m(linker)
    if few_sure:
        _prior_by_em(con, linker, count)
        trained.append("the prior by EM over the blocked pairs")
    return trained
