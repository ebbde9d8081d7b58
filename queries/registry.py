"""A small registry of questions, so that ``api/``, ``viz/`` and the CLI never branch on the engine.

Each question pairs a networkx function ``f(G, **params)`` with a Cypher text and a function
that turns the Cypher records into the same result (compare networkx's ``_dispatchable``).

>>> @question("example_count", cypher="MATCH (n) RETURN count(n) AS n", from_records=lambda rows, **p: rows[0]["n"])
... def example_count(G):
...     return G.number_of_nodes()
>>> get_question("example_count").name
'example_count'
>>> _ = _REGISTRY.pop("example_count")  # keep the doctest's question out of the real registry
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Question", "get_question", "question", "questions"]


def _as_given(params: dict[str, Any]) -> dict[str, Any]:
    return params


@dataclass(frozen=True)
class Question:
    name: str
    networkx: Callable[..., Any]
    cypher: str
    from_records: Callable[..., Any]
    #: The Cypher's parameters from the question's (defaults filled in where the Cypher computes with them).
    cypher_params: Callable[[dict[str, Any]], dict[str, Any]] = _as_given


_REGISTRY: dict[str, Question] = {}


def question(
    name: str,
    *,
    cypher: str,
    from_records: Callable[..., Any],
    cypher_params: Callable[[dict[str, Any]], dict[str, Any]] = _as_given,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated networkx function as the embedded answer to ``name``."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        _REGISTRY[name] = Question(name=name, networkx=func, cypher=cypher, from_records=from_records, cypher_params=cypher_params)
        return func

    return register


def get_question(name: str) -> Question:
    import queries  # noqa: F401  (importing the package registers every question)

    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no question named {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def questions() -> list[str]:
    import queries  # noqa: F401

    return sorted(_REGISTRY)
