"""Per-key rate limits and a cap on request bodies (OWASP API4: unrestricted resource use).

>>> bucket = RateLimiter()
>>> [bucket.allow("k", per_minute=2, now=0.0)[0] for _ in range(3)]
[True, True, False]
>>> bucket.allow("k", per_minute=2, now=30.0)[0]
True
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

__all__ = ["BodyLimit", "RateLimiter"]


class RateLimiter:
    """A token bucket per key: ``per_minute`` tokens, refilled evenly; in memory, one process."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str, *, per_minute: int, now: float | None = None) -> tuple[bool, float]:
        """(allowed, seconds until the next token) for one request of ``key``."""
        now = time.monotonic() if now is None else now
        rate = per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key, (float(per_minute), now))
            tokens = min(float(per_minute), tokens + (now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return True, 0.0
            self._buckets[key] = (tokens, now)
            return False, (1.0 - tokens) / rate


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
                await _refuse(send, 413, "payload_too_large", f"the request body is larger than {cap} bytes")
                return
            await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            await self.app(scope, receive, send)
            return
        if upload:
            await _refuse(send, 411, "length_required", "an upload must declare its Content-Length")
            return
        chunks, seen = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > cap:
                await _refuse(send, 413, "payload_too_large", f"the request body is larger than {cap} bytes")
                return
            if not message.get("more_body"):
                break
        replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replayed() -> dict[str, Any]:
            return replay.pop() if replay else await receive()

        await self.app(scope, replayed, send)


async def _refuse(send: Any, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
