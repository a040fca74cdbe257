"""Inside a worker process of the process pool: read jobs from the engine's pipe, run them, send outcomes back.

The wire is compact (a message is a pickled tuple; times travel as whole microseconds since the epoch, results and
errors as tuples), because pickling dataclasses and aware datetimes costs more than a short task itself:

- engine -> worker: ``("init", sys_path, cwd)``, ``("stop",)``, or ``("jobs", [job, ...])`` where each job is
  ``(task_id, function_key, function_bytes | None, pickled_job, stderr_path)`` and the pickled job is the tuple
  of ``job_to_wire`` (a job's ``after``: see below);
- worker -> engine: ``("done", task_id, ok, start_us, end_us, pid, result, error, exit_code)`` with ``result`` =
  ``(meta_fields, data, path)`` and ``error`` = ``(type, message, traceback)``, or ``("release", task_id)``.

A job with ``after`` set follows that task on this worker: it runs right after it, taking its upstream value from
that task's encoded result in memory (decoded as any consumer decodes it), so a chain needs no round trip to the
engine between two links. When that task failed, or its result went to a file (a large one, which the consumer
must read from the store once it is committed), the job is not run and is released: the engine submits it again.
"""

from __future__ import annotations

import faulthandler
import io
import os
import pickle
import sys
import threading
import time
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from multiprocessing.connection import Connection
from typing import Any

from ..models import ResultMeta, TaskError
from ..store.protocols import EncodedResult
from .clock import system_clock
from .proctree import become_subreaper, end_strays
from .spools import process_spool, stdout_spool
from .workers import HOST, Job, Outcome, execute

