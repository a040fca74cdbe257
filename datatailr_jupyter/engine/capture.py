"""Log capture for one task: stdout and stderr into the task's log files.

In worker processes and inline, descriptors 1 and 2 are redirected with ``os.dup2`` while the task runs, so
output of C extensions and subprocesses is captured too. Inline, standard output goes straight into the task's
stdout log (created when the task starts: the engine's start and end lines are written there). In the process
pool's workers it goes into the worker's stdout spool, and the log is created only when the task writes, fails or
has run about 0.1 s (spools.py). Standard error goes into a per-process spool file that a watcher thread copies
into the task's stderr log every 0.2 s, so the stderr log is created only for tasks that write to stderr and can
still be read while the task runs. If a worker process dies, the engine copies what its spools hold (e.g. a
segfault's traceback). In threads, ``sys.stdout`` /
``sys.stderr`` are routed per thread (Python-level output, logging's stream handlers) and both logs are created
on their first write (logcap.LazyLog: creating a file costs more than a short task; the engine's start and end
lines wait in memory until the task writes or has run about 0.1 s, so a short task that writes nothing and does
not fail has no log file); a subprocess a task starts with ``subprocess`` (Popen, run, check_output) inherits the
task's logs instead of the process's descriptors unless it is given its own (output written by C code to
descriptors 1 and 2 is not captured in threads).

In worker processes ``sys.stdout`` is block-buffered (a line-buffered stream costs a system call per printed
line); the watcher thread below flushes it every 0.05 s while a task runs, so a running task's log can be tailed.

Logs are capped (logcap.py). Standard output of the fd modes goes to its file (or spool) until it reaches half
the cap; then a watcher points the task's descriptor at a pipe whose reader writes through a CappedLog. The
engine's own lines are best effort: a full disk fails the task's writes, never the worker.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from .logcap import DEFAULT_MAX_LOG_BYTES, MAX_LOG_BYTES_ENV, CappedLog, LazyLog, max_log_bytes
from .spools import SpooledStdout, StderrSpool, _Pump, process_spool, salvage_spool, stdout_spool

__all__ = [
    "DEFAULT_MAX_LOG_BYTES",
    "MAX_LOG_BYTES_ENV",
    "Capture",
    "CappedLog",
    "StderrSpool",
    "install_thread_router",
    "max_log_bytes",
    "process_spool",
    "salvage_spool",
    "stdout_spool",
    "uninstall_thread_router",
]

_APPEND = os.O_WRONLY | os.O_CREAT | os.O_APPEND


def _open_text(fd: int) -> TextIO:
    return io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding="utf-8", errors="replace", line_buffering=True)


class _Watcher:
    """Checks the size of each open capture's stdout log every 0.05 s and caps those that pass half the cap; in
    threads, creates the stdout log of a task still running at its second check (so a task that runs for more than
    about 0.1 s has a log to tail, and a Dask task's log marks that it began)."""

    def __init__(self) -> None:
        self.captures: set[Capture] = set()
        self.lock = threading.Lock()
        self.pid = 0

    def add(self, capture: Capture) -> None:
        with self.lock:
            self.captures.add(capture)
            if self.pid != os.getpid():  # first use in this process (threads do not survive a fork)
                self.pid = os.getpid()
                threading.Thread(target=self._watch, name="dt-log-watch", daemon=True).start()

    def discard(self, capture: Capture) -> None:
        with self.lock:
            self.captures.discard(capture)

    def _watch(self) -> None:
        while True:
            time.sleep(0.05)
            with self.lock:
                captures = list(self.captures)
            if any(c.redirected for c in captures):
                _flush_std()  # a worker's stdout is block-buffered: what a task prints reaches its log within 0.05 s
            for capture in captures:
                try:
                    capture.check_size()
                except OSError:
                    pass


def _flush_std() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass


_WATCHER = _Watcher()


class Capture:
    """The log files of one task and how output is routed into them (mode "fd", "fd+sys" or "thread")."""

    def __init__(self, stdout: str, stderr: str, mode: str, start_line: bytes | None = None) -> None:
        self.mode = mode
        self.cap = max_log_bytes()
        self.stdout_path = stdout
        self.out_fd = -1  # fd modes: the stdout log, created at once (descriptor 1 points there), or the spool's
        self.spooled: SpooledStdout | None = None  # a process pool worker's task: stdout through its spool
        self.out: TextIO | None = None
        self.err: TextIO | None = None
        self.lazy_out: LazyLog | None = None  # thread mode: both logs are created on their first write
        self.lazy_err: LazyLog | None = None
        self.child_out = -1  # thread mode: a descriptor appending to the stdout log, for subprocesses
        self.spool: StderrSpool | None = None
        self.lock = threading.Lock()  # held to change where descriptors point
        self.child_err: tuple[int, threading.Thread] | None = None  # thread mode: a pipe for subprocesses' stderr
        self.redirected = False  # descriptor 1 is this task's (fd modes)
        self.closed = False
        self.pump: _Pump | None = None
        self.checks = 0  # the watcher's checks of this capture
        self.kept = False
        if mode == "thread":
            self.lazy_out, self.lazy_err = LazyLog(stdout, self.cap), LazyLog(stderr, self.cap)
            if start_line is not None:
                self.write_stdout(start_line)
        else:
            spool = stdout_spool() if mode == "fd" else None
            if spool is not None and start_line is not None:
                self.spooled = SpooledStdout(spool, stdout, self.cap, start_line)
                self.out_fd = self.spooled.fd
            else:
                self.out_fd = os.open(stdout, _APPEND, 0o644)
                if start_line is not None:
                    self.write_stdout(start_line)
            self.spool = process_spool()
            self.spool.begin(stderr, self.cap)
        _WATCHER.add(self)

    @property
    def lost(self) -> OSError | None:
        """Why part of the task's stdout could not be written to its log (a full disk), if it could not."""
        return self.spooled.lost if self.spooled is not None else None

    def keep(self) -> None:
        """Keep the engine's lines even if the task writes nothing (otherwise dropped then): it failed."""
        self.kept = True
        if self.lazy_out is not None:
            self.lazy_out.keep = True

    def check_size(self) -> None:
        """Past half the cap, send stdout through a pipe into a CappedLog (called by the watcher thread)."""
        self.checks += 1
        if self.spooled is not None:
            self.spooled.check(self.checks, self._redirect_stdout)
            return
        if self.lazy_out is not None:
            if self.checks >= 2:
                self.lazy_out.materialize()
            return
        if self.pump is not None or self.closed or os.fstat(self.out_fd).st_size <= self.cap // 2:
            return
        with self.lock:
            if self.pump is not None or self.closed:
                return
            log = CappedLog(os.open(self.stdout_path, os.O_RDWR), self.cap)
            read_fd, write_fd = os.pipe()
            self.pump = _Pump(read_fd, log)
            os.dup2(write_fd, self.out_fd)  # what write_stdout and the text streams over out_fd write to
            if self.redirected:
                os.dup2(write_fd, 1)
            os.close(write_fd)

    def _redirect_stdout(self, fd: int) -> None:
        """Point descriptor 1 at ``fd`` while this task has it (its stdout went from the spool to a pipe)."""
        with self.lock:
            if self.redirected:
                os.dup2(fd, 1)

    def write_stdout(self, data: bytes) -> None:
        """An engine line: best effort (a full disk fails the task's own writes, not the engine's)."""
        self.flush()
        try:
            if self.lazy_out is not None:
                self.lazy_out.system(data)
            elif self.spooled is not None:
                self.spooled.write_engine(data)
            else:
                os.write(self.out_fd, data)
        except OSError:
            pass

    def write_stderr(self, text: str) -> None:
        self.flush()
        try:
            if self.spool is not None:
                self.spool.write(text)
            elif self.lazy_err is not None:
                self.lazy_err.write(text)
        except OSError:
            pass

    def flush(self) -> None:
        for stream in (sys.stdout, sys.stderr, self.out, self.err):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass

    def child_stdout(self) -> int:
        """Thread mode: a descriptor appending to this task's stdout log, for its subprocesses."""
        with self.lock:
            if self.child_out < 0:
                assert self.lazy_out is not None
                self.child_out = self.lazy_out.append_fd()
            return self.child_out

    def child_stderr(self) -> int:
        """Thread mode: the write end of a pipe copied into this task's stderr log, for its subprocesses."""
        with self.lock:
            if self.child_err is None:
                read_fd, write_fd = os.pipe()
                lazy = self.lazy_err
                assert lazy is not None

                def copy() -> None:
                    try:
                        while data := os.read(read_fd, 1 << 16):
                            try:
                                lazy.write(data.decode("utf-8", "replace"))
                            except (OSError, ValueError):
                                pass
                    finally:
                        os.close(read_fd)

                thread = threading.Thread(target=copy, name="dt-child-stderr", daemon=True)
                thread.start()
                self.child_err = (write_fd, thread)
            return self.child_err[0]

    @contextmanager
    def redirect(self) -> Iterator[None]:
        if self.mode == "thread":
            _ROUTER.ensure()
            _ROUTER.set(self.lazy_out, self.lazy_err)  # type: ignore[arg-type]
            _ROUTER.local.capture = self
            try:
                yield
            finally:
                self.flush()
                _ROUTER.set(None, None)
                _ROUTER.local.capture = None
            return
        assert self.spool is not None
        self.flush()
        saved = os.dup(1), os.dup(2)
        old_streams = sys.stdout, sys.stderr
        with self.lock:
            os.dup2(self.out_fd, 1)
            self.redirected = True
        os.dup2(self.spool.fd, 2)
        if self.mode == "fd+sys":
            self.out, self.err = _open_text(self.out_fd), _open_text(self.spool.fd)
            sys.stdout, sys.stderr = self.out, self.err
        try:
            yield
        finally:
            self.flush()
            sys.stdout, sys.stderr = old_streams
            with self.lock:
                self.redirected = False
                os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])

    def close(self) -> None:
        self.flush()
        _WATCHER.discard(self)
        if self.lazy_out is not None:
            self._close_thread_logs()
            return
        if self.spooled is not None:
            with self.lock:
                self.closed = True
            self.spooled.close(self.kept)
            if self.spool is not None:
                self.spool.end()
            return
        with self.lock:
            self.closed = True
            if self.pump is None and os.fstat(self.out_fd).st_size > self.cap // 2:
                # printed past half the cap between two of the watcher's checks: cut the file back now
                CappedLog(os.open(self.stdout_path, os.O_RDWR), self.cap).close()
            os.close(self.out_fd)  # with it, the pipe's last writer in this process when stdout was capped
        if self.pump is not None:
            self.pump.finish(timeout=10.0)
        if self.spool is not None:
            self.spool.end()

    def _close_thread_logs(self) -> None:
        with self.lock:
            self.closed = True
        if self.child_out >= 0:
            os.close(self.child_out)
        if self.child_err is not None:
            os.close(self.child_err[0])
            self.child_err[1].join(10.0)  # a subprocess still running keeps the pipe: it goes on alone
        for lazy in (self.lazy_err, self.lazy_out):
            if lazy is not None:
                lazy.close()


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
            if subprocess.Popen.__init__ is not _routed_popen_init:
                subprocess.Popen.__init__ = _routed_popen_init  # type: ignore[method-assign]
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
                if subprocess.Popen.__init__ is _routed_popen_init:
                    subprocess.Popen.__init__ = _POPEN_INIT  # type: ignore[method-assign]
                for name in ("stdout", "stderr"):
                    current = getattr(sys, name)
                    if isinstance(current, _ThreadRouter):
                        setattr(sys, name, current.fallback)


_POPEN_INIT = subprocess.Popen.__init__


def _routed_popen_init(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
    """Popen in a thread running a task: output it would inherit from the process goes to the task's logs."""
    capture: Capture | None = getattr(_ROUTER.local, "capture", None)
    if capture is not None and len(args) <= 4 and not capture.closed:  # stdout/stderr not given by position
        if kwargs.get("stdout") is None:
            kwargs["stdout"] = capture.child_stdout()
        if kwargs.get("stderr") is None:
            kwargs["stderr"] = capture.child_stderr()
    _POPEN_INIT(self, *args, **kwargs)


_ROUTER = _Router()
install_thread_router = _ROUTER.install
uninstall_thread_router = _ROUTER.uninstall
