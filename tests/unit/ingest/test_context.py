"""What an ingest remembers of the keys it accepted: the kinds a row may name, and only those."""

from __future__ import annotations

import pytest

from graph.model import NodeKind, refs_of
from graph.stores.ladybug import LadybugStore
from ingest.exchange import FILE_MODELS
from ingest.rules import _Context, _named_kinds


def test_every_kind_a_row_names_is_remembered() -> None:
    named = _named_kinds()
    for model in FILE_MODELS.values():
        for name, ref in refs_of(model):
            assert ref.kind in named, f"{model.__name__}.{name} names a {ref.kind.value}"
    assert {NodeKind.PERSON, NodeKind.REGION, NodeKind.HOUSEHOLD} <= named  # kinship's persons, regions' parents
    # What no row names is not kept: an aid record's key, 17.6M of them at the prefecture.
    assert not {NodeKind.AID_RECORD, NodeKind.INCOME, NodeKind.ASSET} & named


def test_an_ingest_keeps_the_keys_of_named_kinds_only() -> None:
    ctx = _Context(store=LadybugStore.in_memory())
    ctx.accept(NodeKind.HOUSEHOLD, "H-1")
    ctx.accept(NodeKind.AID_RECORD, "AR-1")
    assert ctx.known(NodeKind.HOUSEHOLD, ["H-1", "H-2"]) == {"H-1"}
    assert NodeKind.AID_RECORD not in ctx.accepted
    with pytest.raises(ValueError, match="does not keep the AidRecord keys it accepted"):
        ctx.known(NodeKind.AID_RECORD, ["AR-1"])
