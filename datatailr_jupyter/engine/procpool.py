"""The process executor: long-lived worker processes on pipes, one task at a time each, surviving worker deaths.

Workers are plain ``python -c`` subprocesses (no re-import of the caller's ``__main__``, so notebooks and scripts
without a ``__main__`` guard both work), each in its own session so a terminal Ctrl+C reaches only the engine.
The engine sends a worker one job at a time over a pipe: the task's pickled function travels once per worker
(cached there under a digest of its bytes) and the job itself is plain-pickled. A worker that dies -- SIGKILL,
segfault, ``os._exit`` -- closes its pipe; the engine reports its task failed with the signal or exit code and
starts a replacement, while the other workers carry on. A worker exits by itself when the engine process dies.
"""

from __future__ import annotations

import atexit
import faulthandler
import hashlib
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import Any

import cloudpickle

from ..models import TaskError
from .capture import process_spool, salvage_spool
from .executors import Event, Started
from .workers import HOST, Job, Outcome, execute, system_line

__all__ = ["ProcessExecutor", "shared_process_executor", "worker_main"]

_BOOT = "from datatailr_jupyter.engine.procpool import worker_main; worker_main()"


class _Worker:
    def __init__(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = dict(os.environ)
        paths = [p or os.getcwd() for p in sys.path]
        env["PYTHONPATH"] = os.pathsep.join(paths)
        self.spool = os.path.join(tempfile.gettempdir(), f"dt-stderr-{uuid.uuid4().hex}")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT, str(to_child_r), str(from_child_w), self.spool],
            pass_fds=(to_child_r, from_child_w),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self.send = Connection(to_child_w, readable=False)
        self.recv = Connection(from_child_r, writable=False)
        self.functions: set[str] = set()
        self.job: Job | None = None
        self.send.send_bytes(pickle.dumps(("init", paths, os.getcwd())))

    def kill(self) -> None:
        try:
            self.proc.kill()
        except OSError:
            pass
        self.proc.wait()
        self.send.close()
        self.recv.close()
        if self.job is not None:  # died or killed mid-task: keep what its stderr spool holds (a crash report)
            salvage_spool(self.spool, self.job.stderr)
        else:
            salvage_spool(self.spool, os.devnull)


def _death_reason(returncode: int | None) -> str:
    if returncode is None:
        return "worker process stopped answering"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return f"worker process died with signal {name}"
    return f"worker process died with exit code {returncode}"


