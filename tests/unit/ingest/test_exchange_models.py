"""The exchange format is derived from the row models (``graph.model``): the file specs, the reference
checks and the ingest order follow from the fields and their ``Ref`` marks. These tests fail when a
file's description (docs/exchange-format.md, the contract in shared/EXCHANGE-FORMAT.md) and its
model disagree, and check the derivation itself on models written here."""

from __future__ import annotations

import re
from typing import Annotated

import pytest
from pydantic import BaseModel

from graph.model import NodeKind, Ref, RelKind
from ingest.exchange import FILE_MODELS, FILE_SPECS, INGEST_ORDER, ingest_order, spec_of
from ingest.rules import _HANDLERS
from tests.conftest import ROOT

DOCS = ROOT / "docs" / "exchange-format.md"
CONTRACT = ROOT.parent / "shared" / "EXCHANGE-FORMAT.md"


def _columns(cell: str) -> list[str]:
    """Column names of a table cell or contract line, without the parenthesised explanations."""
    depth, out = 0, []
    for ch in cell:
        depth += ch == "("
        if depth == 0:
            out.append(ch)
        depth -= ch == ")"
    return [c.strip(" *") for c in "".join(out).split(",") if c.strip(" *")]


def _documented() -> dict[str, tuple[list[str], list[str]]]:
    rows = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] in FILE_MODELS:
            rows[cells[0]] = (_columns(cells[1]), _columns(cells[2]))
    return rows


def test_every_file_is_documented_as_its_model_says() -> None:
    documented = _documented()
    assert set(documented) == set(FILE_SPECS)
    for name, (required, optional) in documented.items():
        assert (required, optional) == (list(FILE_SPECS[name].required), list(FILE_SPECS[name].optional)), name


def test_the_documented_ingest_order_is_the_derived_one() -> None:
    text = " ".join(DOCS.read_text(encoding="utf-8").split())
    said = re.search(r"Files are read in this order, so references point at something already stored: ([a-z_, ]+)\.", text)
    assert said is not None
    assert [n.strip() for n in said.group(1).split(",")] == INGEST_ORDER


def test_the_contract_columns_are_the_models() -> None:
    if not CONTRACT.is_file():
        pytest.skip("shared/ is not beside this checkout")
    found = 0
    for line in CONTRACT.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\*\*(\w+)\*\*: (.*)", line)
        if not m or m.group(1) not in FILE_SPECS:
            continue
        found += 1
        spec, cells = FILE_SPECS[m.group(1)], m.group(2).split(". ")[0].rstrip(".")
        columns = _columns(cells)
        bold = re.findall(r"\*\*(\w+)\*\*", cells)
        assert bold == list(spec.required), m.group(1)
        # AidGraph may read more than the contract names (documented in docs/), in the same order.
        assert [c for c in spec.order if c in columns] == columns, m.group(1)
    assert found == len(FILE_SPECS)


def test_every_file_has_a_handler_for_its_model() -> None:
    assert set(_HANDLERS) == set(FILE_MODELS)
    for name, handler in _HANDLERS.items():
        assert handler.model is FILE_MODELS[name]


class _Shelf(BaseModel):
    shelf_id: str
    room_code: Annotated[str, Ref(NodeKind.REGION, RelKind.PART_OF)]
    note: str | None = None


def test_a_spec_and_an_order_follow_from_the_references() -> None:
    spec = spec_of("shelves", _Shelf)
    assert (spec.key, spec.required, spec.optional) == ("shelf_id", ("shelf_id", "room_code"), ("note",))
    # services name resources and needs; needs name households; households and resources name
    # regions. Files free to go at once go in the order given.
    given = ("services", "needs", "resources", "households", "regions")
    assert ingest_order({n: FILE_MODELS[n] for n in given}) == ["regions", "resources", "households", "needs", "services"]


def test_a_cycle_of_references_is_refused() -> None:
    class A(BaseModel):
        a_id: str
        b: Annotated[str, Ref(NodeKind.REGION)]

    class B(BaseModel):
        region_code: str
        a: Annotated[str, Ref(NodeKind.HOUSEHOLD)]

    import ingest.exchange as exchange

    kinds = dict(exchange.FILE_KINDS)
    try:
        exchange.FILE_KINDS.update({"a": NodeKind.HOUSEHOLD, "b": NodeKind.REGION})
        with pytest.raises(ValueError, match="cycle"):
            ingest_order({"a": A, "b": B})
    finally:
        exchange.FILE_KINDS.clear()
        exchange.FILE_KINDS.update(kinds)
