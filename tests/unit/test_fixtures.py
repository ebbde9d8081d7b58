"""The test copy of the two real cases is the one in shared/ (the public contract's example)."""

from __future__ import annotations

import pytest

from tests.conftest import SHARED_TWO_CASES, TWO_CASES


def test_two_cases_copy_matches_shared() -> None:
    if not SHARED_TWO_CASES.is_dir():
        pytest.skip("shared/ is not beside this checkout")
    shared = sorted(p.name for p in SHARED_TWO_CASES.iterdir())
    assert sorted(p.name for p in TWO_CASES.iterdir()) == shared
    for name in shared:
        assert (TWO_CASES / name).read_bytes() == (SHARED_TWO_CASES / name).read_bytes(), name
