"""What runs inside a worker for one task: log capture, argument resolution, the call, and result encoding.

Logs: a task's stdout and stderr go to two files (the store's log files, or temporary files the engine copies
into the store). In worker processes and inline, file descriptors 1 and 2 are redirected with ``os.dup2`` for the
duration of the task, so output of C extensions and subprocesses is captured too; in threads, ``sys.stdout`` and
``sys.stderr`` are routed per thread (Python-level output only). The engine's own lines -- start (host, pid,
attempt) and end (state, duration) -- go into the task's stdout, each starting with :data:`SYSTEM_LINE_PREFIX`.

Results are encoded here, in the worker: tables and arrays that look large go straight to a file in the store's
staging directory, everything else is encoded in memory (and spilled to a staging file above 1 MiB).
"""

from __future__ import annotations

import io
import os
import socket
import sys
import threading
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from ..models import ResultMeta, TaskError
from ..store.protocols import EncodedResult
from .clock import Clock
from .graph import Ref

if TYPE_CHECKING:  # pragma: no cover
    from .decorators import TaskFunction

__all__ = ["SYSTEM_LINE_PREFIX", "Job", "Outcome", "execute", "resolve_arguments", "system_line"]

SYSTEM_LINE_PREFIX = "\u27e6dt\u27e7 "
"""Every line the engine itself writes into a task log starts with this ("⟦dt⟧ "); the explorer can hide them."""

SPILL_BYTES = 1 << 20
HOST = socket.gethostname()

Input = tuple[str, Any] | tuple[str, ResultMeta, bytes]
"""An upstream value: ("value", obj) in-process, or ("encoded", meta, data) to be decoded by the worker."""


@dataclass
class Job:
    """One task execution, as the loop hands it to an executor."""

    run_id: int
    task_id: int
    name: str
    attempt: int
    func_key: str
    arguments: dict[str, Any]
    inputs: dict[int, Input]
    system: dict[str, str]
    env_vars: dict[str, str]
    stdout: str
    stderr: str
    staging_dir: str | None
    clock: Clock
    function: TaskFunction | None = field(default=None, repr=False)  # in-process executors
    function_bytes: bytes | None = field(default=None, repr=False)  # process executors (cloudpickled)


@dataclass
class Outcome:
    """How one task execution ended, as a worker reports it."""

    task_id: int
    ok: bool
    start_time: datetime
    end_time: datetime
    host: str = HOST
    pid: int = 0
    result: EncodedResult | None = None
    error: TaskError | None = None
    exit_code: int | None = None
    value: Any = field(default=None, repr=False)  # in-process executors only


def system_line(clock: Clock, text: str) -> bytes:
    stamp = clock.now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return f"{SYSTEM_LINE_PREFIX}{stamp} {text}\n".encode()


# ---------------------------------------------------------------- arguments


def resolve_arguments(value: Any, values: dict[int, Any]) -> Any:
    """``value`` with every Ref replaced by the upstream value, inside lists, tuples, sets and dict values."""
    if isinstance(value, Ref):
        return values[value.id]
    if isinstance(value, dict):
        items = {k: resolve_arguments(v, values) for k, v in value.items()}
        return items if type(value) is dict else type(value)(items)
    if isinstance(value, list | tuple | set | frozenset):
        converted = [resolve_arguments(v, values) for v in value]
        if isinstance(value, tuple) and hasattr(value, "_fields"):
            return type(value)(*converted)
        return type(value)(converted)
    return value


def _decode_inputs(inputs: dict[int, Input]) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for ref, item in inputs.items():
        if item[0] == "value":
            out[ref] = item[1]
        else:
            from ..store.codecs import decode

            _, meta, data = item  # type: ignore[misc]
            out[ref] = decode(meta, data, trusted=True)
    return out


# ---------------------------------------------------------------- results


def _approx_nbytes(value: Any) -> int:
    module = type(value).__module__.split(".")[0]
    if module not in ("pandas", "numpy", "pyarrow", "polars"):
        return 0
    try:
        if hasattr(value, "memory_usage") and module == "pandas":
            usage = value.memory_usage(deep=False)
            return int(usage.sum() if hasattr(usage, "sum") else usage)
        if hasattr(value, "estimated_size"):
            return int(value.estimated_size())
        return int(getattr(value, "nbytes", 0))
    except Exception:
        return 0


def encode_result(value: Any, staging_dir: str | None) -> EncodedResult:
    """Encode a task's return value with the store codecs; large values are written to ``staging_dir``."""
    from ..store.codecs import encode, encode_to_file

    if staging_dir is not None and _approx_nbytes(value) > SPILL_BYTES:
        return encode_to_file(value, staging_dir)
    encoded = encode(value)
    if staging_dir is not None and encoded.data is not None and len(encoded.data) > SPILL_BYTES:
        path = os.path.join(staging_dir, f"{uuid.uuid4().hex}.part")
        with open(path, "wb") as fh:
            fh.write(encoded.data)
            fh.flush()
            os.fsync(fh.fileno())
        return EncodedResult(meta=encoded.meta, path=path)
    return encoded


# ---------------------------------------------------------------- log capture


