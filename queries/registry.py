"""Questions as functions: ``household_view(store, household_id=...)`` asks whichever engine ``store`` is.

networkx's dispatchable algorithms are the model: a question is a function whose first argument is
a store; the decorator ``question`` gives it one Cypher text that both engines run, a function that
turns its records into the answer, and the typed row its Cypher returns (a ``TypedDict``; the
columns of every answer are checked against it, so a text and its row cannot drift apart). The
store knows no question: it offers one read transaction (``GraphStore.reading``) and nothing else
(the layer test, ``tests/unit/test_layers.py``, keeps ``graph/`` from importing upward).

A question that gathers many pieces about one thing (a household's file) may be written in
**parts**: a mapping of names to small Cypher texts, all read in one read transaction, with an
optional ``follow_up`` that, given the parts' records, names more parts and their parameters (the
departments of the programmes found). ``from_records`` then gets a mapping of part names to records,
and ``row`` is a mapping of part names to rows.
Several plain ``MATCH`` texts answer a household in a fraction of the time one text of chained
``OPTIONAL MATCH`` takes on LadybugDB (``docs/performance.md``); the texts are still one per part,
read by both engines.

Over Bolt each part is a round trip: where that costs much on Neo4j (an engine whose
``round_trips_cost`` is true), a question in parts keeps ``one_text``, the question as one text
for that engine, with the function that turns its records into the parts (so ``from_records`` is
shared and the answers compare equal). Each use says why. ``one_text_when`` limits it to some
parameters: a text that collects per household is fine for a few households and too much for a
whole store (Neo4j holds a transaction's collections in its transaction memory, while flat parts
stream).

Examples
--------
>>> from typing import TypedDict
>>> class CountRow(TypedDict):
...     n: int
>>> @question("example_count", cypher="MATCH (n:Household) RETURN count(*) AS n", row=CountRow,
...           from_records=lambda rows, **p: rows[0]["n"])
... def example_count(store):
...     'How many households the store holds.'
>>> from graph.stores.ladybug import LadybugStore
>>> example_count(LadybugStore.in_memory())
0
>>> get_question("example_count") is example_count.question
True
>>> _ = _REGISTRY.pop("example_count")  # keep the doctest's question out of the real registry
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graph.store import StoreError

__all__ = ["Question", "get_question", "question", "questions"]

Records = list[dict[str, Any]]
Parts = dict[str, Records]


def _as_given(params: dict[str, Any]) -> dict[str, Any]:
    return params


@dataclass(frozen=True)
class Question:
    """A registered question: call it with a store and its parameters (``question(store, **params)``)."""

    name: str
    #: The question's parameters, with their defaults (the decorated function's, after the store).
    signature: inspect.Signature
    #: One Cypher text, or named parts (see the module's docstring).
    cypher: str | Mapping[str, str]
    from_records: Callable[..., Any]
    #: The row each text returns: a ``TypedDict``, or for a question in parts one per part name.
    row: type | Mapping[str, type]
    #: The Cypher's parameters from the question's (defaults filled in where the Cypher computes with them).
    cypher_params: Callable[[dict[str, Any]], dict[str, Any]] = _as_given
    #: For a question in parts: (records so far, parameters) -> (more parts, their parameters).
    follow_up: Callable[[Parts, dict[str, Any]], tuple[Mapping[str, str], dict[str, Any]]] | None = None
    #: For a question in parts, the one text for engines where round trips cost, and how its records become the parts.
    one_text: tuple[str, Callable[[Records], Parts]] | None = None
    #: The question's parameters for which such an engine reads ``one_text`` (always, if None); else the parts.
    one_text_when: Callable[[dict[str, Any]], bool] | None = None
    #: Reads around one thing (a household's file): an engine may run them on one thread.
    small: bool = False

    def one_text_for(self, params: dict[str, Any]) -> tuple[str, Callable[[Records], Parts]] | None:
        """The one text for these parameters, or None to read the parts."""
        if self.one_text is None or (self.one_text_when is not None and not self.one_text_when(params)):
            return None
        return self.one_text

    def __call__(self, store: Any, **params: Any) -> Any:
        """Answer the question from ``store``, whichever engine it is."""
        # Every engine gets every parameter, defaults included (Cypher has no defaults), and an
        # unknown parameter fails the same way on all.
        try:
            bound = self.signature.bind(**params)
        except TypeError as exc:
            raise StoreError(f"{self.name}: {exc}", question=self.name, params=params) from None
        bound.apply_defaults()
        params = dict(bound.arguments)
        try:
            return self.from_records(self._records(store, params), **params)
        except StoreError:
            raise
        except Exception as exc:  # engine errors become one project error
            raise StoreError(f"{self.name} failed on {store.engine}: {exc}", question=self.name, params=params) from exc

    def _records(self, store: Any, params: dict[str, Any]) -> Records | Parts:
        cypher_params = self.cypher_params(params)
        one_text = self.one_text_for(params) if store.round_trips_cost else None
        if one_text is not None:
            text, to_parts = one_text
            parts = to_parts(store.reading(lambda read: read(text, cypher_params)))
            self._check_parts(parts)
            return parts

        def work(read: Callable[[str, dict[str, Any]], Records]) -> Records | Parts:
            if isinstance(self.cypher, str):
                records = read(self.cypher, cypher_params)
                self._check(records, self.row, "")  # type: ignore[arg-type]
                return records
            # A question in parts: each part a small Cypher text, all read in one transaction
            # (a part gets only the parameters its text names), then the follow-up's parts.
            parts = {name: read(text, _named_in(text, cypher_params)) for name, text in self.cypher.items()}
            if self.follow_up is not None:
                more_texts, more = self.follow_up(parts, cypher_params)
                parts |= {name: read(text, _named_in(text, more)) for name, text in more_texts.items()}
            self._check_parts(parts)
            return parts

        return store.reading(work, small=self.small)

    def _check_parts(self, parts: Parts) -> None:
        rows = self.row if isinstance(self.row, Mapping) else {}
        for name, records in parts.items():
            if name not in rows:
                raise StoreError(f"{self.name}: part {name!r} declares no row", question=self.name)
            self._check(records, rows[name], name)

    def _check(self, records: Records, row: type, part: str) -> None:
        """The columns of the first record are the row's (one record is enough: a text's columns are fixed)."""
        if not records:
            return
        expected = set(row.__annotations__)
        if set(records[0]) != expected:
            where = f" part {part!r}" if part else ""
            raise StoreError(
                f"{self.name}{where} returned columns {sorted(records[0])}, its row {row.__name__} declares {sorted(expected)}",
                question=self.name,
            )


def _named_in(text: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a Cypher text names (an engine may refuse parameters a text does not use).

    >>> _named_in("MATCH (h {id: $id}) RETURN h", {"id": 1, "other": 2})
    {'id': 1}
    """
    return {k: v for k, v in params.items() if re.search(r"\$" + re.escape(k) + r"\b", text)}


