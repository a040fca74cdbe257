"""A lean lane for GETs over plain http:// to the run-store server: keep-alive sockets, one send and as few reads
as the answer needs.

Explorers and scripts poll small JSON reads. Through urllib3 each costs ~0.25 ms of CPU and several releases of
the interpreter lock (a liveness poll, the send, buffered reads); with 8 threads in one process those hand-offs,
not the work, set the pace. Here a request is one ``sendall`` of prebuilt bytes and a ``recv_into`` of up to
64 KiB, usually once. The lane reads HTTP/1.1 and 1.0 answers with Content-Length, chunked, or a body up to the
close. Anything it does not expect raises LaneError before an answer is returned, and the caller
sends the request again through urllib3 (a GET: safe to repeat). Sockets are never shared between threads or
across a fork.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

from urllib3 import HTTPHeaderDict

__all__ = ["Lane", "LaneError", "LaneTimeout"]

_CHUNK = 1 << 16
_MAX_HEAD = 1 << 16
_KEEP = 32


class LaneError(Exception):
    """The lane could not get an answer it understands; send the request the general way."""


class LaneTimeout(LaneError):
    """The server did not answer within the read timeout."""


class _Connection:
    __slots__ = ("buffer", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def fill(self) -> None:
        data = self.sock.recv(_CHUNK)
        if not data:
            raise LaneError("the server closed the connection")
        self.buffer += data

    def take(self, n: int) -> bytes:
        out = bytes(self.buffer[:n])
        del self.buffer[:n]
        return out

    def line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            if len(self.buffer) > _MAX_HEAD:
                raise LaneError("an answer line is too long")
            self.fill()
        return self.take(end + 2)[:-2]

    def exactly(self, n: int) -> bytes:
        if len(self.buffer) >= n:
            return self.take(n)
        out = bytearray(n)
        view = memoryview(out)
        have = len(self.buffer)
        view[:have] = self.buffer
        self.buffer.clear()
        while have < n:
            got = self.sock.recv_into(view[have:], min(n - have, 1 << 20))
            if not got:
                raise LaneError("the server closed the connection mid-answer")
            have += got
        return bytes(out)


class Lane:
    """GETs to ``host:port`` with fixed ``headers`` (each a header line already checked for CR/LF)."""

    def __init__(self, host: str, port: int, headers: Mapping[str, str], timeout: tuple[float, float]) -> None:
        self._address = (host, port)
        self._timeout = timeout
        host_header = f"[{host}]" if ":" in host else host
        lines = [f"Host: {host_header}:{port}", *(f"{k}: {v}" for k, v in headers.items())]
        self._head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self._idle: list[_Connection] = []
        self._pid = os.getpid()

    @staticmethod
    def usable(base: str, headers: Mapping[str, str]) -> bool:
        """Whether a base path and headers can go on the wire as they are (printable ASCII: no CR/LF, no spaces
        in the path); the rest of a request line is ids and a urlencoded query."""
        texts = [*headers.keys(), *headers.values()]
        return (
            base.isascii()
            and base.isprintable()
            and " " not in base
            and all(t.isascii() and t.isprintable() for t in texts)
        )

    def _connection(self) -> _Connection:
        if os.getpid() != self._pid:  # a forked child: the sockets are the parent's
            self._idle, self._pid = [], os.getpid()
        try:
            return self._idle.pop()
        except IndexError:
            pass
        sock = socket.create_connection(self._address, timeout=self._timeout[0])
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self._timeout[1])
        return _Connection(sock)

    def get(self, target: str) -> tuple[int, str, HTTPHeaderDict, bytes]:
        """(status, reason, headers, body) of ``GET target``; LaneError (LaneTimeout) when there is none."""
        try:
            conn = self._connection()
        except OSError as exc:
            raise LaneError(str(exc)) from None
        try:
            conn.sock.sendall(b"GET " + target.encode("ascii") + b" HTTP/1.1\r\n" + self._head)
            status, reason, headers, body, reusable = self._answer(conn)
        except TimeoutError:
            conn.sock.close()
            raise LaneTimeout(f"read timed out ({self._timeout[1]:g} s)") from None
        except (OSError, ValueError, LaneError) as exc:
            conn.sock.close()
            raise LaneError(str(exc)) from None
        if reusable and not conn.buffer and len(self._idle) < _KEEP:
            self._idle.append(conn)
        else:
            conn.sock.close()
        return status, reason, headers, body

    def _answer(self, conn: _Connection) -> tuple[int, str, HTTPHeaderDict, bytes, bool]:
        version, _, rest = conn.line().decode("latin-1").partition(" ")
        code, _, reason = rest.partition(" ")
        if version not in ("HTTP/1.1", "HTTP/1.0") or not code.isdigit() or int(code) < 200:
            raise LaneError(f"an answer this lane does not read: {version} {code}")
        headers = HTTPHeaderDict()
        size = 0
        while line := conn.line():
            size += len(line)
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep or size > _MAX_HEAD:
                raise LaneError("malformed answer headers")
            headers.add(name.strip(), value.strip())
        keep = headers.get("connection", "").lower()
        reusable = keep == "keep-alive" if version == "HTTP/1.0" else keep != "close"
        if int(code) in (204, 304):  # no body, whatever the headers say (RFC 9112 6.3)
            body = b""
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._chunked(conn)
        elif (length := headers.get("content-length")) is not None:
            body = conn.exactly(int(length))
        else:  # up to the close
            parts = [conn.take(len(conn.buffer))]
            while data := conn.sock.recv(_CHUNK):
                parts.append(data)
            body, reusable = b"".join(parts), False
        return int(code), reason, headers, body, reusable

    def _chunked(self, conn: _Connection) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int(conn.line().split(b";", 1)[0], 16)
            if size == 0:
                while conn.line():  # trailers
                    pass
                return b"".join(parts)
            parts.append(conn.exactly(size))
            if conn.line():
                raise LaneError("malformed chunk")

    def close(self) -> None:
        idle, self._idle = self._idle, []
        if os.getpid() == self._pid:
            for conn in idle:
                conn.sock.close()