__all__ = ["job_from_wire", "job_to_wire", "outcome_from_wire", "outcome_to_wire", "worker_main"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // _US


def _time(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _meta_fields(meta: ResultMeta) -> tuple[Any, ...]:
    return (meta.codec, meta.bytes, meta.python_type, meta.shape, meta.length, meta.preview, meta.sha256)


def job_to_wire(job: Job) -> tuple[Any, ...]:
    """The job without its function, as plain values (the system clock travels as None)."""
    inputs = {
        ref: (item[0], _meta_fields(item[1]), item[2]) if len(item) == 3 else item for ref, item in job.inputs.items()
    }
    clock = None if job.clock is system_clock else job.clock
    return (job.run_id, job.task_id, job.name, job.attempt, job.func_key, job.arguments, inputs, job.system,
            job.env_vars, job.stdout, job.stderr, job.staging_dir, clock, job.resources, job.after)  # fmt: skip


def job_from_wire(wire: tuple[Any, ...]) -> Job:
    run_id, task_id, name, attempt, func_key, arguments, inputs, system, env_vars, stdout, stderr, staging, clock, \
        resources, after = wire  # fmt: skip
    for ref, item in inputs.items():
        if len(item) == 3:
            inputs[ref] = (item[0], ResultMeta(*item[1]), item[2])
    return Job(run_id, task_id, name, attempt, func_key, arguments, inputs, system, env_vars, stdout, stderr,
               staging, clock or system_clock, resources=resources, after=after)  # fmt: skip


def outcome_to_wire(outcome: Outcome) -> tuple[Any, ...]:
    result = outcome.result
    meta = result.meta if result is not None else None
    wire_result = None
    if result is not None and meta is not None:
        wire_result = (_meta_fields(meta), result.data, result.path)
    error = outcome.error
    wire_error = (error.type, error.message, error.traceback) if error is not None else None
    return ("done", outcome.task_id, outcome.ok, _us(outcome.start_time), _us(outcome.end_time), outcome.pid,
            wire_result, wire_error, outcome.exit_code)  # fmt: skip


def outcome_from_wire(message: tuple[Any, ...]) -> Outcome:
    _, task_id, ok, start, end, pid, wire_result, wire_error, exit_code = message
    result = None
    if wire_result is not None:
        fields, data, path = wire_result
        result = EncodedResult(meta=ResultMeta(*fields), data=data, path=path)
    error = TaskError(*wire_error) if wire_error is not None else None
    return Outcome(task_id, ok, _time(start), _time(end), HOST, pid, result, error, exit_code)


def _watch_parent(parent: int) -> None:
    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                end_strays()
                os._exit(70)

    threading.Thread(target=watch, name="dt-watch-parent", daemon=True).start()


class _Follow:
    """The last task this worker ran, as a job that follows it needs it: its id and in-memory encoded result."""

    def __init__(self) -> None:
        self.task_id: int | None = None
        self.result: EncodedResult | None = None

    def remember(self, task_id: int, outcome: Outcome | None) -> None:
        self.task_id = task_id
        ok = outcome is not None and outcome.ok and outcome.result is not None and outcome.result.data is not None
        self.result = outcome.result if ok and outcome is not None else None

    def take(self, job: Job) -> bool:
        """Put the followed task's value into ``job``'s inputs; False when it cannot (the job is released)."""
        result, after = self.result, job.after
        self.result = None
        if after is None:
            return True
        if after != self.task_id or result is None or result.data is None:
            return False
        from ..store.codecs import decode

        job.inputs[after] = ("value", decode(result.meta, result.data, trusted=True))
        return True


def worker_main() -> None:
    """Entry point of a worker process: read jobs from the engine, run them, send outcomes back."""
    inbox = Connection(int(sys.argv[1]), writable=False)
    outbox = Connection(int(sys.argv[2]), readable=False)
    process_spool(sys.argv[3])
    stdout_spool(sys.argv[4])
    for path in sys.argv[3:5]:
        try:
            os.unlink(path)  # both sides hold it open now: no crash can leave it behind
        except OSError:
            pass
    become_subreaper()
    faulthandler.enable()  # a segfault's traceback lands in the task's stderr log (via the spool)
    # Block-buffered, even under PYTHONUNBUFFERED (a system call per printed line is most of a chatty task's
    # time); capture.py flushes it every 0.05 s while a task runs, so a running task's log can still be tailed.
    encoding, errors = getattr(sys.stdout, "encoding", None) or "utf-8", getattr(sys.stdout, "errors", None)
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(1, "w", closefd=False), 1 << 16), encoding=encoding, errors=errors
    )
    _watch_parent(os.getppid())
    functions: OrderedDict[str, Any] = OrderedDict()
    follow = _Follow()
    while True:
        try:
            message = pickle.loads(inbox.recv_bytes())
        except (EOFError, OSError):
            return
        if message[0] == "stop":
            return
        if message[0] == "init":
            sys.path[:] = message[1]
            continue
        for task_id, key, fbytes, body, stderr in message[1]:
            reply = _run(task_id, key, fbytes, body, stderr, functions, follow)
            outbox.send_bytes(pickle.dumps(reply, protocol=5))


def _run(
    task_id: int,
    key: str,
    fbytes: bytes | None,
    body: bytes,
    stderr: str,
    functions: OrderedDict[str, Any],
    follow: _Follow,
) -> tuple[Any, ...]:
    outcome: Outcome | None = None
    try:
        if fbytes is not None:
            functions[key] = pickle.loads(fbytes)
            while len(functions) > 256:
                functions.popitem(last=False)
        functions.move_to_end(key)
        job = job_from_wire(pickle.loads(body))
        if not follow.take(job):
            follow.remember(task_id, None)
            return ("release", task_id)
        outcome = execute(job, functions[key], "fd")
    except Exception as exc:
        outcome = _load_failure(task_id, exc, stderr)
    follow.remember(task_id, outcome)
    end_strays()
    return outcome_to_wire(outcome)


def _load_failure(task_id: int, exc: BaseException, stderr: str) -> Outcome:
    import traceback

    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        with open(stderr, "a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError:
        pass
    now = datetime.now(timezone.utc)
    message = (
        f"the worker process could not load the task: {type(exc).__name__}: {exc}; define the task function at "
        "module level in an importable module or in the notebook, and make its arguments picklable"
    )
    return Outcome(task_id=task_id, ok=False, start_time=now, end_time=now, pid=os.getpid(),
                   error=TaskError(type=type(exc).__name__, message=message, traceback=text))  # fmt: skip
