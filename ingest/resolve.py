"""Identity resolution: which records are the same person, however each department spelled them.

A probabilistic record linkage in the Fellegi-Sunter family (as Splink does), tuned for Chinese
identity data:

- **normalise**: ID numbers upper-cased, 15-digit legacy numbers upgraded to 18; birth date and sex
  from the ID when the record lacks them; names converted traditional → simplified (opencc), then
  to pinyin (pypinyin) so that 周建軍, 周建军 and "Zhou Jianjun" compare; phones to digits;
- **block**: candidate pairs only where records share a blocking key (each half of the ID number,
  so one wrong digit or a transposition still meets; pinyin name and birth year; simplified name
  and birth date; phone). Blocks larger than ``max_block`` are generic values and are skipped;
- **compare**: per field a level (ID: exact / one digit / transposed / different; name: exact /
  same pinyin / one character missing or close pinyin / different; birth: exact / day and month
  swapped / same month / different; sex; phone; address), missing fields neutral;
- **estimate**: u-probabilities from random pairs, m-probabilities by EM on the candidate pairs,
  term frequency for exact names (a common name counts less than a rare one);
- **score and cluster**: the match probability of each pair; pairs above ``accept`` are joined
  (connected components), those between ``review`` and ``accept`` are listed for a caseworker.

>>> a = normalise({"record_id": "a", "name": "周建軍", "id_number": "420106198305141516"})
>>> b = normalise({"record_id": "b", "name": "Jianjun Zhou", "id_number": "420106198305141561"})
>>> a.name, a.pinyin, a.birth, a.sex
('周建军', 'jianjun zhou', '1983-05-14', 'M')
>>> dict(zip(FIELDS, compare(a, b)))  # digits transposed, the same name in pinyin
{'id': 3, 'name': 2, 'birth': 0, 'sex': 0, 'phone': 0, 'address': 0}

Estimating the weights needs a population (u comes from random pairs): see ``tests/ingest/test_resolve.py``.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import opencc
from pypinyin import lazy_pinyin
from rapidfuzz.distance import JaroWinkler

from graph.names import split_chinese_name
from graph.national_id import is_valid_id_number, upgrade_15_to_18

__all__ = ["FIELDS", "Cluster", "Pair", "Resolution", "compare", "normalise", "resolve", "simplified"]

FIELDS = ("id", "name", "birth", "sex", "phone", "address")
#: EM's starting share of matches among candidate pairs (see ``_em``).
EM_START_PRIOR = 0.01
#: Number of comparison levels per field; level 0 is "missing on either side" and weighs nothing.
LEVELS = {"id": 5, "name": 5, "birth": 5, "sex": 3, "phone": 3, "address": 4}
_T2S = opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """``text`` in simplified characters, spaces dropped: one spelling of a name.

    >>> simplified("周建軍") == simplified("周建军")
    True
    """
    return _T2S.convert(text).replace(" ", "")


#: Chance agreement between different people, per field and level, as measured on a generated
#: 100k-household prefecture (`python -m bench.resolve`); the prior of the u estimate.
U_PRIOR = {
    "id": [0.0, 5e-06, 5e-06, 5e-06, 0.999985],
    "name": [0.0, 1e-04, 1e-05, 2.3e-04, 0.99966],
    "birth": [0.0, 4e-05, 2.5e-05, 9.7e-04, 0.998965],
    "sex": [0.0, 0.5, 0.5],
    "phone": [0.0, 7e-05, 0.99993],
    "address": [0.0, 0.0036, 0.0478, 0.9486],
}
U_PRIOR_PAIRS = 10_000
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Record:
    record_id: str
    id: str | None
    id_valid: bool
    name: str | None  # simplified characters, or lower-case Latin letters
    pinyin: str | None  # surname and given name in pinyin, the two sorted: word order does not matter
    birth: str | None
    sex: str | None
    phone: str | None
    address: frozenset[str]
    source: str | None


def _pinyin_key(name: str) -> str:
    if _CJK.search(name):
        parts = ["".join(lazy_pinyin(part)) for part in split_chinese_name(name)]
    else:
        parts = re.findall(r"[a-z]+", name.lower())
    return " ".join(sorted(p for p in parts if p))


def normalise(raw: dict[str, Any]) -> Record:
    """One record in comparable form (see the module docstring)."""
    number = (str(raw.get("id_number") or raw.get("other_id") or "")).strip().upper() or None
    if number and len(number) == 15 and number.isdigit():
        number = upgrade_15_to_18(number)
    valid = bool(number) and len(number) == 18 and is_valid_id_number(number)
    birth = (raw.get("birth_date") or "").strip() or None
    if birth is None and valid:
        birth = f"{number[6:10]}-{number[10:12]}-{number[12:14]}"
    sex = (raw.get("sex") or "").strip().upper()[:1] or None
    if sex is None and valid:
        sex = "M" if int(number[16]) % 2 else "F"
    name = re.sub(r"\s+", " ", str(raw.get("name") or "")).strip() or None
    if name:
        name = _T2S.convert(name).replace(" ", "") if _CJK.search(name) else name.lower()
    phone = re.sub(r"\D", "", str(raw.get("phone") or "")) or None
    address = _T2S.convert(str(raw.get("address") or ""))
    return Record(
        record_id=str(raw["record_id"]),
        id=number,
        id_valid=valid,
        name=name,
        pinyin=_pinyin_key(name) if name else None,
        birth=birth,
        sex=sex,
        phone=phone[-11:] if phone else None,
        address=frozenset(address[i : i + 2] for i in range(len(address) - 1)),
        source=(raw.get("source") or None),
    )


def _one_substitution(a: str, b: str) -> bool:
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b, strict=True)) == 1


def _transposed(a: str, b: str) -> bool:
    if len(a) != len(b):
        return False
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def compare(a: Record, b: Record) -> tuple[int, ...]:
    """The comparison vector of two records, a level per field of ``FIELDS``."""
    if a.id and b.id:
        idl = 1 if a.id == b.id else 2 if _one_substitution(a.id, b.id) else 3 if _transposed(a.id, b.id) else 4
    else:
        idl = 0
    if a.name and b.name:
        if a.name == b.name:
            namel = 1
        elif a.pinyin == b.pinyin:
            namel = 2
        elif (
            _CJK.search(a.name)
            and _CJK.search(b.name)
            and abs(len(a.name) - len(b.name)) == 1
            and a.name[0] == b.name[0]
            and all(ch in (a.name if len(a.name) > len(b.name) else b.name) for ch in min(a.name, b.name, key=len))
        ) or JaroWinkler.similarity(a.pinyin or "", b.pinyin or "") >= 0.93:
            namel = 3
        else:
            namel = 4
    else:
        namel = 0
    if a.birth and b.birth:
        swapped = (
            len(a.birth) == 10
            and len(b.birth) == 10
            and a.birth[:4] == b.birth[:4]
            and a.birth[5:7] == b.birth[8:10]
            and a.birth[8:10] == b.birth[5:7]
        )
        birthl = 1 if a.birth == b.birth else 2 if swapped else 3 if a.birth[:7] == b.birth[:7] else 4
    else:
        birthl = 0
    sexl = 0 if not (a.sex and b.sex) else 1 if a.sex == b.sex else 2
    phonel = 0 if not (a.phone and b.phone) else 1 if a.phone[-8:] == b.phone[-8:] else 2
    if a.address and b.address:
        jaccard = len(a.address & b.address) / len(a.address | b.address)
        addrl = 1 if jaccard >= 0.6 else 2 if jaccard >= 0.3 else 3
    else:
        addrl = 0
    return (idl, namel, birthl, sexl, phonel, addrl)


def _blocking_keys(r: Record) -> Iterable[str]:
    if r.id and len(r.id) == 18:
        yield "id1:" + r.id[:12]
        yield "id2:" + r.id[12:]
    elif r.id:
        yield "id:" + r.id
    if r.pinyin and r.birth:
        yield f"py:{r.pinyin}|{r.birth[:4]}"
    if r.name and r.birth:
        yield f"nb:{r.name}|{r.birth}"
    if r.pinyin and r.birth and len(r.birth) == 10:
        # day and month swapped: the same key either way
        yield f"pyd:{r.pinyin}|{r.birth[:4]}|{''.join(sorted((r.birth[5:7], r.birth[8:10])))}"
    if r.phone:
        yield "ph:" + r.phone[-8:]


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
    clusters: list[Cluster]
    pairs: list[Pair]  # every candidate pair scored
    review: list[Pair]  # between the review and the accept thresholds
    m: dict[str, list[float]] = field(default_factory=dict)
    u: dict[str, list[float]] = field(default_factory=dict)
    prior: float = 0.0
    skipped_blocks: int = 0


_EVIDENCE = {
    "id": {1: "ID number equal", 2: "ID number one digit apart", 3: "ID number digits transposed", 4: "ID numbers differ"},
    "name": {1: "name equal", 2: "name equal in pinyin", 3: "name close (a character missing or similar pinyin)", 4: "names differ"},
    "birth": {1: "birth date equal", 2: "birth day and month swapped", 3: "birth in the same month", 4: "birth dates differ"},
    "sex": {1: "sex agrees", 2: "sex differs"},
    "phone": {1: "phone equal", 2: "phones differ"},
    "address": {1: "address alike", 2: "address partly alike", 3: "addresses differ"},
}


def resolve(
    raw_records: list[dict[str, Any]],
    *,
    accept: float = 0.9,
    review: float = 0.5,
    max_block: int = 200,
    em_iterations: int = 25,
    seed: int = 7,
    register_prefix: str | None = "P:",
) -> Resolution:
    """Cluster ``raw_records`` (dicts with ``record_id`` and any of name, id_number, other_id,
    birth_date, sex, address, phone, source) into persons.

    Records whose id starts with ``register_prefix`` are population-register entries: distinct
    people, never put in one cluster. Links are made strongest first, and a link that would join
    two register entries is not made: a record one mistyped digit from two registered people goes
    to the one its name and birth date agree with, not to both.
    """
    records = [normalise(r) for r in raw_records]
    by_id = {r.record_id: r for r in records}
    blocks: dict[str, list[str]] = defaultdict(list)
    for r in records:
        for key in set(_blocking_keys(r)):
            blocks[key].append(r.record_id)
    candidates: dict[tuple[str, str], set[str]] = defaultdict(set)  # pair -> the blocking families that met it
    skipped = 0
    for key, members in blocks.items():
        if len(members) > max_block:
            skipped += 1
            continue
        family = _FAMILY[key.split(":", 1)[0]]
        members = sorted(members)
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                candidates[(a, b)].add(family)
    pairs = sorted(candidates)
    vectors = [compare(by_id[a], by_id[b]) for a, b in pairs]

    # u: how often each level occurs between random (almost surely different) records.
    rng = random.Random(seed)
    ids = [r.record_id for r in records]
    u_counts = {f: [0.0] * LEVELS[f] for f in FIELDS}
    for _ in range(min(200_000, max(1000, len(ids) * 20)) if len(ids) > 1 else 0):
        a, b = rng.sample(ids, 2)
        for f, level in zip(FIELDS, compare(by_id[a], by_id[b]), strict=True):
            u_counts[f][level] += 1
    # A prior of U_PRIOR_PAIRS random pairs at the rates seen on a 100k-household prefecture: on a
    # large file the sample decides; on a small one (a county's feed, a test) chance agreement
    # among a few dozen records would otherwise look common.
    u = {}
    for f in FIELDS:
        counts = [c + U_PRIOR_PAIRS * prior_rate for c, prior_rate in zip(u_counts[f], U_PRIOR[f], strict=True)]
        u[f] = [c / sum(counts[1:]) for c in counts]
    # Exact names: term frequency (a common name is more often shared by chance).
    name_freq = Counter(r.name for r in records if r.name)
    total_named = sum(name_freq.values()) or 1

    # m: EM with u held fixed, as Splink trains: once on the pairs that met by name (which then
    # says nothing about name and birth, so those are left out of that session) to learn the
    # other fields, once on the pairs that met by ID number to learn name and birth. One EM over
    # all pairs would learn "blocked together" rather than "the same person".
    m = {f: [0.0, 0.9] + [0.1 / (LEVELS[f] - 2)] * (LEVELS[f] - 2) for f in FIELDS}
    # Birth is constrained by every blocking family, so EM never sees it vary among matches: its m
    # stays this prior (a department's birth date is rarely wrong, more often swapped than shifted).
    m["birth"] = [0.0, 0.95, 0.02, 0.01, 0.02]
    sessions = (("name", ("id", "sex", "phone", "address")), ("id", ("name",)))
    for family, learn in sessions:
        chosen = Counter(v for (pair, v) in zip(pairs, vectors, strict=True) if family in candidates[pair])
        if chosen:
            used = tuple(f for f in FIELDS if f not in _BLOCKED_BY[family])
            learned = _em(chosen, m, u, used, em_iterations)
            for f in learn:
                m[f] = learned[f]
    # The prior over all candidate pairs, with m and u now fixed.
    patterns = Counter(vectors)
    prior = 0.1
    for _ in range(em_iterations if vectors else 0):
        expected = sum(_probability(v, m, u, prior) * n for v, n in patterns.items())
        # At most even odds: blocks can hold nothing but matches on small files; the evidence
        # must carry a match, not the prior.
        prior = min(max(expected / len(vectors), 1e-6), 0.5)

    scored = []
    for (a, b), v in zip(pairs, vectors, strict=True):
        ra, rb = by_id[a], by_id[b]
        weight = math.log2(prior / (1 - prior))
        for f, level in zip(FIELDS, v, strict=True):
            if level == 0:
                continue
            u_level = u[f][level]
            if f == "name" and level == 1 and ra.name:
                u_level = max(name_freq[ra.name] / total_named, 1e-6)
            weight += math.log2(max(m[f][level], 1e-9) / max(u_level, 1e-9))
        probability = 1 / (1 + 2 ** (-weight))
        evidence = [_EVIDENCE[f][level] for f, level in zip(FIELDS, v, strict=True) if level]
        scored.append(Pair(a, b, round(probability, 6), round(weight, 3), dict(zip(FIELDS, v, strict=True)), evidence))

    parent = {r.record_id: r.record_id for r in records}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    anchored = {r.record_id for r in records if register_prefix and r.record_id.startswith(register_prefix)}
    best: dict[str, float] = {}
    for p in sorted((p for p in scored if p.probability >= accept), key=lambda p: (-p.probability, p.a, p.b)):
        ra, rb = find(p.a), find(p.b)
        if ra != rb:
            if ra in anchored and rb in anchored:
                continue  # two register entries: two people
            root, other = min(ra, rb), max(ra, rb)
            parent[other] = root
            if other in anchored:
                anchored.add(root)
        best[p.a] = max(best.get(p.a, 0.0), p.probability)
        best[p.b] = max(best.get(p.b, 0.0), p.probability)
    members: dict[str, list[str]] = defaultdict(list)
    for r in records:
        members[find(r.record_id)].append(r.record_id)
    clusters = []
    for group in members.values():
        cluster_id = min(group)
        for rid in group:
            clusters.append(Cluster(rid, cluster_id, round(best.get(rid, 1.0), 6)))
    clusters.sort(key=lambda c: (c.cluster_id, c.record_id))
    review_pairs = [p for p in scored if review <= p.probability < accept and find(p.a) != find(p.b)]
    return Resolution(clusters=clusters, pairs=scored, review=review_pairs, m=m, u=u, prior=prior, skipped_blocks=skipped)


#: Which fields each blocking family constrains, and which family each blocking key belongs to.
# Halves of an ID number constrain the birth month (and the sex digit) but not the ID comparison,
# which stays evidence in that session; a name block constrains name and birth.
_BLOCKED_BY = {"id": ("birth", "sex"), "name": ("name", "birth"), "phone": ("phone",)}
_FAMILY = {"id1": "id", "id2": "id", "id": "id", "py": "name", "nb": "name", "pyd": "name", "ph": "phone"}


def _probability(
    v: tuple[int, ...], m: dict[str, list[float]], u: dict[str, list[float]], prior: float, used: tuple[str, ...] = FIELDS
) -> float:
    ratio = prior / (1 - prior)
    for f, level in zip(FIELDS, v, strict=True):
        if level and f in used:
            ratio *= max(m[f][level], 1e-9) / max(u[f][level], 1e-9)
    return ratio / (1 + ratio)


def _em(
    patterns: Counter, start: dict[str, list[float]], u: dict[str, list[float]], used: tuple[str, ...], iterations: int
) -> dict[str, list[float]]:
    """m-probabilities of the ``used`` fields by expectation-maximisation over weighted comparison patterns."""
    m = {f: list(levels) for f, levels in start.items()}
    # Start from "matches are rare among candidate pairs", as Splink starts from a small
    # probability that two records match. Started at even odds, on a 33k-household register (name
    # blocks of common names, mostly different people) EM settled on the other fixed point: the
    # "match" class took in the non-matches, a different ID number weighed almost nothing, register
    # people chained into one cluster and 6 of 167 mistyped records were linked. From 0.01 it
    # links 166, none wrongly; on small files the evidence still raises it (tests/ingest/test_resolve.py).
    prior = EM_START_PRIOR
    total = sum(patterns.values())
    for _ in range(iterations):
        # A Dirichlet prior of 10 pseudo-matches spread as the starting m: a level that never shows
        # among this session's matches (a pinyin-only name among ID-blocked pairs) keeps a small
        # m instead of none, which would veto it for ever.
        sums = {f: [0.0] + [10 * start[f][level] for level in range(1, LEVELS[f])] for f in used}
        expected = 0.0
        for v, count in patterns.items():
            p = _probability(v, m, u, prior, used) * count
            expected += p
            for f, level in zip(FIELDS, v, strict=True):
                if f in used:
                    sums[f][level] += p
        prior = min(max(expected / total, 1e-6), 1 - 1e-6)
        for f in used:
            observed = sum(sums[f][1:])
            m[f] = [0.0] + [x / observed for x in sums[f][1:]]
    return m
