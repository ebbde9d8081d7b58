"""National ID numbers (居民身份证号码, GB 11643-1999): validation, derived facts, masking.

An 18-character number is 6 digits of region code, 8 of birth date (YYYYMMDD), 3 of sequence
(odd for men, even for women) and one check character.

>>> check_character("11010519491231002")
'X'
>>> validate_id_number("11010519491231002X").sex
'F'
>>> mask_id_number("11010519491231002X")
'110105********002X'
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

__all__ = [
    "IdNumberError",
    "IdNumberFacts",
    "check_character",
    "is_valid_id_number",
    "looks_like_id_number",
    "mask_id_number",
    "upgrade_15_to_18",
    "validate_id_number",
]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# First two digits of the region code: the provinces, autonomous regions and municipalities
# (GB/T 2260), plus 71 Taiwan, 81 Hong Kong, 82 Macao as printed on residence permits.
_PROVINCES = frozenset("11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split())
_SHAPE = re.compile(r"^\d{17}[\dX]$")
# People born before 1900 are not in any register AidGraph reads.
_EARLIEST_BIRTH = dt.date(1900, 1, 1)


class IdNumberError(ValueError):
    """An ID number that fails GB 11643-1999; ``reason`` says which rule, in plain words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IdNumberFacts:
    """What a valid ID number says about its holder."""

    id_number: str
    region_code: str
    birth_date: dt.date
    sex: str  # "M" or "F"


def check_character(first17: str) -> str:
    """The check character for the first 17 digits (weights 7 9 10 5 8 4 2 1 6 3 ..., mod 11)."""
    if len(first17) != 17 or not first17.isdigit():
        raise IdNumberError("the first 17 characters must be digits")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def validate_id_number(value: str, *, today: dt.date | None = None) -> IdNumberFacts:
    """Validate an 18-character ID number and return what it encodes.

    Raises IdNumberError naming the first rule broken: length, characters, region code,
    birth date (a real calendar date, not in the future) or check character.
    A lower-case ``x`` check character is accepted and normalised to ``X``.
    """
    if not isinstance(value, str):
        raise IdNumberError("an ID number must be text")
    number = value.strip().upper()
    if len(number) == 15 and number.isdigit():
        raise IdNumberError("is a legacy 15-digit number (issued before 1999): give the 18-character number that replaced it")
    if len(number) != 18:
        raise IdNumberError(f"must be 18 characters, got {len(number)}")
    if not _SHAPE.match(number):
        raise IdNumberError("must be 17 digits followed by a digit or X")
    region = number[:6]
    if region[:2] not in _PROVINCES:
        raise IdNumberError(f"region code starts with {region[:2]}, which is no province")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdNumberError(f"birth date {number[6:14]} is not a calendar date") from None
    if birth > (today or dt.date.today()):
        raise IdNumberError(f"birth date {birth.isoformat()} is in the future")
    if birth < _EARLIEST_BIRTH:
        raise IdNumberError(f"birth date {birth.isoformat()} is before 1900")
    expected = check_character(number[:17])
    if number[17] != expected:
        raise IdNumberError("check character does not match (wrong digit or transposition)")
    sex = "M" if int(number[16]) % 2 == 1 else "F"
    return IdNumberFacts(id_number=number, region_code=region, birth_date=birth, sex=sex)


def is_valid_id_number(value: str, *, today: dt.date | None = None) -> bool:
    """True if ``value`` passes every rule of :func:`validate_id_number`."""
    try:
        validate_id_number(value, today=today)
    except IdNumberError:
        return False
    return True


def upgrade_15_to_18(value: str) -> str:
    """Convert a legacy 15-digit number (before 1999: 2-digit year, no check) to 18 characters.

    >>> upgrade_15_to_18("110105491231002")
    '11010519491231002X'
    """
    if len(value) != 15 or not value.isdigit():
        raise IdNumberError("a legacy ID number has 15 digits")
    first17 = value[:6] + "19" + value[6:]
    return first17 + check_character(first17)


def looks_like_id_number(value: str) -> bool:
    """Shape only (15 or 18 characters of digits, optional X): used to decide what to mask."""
    v = value.strip().upper()
    return bool(re.fullmatch(r"\d{15}|\d{17}[\dX]", v))


def mask_id_number(value: str, *, head: int = 6, tail: int = 4) -> str:
    """Mask an ID number for display: at most the first 6 and last 4 characters stay.

    Roles that need less pass smaller ``head``/``tail``. Anything that is not ID-shaped is masked
    whole except its length, so a mistyped number never leaks either.
    """
    head, tail = min(head, 6), min(tail, 4)
    v = (value or "").strip()
    if len(v) <= head + tail:
        return "*" * len(v)
    return v[:head] + "*" * (len(v) - head - tail) + (v[-tail:] if tail else "")
