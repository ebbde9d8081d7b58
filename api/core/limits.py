"""Per-key rate limits and a cap on request bodies (OWASP API4: unrestricted resource use).

>>> bucket = RateLimiter()
>>> [bucket.allow("k", per_minute=2, now=0.0)[0] for _ in range(3)]
[True, True, False]
>>> bucket.allow("k", per_minute=2, now=30.0)[0]
True
>>> cache = LruCache(max_entries=2, max_rows=10)
>>> cache.put("a", [1] * 4); cache.put("b", [2] * 4); cache.put("c", [3] * 4)
>>> sorted(cache.keys())
['b', 'c']
>>> cache.put("d", [4] * 11)  # larger than the whole cache: not kept
>>> sorted(cache.keys())
['b', 'c']
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

__all__ = ["BodyLimit", "LruCache", "RateLimiter", "RequestGuard", "bad_request_key", "refuse", "rows_of"]


class RateLimiter:
    """A token bucket per key: ``per_minute`` tokens, refilled evenly; in memory, one process."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()
        # Keys are client addresses and key ids as well as keys: the table is bounded too (the
        # least recently seen are forgotten; a forgotten key starts again with a full bucket).
        self._max_keys = max_keys

    def allow(self, key: str, *, per_minute: int, now: float | None = None) -> tuple[bool, float]:
        """(allowed, seconds until the next token) for one request of ``key``."""
        now = time.monotonic() if now is None else now
        rate = per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - last) * rate)
            if len(self._buckets) >= self._max_keys:
                self._buckets.popitem(last=False)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return True, 0.0
            self._buckets[key] = (tokens, now)
            return False, (1.0 - tokens) / rate

    def exhausted(self, key: str, *, per_minute: int, now: float | None = None) -> bool:
        """Whether ``key`` has no token left now (without spending one)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (float(per_minute), now))
        return min(float(per_minute), tokens + (now - last) * per_minute / 60.0) < 1.0


def bad_request_key(address: str) -> str:
    """The limiter's key counting an address's malformed or oversized requests (400, 414); past its
    limit the server resets the address's connections as they open (``api.server``)."""
    return f"bad:{address}"


def rows_of(value: Any) -> int:
    """How many rows a cached answer holds: the length of its longest list (a pydantic model's
    too), at least 1. The cache bounds memory by rows: an answer's size grows with its rows."""
    if isinstance(value, list | tuple):
        return max(1, len(value))
    fields = getattr(value, "__dict__", None)
    if isinstance(fields, dict):
        return max([1, *(len(v) for v in fields.values() if isinstance(v, list))])
    return 1


class LruCache:
    """At most ``max_entries`` answers holding at most ``max_rows`` rows together; least recently
    used first out. Thread-safe."""

    def __init__(self, *, max_entries: int, max_rows: int):
        self.max_entries, self.max_rows = max_entries, max_rows
        self._items: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()
        self._rows = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            self._items.move_to_end(key)
            return hit[1]

    def put(self, key: Hashable, value: Any, *, rows: int | None = None) -> None:
        """Keep ``value``, weighed ``rows`` (default: :func:`rows_of` it)."""
        rows = rows_of(value) if rows is None else rows
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._rows -= old[0]
            if rows > self.max_rows:
                return
            self._items[key] = (rows, value)
            self._rows += rows
            while len(self._items) > self.max_entries or self._rows > self.max_rows:
                _, (dropped, _) = self._items.popitem(last=False)
                self._rows -= dropped

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._rows = 0

    def keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._items)

    @property
    def rows(self) -> int:
        return self._rows


class RequestGuard:
    """ASGI middleware, outermost: a request line too long is refused with 414 before anything
    (the audit trail included) sees it, and counted against the client's address. Paths and query
    strings of AidGraph's routes are short; a long one is a flood or a probe."""

    def __init__(self, app: Any, *, limiter: RateLimiter, settings: Any):
        self.app, self.limiter, self.settings = app, limiter, settings

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope.get("raw_path") or scope["path"].encode()
            max_path, max_query = self.settings.max_path_bytes, self.settings.max_query_bytes
            if len(path) > max_path or len(scope.get("query_string") or b"") > max_query:
                address = (scope.get("client") or ("?",))[0]
                self.limiter.allow(bad_request_key(address), per_minute=self.settings.failed_per_minute)
                await refuse(send, 414, "uri_too_long", f"the request path or query is too long (at most {max_path} and {max_query} bytes)")
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """ASGI middleware: refuse bodies over the cap with 413.

    A declared Content-Length is checked before anything is read (the server then holds the
    client to it). A chunked body is read up to the cap and replayed; an upload (a path ending in
    ``upload_suffix``, with the larger ``upload_bytes`` cap) must declare its length (411).
    """

    def __init__(self, app: Any, *, max_bytes: int, upload_bytes: int, upload_suffix: str = "/ingest"):
        self.app, self.max_bytes, self.upload_bytes, self.upload_suffix = app, max_bytes, upload_bytes, upload_suffix

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["path"].rstrip("/").endswith(self.upload_suffix)
        cap = self.upload_bytes if upload else self.max_bytes
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > cap:
                await refuse(send, 413, "payload_too_large", f"the request body is larger than {cap} bytes")
                return
            await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            await self.app(scope, receive, send)
            return
        if upload:
            await refuse(send, 411, "length_required", "an upload must declare its Content-Length")
            return
        chunks, seen = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > cap:
                await refuse(send, 413, "payload_too_large", f"the request body is larger than {cap} bytes")
                return
            if not message.get("more_body"):
                break
        replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replayed() -> dict[str, Any]:
            return replay.pop() if replay else await receive()

        await self.app(scope, replayed, send)


async def refuse(send: Any, status: int, code: str, message: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Send a whole JSON error answer ``{"error": {"code", "message"}}`` through ``send``."""
    body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": body})
