"""The Dask executor: a run's tasks on a ``distributed`` cluster, with the semantics of the local process pool.

``executor="dask://host:8786"`` (or a ``distributed.Client``, or ``DT_EXECUTOR``) makes one per run. Each job is one
Dask task (``Client.submit``, a key of its own, no retries) running ``dask_worker.run_job`` in a worker thread:

- The task's pickled function is scattered once per run and unpickled once per worker. A small upstream result
  reaches its consumers as the producing task's future, so it moves worker to worker (the engine gathers it once,
  to commit it); a large one (written to the store's staging area by its worker) goes by its store file path.
- A task whose only upstream task is still running is submitted at once with that task's future
  (``submit_after``), so a chain runs inside the cluster as Dask runs it, without a round trip to the engine per
  link. Its start is reported only after its upstream task's outcome (the engine records that completion first);
  when the upstream task failed or its result went to a file, it does not run and is released (the engine submits
  it again once it is ready).
- Output is routed per thread (capture.py: print, logging, subprocesses). When the workers see the engine's log
  directory (one machine or a shared filesystem, checked once per run with a probe file) they write the store's log
  files and results' staging files directly, so running tasks' logs can be tailed; otherwise a task's logs are
  written on its worker and their new bytes streamed to the engine's log files while it runs (dask_logs.py), the
  complete logs coming back with its outcome, and its result travels in memory.
- Starts are reported through the worker's event log (``log_event`` -> ``Client.subscribe_topic``) for tasks still
  running 50 ms after their start (a shorter one's start comes with its outcome), and so are ends: the outcome
  itself up to 16 KiB (pickled, with its logs when those come back with it), else a word to gather it. There is
  no done callback per future: futures that end otherwise (lost, cancelled, an error outside the task) are found
  by a look at their states every HEALTH_EVERY. Jobs submitted together go in one ``Client.map`` per resource
  need. System lines name the worker.
- Faults: a worker that dies mid-task fails that task with ``WorkerLost`` naming the worker (tasks carry no retry
  policy; a second attempt Dask schedules elsewhere finds the first one's log and does not run the function); a
  cluster whose workers cannot take a task's ``cpu`` / ``memory`` (when they declare such resources) fails it at
  once; a scheduler that cannot be reached fails before the run is created, and one lost mid-run ends it failed
  (ExecutorError). ``cancel`` cancels the futures and interrupts the tasks' threads on the workers.
"""

from __future__ import annotations

import os
import pickle
import queue
import sys
import time
import uuid
import zlib
from datetime import datetime
from typing import Any

from ..errors import ExecutorError
from ..models import TaskError
from .dask_connect import connect
from .dask_logs import LOG_TOPIC, LogSink
from .dask_worker import TOPIC, interrupt_tasks, run_job
from .executors import Event, Released, Started, check_max_workers
from .workers import Job, Outcome

__all__ = ["DaskExecutor", "open_dask_executor"]

HEALTH_EVERY = 1.0  # seconds between checks of the cluster's workers while tasks are out
NO_WORKERS_GRACE = 60.0  # a cluster without workers for this long fails the run
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_RESOURCE_NAMES = {"cpu": ("cpu", "cpus", "CPU", "CPUS"), "memory": ("memory", "mem", "MEMORY", "MEM")}


def open_dask_executor(target: object, max_workers: int | None) -> tuple[DaskExecutor, Any]:
    """The ``dask`` executor kind: ``dask://host:port`` (a client kept per address) or a distributed.Client."""
    try:
        import distributed
    except ImportError:
        raise ExecutorError(
            "the dask executor needs the distributed package: pip install 'datatailr_jupyter[dask]'"
        ) from None
    client = target if isinstance(target, distributed.Client) else connect(str(target))
    executor = DaskExecutor(client, max_workers)
    return executor, executor.close


# Events of the workers, dispatched to the executors of this process (a client keeps one handler per topic).
_EXECUTORS: dict[str, DaskExecutor] = {}
_SUBSCRIBED: set[str] = set()


