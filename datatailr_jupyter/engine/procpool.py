"""The process executor: long-lived worker processes on pipes, surviving worker deaths.

Workers are plain ``python -c`` subprocesses (no re-import of the caller's ``__main__``, so notebooks and scripts
without a ``__main__`` guard both work), each in its own session so a terminal Ctrl+C reaches only the engine. The
engine sends a worker jobs over a pipe (the wire: procworker.py): the task's pickled function travels once per
worker (cached there under a digest of its bytes) and the job itself is plain-pickled. A worker runs its jobs one at
a time, in order. Short jobs are sent ahead: when the last runs of the functions took under SHORT_TASK, a worker
gets up to DEPTH jobs (about BACKLOG seconds of them) in one message, topped up when it holds REFILL or fewer, and
starts each as soon as it sends the previous outcome, without waiting for the engine; a job whose function is slow
or unknown yet never waits behind another. A job submitted with ``submit_after`` follows its only upstream task on
that task's worker (see procworker.py), so a chain of tasks runs without a round trip to the engine per link.

A worker that dies -- SIGKILL, segfault, ``os._exit`` -- closes its pipe; the engine reports its running task failed
with the signal or exit code, gives the jobs queued behind it to the other workers (a job following a task goes
with that task) and starts a replacement. A worker exits by itself when the engine process dies.

Processes a task starts do not outlive it: after each task the worker ends every process it left behind
(proctree.py). When the engine kills a worker (stop, Ctrl+C) it ends the worker's process group and descendants
with it. A worker's stderr spool is unlinked as soon as both sides hold it open, so no crash leaves it behind.
"""

from __future__ import annotations

import atexit
import hashlib
import math
import os
import pickle
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime
from multiprocessing.connection import Connection

import cloudpickle

from ..models import TaskError
from .executors import Event, Released, Started, check_max_workers
from .proctree import descendants, end_processes
from .procworker import job_to_wire, outcome_from_wire, worker_main
from .workers import HOST, Job, Outcome, system_line

__all__ = ["ProcessExecutor", "descendants", "end_processes", "shared_process_executor", "worker_main"]

SHORT_TASK = 0.01
"""A job may be sent behind a running one when both functions' last runs took less than this (seconds)."""
DEPTH = 16
"""The most jobs a worker holds (the running one included)."""
BACKLOG = 0.02
REFILL = DEPTH // 2
"""A busy worker gets more short jobs once it holds this many or fewer (then up to DEPTH in one message), so a
message carries many jobs and wakes the worker once for them."""
"""About how many seconds of short jobs (by their functions' last runs) a worker holds behind its running one."""

_BOOT = "from datatailr_jupyter.engine.procworker import worker_main; worker_main()"


