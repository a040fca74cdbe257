"""What a Dask worker runs for one job of the Dask executor (dask_executor.py): the task with its output captured
per thread, its start reported through the worker's event log, its logs sent while it runs when the worker does
not see the engine's log directory (dask_logs.py), and at most one attempt per task."""

from __future__ import annotations

import ctypes
import os
import pickle
import re
import shutil
import tempfile
import threading
import time
import zlib
from collections import OrderedDict
from typing import Any

import cloudpickle

from ..models import TaskError
from .dask_logs import pump
from .workers import HOST, Job, Outcome, execute

__all__ = ["TOPIC", "TaskCancelled", "interrupt_tasks", "run_job"]

TOPIC = "datatailr-jupyter"
"""The event topic starts are reported on (one for all runs: the scheduler keeps a bounded history per topic)."""


OUTCOME_EVENT_BYTES = 16 << 10
"""Outcomes (with their logs) up to this size go with the events (the scheduler keeps the last 1,000 of a topic)."""

_FUNCTIONS: OrderedDict[bytes, Any] = OrderedDict()
_RUNNING: dict[tuple[str, int], int] = {}  # (executor token, task id) -> the thread running it
_LOCK = threading.Lock()
_ROUTED: list[bool] = []


class TaskCancelled(Exception):
    """Raised in a task's thread on a worker when its run was stopped."""


def run_job(job: Job, fbytes: bytes, upstream: dict[int, Any], token: str, shared: bool) -> tuple[Outcome | None, Any]:
    """Run one job on this Dask worker: its outcome, and its logs when they could not be written in place; or
    (None, "release") when an upstream task it follows failed or stored its result in a file (it did not run)."""
    from distributed import get_worker

    from .capture import install_thread_router

    worker = get_worker()
    for ref, (produced, _) in upstream.items():
        if produced is None or not produced.ok or produced.result is None or produced.result.data is None:
            worker.log_event(TOPIC, {"t": token, "id": job.task_id, "g": 1})
            return None, "release"
        job.inputs[ref] = ("encoded", produced.result.meta, produced.result.data)
    local = None
    if not shared:
        local = tempfile.mkdtemp(prefix="dt-dask-")
        job.stdout, job.stderr, job.staging_dir = os.path.join(local, "out"), os.path.join(local, "err"), None
    elif os.path.exists(job.stdout) and os.path.getsize(job.stdout) > 0:  # an earlier attempt began: never twice
        now = job.clock.now()
        with open(job.stdout, "rb") as fh:
            first = re.search(rb"dask worker (\S+?)\)", fh.readline())
        where = first.group(1).decode() if first else "that began it"
        message = (
            f"worker lost: the Dask worker {where} left the cluster (it died or was killed) while running this task; "
            "it was not run a second time"
        )
        lost = Outcome(job.task_id, False, now, now, error=TaskError("WorkerLost", message))
        _report(worker, token, job.task_id, lost, None)
        return lost, None
    with _LOCK:
        if not _ROUTED:
            install_thread_router()
            _ROUTED.append(True)
    start = job.clock.now().isoformat()
    started = {"t": token, "id": job.task_id, "w": worker.address, "h": HOST, "p": os.getpid(), "s": start}
    key = (token, job.task_id)
    _STARTS.add(key, worker, started)
    if local is not None:  # its logs go to the engine while it runs
        pump().add(worker, token, job.task_id, job.attempt, (job.stdout, job.stderr))
    try:
        try:
            with _LOCK:
                _RUNNING[key] = threading.get_ident()
            function = _load(fbytes)
            outcome = execute(
                job, function, "thread", worker=f"(dask worker {worker.address})", env=_threads(worker) == 1
            )
        finally:
            with _LOCK:
                _RUNNING.pop(key, None)
            if local is not None:
                pump().remove(token, job.task_id)
    except TaskCancelled:
        now = job.clock.now()
        outcome = Outcome(job.task_id, False, now, now, error=TaskError("Stopped", "the run was stopped"))
    except Exception as exc:
        now = job.clock.now()
        message = f"the Dask worker {worker.address} could not load the task: {type(exc).__name__}: {exc}"
        outcome = Outcome(job.task_id, False, now, now, error=TaskError(type(exc).__name__, message))
    _STARTS.drop(key)
    outcome.pid = os.getpid()
    logs = None
    if local is not None:
        logs = tuple(_read(os.path.join(local, name)) for name in ("out", "err"))
        shutil.rmtree(local, ignore_errors=True)
    _report(worker, token, job.task_id, outcome, logs)
    return outcome, logs


