"""Callers, their roles and their API keys (hashed at rest).

A key is shown once, when it is made: ``agk_<key id>_<secret>``. Only its SHA-256 is kept; the
secret is 256 random bits, so a fast hash is enough (a slow password hash guards guessable
secrets, and these are not guessable).

>>> ring = KeyRing(":memory:")
>>> made = ring.create(name="wuchang-1", role=Role.CASEWORKER, region="420106", by="test")
>>> ring.verify(made.token).region
'420106'
>>> ring.revoke(made.key_id, by="test")
True
>>> ring.verify(made.token) is None
True
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from graph.regions import STRUCTURAL, RegionTree

__all__ = ["ROUTE_ROLES", "Caller", "KeyRing", "NewKey", "Role", "may_call"]


class Role(StrEnum):
    CASEWORKER = "caseworker"  # read and write within a region subtree
    AUDITOR = "auditor"  # read across regions, confirm or dismiss findings, no edits to people
    CHARITY = "charity"  # a charity coordinator: unmatched needs their organisation can meet, de-identified
    CONSUMER = "consumer"  # another system: only the routes named on its key, within its region
    ADMIN = "admin"  # keys and uploads; no reading of people


#: Which roles may call each route at all. Object-level checks (region, organisation) come after.
ROUTE_ROLES: dict[str, frozenset[Role]] = {
    "households.search": frozenset({Role.CASEWORKER, Role.AUDITOR, Role.CONSUMER}),
    "households.get": frozenset({Role.CASEWORKER, Role.AUDITOR, Role.CONSUMER, Role.CHARITY}),
    "households.chain": frozenset({Role.CASEWORKER, Role.AUDITOR, Role.CONSUMER}),
    "households.recommendations": frozenset({Role.CASEWORKER, Role.AUDITOR, Role.CONSUMER, Role.CHARITY}),  # a charity: see below
    "households.tier": frozenset({Role.CASEWORKER, Role.AUDITOR, Role.CONSUMER}),
    "persons.get": frozenset({Role.CASEWORKER, Role.AUDITOR, Role.CONSUMER}),
    "policy.warnings": frozenset({Role.CASEWORKER, Role.AUDITOR, Role.CONSUMER}),
    "policy.reviews": frozenset({Role.CASEWORKER, Role.AUDITOR, Role.CONSUMER}),
    "findings.list": frozenset({Role.CASEWORKER, Role.AUDITOR, Role.CONSUMER}),
    "findings.get": frozenset({Role.CASEWORKER, Role.AUDITOR, Role.CONSUMER}),
    "findings.mark": frozenset({Role.AUDITOR}),
    "linkage.unmatched": frozenset({Role.CASEWORKER, Role.AUDITOR, Role.CONSUMER, Role.CHARITY}),
    "linkage.allocation": frozenset({Role.CASEWORKER, Role.AUDITOR, Role.CONSUMER, Role.CHARITY}),
    "linkage.accept": frozenset({Role.CASEWORKER, Role.CONSUMER, Role.CHARITY}),  # a charity's is a proposal
    "linkage.proposals": frozenset({Role.CASEWORKER, Role.AUDITOR, Role.CONSUMER, Role.CHARITY}),
    "linkage.decline": frozenset({Role.CASEWORKER, Role.CONSUMER, Role.CHARITY}),
    "orders.list": frozenset({Role.CASEWORKER, Role.AUDITOR, Role.CONSUMER, Role.CHARITY}),  # a charity: its own orders
    "orders.dispatch": frozenset({Role.CASEWORKER, Role.CONSUMER}),
    "orders.step": frozenset({Role.CASEWORKER, Role.CONSUMER, Role.CHARITY}),  # a charity: its own orders
    "resources.evaluate": frozenset({Role.CASEWORKER, Role.CONSUMER}),
    "resources.standing": frozenset({Role.CASEWORKER, Role.AUDITOR, Role.CONSUMER, Role.CHARITY}),  # a charity: its own
    "referrals.list": frozenset({Role.CASEWORKER, Role.AUDITOR, Role.CONSUMER}),
    "referrals.send": frozenset({Role.CASEWORKER, Role.CONSUMER}),
    "referrals.answer": frozenset({Role.CASEWORKER, Role.CONSUMER}),
    "applications.create": frozenset({Role.CASEWORKER, Role.CONSUMER}),
    "applications.list": frozenset({Role.CASEWORKER, Role.AUDITOR, Role.CONSUMER}),
    "applications.check": frozenset({Role.CASEWORKER, Role.CONSUMER}),
    "applications.decide": frozenset({Role.CASEWORKER, Role.CONSUMER}),
    "identity.unresolved": frozenset({Role.AUDITOR, Role.CONSUMER}),
    "identity.reviews": frozenset({Role.AUDITOR, Role.CONSUMER}),
    "identity.decide": frozenset({Role.AUDITOR}),
    "ingest.upload": frozenset({Role.ADMIN, Role.CONSUMER}),
    "audit_log.list": frozenset({Role.AUDITOR}),
    "keys.list": frozenset({Role.ADMIN}),
    "keys.create": frozenset({Role.ADMIN}),
    "keys.revoke": frozenset({Role.ADMIN}),
}
#: Routes a consumer key may never be given: the audit trail and key management.
_NOT_FOR_CONSUMERS = frozenset({"audit_log.list", "keys.list", "keys.create", "keys.revoke"})
_REGION = re.compile(r"^\d{2,12}$")


@dataclass(frozen=True)
class Caller:
    """Who is asking: from their key. ``region`` is a code whose subtree they may see (None: all)."""

    key_id: str
    name: str
    role: Role
    region: str | None = None
    org: str | None = None  # a charity coordinator's resource id
    routes: frozenset[str] = frozenset()  # a consumer's routes
    rate_per_minute: int | None = None
    #: The region tree scope is judged by (``PART_OF`` links, not code prefixes): the server's, set per request.
    tree: RegionTree = field(default=STRUCTURAL, compare=False, repr=False)

    def sees_region(self, region_code: str | None) -> bool:
        """The caller's region scope covers ``region_code`` (by the region tree)."""
        return self.tree.contains(self.region, region_code)


