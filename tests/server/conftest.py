"""Fixtures of the server tests: one real uvicorn server per module, a fresh SQLite store and app per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from datatailr_jupyter.server import create_app, create_token
from datatailr_jupyter.server.app import DEFAULT_MAX_WRITE_BODY
from datatailr_jupyter.store.http import HttpRunStore
from datatailr_jupyter.store.sqlite import SqliteRunStore

from .live import LiveServer


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    server = LiveServer().start()
    yield server
    server.stop()


@dataclass
class Served:
    """A store served over HTTP: the store behind the server, the server, and tokens of each role."""

    store: SqliteRunStore
    server: LiveServer
    tokens: dict[str, str]

    def client(self, role: str | None = "write", **kw: object) -> HttpRunStore:
        return HttpRunStore(self.server.url, None if role is None else self.tokens[role], **kw)  # type: ignore[arg-type]


@pytest.fixture()
def served(live: LiveServer, tmp_path: Path) -> Iterator[Served]:
    store = SqliteRunStore(tmp_path / "store", trusted=True)  # the server runs its versions' pickled code
    tokens = {role: create_token(store, f"test-{role}", role) for role in ("read", "execute", "write")}
    app = create_app(store, True, executor="thread", max_write_body=DEFAULT_MAX_WRITE_BODY)
    live.app = app
    yield Served(store, live, tokens)
    app.state.ctx.actions.wait_idle(30)
    live.app = None
    store.close()
