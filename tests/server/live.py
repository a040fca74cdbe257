"""A real uvicorn server on 127.0.0.1 in a thread of the test process, serving whichever app a test sets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

ASGI = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """uvicorn on ``127.0.0.1:port``; ``app`` can be swapped between tests without restarting; ``stop`` and
    ``start`` stop and start the real server (same port)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.app: ASGI | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _dispatch(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert self.app is not None, "no app is being served"
        await self.app(scope, receive, send)

    def start(self) -> LiveServer:
        config = uvicorn.Config(
            self._dispatch, host="127.0.0.1", port=self.port, log_level="warning", access_log=False, interface="asgi3",
            timeout_keep_alive=30, timeout_graceful_shutdown=1, proxy_headers=False,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"uvicorn-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            self._server = None
            self._thread = None