class _Capture:
    """The two log files of a task, and how output is routed into them."""

    def __init__(self, job: Job, mode: str) -> None:
        self.job = job
        self.mode = mode  # "fd" (process worker), "fd+sys" (inline), "thread"
        self.out_fd = os.open(job.stdout, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.err_fd = os.open(job.stderr, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.out: TextIO | None = None
        self.err: TextIO | None = None

    def system(self, text: str) -> None:
        self._flush()
        os.write(self.out_fd, system_line(self.job.clock, text))

    def error_text(self, text: str) -> None:
        self._flush()
        os.write(self.err_fd, text.encode("utf-8", "replace"))

    def _flush(self) -> None:
        for stream in (sys.stdout, sys.stderr, self.out, self.err):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass

    @contextmanager
    def redirect(self) -> Iterator[None]:
        if self.mode == "thread":
            self.out = _open_text(self.out_fd)
            self.err = _open_text(self.err_fd)
            _ROUTER.ensure()
            _ROUTER.set(self.out, self.err)
            try:
                yield
            finally:
                self._flush()
                _ROUTER.set(None, None)
            return
        self._flush()
        saved = os.dup(1), os.dup(2)
        old_streams = sys.stdout, sys.stderr
        os.dup2(self.out_fd, 1)
        os.dup2(self.err_fd, 2)
        if self.mode == "fd+sys":
            self.out, self.err = _open_text(self.out_fd), _open_text(self.err_fd)
            sys.stdout, sys.stderr = self.out, self.err
        try:
            yield
        finally:
            self._flush()
            sys.stdout, sys.stderr = old_streams
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])

    def close(self) -> None:
        self._flush()
        os.close(self.out_fd)
        os.close(self.err_fd)


def _open_text(fd: int) -> TextIO:
    return io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding="utf-8", errors="replace", line_buffering=True)


class _ThreadRouter(io.TextIOBase):
    """Stands in for sys.stdout / sys.stderr: each thread running a task writes to that task's log."""

    def __init__(self, stream: str) -> None:
        self.stream = stream
        self.fallback: TextIO | None = None

    def _target(self) -> TextIO:
        target = getattr(_ROUTER.local, self.stream, None)
        return target if target is not None else (self.fallback or sys.__stdout__)  # type: ignore[return-value]

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
                    router = _ThreadRouter(name)
                    router.fallback = current
                    setattr(sys, name, router)

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


@contextmanager
def _env_applied(env_vars: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in env_vars}
    os.environ.update(env_vars)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ---------------------------------------------------------------- one task


def execute(job: Job, function: TaskFunction, mode: str, keep_value: bool = False) -> Outcome:
    """Run one task with its output captured; never raises for errors of the task itself."""
    start = end = job.clock.now()
    capture = _Capture(job, mode)
    ok, value, result, error = False, None, None, None
    try:
        where = f"(task {job.task_id}, run {job.run_id}) attempt {job.attempt} on {HOST} pid {os.getpid()}"
        capture.system(f"start {job.name!r} {where}")
        with capture.redirect():
            try:
                arguments = resolve_arguments(job.arguments, _decode_inputs(job.inputs))
                arguments.update(
                    {k: v for k, v in job.system.items() if k in function.signature.parameters and k not in arguments}
                )
                if mode == "thread":
                    value = function.call(arguments)
                else:
                    with _env_applied(job.env_vars):
                        value = function.call(arguments)
            except (Exception, SystemExit) as exc:
                error = _task_error(exc)
        if error is None:
            try:
                result = encode_result(value, job.staging_dir)
                ok = True
            except Exception as exc:
                error = _encode_error(exc, job.name, value)
        if error is not None:
            capture.error_text(error.traceback)
        end = job.clock.now()
        seconds = (end - start).total_seconds()
        state = "completed" if ok else f"failed ({error.type if error else '?'})"
        capture.system(f"end {job.name!r}: {state} in {seconds:.3f} s")
    finally:
        capture.close()
    return Outcome(
        task_id=job.task_id,
        ok=ok,
        start_time=start,
        end_time=end,
        pid=os.getpid(),
        result=result,
        error=error,
        exit_code=0 if ok else 1,
        value=value if keep_value and ok else None,
    )


_ENGINE_DIR = os.path.dirname(os.path.abspath(__file__))


def _encode_error(exc: Exception, name: str, value: Any) -> TaskError:
    from ..store.codecs import ResultEncodeError

    if isinstance(exc, ResultEncodeError):
        error = _task_error(exc)
        return TaskError(type=error.type, message=f"{name!r}: {error.message}", traceback=error.traceback)
    return _task_error(exc, f"the value returned by {name!r} ({type(value).__qualname__}) cannot be stored: ")


def _task_error(exc: BaseException, prefix: str = "") -> TaskError:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None and tb.tb_frame.f_code.co_filename.startswith(_ENGINE_DIR):
        tb = tb.tb_next  # start the traceback at the task's own code
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    message = prefix + (str(exc) or type(exc).__name__)
    if prefix:
        message += "; return a value that can be stored (e.g. a list instead of a generator, data instead of a lock)"
    return TaskError(type=type(exc).__name__, message=message, traceback=text)
