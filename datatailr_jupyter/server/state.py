"""What the server keeps beside the runs: API tokens (hashes only) and the first answer to each Idempotency-Key.

``ServerState`` is the seam; ``SqliteServerState`` keeps both in the served SQLite store's own database (tables
``api_tokens`` and ``idempotency_keys``, schema v2), so they survive a restart, and ``MemoryServerState`` keeps them
in memory (tests, and stores that are not SQLite served without tokens).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from ..errors import ConfigError, InvalidNameError, NotFoundError, StoreError, known
from ..store._schema import write

__all__ = [
    "KEY_TTL_SECONDS",
    "PENDING_STALE_SECONDS",
    "Claim",
    "MemoryServerState",
    "ServerState",
    "SqliteServerState",
    "TokenInfo",
    "TokenNotFoundError",
    "state_for",
]

PENDING_STALE_SECONDS = 120.0
"""A key whose request started this long ago without an answer (its server died) may be tried again."""

KEY_TTL_SECONDS = 24 * 3600.0
"""How long an Idempotency-Key's answer is kept (and replayed); older keys are forgotten, so the table stays small."""

PRUNE_EVERY_SECONDS = 60.0
"""At most one sweep of expired keys per this many seconds per server."""


class TokenNotFoundError(NotFoundError):
    """No live token has that name."""


@dataclass(frozen=True)
class TokenInfo:
    """A token as ``dt token list`` shows it: never the token itself, only the first characters."""

    id: int
    name: str
    role: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True)
class Claim:
    """What ``begin`` found for an Idempotency-Key: nothing (the caller acts and then ``finish``es), the first
    answer to replay, a different request under the same key, or a request with that key still running."""

    kind: str  # "new" | "replay" | "mismatch" | "pending"
    status: int = 0
    response: str = ""


class ServerState(Protocol):
    def add_token(self, name: str, role: str, token_hash: str, prefix: str) -> TokenInfo: ...

    def find_token(self, token_hash: str) -> tuple[TokenInfo, str] | None:
        """The token with that hash and its stored hash (live or revoked), or None."""
        ...

    def list_tokens(self) -> list[TokenInfo]: ...

    def revoke_token(self, name: str) -> TokenInfo: ...

    def has_live_tokens(self) -> bool: ...

    def begin(self, key: str, request_hash: str) -> Claim: ...

    def finish(self, key: str, status: int, response: str) -> None: ...

    def abandon(self, key: str) -> None: ...


def _now_us() -> int:
    return time.time_ns() // 1000


def _time(us: int | None) -> datetime | None:
    return None if us is None else datetime.fromtimestamp(us / 1e6, tz=timezone.utc)


def _check_token_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 100 or not name.isprintable():
        raise InvalidNameError(f"token name {name!r} is not valid: use 1-100 printable characters, e.g. 'ci-reader'")
    return name


def _name_taken(name: str) -> InvalidNameError:
    return InvalidNameError(f"a live token is already named {name!r}; revoke it first or choose another name")


def _no_live_token(name: str, live: list[str]) -> TokenNotFoundError:
    return TokenNotFoundError(f"no live token is named {name!r}; live tokens are {known(live)}")


_TOKEN_COLUMNS = "id, name, role, prefix, created_at, revoked_at"


def _token(row: Any) -> TokenInfo:
    created = _time(row[4])
    assert created is not None
    return TokenInfo(int(row[0]), str(row[1]), str(row[2]), str(row[3]), created, _time(row[5]))


