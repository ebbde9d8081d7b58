"""The server's one store, shared by request threads: reads run together and beside a write.

Both engines have transactions of their own: a read sees what was committed before it began and
never waits for a write. Reads run in worker threads with a
time limit (a query past it answers 504; the thread finishes in the background, its answer
dropped). Whole-graph answers (the audit) are reused for a short while and dropped on any write
through the server; they are kept in a bounded LRU cache (entries and rows), so a client asking
for many different days cannot grow the server's memory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from api.core.errors import ApiError
from api.core.limits import LruCache, rows_of
from graph.regions import RegionTree
from graph.store import GraphStore
from queries.regions import region_tree

__all__ = ["StoreRuntime"]

T = TypeVar("T")


class StoreRuntime:
    def __init__(
        self,
        store: GraphStore,
        *,
        query_timeout_s: float,
        cache_ttl_s: float,
        cache_entries: int,
        cache_rows: int,
        whole_graph_timeout_s: float | None = None,
    ):
        self.store = store
        self.query_timeout_s = query_timeout_s
        self.whole_graph_timeout_s = whole_graph_timeout_s or query_timeout_s
        self.cache_ttl_s = cache_ttl_s
        self._computing: dict[tuple[Any, ...], anyio.Lock] = {}
        self._cache = LruCache(max_entries=cache_entries, max_rows=cache_rows)
        self._cache_lock = threading.Lock()
        self._generation = 0
        self._tree: tuple[int, float, RegionTree] | None = None

    async def region_tree(self) -> RegionTree:
        """The store's region tree, read again after a write of this server's or ``cache_ttl_s``
        (another process may have written: a CLI ingest into the same Neo4j)."""
        with self._cache_lock:
            held, generation = self._tree, self._generation
        now = time.monotonic()
        if held is not None and held[0] == generation and now - held[1] < self.cache_ttl_s:
            return held[2]
        tree = await self.read(region_tree)
        with self._cache_lock:
            if generation == self._generation:
                self._tree = (generation, now, tree)
        return tree

    def _read_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return fn(self.store, *args, **kwargs)

    def _write_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return fn(self.store, *args, **kwargs)
        finally:
            with self._cache_lock:
                self._cache.clear()
                self._generation += 1

    async def read(self, fn: Callable[..., T], *args: Any, _timeout: float | None = None, **kwargs: Any) -> T:
        """``fn(store, *args, **kwargs)`` in a worker thread, within the query time limit."""
        limit = _timeout or self.query_timeout_s
        try:
            with anyio.fail_after(limit):
                return await anyio.to_thread.run_sync(partial(self._read_sync, fn, *args, **kwargs), abandon_on_cancel=True)
        except TimeoutError:
            raise ApiError(504, "query_timeout", f"the query took longer than {limit:g} s; narrow it (a region, a page)") from None

    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(store, ...)`` alone; never abandoned half-way (a write either lands or fails whole)."""
        return await anyio.to_thread.run_sync(partial(self._write_sync, fn, *args, **kwargs))

    async def cached(self, key: tuple[Any, ...], fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A whole-graph answer, reused for ``cache_ttl_s`` unless the server wrote meanwhile.

        It has the longer ``whole_graph_timeout_s`` (an evaluation of 100k households takes half a
        minute), and requests that want the same answer wait for one computation of it.
        """
        lock = self._computing.setdefault(key, anyio.Lock())
        try:
            async with lock:
                now = time.monotonic()
                with self._cache_lock:
                    hit = self._cache.get(key)
                    generation = self._generation
                if hit is not None and now - hit[0] < self.cache_ttl_s:
                    return hit[1]
                value = await self.read(fn, *args, _timeout=self.whole_graph_timeout_s, **kwargs)
                with self._cache_lock:
                    if generation == self._generation:  # a write in between would make this answer stale
                        self._cache.put(key, (now, value), rows=rows_of(value))
                return value
        finally:
            # The lock only serves requests waiting for the same answer: none left, none kept.
            if not lock.statistics().tasks_waiting and self._computing.get(key) is lock:
                del self._computing[key]

    def peek(self, key: tuple[Any, ...]) -> Any | None:
        """A whole-graph answer if one is kept and fresh, without computing it (writes clear the cache)."""
        with self._cache_lock:
            hit = self._cache.get(key)
        return hit[1] if hit is not None and time.monotonic() - hit[0] < self.cache_ttl_s else None

    @property
    def cache(self) -> LruCache:
        return self._cache
