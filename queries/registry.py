"""The registry of questions, so that ``api/``, ``viz/`` and the CLI never branch on the engine.

A question is one Cypher text that both engines run, a function that turns its records into the
answer, and its parameters: those of the decorated function after the store. Calling the
decorated function asks the question of a store.

A question that gathers many pieces about one thing (a household's file) may be written in
**parts**: a mapping of names to small Cypher texts, all read in one read transaction, with an
optional ``follow_up`` that, given the parts' records, names more parts and their parameters (the
departments of the programmes found). ``from_records`` then gets a mapping of part names to records.
Several plain ``MATCH`` texts answer a household in a fraction of the time one text of chained
``OPTIONAL MATCH`` takes on LadybugDB (``docs/performance.md``); the texts are still one per part,
read by both engines.

Over Bolt each part is a round trip: where that costs much on Neo4j, a question in parts keeps
``one_text``, the question as one text for Neo4j, with the function that turns its records into
the parts (so ``from_records`` is shared and the answers compare equal). Each use says why.
``one_text_when`` limits it to some parameters: a text that collects per household is fine for a
few households and too much for a whole store (Neo4j holds a transaction's collections in its
transaction memory, while flat parts stream).

>>> @question("example_count", cypher="MATCH (n:Household) RETURN count(*) AS n", from_records=lambda rows, **p: rows[0]["n"])
... def example_count(store):
...     'How many households the store holds.'
>>> from graph.stores.ladybug import LadybugStore
>>> example_count(LadybugStore.in_memory())
0
>>> _ = _REGISTRY.pop("example_count")  # keep the doctest's question out of the real registry
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Question", "get_question", "question", "questions"]


def _as_given(params: dict[str, Any]) -> dict[str, Any]:
    return params


@dataclass(frozen=True)
class Question:
    name: str
    #: The question's parameters, with their defaults (the decorated function's, after the store).
    signature: inspect.Signature
    #: One Cypher text, or named parts (see the module's docstring).
    cypher: str | Mapping[str, str]
    from_records: Callable[..., Any]
    #: The Cypher's parameters from the question's (defaults filled in where the Cypher computes with them).
    cypher_params: Callable[[dict[str, Any]], dict[str, Any]] = _as_given
    #: For a question in parts: (records so far, parameters) -> (more parts, their parameters).
    follow_up: Callable[[dict[str, list[dict[str, Any]]], dict[str, Any]], tuple[Mapping[str, str], dict[str, Any]]] | None = None
    #: For a question in parts, Neo4j's one text and how its records become the parts (see above).
    one_text: tuple[str, Callable[[list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]] | None = None
    #: The question's parameters for which Neo4j reads ``one_text`` (always, if None); else the parts.
    one_text_when: Callable[[dict[str, Any]], bool] | None = None

    def one_text_for(self, params: dict[str, Any]) -> tuple[str, Callable[[list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]] | None:
        """Neo4j's one text for these parameters, or None to read the parts."""
        if self.one_text is None or (self.one_text_when is not None and not self.one_text_when(params)):
            return None
        return self.one_text


_REGISTRY: dict[str, Question] = {}


def question(
    name: str,
    *,
    cypher: str | Mapping[str, str],
    from_records: Callable[..., Any],
    cypher_params: Callable[[dict[str, Any]], dict[str, Any]] = _as_given,
    follow_up: Callable[[dict[str, list[dict[str, Any]]], dict[str, Any]], tuple[Mapping[str, str], dict[str, Any]]] | None = None,
    one_text: tuple[str, Callable[[list[dict[str, Any]]], dict[str, list[dict[str, Any]]]]] | None = None,
    one_text_when: Callable[[dict[str, Any]], bool] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the question ``name`` with the decorated function's parameters; the function
    returned asks it of the store given first."""

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(func)
        signature = signature.replace(parameters=list(signature.parameters.values())[1:])
        _REGISTRY[name] = Question(name, signature, cypher, from_records, cypher_params, follow_up, one_text, one_text_when)

        @functools.wraps(func)
        def ask(store: Any, **params: Any) -> Any:
            return store.run(name, **params)

        return ask

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