class SqliteServerState:
    """Tokens and idempotency answers in the tables of a SQLite store (its Database: per-thread connections)."""

    def __init__(self, database: Any, label: str) -> None:
        self._db = database
        self._label = label
        self._swept = 0  # when expired keys were last deleted (microseconds since the epoch)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = self._db.conn()
        return conn

    @property
    def database(self) -> Path:
        """The SQLite file the tables are in (resolved)."""
        return Path(self._db.files.db).resolve()

    def add_token(self, name: str, role: str, token_hash: str, prefix: str) -> TokenInfo:
        _check_token_name(name)
        try:
            with write(self._conn()) as tx:
                cur = tx.execute(
                    "INSERT INTO api_tokens (name, role, token_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)",
                    (name, role, token_hash, prefix, _now_us()),
                )
                row = tx.execute(f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE id = ?", (cur.lastrowid,)).fetchone()  # noqa: S608
        except sqlite3.IntegrityError:
            raise _name_taken(name) from None
        return _token(row)

    def find_token(self, token_hash: str) -> tuple[TokenInfo, str] | None:
        row = (
            self._conn()
            .execute(f"SELECT {_TOKEN_COLUMNS}, token_hash FROM api_tokens WHERE token_hash = ?", (token_hash,))  # noqa: S608
            .fetchone()
        )
        return None if row is None else (_token(row), str(row[6]))

    def list_tokens(self) -> list[TokenInfo]:
        rows = self._conn().execute(f"SELECT {_TOKEN_COLUMNS} FROM api_tokens ORDER BY id")  # noqa: S608
        return [_token(r) for r in rows]

    def revoke_token(self, name: str) -> TokenInfo:
        with write(self._conn()) as tx:
            row = tx.execute(
                f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE name = ? AND revoked_at IS NULL",  # noqa: S608
                (name,),
            ).fetchone()
            if row is None:
                live = [n for (n,) in tx.execute("SELECT name FROM api_tokens WHERE revoked_at IS NULL ORDER BY id")]
                raise _no_live_token(name, live)
            now = _now_us()
            tx.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ?", (now, row[0]))
        return replace(_token(row), revoked_at=_time(now))

    def has_live_tokens(self) -> bool:
        return self._conn().execute("SELECT 1 FROM api_tokens WHERE revoked_at IS NULL LIMIT 1").fetchone() is not None

    def begin(self, key: str, request_hash: str) -> Claim:
        with write(self._conn()) as tx:
            now = _now_us()
            if now - self._swept > PRUNE_EVERY_SECONDS * 1e6:
                tx.execute("DELETE FROM idempotency_keys WHERE created_at < ?", (now - int(KEY_TTL_SECONDS * 1e6),))
                self._swept = now
            row = tx.execute(
                "SELECT request_hash, status, response, created_at FROM idempotency_keys WHERE key = ?", (key,)
            ).fetchone()
            if row is not None and now - int(row[3]) > KEY_TTL_SECONDS * 1e6:
                row = None  # expired: forgotten, as the next sweep would
            if row is None or (row[2] is None and now - int(row[3]) > PENDING_STALE_SECONDS * 1e6):
                tx.execute(
                    "INSERT OR REPLACE INTO idempotency_keys (key, request_hash, created_at) VALUES (?, ?, ?)",
                    (key, request_hash, now),
                )
                return Claim("new")
        if row[0] != request_hash:
            return Claim("mismatch")
        if row[2] is None:
            return Claim("pending")
        return Claim("replay", int(row[1]), str(row[2]))

    def finish(self, key: str, status: int, response: str) -> None:
        with write(self._conn()) as tx:
            tx.execute("UPDATE idempotency_keys SET status = ?, response = ? WHERE key = ?", (status, response, key))

    def abandon(self, key: str) -> None:
        with write(self._conn()) as tx:
            tx.execute("DELETE FROM idempotency_keys WHERE key = ? AND response IS NULL", (key,))


class MemoryServerState:
    """The same in memory: lost at exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: list[tuple[TokenInfo, str]] = []
        self._keys: dict[str, tuple[str, int | None, str | None, float]] = {}

    def add_token(self, name: str, role: str, token_hash: str, prefix: str) -> TokenInfo:
        _check_token_name(name)
        with self._lock:
            if any(t.name == name and not t.revoked for t, _ in self._tokens):
                raise _name_taken(name)
            info = TokenInfo(len(self._tokens) + 1, name, role, prefix, datetime.now(timezone.utc))
            self._tokens.append((info, token_hash))
            return info

    def find_token(self, token_hash: str) -> tuple[TokenInfo, str] | None:
        with self._lock:
            return next(((t, h) for t, h in self._tokens if h == token_hash), None)

    def list_tokens(self) -> list[TokenInfo]:
        with self._lock:
            return [t for t, _ in self._tokens]

    def revoke_token(self, name: str) -> TokenInfo:
        with self._lock:
            for i, (t, h) in enumerate(self._tokens):
                if t.name == name and not t.revoked:
                    revoked = replace(t, revoked_at=datetime.now(timezone.utc))
                    self._tokens[i] = (revoked, h)
                    return revoked
            raise _no_live_token(name, [t.name for t, _ in self._tokens if not t.revoked])

    def has_live_tokens(self) -> bool:
        with self._lock:
            return any(not t.revoked for t, _ in self._tokens)

    def begin(self, key: str, request_hash: str) -> Claim:
        with self._lock:
            now = time.monotonic()
            for old in [k for k, v in self._keys.items() if now - v[3] > KEY_TTL_SECONDS]:
                del self._keys[old]
            found = self._keys.get(key)
            if found is None or (found[2] is None and now - found[3] > PENDING_STALE_SECONDS):
                self._keys[key] = (request_hash, None, None, now)
                return Claim("new")
        if found[0] != request_hash:
            return Claim("mismatch")
        if found[1] is None or found[2] is None:
            return Claim("pending")
        return Claim("replay", found[1], found[2])

    def finish(self, key: str, status: int, response: str) -> None:
        with self._lock:
            request_hash, _, _, started = self._keys[key]
            self._keys[key] = (request_hash, status, response, started)

    def abandon(self, key: str) -> None:
        with self._lock:
            found = self._keys.get(key)
            if found is not None and found[2] is None:
                del self._keys[key]


def state_for(store: object) -> ServerState:
    """The ServerState of a store: its own database for the embedded SQLite store; other stores keep no tokens."""
    from ..store.sqlite import SqliteRunStore

    if isinstance(store, SqliteRunStore):
        database = getattr(store, "_db", None)
        if database is None:  # pragma: no cover - a SqliteRunStore always has its Database
            raise StoreError(f"the run store {store.label} has no database")
        return SqliteServerState(database, store.label)
    raise ConfigError(
        f"tokens are kept in an embedded (sqlite://) store; {type(store).__name__} keeps none. Serve a sqlite:// "
        "store, or serve this one on a loopback address without tokens"
    )
