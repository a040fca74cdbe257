"""Log capture for one task: stdout and stderr into the task's log files, at the file-descriptor level.

In worker processes and inline, descriptors 1 and 2 are redirected with ``os.dup2`` while the task runs, so
output of C extensions and subprocesses is captured too. Standard output goes straight into the task's stdout
log (which always exists: the engine's start and end lines are written there). Standard error goes into a
per-process spool file that a watcher thread copies into the task's stderr log every 0.2 s, so the stderr log
is created only for tasks that write to stderr (creating a file is the most expensive step of a short task)
and can still be read while the task runs. If a worker process dies, the engine copies what its spool holds
(e.g. a segfault's traceback). In threads, ``sys.stdout`` / ``sys.stderr`` are routed per thread (Python-level
output only) and the stderr log is opened on first write.
"""

from __future__ import annotations

import atexit
import io
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["Capture", "StderrSpool", "install_thread_router", "salvage_spool", "uninstall_thread_router"]

_APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND


def _open_text(fd: int) -> TextIO:
    return io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding="utf-8", errors="replace", line_buffering=True)


class StderrSpool:
    """Where descriptor 2 points while a task of this process runs; copied into the task's log when written."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path or os.path.join(tempfile.gettempdir(), f"dt-stderr-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        self.lock = threading.Lock()
        self.target: str | None = None
        self.copied = 0
        self.real: int | None = None
        atexit.register(_unlink_if_owner, self.path, os.getpid())
        threading.Thread(target=self._watch, name="dt-stderr-spool", daemon=True).start()

    def begin(self, target: str) -> None:
        with self.lock:
            os.ftruncate(self.fd, 0)
            self.target, self.copied, self.real = target, 0, None

    def write(self, text: str) -> None:
        os.write(self.fd, text.encode("utf-8", "replace"))

    def pump(self) -> None:
        with self.lock:
            if self.target is None:
                return
            size = os.fstat(self.fd).st_size
            if size <= self.copied:
                return
            data = os.pread(self.fd, size - self.copied, self.copied)
            if self.real is None:
                self.real = os.open(self.target, _APPEND, 0o644)
            os.write(self.real, data)
            self.copied += len(data)

    def end(self) -> None:
        self.pump()
        with self.lock:
            if self.real is not None:
                os.close(self.real)
            self.target, self.real = None, None

    def _watch(self) -> None:
        while True:
            time.sleep(0.2)
            try:
                self.pump()
            except OSError:
                pass


def _unlink_if_owner(path: str, owner: int) -> None:
    if os.getpid() == owner:
        _unlink(path)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def salvage_spool(spool: str, target: str) -> None:
    """After a worker died mid-task: copy what its spool holds beyond what already reached ``target``."""
    try:
        with open(spool, "rb") as fh:
            data = fh.read()
        done = os.path.getsize(target) if os.path.exists(target) else 0
        if len(data) > done:
            with open(target, "ab") as out:
                out.write(data[done:])
    except OSError:
        pass
    _unlink(spool)


_SPOOL: StderrSpool | None = None
_SPOOL_LOCK = threading.Lock()


def process_spool(path: str | None = None) -> StderrSpool:
    """This process's spool (created on first use, at ``path`` if given)."""
    global _SPOOL
    with _SPOOL_LOCK:
        if _SPOOL is None:
            _SPOOL = StderrSpool(path)
        return _SPOOL


class _LazyText(io.TextIOBase):
    """A text stream that creates its file on the first write."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.stream: TextIO | None = None
        self.fd: int | None = None

    def write(self, text: str) -> int:
        if self.stream is None:
            self.fd = os.open(self.path, _APPEND, 0o644)
            self.stream = _open_text(self.fd)
        return self.stream.write(text)

    def flush(self) -> None:
        if self.stream is not None:
            self.stream.flush()

    def close(self) -> None:
        self.flush()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        super().close()


class Capture:
    """The log files of one task and how output is routed into them (mode "fd", "fd+sys" or "thread")."""

    def __init__(self, stdout: str, stderr: str, mode: str) -> None:
        self.mode = mode
        self.out_fd = os.open(stdout, _APPEND, 0o644)
        self.out: TextIO | None = None
        self.err: TextIO | None = None
        self.lazy_err: _LazyText | None = None
        self.spool: StderrSpool | None = None
        if mode == "thread":
            self.lazy_err = _LazyText(stderr)
        else:
            self.spool = process_spool()
            self.spool.begin(stderr)

    def write_stdout(self, data: bytes) -> None:
        self.flush()
        os.write(self.out_fd, data)

    def write_stderr(self, text: str) -> None:
        self.flush()
        if self.spool is not None:
            self.spool.write(text)
        elif self.lazy_err is not None:
            self.lazy_err.write(text)
            self.lazy_err.flush()

    def flush(self) -> None:
        for stream in (sys.stdout, sys.stderr, self.out, self.err, self.lazy_err):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass

    @contextmanager
    def redirect(self) -> Iterator[None]:
        if self.mode == "thread":
            self.out = _open_text(self.out_fd)
            _ROUTER.ensure()
            _ROUTER.set(self.out, self.lazy_err)  # type: ignore[arg-type]
            try:
                yield
            finally:
                self.flush()
                _ROUTER.set(None, None)
            return
        assert self.spool is not None
        self.flush()
        saved = os.dup(1), os.dup(2)
        old_streams = sys.stdout, sys.stderr
        os.dup2(self.out_fd, 1)
        os.dup2(self.spool.fd, 2)
        if self.mode == "fd+sys":
            self.out, self.err = _open_text(self.out_fd), _open_text(self.spool.fd)
            sys.stdout, sys.stderr = self.out, self.err
        try:
            yield
        finally:
            self.flush()
            sys.stdout, sys.stderr = old_streams
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])

    def close(self) -> None:
        self.flush()
        os.close(self.out_fd)
        if self.spool is not None:
            self.spool.end()
        if self.lazy_err is not None:
            self.lazy_err.close()


class _ThreadRouter(io.TextIOBase):
    """Stands in for sys.stdout / sys.stderr: each thread running a task writes to that task's log."""

    def __init__(self, stream: str, fallback: TextIO) -> None:
        self.stream = stream
        self.fallback = fallback

    def _target(self) -> TextIO:
        target = getattr(_ROUTER.local, self.stream, None)
        return target if target is not None else self.fallback

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return False


class _Router:
    def __init__(self) -> None:
        self.local = threading.local()
        self.users = 0
        self.lock = threading.Lock()

    def set(self, out: TextIO | None, err: TextIO | None) -> None:
        self.local.stdout, self.local.stderr = out, err

    def install(self) -> None:
        with self.lock:
            self.users += 1
        self.ensure()

    def ensure(self) -> None:
        """Put routers in place (again, if something replaced sys.stdout / sys.stderr since)."""
        with self.lock:
            for name in ("stdout", "stderr"):
                current = getattr(sys, name)
                if not isinstance(current, _ThreadRouter):
                    setattr(sys, name, _ThreadRouter(name, current))

    def uninstall(self) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0:
                for name in ("stdout", "stderr"):
                    current = getattr(sys, name)
                    if isinstance(current, _ThreadRouter):
                        setattr(sys, name, current.fallback)


_ROUTER = _Router()
install_thread_router = _ROUTER.install
uninstall_thread_router = _ROUTER.uninstall
