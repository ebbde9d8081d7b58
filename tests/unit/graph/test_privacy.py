"""Masking never lets a whole identifier through, wherever in a document it sits."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from graph.privacy import mask_text, mask_tree

ids18 = st.from_regex(r"[1-6]\d{16}[\dX]", fullmatch=True)
ids15 = st.from_regex(r"[1-6]\d{14}", fullmatch=True)
phones = st.from_regex(r"1[3-9]\d{9}", fullmatch=True)
accounts = st.from_regex(r"62\d{14,17}", fullmatch=True)
api_keys = st.from_regex(r"agk_[0-9a-f]{8}_[A-Za-z0-9_\-]{43}", fullmatch=True)
secrets_ = st.one_of(ids18, ids15, phones, accounts, api_keys)
# What may stand before or after a secret: nothing, a letter (x420...), punctuation, Chinese text.
around = st.sampled_from(["", "x", "Person:", "id ", "见", "-", "?kind=x", "账号", "a", "_", " tel."])
filler = st.text(alphabet="abc 户口低保,.:;-_/", max_size=12)


def placed(secret: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda a, s, b, f: f + a + s + b + f, around, secret, around, filler)


json_leaf = st.one_of(
    placed(secrets_),
    filler,
    st.integers(),
    ids18.filter(lambda s: s.isdigit()).map(int),
    st.integers(-(10**8), 10**8).map(lambda c: c / 100),
    st.none(),
)
documents = st.recursive(
    json_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(placed(secrets_), st.sampled_from(["id_number", "phone", "note", "evidence", "name"])), children, max_size=4
        ),
    ),
    max_leaves=12,
)


@given(documents)
def test_no_planted_secret_survives_masking(doc: object) -> None:
    masked = json.dumps(mask_tree(doc), ensure_ascii=False)
    # Every digit run of 15 or more, every mobile number and every API key secret is gone.
    assert not re.search(r"(?<!\d)\d{15,}(?!\d)", masked)
    assert not re.search(r"(?<!\d)\d{17}[Xx]", masked)
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", masked)
    assert not re.search(r"agk_[0-9a-f]{8}_[A-Za-z0-9\-]", masked)


@given(placed(secrets_))
def test_masking_is_idempotent_and_keeps_the_text_around(text: str) -> None:
    once = mask_text(text)
    assert mask_text(once) == once
    assert once != text


def test_other_values_are_left_alone() -> None:
    tree = {
        "household_id": "H-420106-0001",
        "region_code": "420106005001",  # a 12-digit village code is not an identifier
        "amount": 1476.0,
        "record_id": "MZ-2023-000118",
        "at": "20240101T120000",
        "note": "2024年3月起 740 元",
    }
    assert mask_tree(tree) == tree


def test_each_kind_is_masked_to_its_display_form() -> None:
    assert mask_text("x420106198305141516y") == "x420106********1516y"
    assert mask_text("旧号420106830514151") == "旧号420106*****4151"
    assert mask_text("bank_account:6217002870012345678") == "bank_account:621************5678"
    assert mask_text("电话13912345678") == "电话139****5678"
    assert mask_tree({"job_cost_deductions": {"42010619830514151X": 300}}) == {"job_cost_deductions": {"420106********151X": 300}}
