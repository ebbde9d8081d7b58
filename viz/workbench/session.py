"""Workbench sessions: the API key is typed once at the login page and held by the server.

The browser gets a random session id in an HttpOnly, SameSite=Strict cookie, never the key. The
key stays in the server's memory (never written) and is checked again on every page, so a key
revoked with ``aidgraph keys revoke`` ends its sessions at the next click. Sessions are bounded:
at most ``MAX_SESSIONS`` (the oldest goes first), each ends after ``IDLE_S`` without a page and
``MAX_AGE_S`` in all. Every form and every htmx request carries the session's CSRF token; a POST
without it, or with another session's, is refused.

>>> sessions = Sessions(max_sessions=2)
>>> a = sessions.start("agk_a_x", lang="zh"); b = sessions.start("agk_b_y", lang="zh")
>>> c = sessions.start("agk_c_z", lang="en")
>>> sessions.find(a.sid) is None, sessions.find(c.sid).token
(True, 'agk_c_z')
>>> sessions.csrf_ok(c, c.csrf), sessions.csrf_ok(c, b.csrf), sessions.csrf_ok(c, None)
(True, False, False)
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

__all__ = ["COOKIE", "LANG_COOKIE", "LOGIN_CSRF_COOKIE", "Session", "Sessions"]

COOKIE = "aidgraph_session"
LANG_COOKIE = "aidgraph_lang"
LOGIN_CSRF_COOKIE = "aidgraph_login_csrf"
MAX_SESSIONS = 2_000
IDLE_S = 30 * 60
MAX_AGE_S = 10 * 60 * 60


@dataclass
class Session:
    sid: str
    token: str  # the API key, in memory only
    csrf: str
    lang: str
    as_of: str | None = None  # the working day the user chose, if any
    started: float = field(default_factory=time.monotonic)
    seen: float = field(default_factory=time.monotonic)


class Sessions:
    """The open sessions, bounded in number and age; safe across the server's threads."""

    def __init__(self, *, max_sessions: int = MAX_SESSIONS, idle_s: float = IDLE_S, max_age_s: float = MAX_AGE_S):
        self.max_sessions, self.idle_s, self.max_age_s = max_sessions, idle_s, max_age_s
        self._open: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, token: str, *, lang: str) -> Session:
        session = Session(sid=secrets.token_urlsafe(32), token=token, csrf=secrets.token_urlsafe(32), lang=lang)
        with self._lock:
            self._open[session.sid] = session
            while len(self._open) > self.max_sessions:
                self._open.popitem(last=False)
        return session

    def find(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._open.get(sid)
            if session is None:
                return None
            if now - session.seen > self.idle_s or now - session.started > self.max_age_s:
                del self._open[sid]
                return None
            session.seen = now
            self._open.move_to_end(sid)
            return session

    def end(self, sid: str | None) -> None:
        with self._lock:
            self._open.pop(sid or "", None)

    def end_key(self, token: str) -> None:
        """End every session of a key (it was revoked)."""
        with self._lock:
            for sid in [s.sid for s in self._open.values() if s.token == token]:
                del self._open[sid]

    @staticmethod
    def csrf_ok(session: Session, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(session.csrf.encode(), str(sent).encode())

    def __len__(self) -> int:
        return len(self._open)
