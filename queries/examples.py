"""The store the docstrings' examples read: the two real cases of DOMAIN.md (``tests/fixtures/two-cases``,
a copy of ``shared/examples/two-cases``), loaded once per process into an in-memory embedded store.

``H-420106-0001``: a ride-hailing driver fallen ill, his teenage daughter and his parents; 低保,
supplementary medical insurance, volunteers tutoring the daughter. ``H-420203-0001``: a father and
his 10-year-old daughter with leukaemia; 低保, medical assistance, a subsidised enrolment recorded
under her ID with one digit mistyped. The examples' figures come from these files, not from AidGraph.

Examples
--------
>>> from queries.household import household_view
>>> [m.person["name"] for m in household_view(two_cases(), household_id="H-420203-0001").members]
['王付红', '陈桂芳', '王小美']
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

__all__ = ["DAY", "TWO_CASES", "load_two_cases", "two_cases"]

TWO_CASES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "two-cases"
#: The day the examples are read on.
DAY = dt.date(2026, 6, 30)


def load_two_cases() -> Any:
    """A new in-memory embedded store holding the two cases (for an example that writes).

    Examples
    --------
    >>> load_two_cases() is not load_two_cases()
    True
    """
    from graph.stores.ladybug import LadybugStore
    from ingest.loader import ingest_folder

    store = LadybugStore.in_memory()
    report = ingest_folder(store, TWO_CASES, today=DAY)
    if not report.ok:
        raise RuntimeError(f"the two cases did not load: {report.file_summaries()}")
    return store


@functools.cache
def two_cases() -> Any:
    """The two cases in an in-memory embedded store, one per process (the examples only read it).

    Examples
    --------
    >>> two_cases().counts().nodes["Household"]
    2
    >>> two_cases() is two_cases()
    True
    """
    return load_two_cases()
