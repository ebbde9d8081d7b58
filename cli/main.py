"""The ``aidgraph`` command. The commands live in ``cli/commands/`` by group and register on the
app in ``cli/app.py``; this module puts them together and runs them."""

from __future__ import annotations

import sys

import cli.commands  # noqa: F401  (registers every command on the app)
from cli.app import EXIT_ERROR, EXIT_FILE_REJECTED, EXIT_ROWS_REJECTED, app, err

__all__ = ["EXIT_ERROR", "EXIT_FILE_REJECTED", "EXIT_ROWS_REJECTED", "app", "run"]


def run() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    run()
