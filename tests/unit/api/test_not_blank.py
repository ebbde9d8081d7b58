"""A text that must not be only spaces: the server's check and the schema's pattern agree.

Found by the schema test: `{"response": "\u0085"}` matched the published pattern ``\\S`` (ECMA,
which a client validates with, does not count NEL as a space) but the server (pydantic's Rust
regex, which does) refused it with 422.
"""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from api.models import NOT_BLANK, MarkIn

# Spaces to one dialect or another: Python's re (the schema test's generator), Rust's regex (the
# server's), ECMA's (a client's).
SPACES = ["\u0085", "\x1c", "\x1f", "\ufeff", "\u00a0", "\u3000", " ", "\t\n"]


@pytest.mark.parametrize("text", SPACES)
def test_only_spaces_of_any_dialect_are_refused_by_the_server_and_by_the_pattern(text: str) -> None:
    with pytest.raises(ValidationError):
        MarkIn(reason=text)
    assert re.search(NOT_BLANK, text) is None


def test_a_reason_with_a_character_is_taken() -> None:
    assert MarkIn(reason="\u3000核实无误").reason == "\u3000核实无误"
    assert re.search(NOT_BLANK, "\u0085x")
