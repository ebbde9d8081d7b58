"""What every command shares: the Typer app the command groups register on (as Prefect's CLI
does), the consoles, the options, opening a store, and one way to answer (``emit``).

Errors are one line on stderr (``error: ...``) and a non-zero exit, never a traceback, unless
``--debug`` is given.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from graph.open import open_store, store_path_from_env
from graph.privacy import mask_tree
from graph.store import GraphStore, StoreError

app = typer.Typer(
    name="aidgraph",
    help="AidGraph: households, kin, programmes, aid records, needs and resources as one graph.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped output (CI logs, files) gets wide tables rather than rich's 80 columns.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 180)
# soft_wrap: a message is one line however long (scripts and logs read it by line).
err = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 180)

#: Exit codes. 0: done. 1: could not run. 3: some rows rejected. 4: a file rejected whole.
EXIT_ERROR, EXIT_ROWS_REJECTED, EXIT_FILE_REJECTED = 1, 3, 4

_state = {"debug": False}
F = TypeVar("F", bound=Callable[..., Any])

StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help="Embedded store folder (default ./aidgraph-data, or $AIDGRAPH_STORE).", show_default=False),
]
Neo4jOpt = Annotated[
    str | None,
    typer.Option("--neo4j", help="Neo4j URI (bolt:// or neo4j://); also $AIDGRAPH_NEO4J_URI.", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def _table(title: str, *columns: str, numeric: tuple[str, ...] = ()) -> Table:
    """A titled table with these columns; the ``numeric`` ones right-aligned."""
    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="right" if col in numeric else "left")
    return table


def friendly(func: F) -> F:
    """Turn expected failures into one line and exit code 1 (a traceback only with --debug)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except (StoreError, OSError, ValueError, KeyError) as exc:
            if _state["debug"]:
                raise
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            err.print(f"error: {message}", markup=False)
            raise typer.Exit(EXIT_ERROR) from None

    return wrapper  # type: ignore[return-value]


class _FirstLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return "warning: Neo4j driver: " + record.getMessage().strip().splitlines()[0]


def _driver_warnings_as_one_line() -> None:
    """The Neo4j driver says when it retries a transaction (a lost connection, a deadlock):
    useful to an operator during a long ingest, as one line each, never a traceback."""
    logger = logging.getLogger("neo4j")
    if not any(isinstance(h.formatter, _FirstLine) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_FirstLine())
        logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False


@app.callback()
def main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False) -> None:
    _state["debug"] = debug
    _driver_warnings_as_one_line()


def _open(store: Path | None, neo4j: str | None) -> GraphStore:
    return open_store(store, neo4j_uri=neo4j)


def _open_embedded(store: Path | None) -> GraphStore:
    from graph.stores.ladybug import DATABASE_FILE, LadybugStore

    path = store_path_from_env(store)
    if not (path / DATABASE_FILE).is_file() and not (path / "graph.sqlite").is_file():
        raise ValueError(f"no embedded store at {path}")
    return LadybugStore(path)


def _day(as_of: str | None) -> dt.date | None:
    return dt.date.fromisoformat(as_of) if as_of else None


AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="The day to judge on (YYYY-MM-DD; default today).")]


PolicyOpt = Annotated[
    Path | None, typer.Option("--policy", help="A policy file (TOML); default: the shipped default (policy/configs/default.toml).")
]


CatalogueOpt = Annotated[
    Path | None,
    typer.Option("--catalogue", help="A service catalogue (TOML); default: the shipped one (policy/configs/catalogue.toml)."),
]


StateOpt = Annotated[
    Path | None,
    typer.Option(
        "--state", help="The API's keys and audit trail (default ./aidgraph-api, or $AIDGRAPH_API_STATE_DIR).", show_default=False
    ),
]


def _state_dir(state: Path | None) -> Path:
    from api.core.config import Settings

    return state or Settings.from_env().state_dir


def emit(result: Any, *, as_json: bool, table: Callable[[], None] | None = None) -> None:
    """Answer a command: ``result`` as JSON (every identifier in it masked, keys sorted) with
    ``--json`` (or when there is no table), else ``table()``, which prints the tables."""
    if as_json or table is None:
        data = result.model_dump(mode="json") if hasattr(result, "model_dump") else result
        out.print_json(json.dumps(mask_tree(data), ensure_ascii=False, sort_keys=True, default=str))
    else:
        table()
