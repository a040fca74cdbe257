"""A run's task table over HTTP: the server's route, and HttpRunStore's fallback to get_run on a server without it."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import pytest

from datatailr_jupyter.errors import RunNotFoundError
from datatailr_jupyter.models import RunState
from datatailr_jupyter.server import create_app, create_token
from datatailr_jupyter.server.app import DEFAULT_MAX_WRITE_BODY
from datatailr_jupyter.store.codecs import encode
from datatailr_jupyter.store.http import HttpRunStore
from datatailr_jupyter.store.protocols import TaskUpdate
from datatailr_jupyter.store.sqlite import SqliteRunStore
from datatailr_jupyter.store.tasktable import table_of

from ..store.contract_data import new_run, register
from .live import ASGI, LiveServer


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    server = LiveServer().start()
    yield server
    server.stop()


def without_tasks_route(app: ASGI) -> ASGI:
    """``app`` as a server from before the route answers: 404 with FastAPI's body for an unknown path."""

    async def older(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and re.fullmatch(r"/v1/runs/\d+/tasks", scope["path"]):
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 404, "headers": headers})
            await send({"type": "http.response.body", "body": b'{"detail":"Not Found"}'})
            return
        await app(scope, receive, send)

    return older


def serve(live: LiveServer, tmp_path: Path, with_route: bool) -> tuple[SqliteRunStore, HttpRunStore]:
    store = SqliteRunStore(tmp_path / "store")
    app = create_app(store, True, executor="thread", max_write_body=DEFAULT_MAX_WRITE_BODY)
    live.app = app if with_route else without_tasks_route(app)
    return store, HttpRunStore(live.url, create_token(store, "reader", "read"))


def urlopen_status(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("with_route", [True, False], ids=["route", "older-server"])
def test_the_task_table_over_http_is_the_stores(live: LiveServer, tmp_path: Path, with_route: bool) -> None:
    store, remote = serve(live, tmp_path, with_route)
    try:
        register(store)
        run = new_run(store)
        store.update_tasks(run.run_id, [TaskUpdate(0, state=RunState.COMPLETED, result=encode([1, 2]))])
        status = urlopen_status(f"{live.url}/v1/runs/{run.run_id}/tasks", create_token(store, "probe", "read"))
        assert status == (200 if with_route else 404)  # the older server has no such route: get_run is read instead
        assert remote.get_task_table(run.run_id) == store.get_task_table(run.run_id)
        assert remote.get_task_table(run.run_id) == table_of(remote.get_run(run.run_id))
        with pytest.raises(RunNotFoundError, match="run 99999 does not exist"):
            remote.get_task_table(99999)
    finally:
        live.app = None
        remote.close()
        store.close()
