"""Fixtures of the store tests: a fresh embedded store per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from datatailr_jupyter.store.sqlite import SqliteRunStore


@pytest.fixture()
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture()
def sqlite_store(store_dir: Path) -> Iterator[SqliteRunStore]:
    store = SqliteRunStore(store_dir)
    yield store
    store.close()