def _on_event(event: tuple[float, dict[str, Any]]) -> None:
    executor = _EXECUTORS.get(event[1].get("t", ""))
    if executor is not None:
        executor.events.put(("started" if "w" in event[1] else "ended", event[1]))


def _on_log(event: tuple[float, dict[str, Any]]) -> None:
    executor = _EXECUTORS.get(event[1].get("t", ""))
    if executor is not None:
        executor.events.put(("log", event[1]))


class DaskExecutor:
    """Runs tasks on the workers of a Dask cluster through ``client``."""

    name = "dask"
    in_process = False

    def __init__(self, client: Any, max_workers: int | None = None) -> None:
        check_max_workers(max_workers)
        self.client = client
        self.address = client.scheduler.address
        self.token = uuid.uuid4().hex[:12]
        self.events: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self.futures: dict[int, Any] = {}  # submitted, no outcome yet
        self.jobs: dict[int, Job] = {}
        self.started: dict[int, str] = {}  # task -> the worker it started on
        self.kept: dict[int, tuple[bytes, Any]] = {}  # completed: (result bytes, future) for consumers
        self.held: dict[int, list[Started]] = {}  # starts of followers, until their upstream task's outcome
        self.ready: list[Event] = []  # outcomes decided here (a task no worker can take)
        self.shared: bool | None = None  # whether the workers see the engine's log directory
        self.probe: str | None = None
        self.sink = LogSink()  # logs streamed from workers that do not see the log directory
        self.packed: dict[int, tuple[bytes, bytes]] = {}  # id -> a pickled function, and compressed
        self.finished_seen: set[int] = set()  # finished futures whose report had not come at the last look
        self.pending: dict[int, tuple[Job, tuple[Any, ...], dict[str, float]]] = {}  # submitted, not yet sent
        self.workers = self._workers()
        self.declared = self._declared()
        threads = sum(w.get("nthreads", 1) for w in self.workers.values())
        self.max_workers = max_workers or max(1, threads)
        self.prefetch = max(4 * self.max_workers, 4096)
        self.last_health = time.monotonic()
        self.no_workers_since: float | None = None
        _EXECUTORS[self.token] = self
        if client.id not in _SUBSCRIBED:
            client.subscribe_topic(TOPIC, _on_event)
            client.subscribe_topic(LOG_TOPIC, _on_log)
            _SUBSCRIBED.add(client.id)

    def _workers(self) -> dict[str, dict[str, Any]]:
        try:
            info = self.client.scheduler_info(n_workers=-1)
        except TypeError:  # releases before n_workers
            info = self.client.scheduler_info()
        except Exception as exc:
            raise self._lost(exc) from None
        return dict(info.get("workers", {}))

    def _lost(self, cause: object) -> ExecutorError:
        return ExecutorError(f"lost the Dask scheduler at {self.address} mid-run ({cause}); the run was ended")

    # ------------------------------------------------------------ submitting

    def submit(self, job: Job) -> None:
        self._submit(job, {})

    def submit_after(self, job: Job, after: int) -> bool:
        """Submit ``job`` now with the future of task ``after`` (running or queued) as its upstream value."""
        if after in self.pending:
            self._flush()
        future = self.futures.get(after)
        if future is None or self._resources(job):  # (a task placed by its resources goes the usual way)
            return False
        job.after = after
        self._submit(job, {after: future})
        return True

    def _submit(self, job: Job, follows: dict[int, Any]) -> None:
        if self.shared is None:
            self._check_shared(os.path.dirname(job.stdout))
        need = self._resources(job)
        if isinstance(need, str):
            now = job.clock.now()
            self.ready.append(Outcome(job.task_id, False, now, now, error=TaskError("NoWorkerFits", need)))
            return
        upstream: dict[int, Any] = dict(follows)
        inputs: dict[int, Any] = {}
        for ref, item in job.inputs.items():
            if ref in follows:
                continue
            kept = self.kept.get(ref)
            if item[0] == "encoded" and kept is not None and kept[0] is item[2]:  # type: ignore[misc]
                upstream[ref] = kept[1]  # the producer's future: the bytes stay on the workers
            elif item[0] == "file" and not self.shared:
                with open(item[2], "rb") as fh:  # type: ignore[misc]
                    inputs[ref] = ("encoded", item[1], fh.read())
            else:
                inputs[ref] = item
        # the function travels by value with each task: as a scattered future it would be a dependency, and once
        # Dask's memory manager drops its extra replicas (every 2 s, when no task waits for it) every later task of
        # that function could only be placed on the one worker still holding it. Compressed (once per function): a
        # third of the bytes, and without the text "__main__" its source may hold, which would make Dask pickle
        # every task a second time with cloudpickle.
        raw = job.function_bytes or b""
        packed = self.packed.get(id(raw))
        if packed is None or packed[0] is not raw:  # (the loop hands the same bytes for every task of a function)
            packed = self.packed[id(raw)] = (raw, zlib.compress(raw, 1))
        fbytes = packed[1]
        plain = Job(**{**job.__dict__, "function": None, "function_bytes": None, "inputs": inputs})
        self.pending[job.task_id] = (job, (plain, fbytes, upstream), need)

    def _flush(self) -> None:
        """Send the jobs submitted since the last call to the scheduler: one ``Client.map`` per kind of resource need
        (one graph update for many tasks, where ``Client.submit`` sends one per task)."""
        groups: dict[tuple[tuple[str, float], ...], list[tuple[Job, tuple[Any, ...]]]] = {}
        for job, args, need in self.pending.values():
            groups.setdefault(tuple(sorted(need.items())), []).append((job, args))
        self.pending = {}
        for needs, jobs in groups.items():
            resources = dict(needs) or None
            if len(jobs) == 1:  # (one task: submit costs less than map)
                job, args = jobs[0]
                futures = [
                    self.client.submit(
                        run_job, *args, self.token, self.shared,
                        key=_key(job, self.token), pure=False, retries=0, resources=resources,
                    )
                ]  # fmt: skip
            else:
                columns = list(zip(*(args for _, args in jobs), strict=True))
                futures = self.client.map(
                    run_job, *columns, [self.token] * len(jobs), [self.shared] * len(jobs),
                    key=[_key(job, self.token) for job, _ in jobs], pure=False, retries=0, resources=resources,
                )  # fmt: skip
            for (job, _), future in zip(jobs, futures, strict=True):
                self.futures[job.task_id] = future
                self.jobs[job.task_id] = job
        # (no done callback: each costs a wake-up of the client's event loop and a coroutine there; the worker
        # reports the end with the events, and the futures' states are looked at every HEALTH_EVERY for the rest)

    def _check_shared(self, directory: str) -> None:
        """Whether every worker sees ``directory`` (the run's logs): a probe file is written there and looked for."""
        print(
            f"datatailr_jupyter: running on the Dask cluster at {self.address} (dashboard: "
            f"{self.client.dashboard_link})",
            file=sys.stderr,
        )
        self.probe = os.path.join(directory, f".dt-probe-{self.token}")
        try:
            with open(self.probe, "wb"):
                pass
            seen = self.client.run(os.path.exists, self.probe)
        except Exception:
            seen = {}
        self.shared = bool(seen) and all(seen.values())

    def _declared(self) -> dict[str, tuple[str, float]]:
        """cpu / memory -> (the resource name the workers declare, the most one worker declares)."""
        out: dict[str, tuple[str, float]] = {}
        for kind, names in _RESOURCE_NAMES.items():
            offered = [w.get("resources", {}) for w in self.workers.values()]
            found = [(n, float(r[n])) for r in offered for n in names if n in r]
            if found:
                out[kind] = max(found, key=lambda d: d[1])
        return out

    def _resources(self, job: Job) -> dict[str, float] | str:
        """The Dask resources a job needs (when the workers declare cpu/memory ones), or why no worker can take it."""
        need: dict[str, float] = {}
        for kind, (name, largest) in self.declared.items():
            amount = _amount(job.resources.get(kind))
            if amount is None:
                continue
            if amount > largest:
                return (
                    f"no worker of the Dask cluster at {self.address} can take task {job.name!r}: it needs "
                    f"{kind}={job.resources.get(kind)}, and the most any worker declares is {name}={largest:g}"
                )
            need[name] = amount
        return need

    # ------------------------------------------------------------ waiting

    def wait(self, timeout: float | None) -> list[Event]:
        if self.pending:
            self._flush()
        out, self.ready = self.ready, []
        items: list[tuple[Any, ...]] = []
        try:
            items.append(self.events.get(timeout=0 if out else min(timeout or HEALTH_EVERY, HEALTH_EVERY)))
        except queue.Empty:
            pass
        while True:
            try:
                items.append(self.events.get_nowait())
            except queue.Empty:
                break
        done: list[tuple[int, Any]] = []
        for item in items:
            if item[0] == "started":
                msg = item[1]
                tid = msg["id"]
                if tid in self.futures and tid not in self.started:
                    self.started[tid] = msg["w"]
                    event = Started(tid, datetime.fromisoformat(msg["s"]), msg["h"], msg["p"])
                    after = self.jobs[tid].after
                    if after is not None and after in self.futures:  # its upstream's outcome first
                        self.held.setdefault(after, []).append(event)
                    else:
                        out.append(event)
            elif item[0] == "log":
                self._log(item[1])
            elif item[0] == "ended":
                tid = item[1]["id"]
                future = self.futures.get(tid)
                if future is None:
                    continue  # (it had its outcome: failed or cancelled)
                if "o" in item[1]:
                    outcome, logs = pickle.loads(item[1]["o"])
                    out.extend(self._outcome(tid, outcome, logs, future))
                else:
                    done.append((tid, future))
        if self.futures and time.monotonic() - self.last_health >= HEALTH_EVERY:
            done.extend(self._ended_unreported())
        done = [(tid, f) for tid, f in done if self.futures.get(tid) is f]
        finished = [(tid, f) for tid, f in done if f.status in ("finished", "pending")]  # (pending: ending now)
        if finished:
            try:
                values = self.client.gather([f for _, f in finished])
            except Exception as exc:
                if self.client.status != "running":
                    raise self._lost(exc) from None
                values = [self._gather_one(tid, f) for tid, f in finished]  # (one of them failed on the cluster)
            for (tid, future), value in zip(finished, values, strict=True):
                if not isinstance(value, Exception):
                    out.extend(self._outcome(tid, value[0], value[1], future))
                elif future.status in ("error", "cancelled", "lost"):
                    out.extend(self._failed(tid, future))
                else:
                    error = TaskError(type(value).__name__, f"the Dask task's outcome could not be fetched: {value}")
                    out.extend(self._fail(tid, error))
        for tid, ended in done:
            if ended.status not in ("finished", "pending") and self.futures.get(tid) is ended:
                out.extend(self._failed(tid, ended))
        if self.futures and time.monotonic() - self.last_health >= HEALTH_EVERY:
            out.extend(self._health())
        return out

    def _outcome(self, tid: int, outcome: Outcome | None, logs: tuple[bytes, bytes] | None, future: Any) -> list[Event]:
        job = self.jobs.pop(tid)
        del self.futures[tid]
        held: list[Event] = list(self.held.pop(tid, []))
        if outcome is None:  # a follower whose upstream task failed or stored its result in a file
            self.started.pop(tid, None)
            return [Released(tid), *held]
        events: list[Event] = []
        if self.started.pop(tid, None) is None:
            events.append(Started(tid, outcome.start_time, outcome.host, outcome.pid))
        if logs is not None:
            self.sink.settle(tid, (job.stdout, job.stderr), logs)
        if outcome.ok and outcome.result is not None and outcome.result.data is not None:
            self.kept[tid] = (outcome.result.data, future)
        return [*events, outcome, *held]

    def _gather_one(self, tid: int, future: Any) -> Any:
        try:
            return self.client.gather(future)
        except Exception as exc:
            return exc

    def _ended_unreported(self) -> list[tuple[int, Any]]:
        """Futures that ended without the worker's report: failed on the cluster (lost, cancelled, an error outside
        the task), or finished twice in a row here with the report still to come."""
        ended: list[tuple[int, Any]] = []
        seen, self.finished_seen = self.finished_seen, set()
        for tid, future in self.futures.items():
            status = future.status
            if status == "finished":
                if tid in seen:
                    ended.append((tid, future))
                else:
                    self.finished_seen.add(tid)
            elif status != "pending":
                ended.append((tid, future))
        return ended

    def _failed(self, tid: int, future: Any) -> list[Event]:
        if self.client.status != "running":
            raise self._lost(f"the client is {self.client.status}")
        worker = self.started.get(tid)
        if future.status == "cancelled" and worker is not None and worker not in self._workers():
            error = TaskError("WorkerLost", _worker_lost(worker))
        elif future.status in ("cancelled", "lost"):
            error = TaskError("Cancelled", f"its Dask task was {future.status} on the cluster")
        else:
            exc = future.exception()
            if type(exc).__name__ == "KilledWorker":
                error = TaskError("WorkerLost", f"worker lost: {exc}")
            else:
                error = TaskError(type(exc).__name__, f"the Dask task failed: {exc}")
        return self._fail(tid, error)

    def _log(self, message: dict[str, Any]) -> None:
        """A chunk of a running task's log, streamed from its worker."""
        job = self.jobs.get(message["id"])
        if job is None or job.attempt != message.get("a"):
            return  # (a late chunk of a task with an outcome: its complete logs were written)
        try:
            self.sink.chunk(job.stderr if message["s"] else job.stdout, job.task_id, message)
        except (OSError, KeyError, TypeError, ValueError):
            pass  # the outcome's complete logs settle the file

    def _fail(self, tid: int, error: TaskError) -> list[Event]:
        job = self.jobs.pop(tid)
        future = self.futures.pop(tid)
        self.started.pop(tid, None)
        self.sink.forget(tid)
        future.cancel()
        now = job.clock.now()
        return [Outcome(tid, False, now, now, error=error, exit_code=None), *self.held.pop(tid, [])]

    def _health(self) -> list[Event]:
        """Fail the tasks of workers that left; end the run when the scheduler is gone or no worker is left."""
        self.last_health = time.monotonic()
        if self.client.status != "running":
            raise self._lost(f"the client is {self.client.status}")
        self.workers = self._workers()
        self.declared = self._declared()
        if not self.workers:
            self.no_workers_since = self.no_workers_since or time.monotonic()
            if time.monotonic() - self.no_workers_since > NO_WORKERS_GRACE:
                raise ExecutorError(f"the Dask cluster at {self.address} has had no workers for {NO_WORKERS_GRACE:g} s")
        else:
            self.no_workers_since = None
        out: list[Event] = []
        for tid, worker in list(self.started.items()):
            if worker not in self.workers:
                out.extend(self._fail(tid, TaskError("WorkerLost", _worker_lost(worker))))
        return out

    # ------------------------------------------------------------ stopping

    def cancel(self) -> set[int]:
        running = set(self.started)
        futures = list(self.futures.values())
        self.futures, self.jobs, self.started, self.ready, self.held, self.pending = {}, {}, {}, [], {}, {}
        self.sink = LogSink()
        if futures and self.client.status == "running":  # (a lost scheduler would make these calls wait)
            try:
                self.client.cancel(futures, force=True)
                self.client.run(interrupt_tasks, self.token, wait=False)
            except Exception:
                pass
        while True:
            try:
                self.events.get_nowait()
            except queue.Empty:
                return running

    def close(self) -> None:
        if self.futures:
            self.cancel()
        _EXECUTORS.pop(self.token, None)
        self.kept.clear()
        if self.probe is not None:
            try:
                os.unlink(self.probe)
            except OSError:
                pass


def _key(job: Job, token: str) -> str:
    """The Dask key of a job: a follower that is released and submitted again gets a new key (Dask would otherwise
    answer with the released one's result)."""
    return f"dt-{job.name}-{token}-{job.task_id}" + ("" if job.after is None else f"-after-{job.after}")


def _worker_lost(worker: str) -> str:
    return f"worker lost: the Dask worker {worker} left the cluster (it died or was killed) while running the task"


def _amount(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().lower().rstrip("ib")
    return float(text[:-1]) * _UNITS[text[-1]] if text and text[-1] in _UNITS else float(text)
