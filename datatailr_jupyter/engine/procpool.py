"""The process executor: long-lived worker processes on pipes, one task at a time each, surviving worker deaths.

Workers are plain ``python -c`` subprocesses (no re-import of the caller's ``__main__``, so notebooks and scripts
without a ``__main__`` guard both work), each in its own session so a terminal Ctrl+C reaches only the engine.
The engine sends a worker one job at a time over a pipe: the task's pickled function travels once per worker
(cached there under a digest of its bytes) and the job itself is plain-pickled. When every worker is busy, one
more job may be sent behind a worker's running job if the last runs of both functions were short (see
SHORT_TASK): the worker starts it as soon as it sends the first outcome, without waiting for the engine's answer,
and a long job never waits behind another. A worker that dies -- SIGKILL,
segfault, ``os._exit`` -- closes its pipe; the engine reports its task failed with the signal or exit code and
starts a replacement, while the other workers carry on. A worker exits by itself when the engine process dies.

Processes a task starts do not outlive it: after each task the worker ends every process it left behind (its
descendants, found through /proc; the worker is their subreaper on Linux, so orphans of a shell pipeline or a
double fork stay findable). When the engine kills a worker (stop, Ctrl+C) it ends the worker's process group and
descendants with it. A worker's stderr spool is unlinked as soon as both sides hold it open, so no crash leaves
it behind.
"""

from __future__ import annotations

import atexit
import copy
import faulthandler
import hashlib
import io
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
from datetime import datetime
from multiprocessing.connection import Connection, wait
from typing import Any

import cloudpickle

from ..models import TaskError
from .capture import process_spool
from .executors import Event, Started, check_max_workers
from .workers import HOST, Job, Outcome, execute, system_line

__all__ = ["ProcessExecutor", "descendants", "end_processes", "shared_process_executor", "worker_main"]

SHORT_TASK = 0.01
"""A job may be sent behind a running one when both functions' last runs took less than this (seconds)."""

_BOOT = "from datatailr_jupyter.engine.procpool import worker_main; worker_main()"


