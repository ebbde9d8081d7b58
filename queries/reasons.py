"""The reasons questions give in words (why a household is on the warning list, why a resource is
recommended), each written once as a template: the questions format them, and the workbench
parses them back (template and values) to show them in the caseworker's language.

>>> text = CAPACITY.format(left=3, capacity=8)
>>> text
'capacity left 3 of 8'
>>> parse(text)
('capacity left {left} of {capacity}', {'left': '3', 'capacity': '8'})
>>> parse("anything else") is None
True
"""

from __future__ import annotations

import re
from functools import cache

__all__ = [
    "CAPACITY",
    "PROXIMITY",
    "PROXIMITY_LEVELS",
    "SATISFACTION",
    "SERVED_BEFORE",
    "SERVES",
    "SKILLS_FIT",
    "TEMPLATES",
    "WARNING_INCOME",
    "WARNING_TOP",
    "parse",
]

WARNING_TOP = "hardship index {index:g} in the top {share:.0%} (rank {rank} of {total})"
WARNING_INCOME = "per-capita income {income:g} below {multiple:g} x the standard = {line:g}"
SERVES = "serves {category}"
PROXIMITY = "{level} ({proximity:.2f})"
SATISFACTION = "satisfaction {value:.2f}"
CAPACITY = "capacity left {left} of {capacity}"
SERVED_BEFORE = "served this family before"
SKILLS_FIT = "skills fit the need"
#: A resource's proximity score → the words for it (a key of the ``proximity`` terms).
PROXIMITY_LEVELS = {1.0: "same village or community", 0.75: "same township", 0.5: "same county", 0.33: "same city or wider"}
TEMPLATES = (WARNING_TOP, WARNING_INCOME, SERVES, SATISFACTION, CAPACITY, SERVED_BEFORE, SKILLS_FIT, PROXIMITY)
_FIELD = re.compile(r"\{(\w+)(?::[^}]*)?\}")


@cache
def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    found = []
    for template in TEMPLATES:
        parts, last = [], 0
        for m in _FIELD.finditer(template):
            parts += [re.escape(template[last : m.start()]), f"(?P<{m.group(1)}>.+?)"]
            last = m.end()
        parts.append(re.escape(template[last:]))
        found.append((_FIELD.sub(lambda m: "{" + m.group(1) + "}", template), re.compile("^" + "".join(parts) + "$")))
    return found


def parse(text: str) -> tuple[str, dict[str, str]] | None:
    """(the template without format specs, its values as text) of a reason, or None.

    Examples
    --------
    >>> parse("satisfaction 0.96")
    ('satisfaction {value}', {'value': '0.96'})
    >>> parse("not a reason") is None
    True
    """
    for template, pattern in _patterns():
        m = pattern.match(text)
        if m is not None:
            return template, m.groupdict()
    return None
