"""The service catalogue's codes an ingest checks the need and resource files against.

The catalogue itself is policy (``policy.catalogue``, read from its TOML); the ingest sits below it
and gets only its codes: a need's ``need_type`` must be one of the catalogue's need types, met by
the need's own category, and a resource's ``market`` sub-categories must be the market's.
``Catalogue.codes()`` makes them; the command line and the server pass them to ``ingest_folder``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CatalogueCodes"]


@dataclass(frozen=True)
class CatalogueCodes:
    """A catalogue's name, its need types (code → (name, need category)) and its market sub-categories."""

    name: str
    need_types: dict[str, tuple[str, str]]
    market: frozenset[str]

    def need_type_problem(self, code: str, category: str) -> str | None:
        """Why a need's ``need_type`` is refused, or None.

        >>> codes = CatalogueCodes("district", {"N060": ("课业辅导", "schooling")}, frozenset({"tutoring"}))
        >>> codes.need_type_problem("N060", "schooling") is None
        True
        >>> codes.need_type_problem("N060", "medical")
        "N060 (课业辅导) is met as schooling, not medical (the row's category)"
        >>> codes.need_type_problem("N999", "medical")
        "is not a need type of the catalogue 'district'"
        """
        known = self.need_types.get(code)
        if known is None:
            return f"is not a need type of the catalogue {self.name!r}"
        name, met_as = known
        if met_as != category:
            return f"{code} ({name}) is met as {met_as}, not {category} (the row's category)"
        return None

    def market_problem(self, codes: list[str]) -> str | None:
        """Why a resource's ``market`` is refused, or None.

        >>> CatalogueCodes("district", {}, frozenset({"tutoring"})).market_problem(["tutoring", "spa"])
        "'spa' is not a sub-category of the catalogue 'district' market"
        """
        unknown = [c for c in codes if c not in self.market]
        return f"{unknown[0]!r} is not a sub-category of the catalogue {self.name!r} market" if unknown else None
