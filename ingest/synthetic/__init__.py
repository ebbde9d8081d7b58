"""A synthetic prefecture in the exchange format, with planted cases written to ``truth.json``.

``generate_prefecture(households=N, seed=S, out=DIR)`` writes every exchange file for a
prefecture of N households (宜昌市-like: urban districts and rural counties, down to villages):
real-looking names, valid ID numbers, household structures, incomes, assets, programmes of
several departments, aid records, needs, charities, volunteers and service organisations.
It then plants known duplicate-aid cases, missed-aid cases, identity variants in department
feeds, and relatives who owe maintenance, and lists them in ``truth.json``. With
``ledgers=True`` the departments also deliver their payment ledgers (发放明细): a line per month
paid of every monthly enrolment, about three aid records per person, the density of a mature
system's data (the shape the scale benchmark measures). The same seed gives
the same bytes: everything is drawn from ``random.Random`` seeded from the seed against a fixed
reference date, and written in a fixed order.

The prefecture is made and written in blocks of at most ``BLOCK_HOUSEHOLDS`` households, each
with its own planted cases, so memory stays flat in its size (the 6.05M-people prefecture of
DOMAIN.md on one machine): identifiers (ID numbers, record, need and resource numbers) are unique
across blocks; the regions, departments and programmes are the whole prefecture's, written once.
A prefecture of one block is what a generator without blocks wrote.

>>> import tempfile
>>> truth = generate_prefecture(households=60, seed=1, out=tempfile.mkdtemp())
>>> truth["counts"]["households"]
60

The generator is split by what it makes: ``geography`` (the reference data), ``people``,
``family``, ``aid``, ``planted`` and ``truth``, mixins of one ``_Generator`` per block.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ingest.synthetic.aid import _Aid
from ingest.synthetic.family import _Family
from ingest.synthetic.geography import AS_OF, BLOCK_HOUSEHOLDS, POLICY
from ingest.synthetic.people import _People
from ingest.synthetic.planted import _Planted
from ingest.synthetic.truth import _Truth

__all__ = ["AS_OF", "BLOCK_HOUSEHOLDS", "POLICY", "generate_prefecture"]


class _Generator(_People, _Family, _Aid, _Planted, _Truth):
    """One block of the prefecture: ``households`` households from the ``first`` (counted over the
    whole prefecture of ``total``), with ``ids`` and ``counter`` shared by every block."""


def generate_prefecture(*, households: int, seed: int, out: str | Path, ledgers: bool = False) -> dict[str, Any]:
    """Write a synthetic prefecture of ``households`` households to ``out``; return the truth.

    ``ledgers``: also write the departments' monthly payment lines (about 3 aid records a person).
    """
    if households < 20:
        raise ValueError("a prefecture needs at least 20 households to plant its cases")
    out = Path(out)
    blocks = -(-households // BLOCK_HOUSEHOLDS)
    ids: set[int] = set()
    counter: dict[str, int] = {}
    truth: dict[str, Any] = {}
    first = 0
    for b in range(blocks):
        size = households // blocks + (1 if b < households % blocks else 0)  # even blocks, each of 20 or more
        block = _Generator(
            size, seed, ledgers, total=households, first=first, block_seed=None if b == 0 else f"{seed}/{b}", ids=ids, counter=counter
        )
        found = block.run(out)
        if b == 0:
            truth = found
        else:
            for key, value in found.items():
                if key == "counts":
                    truth[key] = {name: truth[key][name] + n for name, n in value.items()}
                elif isinstance(value, list):
                    truth[key].extend(value)
        first += size
        del block, found
    for key in ("duplicate_aid", "missed_aid"):
        truth[key].sort(key=lambda c: (c["kind"], c["households"][0] if "households" in c else c["household"]))
    with (out / "truth.json").open("w", encoding="utf-8") as f:  # streamed: 150 MB of text at 6M people
        json.dump(truth, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")
    return truth
