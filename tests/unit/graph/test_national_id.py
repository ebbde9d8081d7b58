"""GB 11643-1999 rules, checked by property over generated numbers."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graph.national_id import (
    IdNumberError,
    check_character,
    is_valid_id_number,
    mask_id_number,
    upgrade_15_to_18,
    validate_id_number,
)

TODAY = dt.date(2026, 6, 30)
regions = st.sampled_from(["110101", "420106", "420203", "440305", "650102", "820000"])
births = st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)


def make(region: str, birth: dt.date, seq: int) -> str:
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


@given(regions, births, sequences)
def test_a_well_formed_number_validates_and_says_sex_and_birth(region: str, birth: dt.date, seq: int) -> None:
    facts = validate_id_number(make(region, birth, seq), today=TODAY)
    assert facts.birth_date == birth
    assert facts.region_code == region
    assert facts.sex == ("M" if seq % 2 else "F")


@given(regions, births, sequences, st.integers(min_value=0, max_value=16), st.integers(min_value=1, max_value=9))
def test_any_single_wrong_digit_is_caught(region: str, birth: dt.date, seq: int, pos: int, delta: int) -> None:
    number = make(region, birth, seq)
    wrong = number[:pos] + str((int(number[pos]) + delta) % 10) + number[pos + 1 :]
    assert not is_valid_id_number(wrong, today=TODAY)


@given(regions, births, sequences, st.integers(min_value=0, max_value=15))
def test_any_adjacent_transposition_is_caught(region: str, birth: dt.date, seq: int, pos: int) -> None:
    number = make(region, birth, seq)
    if number[pos] == number[pos + 1]:
        return
    swapped = number[:pos] + number[pos + 1] + number[pos] + number[pos + 2 :]
    assert not is_valid_id_number(swapped, today=TODAY)


@given(st.text(max_size=30))
def test_arbitrary_text_never_crashes_the_validator(text: str) -> None:
    try:
        validate_id_number(text, today=TODAY)
    except IdNumberError as exc:
        assert exc.reason


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("42010619830514151", "18 characters"),
        ("4201061983051415166", "18 characters"),
        ("42010619830514151A", "17 digits"),
        ("990106198305141516", "no province"),
        ("420106198302301516", "not a calendar date"),  # 30 February
        ("420106203001011516", "in the future"),
        ("420106198305141517", "check character"),
    ],
)
def test_each_rule_names_itself(number: str, reason: str) -> None:
    with pytest.raises(IdNumberError, match=reason):
        validate_id_number(number, today=TODAY)


def test_the_examples_check_characters() -> None:
    # The two-cases example: valid numbers, and the one mistyped digit that is not.
    assert is_valid_id_number("42010619540817224X", today=TODAY)
    assert is_valid_id_number("420203201307092421", today=TODAY)
    assert not is_valid_id_number("420203201307090421", today=TODAY)


def test_lower_case_x_is_accepted() -> None:
    assert validate_id_number("42010619540817224x", today=TODAY).id_number == "42010619540817224X"


@given(regions, st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(1999, 12, 31)), sequences)
def test_legacy_15_digit_numbers_upgrade_to_valid_18(region: str, birth: dt.date, seq: int) -> None:
    legacy = f"{region}{birth:%y%m%d}{seq:03d}"
    upgraded = upgrade_15_to_18(legacy)
    assert upgraded == make(region, birth, seq)
    assert is_valid_id_number(upgraded, today=TODAY)


@given(st.text(alphabet="0123456789X", min_size=0, max_size=25), st.integers(0, 6), st.integers(0, 4))
def test_masking_never_shows_more_than_six_and_four(value: str, head: int, tail: int) -> None:
    masked = mask_id_number(value, head=head, tail=tail)
    assert len(masked) == len(value)
    shown = sum(1 for c in masked if c != "*")
    assert shown <= min(head, 6) + min(tail, 4)
    assert mask_id_number(value, head=9, tail=9).count("*") >= len(value) - 10


def test_masking_example() -> None:
    assert mask_id_number("420106198305141516") == "420106********1516"
    assert mask_id_number("420106198305141516", head=3, tail=0) == "420***************"
