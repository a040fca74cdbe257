"""Encoded answers of the pure database reads (run pages, workflows, envs, versions, activity), kept while the
database has not changed, so explorers polling the same page cost the server one cheap check each.

Changes are seen through SQLite's ``PRAGMA data_version`` on a connection of our own that never writes: its value
changes whenever any other connection, in this process or another, commits. Logs are files and get_run includes
their sizes, so those are never cached. Stores that are not SQLite are not cached.

The same number tells the token checks (tokens.Authenticator) when a token they remember may have been revoked:
tokens live in the same database, so a revocation commits and changes it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..store.changes import DataVersion

__all__ = ["AnswerCache", "cache_key"]


def cache_key(scope: Mapping[str, Any]) -> str:
    """The key of a request's answer: its path and its query string exactly as sent (an ASGI scope)."""
    return f"{scope['path']}?{scope.get('query_string', b'').decode('latin-1')}"


class AnswerCache:
    def __init__(self, store: object, size: int = 512) -> None:
        self._lock = threading.Lock()
        self._answers: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        self._size = size
        self._changes = DataVersion(store)
        self.database: Path | None = self._changes.database

    def _version(self) -> int | None:
        return self._changes.read()

    def version(self) -> int | None:
        """The database's change counter now (None: not watched); it differs after any commit since."""
        with self._lock:
            return self._version()

    def peek(self, key: str, version: int) -> bytes | None:
        """The kept answer for ``key`` if it was computed at ``version`` of the database, else None."""
        with self._lock:
            found = self._answers.get(key)
            if found is None or found[0] != version:
                return None
            self._answers.move_to_end(key)
            return found[1]

    def get(self, key: str, compute: Callable[[], bytes]) -> bytes:
        """The answer for ``key``: the kept one if the database has not changed since, else ``compute()``."""
        with self._lock:
            version = self._version()
            found = self._answers.get(key)
            if version is not None and found is not None and found[0] == version:
                self._answers.move_to_end(key)
                return found[1]
        answer = compute()
        if version is not None:
            with self._lock:
                self._answers[key] = (version, answer)
                self._answers.move_to_end(key)
                while len(self._answers) > self._size:
                    self._answers.popitem(last=False)
        return answer

    def close(self) -> None:
        with self._lock:
            self._changes.close()
