"""One store directory's SQLite connections, shared by every SqliteRunStore handle on it in this process.

Only SQLite ever opens runs.db and its -wal / -shm files here: closing any other descriptor on them would drop
the POSIX locks of this process's live connections, and another process could then checkpoint or delete a WAL
still in use (SQLite's "How To Corrupt An SQLite Database File", section 2.2). For the same reason there is one
Database per directory per process (``DATABASES``, keyed by the resolved path), however many handles use it.

At 100% disk a database without a -shm file cannot be opened normally (SQLite must allocate the -shm). When the
disk is full and the WAL is empty, a connection is opened as an immutable snapshot instead, so the store can
still be read; such connections refuse writes and are replaced once space is back. A small reserve file lets
the engine record the end of its runs when the disk fills up under it (released on the first full-disk write).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

from ..errors import StoreError, StoreVersionError
from ._files import StoreFiles
from ._schema import SCHEMA_VERSION, connect, migrate
from .registry import SharedObjects

__all__ = ["DATABASES", "RESERVE_BYTES", "Database"]

RESERVE_BYTES = 1 << 20
_FULL = 1 << 20  # less free space than this counts as a full disk
_RETRY_NORMAL = 1.0  # seconds between attempts to replace a full-disk snapshot connection


class Database:
    """The connections (one per thread) of one store directory, its schema check and its space reserve."""

    def __init__(self, root: Path, create: bool) -> None:
        self.root = root
        self.files = StoreFiles(root)
        self.lock = threading.Lock()
        self.conns: dict[int, tuple[threading.Thread, sqlite3.Connection]] = {}
        self.snapshots: dict[int, float] = {}  # id(conn) -> when: connections opened read-only for a full disk
        self.inherited: list[sqlite3.Connection] = []  # never used nor closed: they belong to the parent
        self.pid = os.getpid()
        self.closed = False
        self.immutable = False
        self.recovered_at = float("-inf")  # time.monotonic() of the last look for dead engines' runs
        self.readonly = self.files.prepare(create)
        if self.files.db_is_empty():
            self.files.refuse_lost_database()  # before SQLite writes a header into it
        try:
            conn = self.conn()
            found = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if found != SCHEMA_VERSION:
                if self.readonly:
                    raise StoreVersionError(
                        f"the run store {root} has schema version {found} and is read-only here, so it "
                        "cannot be upgraded; open it once with write access"
                    )
                if found == 0:
                    self.files.refuse_lost_database()
                if self.is_snapshot(conn):
                    raise StoreError(self.full_message())
                migrate(conn)
            if not self.readonly:
                self.files.make_directories()
            self.identity = self.files.identity()  # runs.db exists now (SQLite made it for a new store)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(f"cannot open the run store {root}: {exc}; check {self.files.db}") from None
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ connections

    def _open(self) -> sqlite3.Connection:
        db = self.files.db
        if self.readonly:
            try:
                conn = connect(db, readonly=True, immutable=self.immutable)
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return conn
            except sqlite3.OperationalError:
                if self.immutable:
                    raise
                self.immutable = True  # a WAL database in a directory we cannot write: read it as a snapshot
                return connect(db, readonly=True, immutable=True)
        try:
            return connect(db, readonly=False)
        except sqlite3.OperationalError:
            if not self.files.disk_full(_FULL) or self.files.wal_has_frames():
                raise
            conn = connect(db, readonly=True, immutable=True)  # the main file holds every commit: read it
            self.snapshots[id(conn)] = time.monotonic()
            return conn

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use; after a fork, a new one in the child)."""
        if self.closed:
            raise StoreError(f"the run store {self.root} is closed; open it again")
        if os.getpid() != self.pid:
            self._after_fork()
        key = threading.get_ident()
        found = self.conns.get(key)
        if found is not None and found[0] is threading.current_thread():
            since = self.snapshots.get(id(found[1]))
            if since is None or time.monotonic() - since < _RETRY_NORMAL:
                return found[1]
        conn = self._open()
        with self.lock:
            for k, (thread, old) in list(self.conns.items()):
                if not thread.is_alive() or k == key:
                    del self.conns[k]
                    self.snapshots.pop(id(old), None)
                    old.close()
            self.conns[key] = (threading.current_thread(), conn)
        return conn

    def recovery_due(self, every: float) -> bool:
        """Whether this process should look for dead engines' runs again: true at most once per ``every`` s."""
        now = time.monotonic()
        with self.lock:
            if now - self.recovered_at < every:
                return False
            self.recovered_at = now
            return True

    def is_snapshot(self, conn: sqlite3.Connection) -> bool:
        return id(conn) in self.snapshots

    def _after_fork(self) -> None:
        """In a forked child: set the parent's connections aside untouched (using or closing them could
        corrupt the parent's view of the database) and open new ones on demand."""
        self.inherited.extend(conn for _, conn in self.conns.values())
        self.conns = {}
        self.snapshots = {}
        self.lock = threading.Lock()
        self.pid = os.getpid()

    def is_stale(self) -> bool:
        """Whether runs.db is no longer the file this object opened (removed or replaced)."""
        return self.files.identity() != self.identity

    def close(self) -> None:
        with self.lock:
            self.closed = True
            conns = [c for _, c in self.conns.values()] if os.getpid() == self.pid else []
            self.conns = {}
        for conn in conns:
            conn.close()

    # ------------------------------------------------------------ full disk

    def full_message(self) -> str:
        return (
            f"the run store {self.root} has no space left on device (database or disk is full); runs can be "
            "read but not recorded. Free some disk space (large task logs and results are the usual cause), "
            "then try again"
        )

    @property
    def reserve(self) -> Path:
        return self.files.reserve

    def ensure_reserve(self) -> None:
        """Keep RESERVE_BYTES set aside for recording the end of runs on a full disk (best effort)."""
        if self.readonly:
            return
        try:
            if self.reserve.stat().st_size == RESERVE_BYTES:
                return
        except OSError:
            pass
        if self.files.disk_full(4 * RESERVE_BYTES):
            return  # do not take the last space of a nearly full disk
        part = self.reserve.with_name(f"{self.reserve.name}.{os.getpid()}.part")
        try:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.posix_fallocate(fd, 0, RESERVE_BYTES)
            finally:
                os.close(fd)
            os.replace(part, self.reserve)
        except OSError:
            try:
                os.unlink(part)
            except OSError:
                pass

    def release_reserve(self) -> bool:
        """Delete the reserve so a write can go through on a full disk; whether there was one."""
        try:
            os.unlink(self.reserve)
            return True
        except OSError:
            return False


DATABASES: SharedObjects[Database] = SharedObjects()
"""The Database of each store directory opened in this process, with the number of handles using it."""
