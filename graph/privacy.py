"""Masking of personal identifiers for display: ID numbers, phones, bank accounts, API keys.

One rule for every text that leaves AidGraph (JSON, CSV, Excel, HTML, error messages, logs, the
audit trail): :func:`mask_text` finds identifiers anywhere in a string, whatever stands before or
after them (``x420106198305141516``, ``Person:...``, a need's free-text description), and
:func:`mask_tree` applies it to every value *and every key* of a JSON-like structure.

What counts as an identifier inside text, by the run of digits (a run is never part of a longer one):

- 18 characters (17 digits and a digit or X) or 15 digits: an ID number (GB 11643), first 6 + last 4;
- 11 digits starting 13 to 19: a mobile phone, first 3 + last 4;
- 16 to 19 digits, or any longer run: a bank account (or something as sensitive), first 3 + last 4;
- ``agk_<key id>_<secret>``: an API key, the secret dropped.

Runs of 12 to 14 digits stay: they are region codes (12-digit village codes) and dates with times.

>>> mask_tree({"id_number": "420106198305141516", "name": "周建军", "phone": "13800000001"})
{'id_number': '420106********1516', 'name': '周建军', 'phone': '138****0001'}
>>> mask_value("src", "Person:420106198305141516")
'Person:420106********1516'
>>> mask_text("kind=x420106198305141516&acct=6217002870012345678, call 13912345678; village 420106005001")
'kind=x420106********1516&acct=621************5678, call 139****5678; village 420106005001'
>>> mask_tree({"420106198305141516": 120.0})
{'420106********1516': 120.0}
>>> mask_text("?api_key=agk_1a2b3c4d_Zq9-8xYwV7u6T5s4R3q2P1o0N9m8L7k6J5i4H3g2F1e")
'?api_key=agk_1a2b3c4d_***'
"""

from __future__ import annotations

import logging
import re
from typing import Any

from graph.national_id import mask_id_number

__all__ = [
    "CONTACT_FIELDS",
    "IDENTIFIER_IN_TEXT",
    "ID_FIELDS",
    "MaskingFilter",
    "is_identifier_run",
    "mask_text",
    "mask_tree",
    "mask_value",
]

#: Fields that hold an ID number (or a department's reference to one).
ID_FIELDS = frozenset({"id_number", "beneficiary_ref", "person_ref", "from_id_number", "to_id_number", "register_id", "variant_id"})
CONTACT_FIELDS = frozenset({"phone", "bank_account"})
#: An API key, or a run of 11 or more digits (with an ID number's final X): the candidates
#: :func:`mask_text` looks at. Only digits bound a run, so a letter before or after hides nothing.
IDENTIFIER_IN_TEXT = re.compile(r"agk_([0-9A-Za-z]{1,32})_[A-Za-z0-9_\-]+|(?<!\d)(\d{11,})([Xx]?)(?!\d)")
_PHONE_PREFIXES = tuple(f"1{d}" for d in "3456789")


def is_identifier_run(digits: str, x: str = "") -> bool:
    """A run of digits (and an ID's final X) that :func:`mask_text` masks."""
    n = len(digits)
    return (n == 17 and bool(x)) or n == 15 or n >= 16 or (n == 11 and digits.startswith(_PHONE_PREFIXES))


def _mask_match(m: re.Match[str]) -> str:
    if m.group(1) is not None:
        return f"agk_{m.group(1)}_***"
    digits, x = m.group(2), m.group(3)
    if not is_identifier_run(digits, x):
        return m.group(0)
    n = len(digits)
    if n == 17 and x:
        return mask_id_number(digits + x)
    if n in (15, 18):
        return mask_id_number(digits) + x
    return _mask_contact(digits) + x


def _mask_contact(value: str) -> str:
    return value[:3] + "*" * (len(value) - 7) + value[-4:] if len(value) > 7 else "*" * len(value)


def mask_text(text: str) -> str:
    """``text`` with every identifier in it masked (see the module's docstring); idempotent."""
    if len(text) < 11:
        return text
    return IDENTIFIER_IN_TEXT.sub(_mask_match, text)


def mask_value(field_name: str | None, value: Any) -> Any:
    """Mask one value by its field: IDs to 6 + 4 characters, phones and accounts to 3 + 4.

    Any other text is masked by :func:`mask_text`, so a number typed into a name or a note does
    not leak. A whole number that is an identifier becomes its masked text; other values pass through.
    """
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**10:
        masked = mask_text(str(value))  # an ID number or account sent as a JSON number
        return value if masked == str(value) else masked
    if not isinstance(value, str):
        return value
    if field_name in CONTACT_FIELDS:
        return _mask_contact(value)
    # A department's mistyped number (any length) in an ID field is masked whole; a household id
    # given as a beneficiary reference ("H-...") is not personal and stays readable.
    if field_name in ID_FIELDS and value[:1].isdigit():
        return mask_id_number(value)
    return mask_text(value)


def mask_tree(obj: Any, field_name: str | None = None) -> Any:
    """A copy of a JSON-like structure with every personal identifier masked, in keys too."""
    if isinstance(obj, dict):
        return {(mask_text(k) if isinstance(k, str) else k): mask_tree(v, k) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [mask_tree(v, field_name) for v in obj]
    return mask_value(field_name, obj)


class MaskingFilter(logging.Filter):
    """A logging filter that masks a record's message and its traceback with :func:`mask_text`:
    an exception's text can hold anything a request carried."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask_text(record.getMessage()), None
        if record.exc_info:
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