class ProcessExecutor:
    """Runs tasks in ``max_workers`` worker processes (default: one per CPU)."""

    name = "process"
    in_process = False

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers or os.cpu_count() or 1
        self.workers: list[_Worker] = []
        self.queue: deque[Job] = deque()
        self.events: list[Event] = []
        self.lock = threading.Lock()  # held by the run using this executor
        self.closed = False

    def start(self) -> None:
        """Start the worker processes now (they import in the background while the caller prepares)."""
        while len(self.workers) < self.max_workers:
            self.workers.append(_Worker())

    def submit(self, job: Job) -> None:
        self.queue.append(job)

    def _dispatch(self) -> None:
        if self.queue and len(self.workers) < self.max_workers:
            self.start()
        for worker in list(self.workers):
            if not self.queue:
                return
            if worker.job is not None:
                continue
            job = self.queue.popleft()
            key = hashlib.sha1(job.function_bytes or b"").hexdigest()
            fbytes = None if key in worker.functions else job.function_bytes
            plain = Job(**{**job.__dict__, "function": None, "function_bytes": None, "inputs": {}})
            try:
                body = pickle.dumps(plain, protocol=5)
            except Exception:
                body = cloudpickle.dumps(plain)
            inputs = pickle.dumps(job.inputs, protocol=5)
            worker.job = job
            try:
                worker.send.send_bytes(
                    pickle.dumps(("job", job.task_id, key, fbytes, body, inputs, job.stdout, job.stderr))
                )
            except OSError:  # died while idle: replace it; the job goes back to the front of the queue
                worker.job = None
                self._died(worker)
                self.queue.appendleft(job)
                continue
            worker.functions.add(key)
            self.events.append(Started(job.task_id, job.clock.now(), HOST, worker.proc.pid))

    def _died(self, worker: _Worker) -> None:
        job = worker.job
        worker.kill()
        self.workers.remove(worker)
        if job is None:
            return
        reason = _death_reason(worker.proc.returncode)
        now = job.clock.now()
        try:
            with open(job.stdout, "ab") as fh:
                fh.write(system_line(job.clock, f"end {job.name!r}: failed: {reason}"))
        except OSError:
            pass
        self.events.append(
            Outcome(
                task_id=job.task_id,
                ok=False,
                start_time=now,
                end_time=now,
                pid=worker.proc.pid,
                error=TaskError(type="WorkerDied", message=reason),
                exit_code=worker.proc.returncode,
            )
        )

    def wait(self, timeout: float | None) -> list[Event]:
        self._dispatch()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            conns = {w.recv: w for w in self.workers}
            left = 0.0 if self.events else (None if deadline is None else max(0.0, deadline - time.monotonic()))
            for conn in wait(list(conns), timeout=left) if conns else []:
                worker = conns[conn]  # type: ignore[index]
                try:
                    data = worker.recv.recv_bytes()
                except (EOFError, OSError):
                    self._died(worker)
                    continue
                outcome: Outcome = pickle.loads(data)
                worker.job = None
                self.events.append(outcome)
            self._dispatch()
            if self.events or (deadline is not None and time.monotonic() >= deadline) or not conns:
                out, self.events = self.events, []
                return out

    def cancel(self) -> set[int]:
        self.queue.clear()
        running: set[int] = set()
        for worker in list(self.workers):
            if worker.job is not None:
                running.add(worker.job.task_id)
                worker.kill()
                worker.job = None
                self.workers.remove(worker)
        self.events = [e for e in self.events if e.task_id not in running]
        return running

    def close(self) -> None:
        self.closed = True
        for worker in self.workers:
            try:
                worker.send.send_bytes(pickle.dumps(("stop",)))
            except OSError:
                pass
        deadline = time.monotonic() + 2.0
        for worker in self.workers:
            try:
                worker.proc.wait(max(0.01, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            worker.kill()
        self.workers = []


_SHARED: dict[int, ProcessExecutor] = {}
_SHARED_LOCK = threading.Lock()


def shared_process_executor(max_workers: int | None) -> tuple[ProcessExecutor, Callable[[], None]]:
    """The process pool kept warm between runs in this process (or a private one while it is busy), and the
    function that gives it back when the run is done."""
    n = max_workers or os.cpu_count() or 1
    with _SHARED_LOCK:
        pool = _SHARED.get(n)
        if pool is None or pool.closed:
            pool = _SHARED[n] = ProcessExecutor(n)
            pool.start()
    if pool.lock.acquire(blocking=False):
        return pool, pool.lock.release
    private = ProcessExecutor(n)
    private.start()
    return private, private.close


@atexit.register
def _close_shared() -> None:
    for pool in list(_SHARED.values()):
        pool.close()


# ---------------------------------------------------------------- inside a worker process


def _watch_parent(parent: int) -> None:
    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(70)

    threading.Thread(target=watch, name="dt-watch-parent", daemon=True).start()


def worker_main() -> None:
    """Entry point of a worker process: read jobs from the engine, run them, send outcomes back."""
    inbox = Connection(int(sys.argv[1]), writable=False)
    outbox = Connection(int(sys.argv[2]), readable=False)
    process_spool(sys.argv[3])
    faulthandler.enable()  # a segfault's traceback lands in the task's stderr log (via the spool)
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)  # a running task's log can be tailed
    _watch_parent(os.getppid())
    functions: OrderedDict[str, Any] = OrderedDict()
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
        _, task_id, key, fbytes, body, inputs, stdout, stderr = message
        try:
            if fbytes is not None:
                functions[key] = pickle.loads(fbytes)
                while len(functions) > 256:
                    functions.popitem(last=False)
            functions.move_to_end(key)
            job: Job = pickle.loads(body)
            job.inputs = pickle.loads(inputs)
            outcome = execute(job, functions[key], "fd")
        except Exception as exc:
            outcome = _load_failure(task_id, exc, stderr)
        outbox.send_bytes(pickle.dumps(outcome, protocol=5))


def _load_failure(task_id: int, exc: BaseException, stderr: str) -> Outcome:
    import traceback
    from datetime import datetime, timezone

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
