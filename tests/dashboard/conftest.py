"""Fixtures of the dashboard tests: a trusted embedded store and a Client on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from datatailr_jupyter.client import Client
from datatailr_jupyter.store.sqlite import SqliteRunStore


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[SqliteRunStore]:
    s = SqliteRunStore(tmp_path / "store", trusted=True)
    yield s
    s.close()


@pytest.fixture()
def client(store: SqliteRunStore) -> Client:
    return Client(store, env="dev")
