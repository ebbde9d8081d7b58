"""The region tree: which region lies inside which, by the ``PART_OF`` links, not by the characters.

Codes are 统计用区划代码 (DOMAIN.md): 2 digits province, 2 city, 2 county, 3 township, 3 village,
given in full (12 digits) or cut after a level (``420106``, ``420106005``). A city code is not a
prefix of its counties' codes (``420100`` and ``420102``), so containment follows the parents.

Each code is compared in its 12-digit form. A code's parent is its region's ``PART_OF`` target
when the code is a known region; otherwise (a village the region file does not list) the code's
own structure gives the next level up (its last non-zero level zeroed), until a known region is
reached. A county-level city directly under its province (``429004`` 仙桃市) is therefore inside
the province when the region file says so, whatever its digits.

>>> tree = RegionTree({"420000": None, "420100": "420000", "420106": "420100", "429004": "420000"})
>>> tree.contains("420100", "420106005001"), tree.contains("420100", "420203100201")
(True, False)
>>> tree.contains("420000", "429004"), tree.contains("429000", "429004")
(True, False)
>>> STRUCTURAL.contains("420100", "420102"), STRUCTURAL.contains("4201", "420102003")
(True, True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

__all__ = ["STRUCTURAL", "RegionTree", "full_code", "short_code"]

LEVEL_ENDS = (2, 4, 6, 9, 12)


def full_code(code: str) -> str:
    """The 12-digit form of a region code (``420106`` -> ``420106000000``)."""
    return code.strip().ljust(12, "0")


def short_code(code: str) -> str:
    """The code cut after its last non-zero level (``420100000000`` -> ``4201``; ``420106005001`` stays).

    >>> short_code("420100"), short_code("420106005000"), short_code("420106005001")
    ('4201', '420106005', '420106005001')
    """
    full = full_code(code)
    return next((full[:n] for n in LEVEL_ENDS if full[:n].ljust(12, "0") == full), full)


def _written_forms(code12: str) -> list[str]:
    """Every way a region file may write the code: cut after any level from its last non-zero one on."""
    return [code12[:n] for n in LEVEL_ENDS if code12[:n].ljust(12, "0") == code12]


def _structural_parent(code12: str) -> str | None:
    """The next level up by the code's own digits: its last non-zero level zeroed (None above a province)."""
    for start, end in zip((0, *LEVEL_ENDS), LEVEL_ENDS, strict=False):
        if int(code12[start:end] or 0) and not int(code12[end:] or 0):
            return None if start == 0 else code12[:start].ljust(12, "0")
    return None


class RegionTree:
    """Parents of the known regions, and containment of any code in any other."""

    def __init__(self, parents: Mapping[str, str | None]) -> None:
        self._parent = {full_code(c): (full_code(p) if p else None) for c, p in parents.items()}
        self._ancestors: dict[str, tuple[str, ...]] = {}

    def __len__(self) -> int:
        return len(self._parent)

    def parent(self, code: str) -> str | None:
        """The 12-digit code of the region ``code`` is directly part of (None at the top)."""
        c = full_code(code)
        return self._parent[c] if c in self._parent else _structural_parent(c)

    def ancestors(self, code: str) -> tuple[str, ...]:
        """``code`` and every region it lies in, innermost first, in 12-digit form."""
        c = full_code(code)
        if c not in self._ancestors:
            chain, seen, up = [], set(), c
            while up is not None and up not in seen:  # a cycle in bad data ends the walk
                chain.append(up)
                seen.add(up)
                up = self._parent[up] if up in self._parent else _structural_parent(up)
            if len(self._ancestors) > 200_000:
                self._ancestors.clear()
            self._ancestors[c] = tuple(chain)
        return self._ancestors[c]

    def ancestor_codes(self, code: str) -> list[str]:
        """Every written form of ``code`` and of the regions it lies in, for a lookup by equality
        (``r.region_code IN $codes``): the codes a resource serving this place may carry.

        >>> [c for c in STRUCTURAL.ancestor_codes("420106") if c.startswith("4201")]
        ['4201', '420100', '420100000', '420100000000', '420106', '420106000', '420106000000']
        """
        return sorted({form for a in self.ancestors(code) for form in _written_forms(a)})

    def contains(self, scope: str | None, code: str | None) -> bool:
        """``code`` lies in ``scope`` (or is it); everything lies in no scope (None), nothing unknown in one."""
        if scope is None:
            return True
        if not code:
            return False
        return full_code(scope) in self.ancestors(code)

    def within(self, scope: str | None) -> Callable[[str | None], bool]:
        """A test of "lies in ``scope``" for filtering many codes."""
        return lambda code: self.contains(scope, code)

    def any_within(self, scope: str | None, codes: Iterable[str | None]) -> bool:
        return scope is None or any(self.contains(scope, c) for c in codes)


#: Containment by the codes' own structure alone: for callers with no store at hand.
STRUCTURAL = RegionTree({})
