"""HttpRunStore passes the run-store contract against a real server with the SQLite store behind it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from datatailr_jupyter.store.http import HttpRunStore

from ..store.contract import RunStoreContract
from .conftest import Served


class TestHttpRunStore(RunStoreContract):
    @pytest.fixture()
    def store(self, served: Served) -> Iterator[HttpRunStore]:
        client = served.client("write")
        yield client
        client.close()