def may_call(caller: Caller, route: str) -> bool:
    """The caller's role may call ``route``; a consumer only the routes on its key."""
    if caller.role not in ROUTE_ROLES[route]:
        return False
    return caller.role is not Role.CONSUMER or route in caller.routes


@dataclass(frozen=True)
class NewKey:
    key_id: str
    token: str  # shown once
    caller: Caller


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class KeyRing:
    """API keys in a SQLite file: made, listed and revoked by ``aidgraph keys`` or an admin."""

    def __init__(self, path: str | Path):
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS api_key (key_id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,"
            " region TEXT, org TEXT, routes TEXT NOT NULL, rate_per_minute INTEGER, sha256 TEXT NOT NULL,"
            " created_at TEXT NOT NULL, created_by TEXT NOT NULL, revoked_at TEXT, revoked_by TEXT)"
        )

    def create(
        self,
        *,
        name: str,
        role: Role | str,
        by: str,
        region: str | None = None,
        org: str | None = None,
        routes: list[str] | None = None,
        rate_per_minute: int | None = None,
    ) -> NewKey:
        """Make a key; raise ValueError naming the field when the scope does not fit the role."""
        try:
            role = Role(role)
        except ValueError:
            raise ValueError(f"role: {role!r} is not one of {', '.join(r.value for r in Role)}") from None
        if not name.strip():
            raise ValueError("name: a key needs a name (who or which system holds it)")
        if region is not None and not _REGION.match(region):
            raise ValueError(f"region: {region!r} is not a region code (2 to 12 digits)")
        if role is Role.CASEWORKER and region is None:
            raise ValueError("region: a caseworker key needs the region it works in")
        if role is Role.CHARITY and not org:
            raise ValueError("org: a charity coordinator key needs its organisation's resource id")
        if role is not Role.CHARITY and org:
            raise ValueError("org: only a charity coordinator key names an organisation")
        routes = sorted(set(routes or []))
        if role is Role.CONSUMER:
            unknown = [r for r in routes if r not in ROUTE_ROLES or r in _NOT_FOR_CONSUMERS or Role.CONSUMER not in ROUTE_ROLES[r]]
            if not routes or unknown:
                allowed = sorted(r for r, roles in ROUTE_ROLES.items() if Role.CONSUMER in roles)
                raise ValueError(
                    f"routes: a consumer key needs routes from {', '.join(allowed)}; not allowed: {', '.join(unknown) or 'none given'}"
                )
        elif routes:
            raise ValueError("routes: only a consumer key is limited to named routes")
        if rate_per_minute is not None and rate_per_minute < 1:
            raise ValueError("rate_per_minute: must be at least 1")
        key_id = secrets.token_hex(4)
        token = f"agk_{key_id}_{secrets.token_urlsafe(32)}"
        with self._lock:
            self._db.execute(
                "INSERT INTO api_key (key_id, name, role, region, org, routes, rate_per_minute, sha256, created_at, created_by)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key_id, name, role.value, region, org, json.dumps(routes), rate_per_minute, _hash(token), _now(), by),
            )
        caller = Caller(key_id, name, role, region, org, frozenset(routes), rate_per_minute)
        return NewKey(key_id=key_id, token=token, caller=caller)

    def verify(self, token: str) -> Caller | None:
        """The caller a token belongs to, or None (unknown, malformed or revoked)."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "agk":
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT key_id, name, role, region, org, routes, rate_per_minute, sha256 FROM api_key WHERE key_id = ? AND revoked_at IS NULL",
                (parts[1],),
            ).fetchone()
        if row is None or not hmac.compare_digest(row[7], _hash(token)):
            return None
        return Caller(row[0], row[1], Role(row[2]), row[3], row[4], frozenset(json.loads(row[5])), row[6])

    def revoke(self, key_id: str, *, by: str) -> bool:
        """Revoke a key at once; False if there is no such live key."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE api_key SET revoked_at = ?, revoked_by = ? WHERE key_id = ? AND revoked_at IS NULL", (_now(), by, key_id)
            )
        return cur.rowcount == 1

    def list(self) -> list[dict[str, Any]]:
        """Every key, newest first, without its hash."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key_id, name, role, region, org, routes, rate_per_minute, created_at, created_by, revoked_at, revoked_by"
                " FROM api_key ORDER BY created_at DESC, key_id"
            ).fetchall()
        cols = (
            "key_id",
            "name",
            "role",
            "region",
            "org",
            "routes",
            "rate_per_minute",
            "created_at",
            "created_by",
            "revoked_at",
            "revoked_by",
        )
        return [{**dict(zip(cols, r, strict=True)), "routes": json.loads(r[5])} for r in rows]

    def close(self) -> None:
        self._db.close()
