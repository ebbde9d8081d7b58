"""Masking of personal identifiers for display: ID numbers, phones, bank accounts.

>>> mask_tree({"id_number": "420106198305141516", "name": "周建军", "phone": "13800000001"})
{'id_number': '420106********1516', 'name': '周建军', 'phone': '138****0001'}
>>> mask_value("src", "Person:420106198305141516")
'Person:420106********1516'
"""

from __future__ import annotations

import re
from typing import Any

from graph.national_id import looks_like_id_number, mask_id_number

__all__ = ["CONTACT_FIELDS", "ID_FIELDS", "mask_tree", "mask_value"]

#: Fields that hold an ID number (or a department's reference to one).
ID_FIELDS = frozenset({"id_number", "beneficiary_ref", "person_ref", "from_id_number", "to_id_number", "register_id", "variant_id"})
CONTACT_FIELDS = frozenset({"phone", "bank_account"})
# An ID number inside other text ("Person:420106198305141516", a note): 18 characters, not part of a
# longer run of digits.
_EMBEDDED_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")


def mask_value(field_name: str | None, value: Any) -> Any:
    """Mask one value by its field: IDs to 6 + 4 characters, phones and accounts to 3 + 4.

    Any other text that looks like an ID number is masked too, so a number typed into a name
    field does not leak. Non-text values pass through.
    """
    if not isinstance(value, str):
        return value
    if field_name in CONTACT_FIELDS:
        return value[:3] + "*" * (len(value) - 7) + value[-4:] if len(value) > 7 else "*" * len(value)
    if looks_like_id_number(value):
        return mask_id_number(value)
    # A department's mistyped number (any length) in an ID field is masked whole; a household id
    # given as a beneficiary reference ("H-...") is not personal and stays readable.
    if field_name in ID_FIELDS and value[:1].isdigit():
        return mask_id_number(value)
    return _EMBEDDED_ID.sub(lambda m: mask_id_number(m.group(0)), value)


def mask_tree(obj: Any, field_name: str | None = None) -> Any:
    """A copy of a JSON-like structure with every personal identifier masked."""
    if isinstance(obj, dict):
        return {k: mask_tree(v, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [mask_tree(v, field_name) for v in obj]
    return mask_value(field_name, obj)
