"""What runs inside a worker for one task: log capture, argument resolution, the call, and result encoding.

Logs: a task's stdout and stderr go to two files (the store's log files, or temporary files the engine copies
into the store), captured as described in capture.py. The engine's own lines -- start (host, pid, attempt) and
end (state, duration) -- go into the task's stdout, each starting with :data:`SYSTEM_LINE_PREFIX`.

Results are encoded here, in the worker: tables and arrays that look large go straight to a file in the store's
staging directory, everything else is encoded in memory (and spilled to a staging file above 1 MiB).
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from ..models import ResultMeta, TaskError
from ..store.protocols import EncodedResult
from .capture import Capture
from .clock import Clock
from .graph import Ref
from .sources import shipped_sources

if TYPE_CHECKING:  # pragma: no cover
    from .decorators import TaskFunction

__all__ = [
    "SYSTEM_LINE_PREFIX",
    "Input",
    "Job",
    "Outcome",
    "execute",
    "load_result_file",
    "resolve_arguments",
    "system_line",
]

SYSTEM_LINE_PREFIX = "\u27e6dt\u27e7 "
"""Every line the engine itself writes into a task log starts with this ("⟦dt⟧ "); the explorer can hide them."""

SPILL_BYTES = 1 << 20
HOST = socket.gethostname()

Input = tuple[str, Any] | tuple[str, ResultMeta, bytes] | tuple[str, ResultMeta, str]
"""An upstream value: ("value", obj) in-process, ("encoded", meta, data) to be decoded by the worker, or
("file", meta, path): the result's file in the store, which the worker checks against meta's size and sha256 and
decodes itself (memory-mapping .npy arrays), so big results never pass through the engine."""


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
    resources: dict[str, Any] = field(default_factory=dict)  # memory / cpu hints (cluster executors place by them)
    after: int | None = None  # submit_after: the task this job follows on its worker (its input comes from there)


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
        elif item[0] == "file":
            out[ref] = load_result_file(item[1], cast(str, item[2]))  # type: ignore[misc]
        else:
            from ..store.codecs import decode

            out[ref] = decode(item[1], cast(bytes, item[2]), trusted=True)  # type: ignore[misc]
    return out


def load_result_file(meta: ResultMeta, path: str) -> Any:
    """The value of a result stored in ``path``, checked against ``meta`` (size, sha256). A .npy array is
    memory-mapped copy-on-write: it reads like the array, a task may change it in place, and the file never
    changes; other codecs are decoded from the file's bytes."""
    import hashlib

    from ..errors import ResultDecodeError
    from ..store.codecs import decode, load_file

    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb", buffering=0) as fh:
            buffer = bytearray(1 << 20)
            view = memoryview(buffer)
            while n := fh.readinto(buffer):
                digest.update(view[:n])
                size += n
    except OSError as exc:
        raise ResultDecodeError(
            f"the upstream result file {path} cannot be read ({exc.strerror or exc}); rerun the task to produce it "
            "again"
        ) from None
    if size != meta.bytes or (meta.sha256 and digest.hexdigest() != meta.sha256):
        raise ResultDecodeError(
            f"the upstream result file {path} is truncated/corrupt ({size:,} bytes, expected {meta.bytes:,} with the "
            "recorded sha256); rerun the task to produce it again"
        )
    if meta.codec == "npy" and meta.python_type == "numpy.ndarray":
        import numpy as np

        try:
            mapped = np.load(path, mmap_mode="c", allow_pickle=False)
        except ValueError:  # an empty array cannot be mapped: read it below
            pass
        else:
            return mapped.view(np.ndarray)  # a plain ndarray over the mapping (a memmap would not store as .npy)
    if meta.codec == "arrow":
        return load_file(meta, path, trusted=True)  # mapped: the file is in the page cache after the check
    with open(path, "rb") as fh:
        data = fh.read()
    return decode(meta, data, trusted=True)


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
    from ..store.codecs import encode, encode_to_file, write_staging_file

    if staging_dir is not None and _approx_nbytes(value) > SPILL_BYTES:
        return encode_to_file(value, staging_dir)
    encoded = encode(value)
    if staging_dir is not None and encoded.data is not None and len(encoded.data) > SPILL_BYTES:
        return EncodedResult(meta=encoded.meta, path=write_staging_file(encoded.data, staging_dir))
    return encoded


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


def execute(
    job: Job, function: TaskFunction, mode: str, keep_value: bool = False, worker: str = "", env: bool | None = None
) -> Outcome:
    """Run one task with its output captured; never raises for errors of the task itself. ``worker`` names the
    worker in the start line; the task's env_vars are applied unless ``env`` is false (default: not in threads)."""
    start = end = job.clock.now()
    where = f"(task {job.task_id}, run {job.run_id}) attempt {job.attempt} on {HOST} pid {os.getpid()}"
    if worker:
        where += f" {worker}"
    capture = Capture(job.stdout, job.stderr, mode, system_line(job.clock, f"start {job.name!r} {where}"))
    ok, value, result, error = False, None, None, None
    apply_env = mode != "thread" if env is None else env
    try:
        with capture.redirect(), shipped_sources(function):  # by value: the source lines its traceback shows
            try:
                arguments = resolve_arguments(job.arguments, _decode_inputs(job.inputs))
                arguments.update(
                    {k: v for k, v in job.system.items() if k in function.signature.parameters and k not in arguments}
                )
                if not apply_env:
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
            capture.keep()
            capture.write_stderr(error.traceback)
        end = job.clock.now()
        seconds = (end - start).total_seconds()
        state = "completed" if ok else f"failed ({error.type if error else '?'})"
        capture.write_stdout(system_line(job.clock, f"end {job.name!r}: {state} in {seconds:.3f} s"))
    finally:
        capture.close()
    if ok and capture.lost is not None:  # its output did not fit on the disk: as if its own write had failed
        message = (
            f"the task's output could not be written to its log: {capture.lost}; free disk space where the store "
            "is (large task logs and results are the usual cause), then rerun the task"
        )
        ok, error = False, TaskError(type=type(capture.lost).__name__, message=message, traceback="")
        if result is not None and result.path is not None:
            with contextlib.suppress(OSError):
                os.unlink(result.path)
        result = None
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
    if _disk_full(exc):
        error = _task_error(exc)
        message = (
            f"the value returned by {name!r} ({type(value).__qualname__}) could not be written to the run store: "
            f"{error.message}; free disk space where the store is (large task logs and results are the usual "
            "cause), then rerun the task"
        )
        return TaskError(type=error.type, message=message, traceback=error.traceback)
    return _task_error(exc, f"the value returned by {name!r} ({type(value).__qualname__}) cannot be stored: ")


def _disk_full(exc: Exception) -> bool:
    return isinstance(exc, OSError) and (
        exc.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left on device" in str(exc)
    )


def _task_error(exc: BaseException, prefix: str = "") -> TaskError:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None and tb.tb_frame.f_code.co_filename.startswith(_ENGINE_DIR):
        tb = tb.tb_next  # start the traceback at the task's own code
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    message = prefix + (str(exc) or type(exc).__name__)
    if prefix:
        message += "; return a value that can be stored (e.g. a list instead of a generator, data instead of a lock)"
    return TaskError(type=type(exc).__name__, message=message, traceback=text)