class _Starts:
    """Start events, sent START_AFTER seconds after the start by one thread of the worker process, for tasks still
    running then: a task that ends sooner has its start told by its outcome (an event from a task's thread wakes the
    worker's event loop, which costs more than a short task)."""

    def __init__(self) -> None:
        self.due: dict[tuple[str, int], tuple[float, Any, dict[str, Any]]] = {}
        self.cond = threading.Condition()
        self.thread: threading.Thread | None = None

    def add(self, key: tuple[str, int], worker: Any, message: dict[str, Any]) -> None:
        with self.cond:
            idle = not self.due
            self.due[key] = (time.monotonic() + START_AFTER, worker, message)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="dt-dask-starts", daemon=True)
                self.thread.start()
            elif idle:  # (else it wakes by itself for an earlier start)
                self.cond.notify()

    def drop(self, key: tuple[str, int]) -> None:
        with self.cond:
            self.due.pop(key, None)

    def _run(self) -> None:
        while True:
            with self.cond:
                while not self.due:
                    self.cond.wait()
                now = time.monotonic()
                ready = [key for key, (at, _, _) in self.due.items() if at <= now]
                if not ready:
                    self.cond.wait(min(at for at, _, _ in self.due.values()) - now)
                    continue
                sends = [self.due.pop(key) for key in ready]
            for _, worker, message in sends:
                try:
                    worker.log_event(TOPIC, message)
                except Exception:  # a worker closing: the outcome tells the start
                    pass


START_AFTER = 0.05
_STARTS = _Starts()


def _report(worker: Any, token: str, task_id: int, outcome: Outcome, logs: Any) -> None:
    """Tell the engine the task ended, through the events (just before its result is stored on this worker): with
    a small outcome itself, so the engine need not fetch it, else only that it can be gathered."""
    try:
        data = pickle.dumps((outcome, logs), protocol=5)
    except Exception:
        data = b""
    small = 0 < len(data) <= OUTCOME_EVENT_BYTES
    worker.log_event(TOPIC, {"t": token, "id": task_id, **({"o": data} if small else {"g": 1})})


def _load(fbytes: bytes) -> Any:
    with _LOCK:
        function = _FUNCTIONS.get(fbytes)
        if function is not None:
            _FUNCTIONS.move_to_end(fbytes)
            return function
    function = cloudpickle.loads(zlib.decompress(fbytes))  # (compressed by the executor)
    with _LOCK:
        _FUNCTIONS[fbytes] = function
        while len(_FUNCTIONS) > 256:
            _FUNCTIONS.popitem(last=False)
    return function


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return b""


def interrupt_tasks(token: str) -> int:
    """On a worker: raise TaskCancelled in the threads running tasks of executor ``token``."""
    count = 0
    with _LOCK:
        for (owner, _), ident in _RUNNING.items():
            if owner == token:
                raise_in = ctypes.pythonapi.PyThreadState_SetAsyncExc
                count += raise_in(ctypes.c_ulong(ident), ctypes.py_object(TaskCancelled))
    return count


def _threads(worker: Any) -> int:
    state = getattr(worker, "state", None)  # WorkerState since distributed 2022.9
    return int(getattr(state, "nthreads", 0) or getattr(worker, "nthreads", 0) or 0)