_REGISTRY: dict[str, Question] = {}


def question(
    name: str,
    *,
    cypher: str | Mapping[str, str],
    row: type | Mapping[str, type],
    from_records: Callable[..., Any],
    cypher_params: Callable[[dict[str, Any]], dict[str, Any]] = _as_given,
    follow_up: Callable[[Parts, dict[str, Any]], tuple[Mapping[str, str], dict[str, Any]]] | None = None,
    one_text: tuple[str, Callable[[Records], Parts]] | None = None,
    one_text_when: Callable[[dict[str, Any]], bool] | None = None,
    small: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make the decorated function the question ``name``: called with a store first and the
    function's parameters, it asks that store (see the module's docstring).

    Examples
    --------
    >>> from typing import TypedDict
    >>> class Row(TypedDict):
    ...     household_id: str
    >>> @question("example_households", cypher="MATCH (h:Household) RETURN h.household_id AS household_id ORDER BY household_id",
    ...           row=Row, from_records=lambda rows: [r["household_id"] for r in rows])
    ... def example_households(store):
    ...     "Every household's id."
    >>> from queries.examples import two_cases
    >>> example_households(two_cases())
    ['H-420106-0001', 'H-420203-0001']
    >>> _ = _REGISTRY.pop("example_households")  # keep the example's question out of the real registry
    """

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(func)
        signature = signature.replace(parameters=list(signature.parameters.values())[1:])
        asked = Question(name, signature, cypher, from_records, row, cypher_params, follow_up, one_text, one_text_when, small)
        _REGISTRY[name] = asked

        @functools.wraps(func)
        def ask(store: Any, **params: Any) -> Any:
            return asked(store, **params)

        ask.question = asked  # type: ignore[attr-defined]
        return ask

    return register


def get_question(name: str) -> Question:
    """The question registered as ``name`` (for code that holds names: benches, parity tests).

    Examples
    --------
    >>> get_question("household_view").name
    'household_view'
    """
    import queries  # noqa: F401  (importing the package registers every question)

    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no question named {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def questions() -> list[str]:
    """The names of every registered question.

    Examples
    --------
    >>> "household_view" in questions()
    True
    """
    import queries  # noqa: F401

    return sorted(_REGISTRY)
