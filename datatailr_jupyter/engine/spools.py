"""Spool files of a worker process: where descriptors 1 and 2 point while a task runs, copied into its log files.

Standard error goes into a per-process spool that a watcher thread copies into the task's stderr log every 0.2 s,
so the stderr log is created only for tasks that write to stderr (:class:`StderrSpool`).

Standard output of the process pool's workers goes the same way (:class:`StdoutSpool`, one per worker, and
:class:`SpooledStdout`, one per task): the engine's start line is written into the spool when the task starts, and
the task's log file is created only when the task writes, fails, or has run for about 0.1 s (creating a file costs
more than a short task; a short task that writes nothing and does not fail has no stdout log, as in threads). From
then on the watcher copies what the spool holds into the log every 0.05 s, in order, so a running task's log can be
tailed. Past half the log cap the task's descriptor 1 is switched to a pipe whose reader writes through the same
capped log (the spool does not grow further): the spool's last bytes are copied before the reader starts, so what
one thread printed stays in order. The engine holds both spools open too: when a worker dies mid-task, what they
hold beyond what reached the logs is copied there (a crash report, the task's last lines).
"""

from __future__ import annotations

import atexit
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable

from .logcap import DEFAULT_MAX_LOG_BYTES, CappedLog

__all__ = ["SpooledStdout", "StderrSpool", "StdoutSpool", "process_spool", "salvage_spool", "stdout_spool"]


class StderrSpool:
    """Where descriptor 2 points while a task of this process runs; copied into the task's log when written."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path or os.path.join(tempfile.gettempdir(), f"dt-stderr-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        self.lock = threading.Lock()
        self.target: str | None = None
        self.copied = 0
        self.real: CappedLog | None = None
        self.cap = DEFAULT_MAX_LOG_BYTES
        atexit.register(_unlink_if_owner, self.path, os.getpid())
        threading.Thread(target=self._watch, name="dt-stderr-spool", daemon=True).start()

    def begin(self, target: str, cap: int = DEFAULT_MAX_LOG_BYTES) -> None:
        with self.lock:
            os.ftruncate(self.fd, 0)
            self.target, self.copied, self.real, self.cap = target, 0, None, cap

    def write(self, text: str) -> None:
        os.write(self.fd, text.encode("utf-8", "replace"))

    def pump(self) -> None:
        with self.lock:
            if self.target is None:
                return
            size = os.fstat(self.fd).st_size
            if size <= self.copied:
                return
            data = os.pread(self.fd, min(size - self.copied, 1 << 24), self.copied)
            if self.real is None:
                self.real = CappedLog(os.open(self.target, os.O_RDWR | os.O_CREAT, 0o644), self.cap)
            self.copied += len(data)  # counted before the write: on a full disk the bytes are dropped, not retried
            self.real.write(data)

    def end(self) -> None:
        try:
            self.pump()
        except OSError:
            pass  # a full disk: the task's error says so
        with self.lock:
            if self.real is not None:
                self.real.close()
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


class StdoutSpool:
    """Where descriptor 1 points while a task of this worker runs (its path is unlinked once both sides hold it)."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)


_STDOUT: StdoutSpool | None = None


def stdout_spool(path: str | None = None) -> StdoutSpool | None:
    """This worker's stdout spool: set up once with ``path`` (worker_main), None in other processes."""
    global _STDOUT
    if path is not None and _STDOUT is None:
        _STDOUT = StdoutSpool(path)
    return _STDOUT


class SpooledStdout:
    """One task's stdout through the worker's spool, into a log file created only when needed (see above).
    ``redirect`` points what else writes the task's output (descriptor 1) at a new descriptor."""

    def __init__(self, spool: StdoutSpool, target: str, cap: int, start_line: bytes) -> None:
        self.spool, self.target, self.cap = spool, target, cap
        self.lock = threading.Lock()
        os.ftruncate(spool.fd, 0)
        os.write(spool.fd, start_line)
        self.engine = len(start_line)  # bytes of the spool the engine wrote (the task wrote nothing beyond them)
        self.fd = os.dup(spool.fd)  # the task's stdout: the spool, then the pipe past half the cap
        self.log: CappedLog | None = None
        self.copied = 0
        self.pump: _Pump | None = None
        self.closed = False
        self.lost: OSError | None = None  # why bytes could not reach the log (a full disk)
        self.redirect: Callable[[int], None] = lambda fd: None

    def write_engine(self, data: bytes) -> None:
        os.write(self.fd, data)
        if self.pump is None:
            self.engine += len(data)

    def check(self, checks: int, redirect: Callable[[int], None]) -> None:
        """The watcher's check: create the log once the task wrote or ran a while, copy, cap."""
        with self.lock:
            if self.closed:
                return
            self.redirect = redirect
            size = os.fstat(self.spool.fd).st_size
            if self.log is None:
                if size <= self.engine and checks < 2:
                    return
                self._open()
            self._copy(size)
            if self.pump is None and size > self.cap // 2:
                read_fd, write_fd = os.pipe()
                os.dup2(write_fd, self.fd)
                redirect(write_fd)
                os.close(write_fd)
                self._copy(os.fstat(self.spool.fd).st_size)  # what reached the spool before the switch comes first
                assert self.log is not None
                self.pump = _Pump(read_fd, self.log)

    def close(self, keep: bool) -> None:
        """The task ended: its log gets the rest (created now if the task wrote or ``keep``)."""
        with self.lock:
            size = os.fstat(self.spool.fd).st_size
            if self.log is None and (keep or size > self.engine):
                try:
                    self._open()
                except OSError as exc:  # no room even for the file: the task fails with the reason
                    self.lost = self.lost or exc
            if self.log is not None:
                self._copy(size)
            self.closed = True
            os.close(self.fd)  # with it, the pipe's last writer in this process when stdout was capped
            if self.pump is not None:
                self.pump.finish(timeout=10.0)  # the reader closes the log
            elif self.log is not None:
                self.log.close()

    def _open(self) -> None:
        self.log = CappedLog(os.open(self.target, os.O_RDWR | os.O_CREAT, 0o644), self.cap)

    def _copy(self, size: int) -> None:
        assert self.log is not None
        while self.copied < size:
            data = os.pread(self.spool.fd, min(size - self.copied, 1 << 24), self.copied)
            if not data:
                break
            self.copied += len(data)  # counted before the write: on a full disk the bytes are dropped, not retried
            try:
                self.log.write(data)
            except OSError as exc:
                self._lost(exc)

    def _lost(self, exc: OSError) -> None:
        """The log cannot take more (a full disk): the task's later writes go straight to it and fail there, as
        they would without the spool, and the task fails if it does not by itself (``lost``)."""
        if self.lost is not None:
            return
        self.lost = exc
        if self.pump is None and not self.closed:
            try:
                direct = os.open(self.target, os.O_WRONLY | os.O_APPEND)
            except OSError:
                return
            os.dup2(direct, self.fd)
            self.redirect(direct)
            os.close(direct)


class _Pump:
    """Copies what a task writes into a pipe to its capped log, in a thread, until every writer has closed it."""

    def __init__(self, read_fd: int, log: CappedLog) -> None:
        self.read_fd = read_fd
        self.log = log
        self.thread = threading.Thread(target=self._run, name="dt-log-cap", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while data := os.read(self.read_fd, 1 << 16):
                try:
                    self.log.write(data)
                except OSError:
                    pass  # a full disk: the bytes are lost, the task goes on
        finally:
            os.close(self.read_fd)
            self.log.close()

    def finish(self, timeout: float) -> None:
        self.thread.join(timeout)  # a child process of the task may still hold the pipe: then it goes on alone
