"""The server stops for ~10 s and comes back during a client session: a call while it is down fails with a clear
error after its retries, a call across the restart succeeds through its retries, and nothing is lost."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from datatailr_jupyter.errors import StoreUnavailableError
from datatailr_jupyter.models import RunQuery, RunState
from datatailr_jupyter.server import create_app, create_token
from datatailr_jupyter.store.protocols import RunUpdate
from datatailr_jupyter.store.sqlite import SqliteRunStore

from ..store.contract_data import T0, new_run, register
from .live import LiveServer

DOWN = 10.0


def test_a_client_session_survives_a_server_restart(tmp_path: Path) -> None:
    from datatailr_jupyter.store.http import HttpRunStore

    store = SqliteRunStore(tmp_path / "store")
    token = create_token(store, "engine", "write")
    server = LiveServer().start()
    server.app = create_app(store, True, executor="thread")
    client = HttpRunStore(server.url, token)
    try:
        register(client)
        made = [new_run(client, submit=T0).run_id for _ in range(5)]
        server.stop()
        stopped = time.monotonic()

        def restart() -> None:
            time.sleep(max(0.0, DOWN - (time.monotonic() - stopped)))
            server.start()
            server.app = create_app(store, True, executor="thread")  # a new server on the same store

        started = threading.Thread(target=restart)
        started.start()
        with pytest.raises(StoreUnavailableError, match=r"not reachable \(.*\): is `dt serve` running\?"):
            client.list_envs()
        time.sleep(max(0.0, DOWN - 2.0 - (time.monotonic() - stopped)))
        page = client.list_runs(RunQuery())  # sent while the server is down: its retries reach the new server
        assert time.monotonic() - stopped >= DOWN
        started.join()
        assert sorted(r.run_id for r in page.runs) == made and page.total == 5
        client.update_run(made[0], RunUpdate(state=RunState.RUNNING, start_time=T0))
        assert client.get_run(made[0]).run.state is RunState.RUNNING
        assert new_run(client, submit=T0).run_id > max(made)
    finally:
        client.close()
        server.stop()
        store.close()
