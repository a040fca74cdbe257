"""HttpRunStore's transport against small real servers (HTTP/1.0 and keep-alive HTTP/1.1): retries on 429/503 with
Retry-After, one clear error for a refused connection and another for a server that never answers, POSTs not
repeated, each GET sent once, and reuse after close()."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from datatailr_jupyter.errors import StoreError, StoreUnavailableError
from datatailr_jupyter.store.http import HttpRunStore
from datatailr_jupyter.store.http_lane import Lane

from .conftest import Served
from .live import free_port


class Scripted(BaseHTTPRequestHandler):
    """Answers each request with the next (status, headers) of the server's script, then 200 ["dev"]."""

    def do_GET(self) -> None:
        self.server.seen.append((self.command, self.path))  # type: ignore[attr-defined]
        script: list[tuple[int, dict[str, str]]] = self.server.script  # type: ignore[attr-defined]
        status, headers = script.pop(0) if script else (200, {})
        body = json.dumps(["dev"] if status == 200 else {"error": {"type": "X", "message": "busy"}}).encode()
        self.send_response(status)
        for k, v in {**headers, "Content-Type": "application/json", "Content-Length": str(len(body))}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


class KeepAlive(Scripted):
    protocol_version = "HTTP/1.1"


@pytest.fixture(params=["HTTP/1.0", "HTTP/1.1"])
def scripted(request: pytest.FixtureRequest) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive if request.param == "HTTP/1.1" else Scripted)
    server.script, server.seen = [], []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


class Chunked(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for part in (b'["de', b'v", "pre"]', b""):
            self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")

    def log_message(self, *args: object) -> None:
        pass


def test_a_chunked_answer_is_read_whole_on_a_kept_connection() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Chunked)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        lane = Lane("127.0.0.1", server.server_address[1], {}, (5.0, 5.0))
        assert [lane.get("/v1/envs")[3] for _ in range(2)] == [b'["dev", "pre"]'] * 2  # the lane reads it itself
        lane.close()
        store = HttpRunStore(url(server))
        assert [store.list_envs() for _ in range(3)] == [["dev", "pre"]] * 3
        store.close()
    finally:
        server.shutdown()
        server.server_close()


class NoContent(BaseHTTPRequestHandler):
    """204 without Content-Length on a kept connection, then a normal answer on the same connection."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path.startswith("/v1/versions"):
            self.send_response(204)
            self.end_headers()
            return
        body = b'["dev"]'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_an_answer_without_a_body_is_read_at_once_and_the_connection_kept() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NoContent)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        lane = Lane("127.0.0.1", server.server_address[1], {}, (5.0, 5.0))
        started = time.monotonic()
        assert lane.get("/v1/versions/2/code")[0] == 204 and lane.get("/v1/envs")[3] == b'["dev"]'
        assert time.monotonic() - started < 2.0  # not waiting for a close that a kept connection never sends
        lane.close()
    finally:
        server.shutdown()
        server.server_close()


def test_a_read_is_retried_on_429_and_503_after_their_retry_after(scripted: ThreadingHTTPServer) -> None:
    scripted.script.extend([(429, {"Retry-After": "1"}), (503, {})])  # type: ignore[attr-defined]
    store = HttpRunStore(url(scripted), backoff=0.01)
    started = time.monotonic()
    assert store.list_envs() == ["dev"]
    assert time.monotonic() - started >= 1.0  # waited as the 429 asked
    assert len(scripted.seen) == 3  # type: ignore[attr-defined]
    for _ in range(5):
        assert store.list_envs() == ["dev"]
    assert len(scripted.seen) == 8  # type: ignore[attr-defined]  # each GET reached the server once
    store.close()


def test_a_server_still_busy_after_the_retries_gives_a_clear_error(scripted: ThreadingHTTPServer) -> None:
    scripted.script.extend([(503, {})] * 3)  # type: ignore[attr-defined]
    store = HttpRunStore(url(scripted), attempts=2, backoff=0.01)
    with pytest.raises(StoreUnavailableError, match="is unavailable: busy"):
        store.list_envs()
    assert len(scripted.seen) == 3  # type: ignore[attr-defined]


def test_a_write_that_reached_the_server_is_not_sent_again(scripted: ThreadingHTTPServer) -> None:
    scripted.script.append((503, {}))  # type: ignore[attr-defined]
    store = HttpRunStore(url(scripted), backoff=0.01)
    with pytest.raises(StoreError):
        store.recover()
    assert scripted.seen == [("POST", "/v1/recover")]  # type: ignore[attr-defined]


def test_a_refused_connection_says_the_server_is_not_reachable() -> None:
    store = HttpRunStore(f"http://127.0.0.1:{free_port()}", attempts=1, backoff=0.01)
    with pytest.raises(StoreUnavailableError, match=r"not reachable \(Connection refused\): is `dt serve` running\?"):
        store.list_envs()


def test_a_server_that_never_answers_times_out_with_a_clear_error() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        store = HttpRunStore(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=(1.0, 0.3), attempts=0)
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match=r"did not answer within 0.3 s"):
            store.list_envs()
        assert time.monotonic() - started < 5


def test_a_closed_store_opens_new_connections_on_its_next_call(served: Served) -> None:
    client = served.client("read")
    assert client.list_envs() == []
    client.close()
    assert client.list_envs() == []
    client.close()
