"""Masking never lets a whole ID number through, wherever in a structure it sits."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from graph.privacy import mask_tree

FULL_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dX](?![\dA-Za-z])")
ids = st.from_regex(r"[1-6]\d{16}[\dX]", fullmatch=True)
prefixes = st.sampled_from(["", "Person:", "id ", "见", "x-"])
keys = st.sampled_from(["id_number", "src", "note", "name", "beneficiary_ref", "dst", "label"])


@given(st.lists(st.tuples(keys, prefixes, ids), min_size=1, max_size=6))
def test_no_whole_id_survives_masking(items: list[tuple[str, str, str]]) -> None:
    tree = {"nested": [{key: prefix + number} for key, prefix, number in items], "plain": [prefix + number for _, prefix, number in items]}
    assert not FULL_ID.search(json.dumps(mask_tree(tree), ensure_ascii=False))


def test_other_values_are_left_alone() -> None:
    tree = {"household_id": "H-420106-0001", "region_code": "420106005001", "amount": 1476.0, "record_id": "MZ-2023-000118"}
    assert mask_tree(tree) == tree