class _Worker:
    def __init__(self) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = dict(os.environ)
        paths = [p or os.getcwd() for p in sys.path]
        env["PYTHONPATH"] = os.pathsep.join(paths)
        tag = uuid.uuid4().hex
        self.spool = os.path.join(tempfile.gettempdir(), f"dt-stderr-{tag}")
        self.out_spool = os.path.join(tempfile.gettempdir(), f"dt-stdout-{tag}")
        # The engine's own descriptors on the spools: the worker unlinks the paths once it has opened them, and
        # what a dead worker's spools hold (a crash report, the task's last lines) is read through them.
        self.spool_fd = os.open(self.spool, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        self.out_spool_fd = os.open(self.out_spool, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BOOT, str(to_child_r), str(from_child_w), self.spool, self.out_spool],
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
        self.jobs: deque[Job] = deque()  # the running job first, then the jobs sent behind it, in order
        self.unsent: list[Job] = []  # the last of ``jobs``, not sent yet
        self.backlog = 0.0  # seconds of the jobs behind the running one (their functions' last runs)
        self.started: datetime | None = None  # when the current job started
        self.poll = select.poll()
        self.poll.register(from_child_r, select.POLLIN)
        self.send.send_bytes(pickle.dumps(("init", paths, os.getcwd())))

    def readable(self) -> bool:
        """Whether a message (or the end of the pipe) is waiting to be read."""
        return bool(self.poll.poll(0))

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
        job = self.job
        if job is not None:  # died or killed mid-task: keep what its spools hold (a crash report, its last lines)
            _salvage(self.spool_fd, job.stderr)
            head = os.pread(self.out_spool_fd, 4096, 0).split(b"\n", 1)[0]
            if f"(task {job.task_id}, run {job.run_id})".encode() in head:  # the spool holds this job's output
                _salvage(self.out_spool_fd, job.stdout)
        for fd, path in ((self.spool_fd, self.spool), (self.out_spool_fd, self.out_spool)):
            os.close(fd)
            try:
                os.unlink(path)  # the worker died before it could
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
        self.prefetch = self.max_workers * (DEPTH + 2)  # jobs the run loop keeps submitted ahead
        self.workers: list[_Worker] = []
        self.queue: deque[Job] = deque()
        self.followers: dict[int, Job] = {}  # task id -> the job following it, while that task is not sent yet
        self.unfollowable: set[int] = set()  # tasks whose followers the worker releases (failed, or result in a file)
        self.events: list[Event] = []
        self.lock = threading.Lock()  # held by the run using this executor
        self.durations: dict[str, float] = {}  # seconds the last job of each function took
        self.closed = False
        self.polled: tuple[select.poll, dict[int, _Worker]] | None = None

    def start(self) -> None:
        """Start the worker processes now (they import in the background while the caller prepares)."""
        while len(self.workers) < self.max_workers:
            self.workers.append(_Worker())

    def submit(self, job: Job) -> None:
        self.queue.append(job)

    def submit_after(self, job: Job, after: int) -> bool:
        """Queue ``job`` to run right after task ``after`` on its worker, with that task's value as its input
        (``job.inputs[after]`` is ignored). False when ``after`` is not the last job of a worker or queued."""
        for worker in self.workers:
            if worker.jobs and worker.jobs[-1].task_id == after and len(worker.jobs) < DEPTH:
                job.after = after
                self._place(worker, job)
                return True
        if any(q.task_id == after for q in self.queue) or any(f.task_id == after for f in self.followers.values()):
            if after not in self.followers:
                job.after = after
                self.followers[after] = job
                return True
        return False

    def _last(self, job: Job) -> float | None:
        return self.durations.get(job.func_key) if job.func_key else None

    def _place(self, worker: _Worker, job: Job) -> None:
        """Append ``job`` (and the jobs following it) to ``worker``'s jobs, to be sent by ``_flush``."""
        while True:
            worker.jobs.append(job)
            worker.unsent.append(job)
            if len(worker.jobs) > 1:
                worker.backlog += self._last(job) or 0.0
            follower = self.followers.pop(job.task_id, None)
            if follower is None:
                return
            job = follower

    def _room(self, worker: _Worker) -> bool:
        """Whether a short job at the queue's head may go behind ``worker``'s jobs."""
        if not worker.jobs:
            return True
        if len(worker.jobs) >= DEPTH or worker.backlog >= BACKLOG:
            return False
        if not worker.unsent and len(worker.jobs) > REFILL:
            return False  # still busy for a while: topped up later, many jobs per message
        head, last = self._last(self.queue[0]), self._last(worker.jobs[0])
        return head is not None and head < SHORT_TASK and last is not None and last < SHORT_TASK

    def _dispatch(self) -> None:
        if self.queue and len(self.workers) < self.max_workers:
            self.start()
        # Idle workers first, then short jobs behind short running ones, one per worker per round (balanced).
        for worker in self.workers:
            if self.queue and not worker.jobs:
                self._place(worker, self.queue.popleft())
        placed = True
        while self.queue and placed:
            placed = False
            for worker in sorted(self.workers, key=lambda w: len(w.jobs)):
                if self.queue and self._room(worker):
                    self._place(worker, self.queue.popleft())
                    placed = True
        self._flush()

    def _flush(self) -> None:
        for worker in list(self.workers):
            if worker.unsent:
                self._send(worker)

    def _send(self, worker: _Worker) -> None:
        jobs, worker.unsent = worker.unsent, []
        wire = []
        for job in jobs:
            key = job.func_key or hashlib.sha1(job.function_bytes or b"").hexdigest()
            fbytes = None if key in worker.functions else job.function_bytes
            worker.functions.add(key)
            plain = job_to_wire(job)  # the job with its inputs, without the function (sent once per worker)
            try:
                body = pickle.dumps(plain, protocol=5)
            except Exception:
                body = cloudpickle.dumps(plain)
            wire.append((job.task_id, key, fbytes, body, job.stderr))
        first = len(worker.jobs) == len(jobs)
        try:
            worker.send.send_bytes(pickle.dumps(("jobs", wire), protocol=5))
        except OSError:  # died: its jobs not started go to the other workers (_died)
            for job in jobs:
                worker.functions.discard(job.func_key or hashlib.sha1(job.function_bytes or b"").hexdigest())
            self._died(worker)
            return
        if first:
            self._begin(worker, jobs[0].clock.now())

    def _begin(self, worker: _Worker, now: datetime) -> None:
        job = worker.jobs[0]
        if job.after is not None and job.after in self.unfollowable:
            return  # the worker releases it
        worker.started = now
        self.events.append(Started(job.task_id, now, HOST, worker.proc.pid))

    def _died(self, worker: _Worker) -> None:
        job = worker.job
        worker.kill()
        self.workers.remove(worker)
        if job is None:
            return
        # Jobs sent behind the running one never started: back to the queue, each follower with the task it follows
        # (a follower of the failed task is dropped: the run loop ends it did_not_run).
        behind = list(worker.jobs)[1:]
        worker.jobs.clear()
        dropped = {job.task_id}
        requeued: list[Job] = []
        for queued in behind:
            if queued.after is None:
                requeued.append(queued)
            elif queued.after in dropped:
                dropped.add(queued.task_id)
            else:
                self.followers[queued.after] = queued
        self.queue.extendleft(reversed(requeued))
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

    def _received(self, worker: _Worker, message: tuple[object, ...]) -> None:
        done = worker.jobs.popleft()
        if worker.jobs:
            worker.backlog = max(0.0, worker.backlog - (self._last(worker.jobs[0]) or 0.0))
        else:
            worker.backlog = 0.0
        if message[0] == "release":
            self.events.append(Released(done.task_id))
            now = done.clock.now()
            followable = False
        else:
            outcome = outcome_from_wire(message)
            self.durations[done.func_key] = (outcome.end_time - outcome.start_time).total_seconds()
            followable = outcome.ok and outcome.result is not None and outcome.result.data is not None
            self.events.append(outcome)
            now = outcome.end_time
        if done.after is not None:
            self.unfollowable.discard(done.after)
        if not followable and worker.jobs and worker.jobs[0].after == done.task_id:
            self.unfollowable.add(done.task_id)  # the worker releases the job following it
        if worker.jobs:
            self._begin(worker, now)

    def _poller(self) -> tuple[select.poll, dict[int, _Worker]]:
        """A poll object over the workers' pipes, made again only when the workers changed."""
        if self.polled is None or list(self.polled[1].values()) != self.workers:
            poller = select.poll()
            by_fd = {w.recv.fileno(): w for w in self.workers}
            for fd in by_fd:
                poller.register(fd, select.POLLIN)
            self.polled = (poller, by_fd)
        return self.polled

    def wait(self, timeout: float | None) -> list[Event]:
        self._dispatch()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            poller, conns = self._poller()
            left = 0.0 if self.events else (None if deadline is None else max(0.0, deadline - time.monotonic()))
            ready = poller.poll(None if left is None else math.ceil(left * 1000)) if conns else []
            for fd, _ in ready:
                worker = conns[fd]
                if worker not in self.workers:
                    continue  # died while handling an earlier pipe of this round
                try:
                    while True:
                        self._received(worker, pickle.loads(worker.recv.recv_bytes()))
                        if not worker.jobs or not worker.readable():
                            break
                except (EOFError, OSError):
                    self._died(worker)
                    continue
            self._dispatch()
            if self.events or (deadline is not None and time.monotonic() >= deadline) or not conns:
                out, self.events = self.events, []
                return out

    def cancel(self) -> set[int]:
        self.queue.clear()
        self.followers.clear()
        self.unfollowable.clear()
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
