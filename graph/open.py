"""Open the store a command or the server asks for: the embedded one by default, Neo4j by URI.

>>> store = open_store(None, in_memory=True)
>>> store.engine
'embedded'
"""

from __future__ import annotations

import os
from pathlib import Path

from graph.store import GraphStore

__all__ = ["DEFAULT_STORE", "open_store", "store_path_from_env"]

DEFAULT_STORE = "./aidgraph-data"


def store_path_from_env(path: str | Path | None) -> Path:
    """``path``, else ``$AIDGRAPH_STORE``, else ``./aidgraph-data``."""
    return Path(path or os.environ.get("AIDGRAPH_STORE") or DEFAULT_STORE)


def open_store(path: str | Path | None = None, *, neo4j_uri: str | None = None, in_memory: bool = False) -> GraphStore:
    """The embedded store at ``path`` (created if missing), or Neo4j at ``neo4j_uri``.

    ``$AIDGRAPH_NEO4J_URI`` stands for ``neo4j_uri`` only when no store path is given: an explicit
    ``--store`` always wins over the environment.
    """
    if neo4j_uri is None and path is None and not in_memory:
        neo4j_uri = os.environ.get("AIDGRAPH_NEO4J_URI")
    if neo4j_uri:
        from graph.stores.neo4j import Neo4jStore

        return Neo4jStore.from_env(neo4j_uri)
    from graph.stores.ladybug import LadybugStore

    if in_memory:
        return LadybugStore.in_memory()
    return LadybugStore(store_path_from_env(path))
