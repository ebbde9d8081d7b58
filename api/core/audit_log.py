"""The audit trail: who read or changed whose data, through which route, when.

Append-only: SQLite triggers refuse any UPDATE or DELETE, and each entry carries the SHA-256 of
the one before it, so a removed or edited line breaks :meth:`AuditLog.verify_chain`. Entries
never hold an unmasked identifier: ID numbers are kept masked (6 + 4) and as a keyed hash, so
an auditor can still ask "who looked at this person?" by giving the full number. Each entry also
keeps the regions of the households it concerns, so an auditor scoped to a region reads only the
entries about that region.

>>> log = AuditLog(":memory:", secret=b"k" * 32)
>>> _ = log.append(key_id="k1", key_name="w", role="caseworker", method="GET", route="/api/v1/households/{household_id}",
...                status=200, households=["H-1"], persons=["420106198305141516"])
>>> [e["persons"] for e in log.query(person="420106198305141516")]
[['420106********1516']]
>>> log.verify_chain()
1
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from graph.national_id import mask_id_number
from graph.privacy import mask_tree
from graph.regions import STRUCTURAL, RegionTree

__all__ = ["AuditLog", "AuditLogError"]


def new_request_id() -> str:
    """A random request id, in groups of four hex digits so that it never reads as an ID number.

    >>> import re; bool(re.fullmatch(r"[0-9a-f]{4}(-[0-9a-f]{4}){3}", new_request_id()))
    True
    """
    return "-".join(secrets.token_hex(2) for _ in range(4))


class AuditLogError(RuntimeError):
    """The trail could not be written or does not verify."""


#: The fields of an entry, in the order the hash chain covers them.
_HASHED = (
    "at",
    "request_id",
    "key_id",
    "key_name",
    "role",
    "method",
    "route",
    "status",
    "households",
    "persons",
    "person_tags",
    "other_subjects",
    "params",
)
_LISTS = ("households", "persons", "person_tags", "other_subjects", "params")
#: Hashed only when not empty, so that entries written before regions were kept still verify.
_OPTIONAL_LISTS = ("regions",)
#: What a query returns: the entry without the keyed hashes.
_COLUMNS = ("seq", *(k for k in _HASHED if k != "person_tags"), *_OPTIONAL_LISTS)


class AuditLog:
    def __init__(self, path: str | Path, *, secret: bytes | None = None):
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._secret = secret if secret is not None else _load_secret(Path(path).with_suffix(".secret"))
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        #: The region tree the ``region`` filter follows, set (under the lock) by each query.
        self._tree: RegionTree = STRUCTURAL
        self._db.create_function("aidgraph_within", 2, lambda scope, code: int(self._tree.contains(scope, code)), deterministic=True)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # an entry the server acknowledged must survive a crash
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS audit_entry (
              seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, request_id TEXT NOT NULL,
              key_id TEXT, key_name TEXT, role TEXT, method TEXT NOT NULL, route TEXT NOT NULL, status INTEGER NOT NULL,
              households TEXT NOT NULL, persons TEXT NOT NULL, person_tags TEXT NOT NULL, other_subjects TEXT NOT NULL,
              params TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS audit_entry_key ON audit_entry (key_id);
            CREATE TRIGGER IF NOT EXISTS audit_entry_no_update BEFORE UPDATE ON audit_entry
              BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
            CREATE TRIGGER IF NOT EXISTS audit_entry_no_delete BEFORE DELETE ON audit_entry
              BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
            """
        )
        if "regions" not in {r[1] for r in self._db.execute("PRAGMA table_info(audit_entry)")}:
            self._db.execute("ALTER TABLE audit_entry ADD COLUMN regions TEXT NOT NULL DEFAULT '[]'")
        row = self._db.execute("SELECT hash FROM audit_entry ORDER BY seq DESC LIMIT 1").fetchone()
        self._last_hash = row[0] if row else ""

    def person_tag(self, id_number: str) -> str:
        """A keyed hash of an ID number: equal numbers give equal tags; the number cannot be read back."""
        return hmac.new(self._secret, id_number.upper().encode(), hashlib.sha256).hexdigest()[:24]

    def append(
        self,
        *,
        key_id: str | None,
        key_name: str | None,
        role: str | None,
        method: str,
        route: str,
        status: int,
        households: Iterable[str] = (),
        persons: Iterable[str] = (),
        other_subjects: Iterable[str] = (),
        params: dict[str, Any] | None = None,
        request_id: str | None = None,
        regions: Iterable[str] = (),
    ) -> int:
        """Write one entry (raises AuditLogError if it cannot); return its sequence number."""
        persons = sorted(set(persons))
        entry = {
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "request_id": request_id or new_request_id(),
            "key_id": key_id,
            "key_name": key_name,
            "role": role,
            "method": method,
            "route": route,
            "status": status,
            "households": sorted(set(households)),
            "persons": [mask_id_number(p) for p in persons],
            "person_tags": [self.person_tag(p) for p in persons],
            "other_subjects": mask_tree(sorted(set(other_subjects))),
            "params": mask_tree(params or {}),
        }
        if regions := sorted(set(regions)):
            entry["regions"] = regions
        text = {k: json.dumps(v, ensure_ascii=False, sort_keys=True) if isinstance(v, list | dict) else v for k, v in entry.items()}
        try:
            with self._lock:
                digest = hashlib.sha256((self._last_hash + json.dumps(entry, ensure_ascii=False, sort_keys=True)).encode()).hexdigest()
                cur = self._db.execute(
                    "INSERT INTO audit_entry (at, request_id, key_id, key_name, role, method, route, status, households, persons,"
                    " person_tags, other_subjects, params, regions, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*(text[k] for k in _HASHED), text.get("regions", "[]"), self._last_hash, digest),
                )
                self._last_hash = digest
                return int(cur.lastrowid or 0)
        except sqlite3.Error as exc:
            raise AuditLogError(f"the audit trail could not be written: {exc}") from exc

    def query(
        self,
        *,
        key_id: str | None = None,
        route: str | None = None,
        household: str | None = None,
        person: str | None = None,
        subject: str | None = None,
        since: str | None = None,
        until: str | None = None,
        region: str | None = None,
        tree: RegionTree | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Entries, newest first, filtered; ``person`` is a full ID number, matched by its keyed hash;
        ``region`` keeps the entries about households of that region (by ``tree``, the server's region tree)."""
        where, args = self._where(key_id, route, household, person, subject, since, until, region)
        with self._lock:
            self._tree = tree or STRUCTURAL
            rows = self._db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM audit_entry{where} ORDER BY seq DESC LIMIT ? OFFSET ?",  # noqa: S608 (fixed column names; values are parameters)
                (*args, limit, offset),
            ).fetchall()
        return [self._row(r) for r in rows]

    def count(self, *, tree: RegionTree | None = None, **filters: Any) -> int:
        where, args = self._where(
            *(filters.get(k) for k in ("key_id", "route", "household", "person", "subject", "since", "until", "region"))
        )
        with self._lock:
            self._tree = tree or STRUCTURAL
            return int(self._db.execute(f"SELECT count(*) FROM audit_entry{where}", args).fetchone()[0])  # noqa: S608

    def _where(self, key_id, route, household, person, subject, since, until, region=None) -> tuple[str, list[Any]]:
        clauses, args = [], []
        for column, value in (("key_id", key_id), ("route", route)):
            if value:
                clauses.append(f"{column} = ?")
                args.append(value)
        # The JSON lists hold quoted strings, so a quoted search term matches whole elements only.
        for column, value in (
            ("households", household),
            ("person_tags", self.person_tag(person) if person else None),
            ("other_subjects", subject),
        ):
            if value:
                clauses.append(f"instr({column}, ?) > 0")
                args.append(json.dumps(value, ensure_ascii=False))
        if since:
            clauses.append("at >= ?")
            args.append(since)
        if until:
            clauses.append("at < ?")
            args.append(until)
        if region:
            clauses.append("EXISTS (SELECT 1 FROM json_each(regions) WHERE aidgraph_within(?, value))")
            args.append(region)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args

    @staticmethod
    def _row(r: tuple[Any, ...]) -> dict[str, Any]:
        entry = dict(zip(_COLUMNS, r, strict=True))
        for k in ("households", "persons", "other_subjects", "params", "regions"):
            entry[k] = json.loads(entry[k])
        return entry

    def verify_chain(self) -> int:
        """Recompute every hash; return the number of entries, or raise AuditLogError at the first broken one."""
        prev = ""
        n = 0
        with self._lock:
            rows = self._db.execute(
                f"SELECT seq, {', '.join(_HASHED)}, regions, prev_hash, hash FROM audit_entry ORDER BY seq"  # noqa: S608 (fixed names)
            ).fetchall()
        for row in rows:
            entry = dict(zip(_HASHED, row[1:-3], strict=True))
            for k in _LISTS:
                entry[k] = json.loads(entry[k])
            if regions := json.loads(row[-3]):
                entry["regions"] = regions
            digest = hashlib.sha256((prev + json.dumps(entry, ensure_ascii=False, sort_keys=True)).encode()).hexdigest()
            if row[-2] != prev or row[-1] != digest:
                raise AuditLogError(f"audit trail broken at entry {row[0]}")
            prev = digest
            n += 1
        return n

    def verify_writable(self) -> None:
        """Raise if an entry could not be written now (locked or read-only file)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("ROLLBACK")

    def close(self) -> None:
        self._db.close()


def _load_secret(path: Path) -> bytes:
    """The key of the person tags: made once, readable by the server's user only."""
    if str(path).startswith(":memory:"):
        return secrets.token_bytes(32)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    return path.read_bytes()