class _Worker:
    def __init__(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = dict(os.environ)
        paths = [p or os.getcwd() for p in sys.path]
        env["PYTHONPATH"] = os.pathsep.join(paths)
        self.spool = os.path.join(tempfile.gettempdir(), f"dt-stderr-{uuid.uuid4().hex}")
        # The engine's own descriptor on the spool: the worker unlinks the path once it has opened it, and what a
        # dead worker's spool holds (a crash report) is read through this descriptor.
        self.spool_fd = os.open(self.spool, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
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
        self.jobs: deque[Job] = deque()  # the running job first, then at most one short job sent behind it
        self.started: datetime | None = None  # when the current job started
        self.send.send_bytes(pickle.dumps(("init", paths, os.getcwd())))

    @property
    def job(self) -> Job | None:
        """The job the worker is running (None when idle)."""
        return self.jobs[0] if self.jobs else None

    def kill(self) -> None:
        """End the worker with its process group and every process it started; keep its crash report."""
        end_processes(self.proc.pid, group=True)
        self.proc.wait()
        self.send.close()
        self.recv.close()
        if self.job is not None:  # died or killed mid-task: keep what its stderr spool holds (a crash report)
            _salvage(self.spool_fd, self.job.stderr)
        os.close(self.spool_fd)
        try:
            os.unlink(self.spool)  # the worker died before it could
        except OSError:
            pass


def _salvage(fd: int, target: str) -> None:
    """Copy what a dead worker's spool holds beyond what already reached ``target``."""
    try:
        size = os.fstat(fd).st_size
        done = os.path.getsize(target) if os.path.exists(target) else 0
        if size > done:
            with open(target, "ab") as out:
                while done < size:
                    chunk = os.pread(fd, min(1 << 20, size - done), done)
                    if not chunk:
                        break
                    out.write(chunk)
                    done += len(chunk)
    except OSError:
        pass


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
        self.max_workers = check_max_workers(max_workers) or os.cpu_count() or 1
        self.workers: list[_Worker] = []
        self.queue: deque[Job] = deque()
        self.events: list[Event] = []
        self.lock = threading.Lock()  # held by the run using this executor
        self.durations: dict[str, float] = {}  # seconds the last job of each function took
        self.closed = False

    def start(self) -> None:
        """Start the worker processes now (they import in the background while the caller prepares)."""
        while len(self.workers) < self.max_workers:
            self.workers.append(_Worker())

    def submit(self, job: Job) -> None:
        self.queue.append(job)

    def _short(self, job: Job) -> bool:
        """Whether the last run of the job's function took under SHORT_TASK seconds (so a job may wait behind it)."""
        last = self.durations.get(job.func_key) if job.func_key else None
        return last is not None and last < SHORT_TASK

    def _dispatch(self) -> None:
        if self.queue and len(self.workers) < self.max_workers:
            self.start()
        for worker in list(self.workers):
            if not self.queue:
                return
            if worker.jobs:
                continue
            self._send(worker, self.queue.popleft())
        # Every worker is busy: a short job goes behind a short running one, so the worker starts it without
        # waiting for the loop's round trip (a long job never waits behind another job).
        for worker in list(self.workers):
            if not self.queue:
                return
            if len(worker.jobs) == 1 and self._short(worker.jobs[0]) and self._short(self.queue[0]):
                self._send(worker, self.queue.popleft())

    def _send(self, worker: _Worker, job: Job) -> None:
        key = job.func_key or hashlib.sha1(job.function_bytes or b"").hexdigest()
        fbytes = None if key in worker.functions else job.function_bytes
        plain = copy.copy(job)  # the job with its inputs, without the function (sent once per worker)
        plain.function = plain.function_bytes = None
        try:
            body = pickle.dumps(plain, protocol=5)
        except Exception:
            body = cloudpickle.dumps(plain)
        worker.jobs.append(job)
        try:
            worker.send.send_bytes(pickle.dumps(("job", job.task_id, key, fbytes, body, job.stderr), protocol=5))
        except OSError:  # died: replace it; its jobs not started go back to the front of the queue
            worker.jobs.pop()
            self._died(worker)
            self.queue.appendleft(job)
            return
        worker.functions.add(key)
        if len(worker.jobs) == 1:
            self._begin(worker)

    def _begin(self, worker: _Worker) -> None:
        job = worker.jobs[0]
        worker.started = job.clock.now()
        self.events.append(Started(job.task_id, worker.started, HOST, worker.proc.pid))

    def _died(self, worker: _Worker) -> None:
        job = worker.job
        worker.kill()
        self.workers.remove(worker)
        if job is None:
            return
        self.queue.extendleft(reversed(list(worker.jobs)[1:]))  # sent behind the running job, never started
        worker.jobs.clear()
        reason = _death_reason(worker.proc.returncode)
        now = job.clock.now()
        started = worker.started or now
        try:
            with open(job.stdout, "ab") as fh:
                fh.write(system_line(job.clock, f"end {job.name!r}: failed: {reason}"))
        except OSError:
            pass
        self.events.append(
            Outcome(
                task_id=job.task_id,
                ok=False,
                start_time=started,
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
                done = worker.jobs.popleft()
                self.durations[done.func_key] = (outcome.end_time - outcome.start_time).total_seconds()
                self.events.append(outcome)
                if worker.jobs:
                    self._begin(worker)
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
                worker.jobs.clear()
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
    n = check_max_workers(max_workers) or os.cpu_count() or 1
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


# ---------------------------------------------------------------- process trees


def _proc_children(pid: int) -> list[int] | None:
    """Direct children of ``pid`` from /proc/PID/task/*/children (Linux), or None where that file is missing."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return [] if os.path.isdir("/proc/self/task") else None
    except OSError:
        return None
    out: list[int] = []
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                out.extend(int(x) for x in fh.read().split())
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}/task/{tid}"):
                continue  # the thread ended meanwhile
            return None  # a kernel without CONFIG_PROC_CHILDREN
        except (OSError, ValueError):
            continue
    return out


def _process_table() -> list[tuple[int, int, int]]:
    """(pid, ppid, pgid) of every process: from /proc/*/stat, else from ``ps``."""
    rows: list[tuple[int, int, int]] = []
    if os.path.isdir("/proc/self"):
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
                rows.append((int(name), int(fields[1]), int(fields[2])))
            except (OSError, IndexError, ValueError):
                continue
        return rows
    try:
        ps = subprocess.Popen(["ps", "-A", "-o", "pid=,ppid=,pgid="], stdout=subprocess.PIPE, text=True)
        text, _ = ps.communicate(timeout=10)
    except (OSError, subprocess.SubprocessError):
        return rows
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and all(p.isdigit() for p in parts) and int(parts[0]) != ps.pid:
            rows.append((int(parts[0]), int(parts[1]), int(parts[2])))
    return rows


def descendants(root: int, group: bool = False) -> set[int]:
    """Every live descendant of process ``root`` (and, with ``group``, every member of its process group), not
    ``root`` itself."""
    found: set[int] = set()
    stack = [root]
    table: list[tuple[int, int, int]] | None = None
    while stack:
        pid = stack.pop()
        children = _proc_children(pid)
        if children is None:
            table = _process_table()
            break
        for child in children:
            if child not in found:
                found.add(child)
                stack.append(child)
    if table is not None:
        kids: dict[int, list[int]] = {}
        for pid, ppid, pgid in table:
            kids.setdefault(ppid, []).append(pid)
            if group and pgid == root:
                found.add(pid)
        stack = [root, *found]
        while stack:
            for child in kids.get(stack.pop(), ()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
    found.discard(root)
    return found


def end_processes(root: int, group: bool = False) -> None:
    """SIGKILL process ``root``'s process group (when ``group``: ``root`` leads it) and all its descendants."""
    strays = descendants(root)
    if group:
        try:
            os.killpg(root, signal.SIGKILL)
        except OSError:
            pass
    for pid in strays:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _end_strays() -> None:
    """In a worker: end every process the finished task left behind (children, grandchildren, pipelines)."""
    me = os.getpid()
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:  # no child at all, so no descendant (orphans are re-parented to the worker)
        return
    for _ in range(100):
        strays = descendants(me, group=True)
        strays.difference_update(_reap())
        if not strays:
            return
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        _reap()
        time.sleep(0.005)


def _reap() -> set[int]:
    """Collect exited children (the worker is their parent or subreaper) so none stays a zombie."""
    reaped: set[int] = set()
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except (ChildProcessError, OSError):
            return reaped
        if pid == 0:
            return reaped
        reaped.add(pid)


def _become_subreaper() -> None:
    """Linux: orphans of the worker's descendants are re-parented to the worker (not to init), so they stay in
    its tree and can be ended after the task."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


# ---------------------------------------------------------------- inside a worker process


def _watch_parent(parent: int) -> None:
    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                _end_strays()
                os._exit(70)

    threading.Thread(target=watch, name="dt-watch-parent", daemon=True).start()


def worker_main() -> None:
    """Entry point of a worker process: read jobs from the engine, run them, send outcomes back."""
    inbox = Connection(int(sys.argv[1]), writable=False)
    outbox = Connection(int(sys.argv[2]), readable=False)
    process_spool(sys.argv[3])
    try:
        os.unlink(sys.argv[3])  # both sides hold it open now: no crash can leave it behind
    except OSError:
        pass
    _become_subreaper()
    faulthandler.enable()  # a segfault's traceback lands in the task's stderr log (via the spool)
    # Block-buffered, even under PYTHONUNBUFFERED (a system call per printed line is most of a chatty task's
    # time); capture.py flushes it every 0.05 s while a task runs, so a running task's log can still be tailed.
    encoding, errors = getattr(sys.stdout, "encoding", None) or "utf-8", getattr(sys.stdout, "errors", None)
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(1, "w", closefd=False), 1 << 16), encoding=encoding, errors=errors
    )
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
        _, task_id, key, fbytes, body, stderr = message
        try:
            if fbytes is not None:
                functions[key] = pickle.loads(fbytes)
                while len(functions) > 256:
                    functions.popitem(last=False)
            functions.move_to_end(key)
            job: Job = pickle.loads(body)
            outcome = execute(job, functions[key], "fd")
        except Exception as exc:
            outcome = _load_failure(task_id, exc, stderr)
        _end_strays()
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
