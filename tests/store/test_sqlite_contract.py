"""The embedded SQLite store passes the run-store contract."""

from __future__ import annotations

import pytest

from datatailr_jupyter.store.sqlite import SqliteRunStore

from .contract import RunStoreContract


class TestSqliteRunStore(RunStoreContract):
    @pytest.fixture()
    def store(self, sqlite_store: SqliteRunStore) -> SqliteRunStore:
        return sqlite_store
