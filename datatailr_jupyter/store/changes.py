"""DataVersion: whether a SQLite store's database changed, by ``PRAGMA data_version`` on a read-only connection."""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["DataVersion"]


class DataVersion:
    """The change counter of a SqliteRunStore's database, on a connection of its own that never writes (its value
    differs after any commit by another connection); ``read()`` is None for other stores or a closed watcher."""

    def __init__(self, store: object) -> None:
        from .sqlite import SqliteRunStore

        self._conn: sqlite3.Connection | None = None
        self.database: Path | None = None
        root = getattr(store, "path", None)
        if isinstance(store, SqliteRunStore) and isinstance(root, Path) and (root / "runs.db").exists():
            try:
                database = (root / "runs.db").resolve()
                self._conn = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, check_same_thread=False)
                self.read()
                self.database = database
            except sqlite3.Error:
                self._conn = None

    def read(self) -> int | None:
        if self._conn is None:
            return None
        try:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
