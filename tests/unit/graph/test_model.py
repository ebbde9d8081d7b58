"""The model's value rules: what a cell may hold."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from graph.model import NODE_KEY, NODE_MODELS, REL_ENDPOINTS, REL_UNIQUE_END, AidRecord, Charity, NodeKind, Person, RelKind, Resource


def record(**overrides: object) -> dict:
    base = {
        "record_id": "R1",
        "source_department": "MZ",
        "program_code": "DIBAO",
        "beneficiary_type": "household",
        "beneficiary_ref": "H-1",
        "amount": "1476",
        "period_start": "2023-06-01",
    }
    return {**base, **overrides}


def test_every_node_kind_has_a_model_and_a_key_field() -> None:
    for kind in NodeKind:
        model = NODE_MODELS[kind]
        assert NODE_KEY[kind] in model.model_fields


def test_every_relationship_has_endpoints_and_a_uniqueness_rule() -> None:
    assert set(REL_ENDPOINTS) == set(RelKind)
    assert set(REL_UNIQUE_END) == set(RelKind)


def test_blank_cells_are_unknown_not_errors() -> None:
    r = AidRecord.model_validate(record(period_end="", status=" ", need_id=""))
    assert r.period_end is None and r.status is None and r.need_id is None
    assert "period_end" not in r.props()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "-5", "negative"),
        ("amount", "12.345", "2 decimals"),
        ("amount", "abc", "amount in yuan"),
        ("amount", "1e12", "implausibly large"),
        ("period_start", "2023-02-30", "not a calendar date"),
        ("period_start", "01/06/2023", "YYYY-MM-DD"),
        ("beneficiary_type", "family", "person"),
    ],
)
def test_bad_values_are_named(field: str, value: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        AidRecord.model_validate(record(**{field: value}))
    err = info.value.errors()[0]
    assert err["loc"][0] == field
    assert message in err["msg"]


@given(st.decimals(min_value=0, max_value=999_999_999, places=2, allow_nan=False, allow_infinity=False))
def test_any_amount_with_two_decimals_round_trips(amount: object) -> None:
    r = AidRecord.model_validate(record(amount=str(amount)))
    assert r.amount == pytest.approx(float(str(amount)))


@pytest.mark.parametrize(("text", "value"), [("true", True), ("1", True), ("false", False), ("0", False), ("", None)])
def test_booleans(text: str, value: bool | None) -> None:
    assert Person.model_validate({"id_number": "x", "chronic_illness": text}).chronic_illness is value


def test_lists_in_a_cell_are_semicolon_separated() -> None:
    r = Resource.model_validate(
        {
            "resource_id": "R",
            "provider_name": "n",
            "provider_type": "volunteer",
            "categories": "schooling; psychological",
            "region_code": "420106",
            "capacity": "2",
        }
    )
    assert [c.value for c in r.categories] == ["schooling", "psychological"]


def test_resource_variants_fix_their_provider_type() -> None:
    c = Charity(resource_id="C", provider_name="n", categories=["medical"], region_code="420106", capacity=1)
    assert c.provider_type.value == "charity"


def test_a_json_number_in_a_code_field_is_its_text_and_nowhere_else() -> None:
    """JSON lines may carry a code as a number (12, not "12"): code fields take it as its text,
    also optional ones; a float, a bool or a number in a text field is still an error."""
    from graph.model import Kinship, Need

    record = {"source_department": "MZ", "program_code": "DIBAO", "beneficiary_type": "person", "amount": "1", "period_start": "2024-01-01"}
    made = AidRecord.model_validate({**record, "record_id": 12, "beneficiary_ref": 420106, "need_id": 7})
    assert (made.record_id, made.beneficiary_ref, made.need_id) == ("12", "420106", "7")
    assert Need._code_fields >= {"household_id", "need_id", "person_ref"}
    assert Kinship._code_fields == {"from_id_number", "to_id_number"}
    for bad in ({"record_id": 1.5}, {"record_id": True}, {"record_id": "R", "beneficiary_name": 5}):
        with pytest.raises(ValidationError, match="Input should be a valid string"):
            AidRecord.model_validate({**record, "beneficiary_ref": "x", **bad})
