"""Running the app on uvicorn, with slow clients dropped.

uvicorn closes idle keep-alive connections but has no limit on how long a client may take to send
its request headers, so a few thousand connections that each send half a header stay open for
ever (a slowloris attack). :func:`header_timeout_protocol` is uvicorn's own h11 protocol with that
limit: a connection whose request line and headers are not complete ``header_timeout_s`` seconds
after the connection opened (or after the previous answer, on a kept-alive connection) is closed.
``max_connections`` is uvicorn's ``limit_concurrency``: past it new connections are answered 503.

A client address that sent more malformed or oversized requests (400, 414) than the limiter allows
a minute is cut off as it connects, for the rest of that minute: a flood then costs the server an
accept and a reset per connection, not a parse. No legitimate client sends such requests, so an
office behind one address is not locked out by a colleague's wrong key (401s are limited per
request, in :mod:`api.main`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from api.core.limits import RateLimiter, bad_request_key

__all__ = ["header_timeout_protocol", "serve_app"]


def header_timeout_protocol(header_timeout_s: float, limiter: RateLimiter | None = None, bad_per_minute: int = 30) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing connections whose request headers take longer than
    ``header_timeout_s``, and refusing addresses over ``bad_per_minute`` bad requests in ``limiter``."""

    class HeaderTimeoutH11(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(header_timeout_s, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            # Still waiting for a request's line or headers (IDLE): drop the connection.
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            if limiter is not None:
                peer = transport.get_extra_info("peername")
                if peer and limiter.exhausted(bad_request_key(peer[0]), per_minute=bad_per_minute):
                    self.transport = transport
                    transport.abort()  # before any of the connection's set-up: a flood costs an accept and a reset
                    return
            super().connection_made(transport)
            self._arm()

        def send_400_response(self, msg: str) -> None:
            if limiter is not None and self.client:
                limiter.allow(bad_request_key(self.client[0]), per_minute=bad_per_minute)
            super().send_400_response(msg)

        def handle_events(self) -> None:
            super().handle_events()
            if self.conn.their_state is not h11.IDLE:
                self._disarm()

        def on_response_complete(self) -> None:
            if not self.transport.is_closing():
                self._arm()  # the next request on this connection gets the same time
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self.flow is None:  # refused in connection_made: nothing was set up
                return
            super().connection_lost(exc)

    return HeaderTimeoutH11


def serve_app(app: Any, *, host: str, port: int) -> None:
    """Serve ``app`` (from :func:`api.main.create_app`) until stopped, with its settings' limits.
    No access log: paths can hold ID numbers; the audit trail records every request, masked."""
    import uvicorn

    ctx = app.state.aidgraph
    settings = ctx.settings
    uvicorn.run(
        app,
        host=host,
        port=port,
        http=header_timeout_protocol(settings.header_timeout_s, ctx.limiter, settings.failed_per_minute),
        loop="uvloop",  # accepts and resets connections in C: a flood costs the server far less (docs/performance.md)
        limit_concurrency=settings.max_connections,
        timeout_keep_alive=5,
        access_log=False,
        log_level="warning",
    )
