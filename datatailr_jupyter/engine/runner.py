"""The run loop: a ready-queue scheduler that executes one run of a Blueprint over an injected Executor.

Design (only the loop thread mutates run state; executors only run jobs and report events):

1. The run and its tasks exist in the store (``start_run``); the loop marks the run running and records the
   tasks a rerun reuses (``reused_from_run``, by reference) or skips (``did_not_run``).
2. Each task whose dependencies have all completed is *ready* (state ``pending``). The loop builds its Job --
   log files, the function, the argument map and the upstream values -- and submits it, keeping only about
   two jobs per worker submitted ahead, so workers start while the remaining jobs are prepared.
3. The loop waits for executor events: ``Started`` (state ``running``) and ``Outcome``. A completed task's
   result was encoded in the worker; it is committed with the task's completion in the same ``update_tasks``
   call. Updates are batched, one ``update_tasks`` call at least every 20 ms; batches commit in order, so the
   store never shows a task completed while a task it depends on is not. A task that must read an upstream
   result back from the store (a large one) starts only once that result is committed. A failed task's
   downstream tasks end ``did_not_run``; independent branches go on.
4. Upstream values: in-process executors get the Python object the upstream task returned. Process workers
   get its encoded bytes (kept by the loop until the last consumer is submitted, small results only) or, for
   results written to files, the file's path when the store has local files (``result_file``), else the bytes
   read back from the store; the worker checks and decodes them (see workers.Input).
5. The run ends ``completed`` when every task it was meant to run completed, else ``failed`` (error_message =
   first failure). The workflow's time limits hold on every executor: past ``fail_after`` (from the run's start)
   running tasks are cancelled and end ``failed_after``, the others ``did_not_run``, and the run ends
   ``failed_after``; a run none of whose tasks started within ``expire_after`` of when it was due (its scheduled
   time, else its start) -- e.g. waiting for a cluster worker that can take them -- ends ``expired`` with its
   tasks. An executor that loses its workers for good (a cluster scheduler gone, ExecutorError) ends the run
   ``failed`` with the reason. KeyboardInterrupt stops it: running tasks are killed and end ``stopped``, tasks
   not started end ``did_not_run``, the run ends ``stopped``, and the interrupt is re-raised. SIGTERM does the
   same (when the program has no SIGTERM handler of its own and the loop runs in the main thread), then exits
   with 143.

Every recorded time comes from the injected clock (``clock.now()``), so histories can be recorded backdated.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from ..errors import ExecutorError
from ..models import RunState, TaskError
from ..store.protocols import RunStore, RunUpdate, TaskUpdate, result_file_of
from .clock import Clock, system_clock
from .executors import Executor, Released, Started
from .graph import SYSTEM_PARAMS, Blueprint
from .runlogs import RunLogs
from .sigterm import Terminated, catch_sigterm, restore_sigterm
from .workers import Input, Job, Outcome

__all__ = ["RunLoop"]

_FLUSH_EVERY = 0.02  # task updates are committed in batches at least this often (and before consumers start)


class RunLoop:
    """Executes the tasks of one created run; ``run()`` returns the run's final state."""

    def __init__(
        self,
        store: RunStore,
        run_id: int,
        blueprint: Blueprint,
        executor: Executor,
        *,
        clock: Clock = system_clock,
        reuse: dict[int, tuple[int, int]] | None = None,
        skip: set[int] | None = None,
        scheduled_time: datetime | None = None,
        poll: float = 0.25,
        fail_after: timedelta | None = None,
        expire_after: timedelta | None = None,
    ) -> None:
        self.store, self.run_id, self.bp, self.executor, self.clock = store, run_id, blueprint, executor, clock
        self.reuse = dict(reuse or {})
        self.skip = set(skip or ())
        self.scheduled_time = scheduled_time
        self.poll = poll
        self.fail_after = fail_after if fail_after is not None else blueprint.options.get("fail_after")
        self.expire_after = expire_after if expire_after is not None else blueprint.options.get("expire_after")
        self.fail_at: datetime | None = None
        self.expire_at: datetime | None = None
        self.started_any = False
        self.tasks = {t.id: t for t in blueprint.tasks}
        self.children: dict[int, list[int]] = defaultdict(list)
        for t in blueprint.tasks:
            for d in t.dependencies:
                self.children[d].append(t.id)
        self.state: dict[int, RunState] = {}
        self.waiting: dict[int, int] = {}  # task -> number of dependencies not completed yet
        self.consumers: dict[int, int] = {}  # task -> consumers not submitted yet (its value is kept until 0)
        self.values: dict[int, Input] = {}  # upstream values kept for consumers not submitted yet
        self.stored: dict[int, tuple[int, int]] = {}  # ... or where to read them: (run id, task id)
        self.ready: list[int] = []  # may start: every dependency completed
        self.fresh: set[int] = set()  # ready since the last commit (their upstream results are not committed yet)
        # Jobs are prepared just ahead of the workers, so the first ones start while the rest are prepared (a
        # cluster executor may ask for more ahead with ``prefetch``: its round trips are longer).
        self.in_flight = getattr(executor, "prefetch", None) or 2 * max(1, executor.max_workers)
        self.active: set[int] = set()  # submitted, no outcome yet
        self.following: dict[int, int] = {}  # submitted to run right after its only upstream task (submit_after)
        self.batch: dict[int, dict[str, Any]] = {}
        self.committed: set[int] = set()  # tasks whose terminal state is in the store
        self.first_error: str | None = None
        self.staging = store.staging_dir()
        self.logs = RunLogs(store, run_id, clock)
        self.functions: dict[int, tuple[bytes, str]] = {}  # pickled task functions and their digests
        self.last_flush = time.monotonic()
        self.system: dict[str, str] = {}

    # ------------------------------------------------------------ updates

    def _update(self, task_id: int, **fields: Any) -> None:
        self.batch.setdefault(task_id, {}).update(fields)
        if "state" in fields:
            self.state[task_id] = fields["state"]

    def _flush(self) -> None:
        if not self.batch:
            return
        batch, self.batch = self.batch, {}
        self.last_flush = time.monotonic()
        self.fresh.clear()
        self.store.update_tasks(self.run_id, [TaskUpdate(task_id=tid, **f) for tid, f in batch.items()])
        self.committed.update(tid for tid, f in batch.items() if "state" in f and f["state"].is_terminal)

    # ------------------------------------------------------------ lifecycle

    def run(self) -> RunState:
        previous = catch_sigterm()
        try:
            self._begin()
            while self.active or self.ready:
                limited = self._past_limit()
                if limited is not None:
                    return limited
                room = self.in_flight - len(self.active)
                if self.ready and room > 0:
                    batch, self.ready = self.ready[:room], self.ready[room:]
                    if self._needs_commit(batch):
                        self._flush()
                    self._submit(batch)
                    self._follow(batch)
                waited = time.monotonic() - self.last_flush
                timeout = max(0.0, _FLUSH_EVERY - waited) if self.batch else self.poll
                events = self.executor.wait(timeout)
                started: list[int] = []
                for event in events:
                    if isinstance(event, Started):
                        self.started_any = True
                        self._update(
                            event.task_id, state=RunState.RUNNING, start_time=event.time, host=event.host, attempt=1
                        )
                        if event.task_id in self.following:
                            self._consumed(self.following.pop(event.task_id))
                        started.append(event.task_id)
                    elif isinstance(event, Released):
                        self._released(event.task_id)
                    else:
                        self._finished(event)
                self._follow(started)
                self.logs.pump()
                if not events or time.monotonic() - self.last_flush >= _FLUSH_EVERY or len(self.batch) >= 512:
                    self._flush()
            return self._finish()
        except KeyboardInterrupt as exc:
            terminated = isinstance(exc, Terminated)
            self._stop("stopped by SIGTERM" if terminated else "stopped by KeyboardInterrupt (Ctrl+C)")
            counts: dict[str, int] = defaultdict(int)
            for state in self.state.values():
                counts[state.value] += 1
            summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            cause = "SIGTERM" if terminated else "KeyboardInterrupt"
            print(f"run {self.run_id} of {self.bp.workflow!r} stopped by {cause} ({summary})", file=sys.stderr)
            if terminated:  # the process was asked to end: it does, with the shell's status for SIGTERM
                raise SystemExit(128 + signal.SIGTERM) from None
            raise
        except ExecutorError as exc:  # the executor's workers are gone for good: the run fails with the reason
            self._stop(str(exc), RunState.FAILED)
            return RunState.FAILED
        except BaseException as exc:
            self._stop(f"engine error: {type(exc).__name__}: {exc}", RunState.FAILED)
            raise
        finally:
            restore_sigterm(previous)
            self.logs.close()

    def _begin(self) -> None:
        start = self.clock.now()
        self.store.update_run(self.run_id, RunUpdate(state=RunState.RUNNING, start_time=start))
        scheduled = self.scheduled_time
        if self.fail_after is not None:
            self.fail_at = start + self.fail_after
        if self.expire_after is not None:
            self.expire_at = (scheduled or start) + self.expire_after
        base = {
            "rundate": (scheduled or start).date().isoformat(),
            "scheduled_time": scheduled.isoformat() if scheduled else "",
            "started_at": start.isoformat(),
            "batch_name": self.bp.workflow,
        }
        for name in SYSTEM_PARAMS:
            value = os.environ.get(f"DATATAILR_BATCH_ARG_{name.upper()}")
            if value is not None and name != "job_name":
                base[name] = value
        self.system = base
        for tid, (source_run, source_task) in self.reuse.items():
            # shared by reference, also when the task has another id in this version
            self._update(tid, state=RunState.COMPLETED, reused_from_run=source_run, reused_from_task=source_task)
            self.stored[tid] = (source_run, source_task)
        for tid in self.skip:
            self._update(tid, state=RunState.DID_NOT_RUN)
        for t in self.bp.tasks:
            self.consumers[t.id] = sum(1 for c in self.children[t.id] if c not in self.reuse and c not in self.skip)
            if t.id in self.reuse or t.id in self.skip:
                continue
            self.waiting[t.id] = sum(1 for d in t.dependencies if d not in self.reuse)
            if self.waiting[t.id] == 0:
                self.ready.append(t.id)
                self._update(t.id, state=RunState.PENDING)
        self._flush()

    def _finish(self) -> RunState:
        self.logs.pump(force=True)
        self._flush()
        meant = [tid for tid in self.tasks if tid not in self.skip]
        if all(self.state.get(tid) is RunState.COMPLETED for tid in meant):
            final = RunState.COMPLETED
        else:
            final = RunState.FAILED
        self.store.update_run(
            self.run_id, RunUpdate(state=final, end_time=self.clock.now(), error_message=self.first_error)
        )
        return final

    def _past_limit(self) -> RunState | None:
        """End the run when it passed fail_after, or expire_after with no task started; its final state then."""
        if self.fail_at is None and (self.expire_at is None or self.started_any):
            return None
        now = self.clock.now()
        if self.fail_at is not None and now >= self.fail_at:
            reason = f"the run took longer than its fail_after ({self.fail_after}); it was stopped"
            self._stop(reason, RunState.FAILED_AFTER, running_as=RunState.FAILED_AFTER)
            return RunState.FAILED_AFTER
        if self.expire_at is not None and not self.started_any and now >= self.expire_at:
            due = "scheduled time" if self.scheduled_time is not None else "start"
            reason = f"no task started within the run's expire_after ({self.expire_after}) of its {due}"
            self._stop(reason, RunState.EXPIRED, waiting_as=RunState.EXPIRED)
            return RunState.EXPIRED
        return None

    def _stop(
        self,
        reason: str,
        final: RunState = RunState.STOPPED,
        running_as: RunState = RunState.STOPPED,
        waiting_as: RunState = RunState.DID_NOT_RUN,
    ) -> None:
        running = self.executor.cancel() | {t for t in self.active if self.state.get(t) is RunState.RUNNING}
        now = self.clock.now()
        self.batch = {}
        error_type = {RunState.STOPPED: "Stopped", RunState.FAILED_AFTER: "FailedAfter"}.get(running_as, "Stopped")
        for tid in self.tasks:
            if tid in self.committed:
                continue
            if tid in running:
                self._update(tid, state=running_as, end_time=now, error=TaskError(error_type, reason))
                self.logs.append_line(tid, f"end {self.tasks[tid].name!r}: {running_as.value}: {reason}")
            elif self.state.get(tid) is RunState.COMPLETED and tid in self.reuse:
                source_run, source_task = self.reuse[tid]
                self._update(tid, state=RunState.COMPLETED, reused_from_run=source_run, reused_from_task=source_task)
            elif tid in self.skip or self.state.get(tid) is RunState.DID_NOT_RUN:
                self._update(tid, state=RunState.DID_NOT_RUN)
            else:
                self._update(tid, state=waiting_as)
        try:
            self.logs.pump(force=True)
            self._flush()
            self.store.update_run(self.run_id, RunUpdate(state=final, end_time=now, error_message=reason))
        except Exception as exc:
            from ..terminal import clean

            print(
                f"datatailr_jupyter: could not record the end of run {self.run_id}: {clean(str(exc))}", file=sys.stderr
            )

    # ------------------------------------------------------------ tasks

    def _input(self, ref: int) -> Input:
        if ref in self.values:
            return self.values[ref]
        # A result in a file of a local store goes to a worker as its path: the worker reads (maps) it itself.
        located = None if self.executor.in_process else result_file_of(self.store, *self.stored[ref])
        if located is not None:
            file_meta, path = located
            by_path: Input = ("file", file_meta, str(path))
            if self.consumers.get(ref, 0) > 1:
                self.values[ref] = by_path
            return by_path
        meta, data = self.store.read_result(*self.stored[ref])
        if self.executor.in_process:
            from ..store.codecs import decode

            value: Input = ("value", decode(meta, data, trusted=True))
        else:
            value = ("encoded", meta, data)
        if self.consumers.get(ref, 0) > 1 and len(data) <= (1 << 24):
            self.values[ref] = value  # several consumers: read it once
        return value

    def _needs_commit(self, batch: list[int]) -> bool:
        """Whether a task of ``batch`` reads an upstream result from the store that is not committed yet."""
        return any(
            d in self.batch and self.stored.get(d, (0, 0))[0] == self.run_id
            for tid in batch
            if tid in self.fresh
            for d in self.tasks[tid].dependencies
        )

    def _consumed(self, ref: int) -> None:
        """One more consumer of ``ref`` has its value: drop the value after the last one."""
        self.consumers[ref] -= 1
        if self.consumers[ref] <= 0:
            self.values.pop(ref, None)

    def _submit(self, ready: list[int]) -> None:
        for tid in ready:
            inputs: dict[int, Input] = {}
            for d in self.tasks[tid].dependencies:
                inputs[d] = self._input(d)
                self._consumed(d)
            self.executor.submit(self._job(tid, inputs))
            self.active.add(tid)

    def _follow(self, submitted: list[int]) -> None:
        """Hand the executor, for each task just submitted, its first child that has no other upstream task, to run
        right after it on its worker (no round trip through this loop per link of a chain). The child's start is
        reported only after the task's completion, so both are recorded together, completion first."""
        submit_after = getattr(self.executor, "submit_after", None)
        if submit_after is None:
            return
        for tid in submitted:
            while len(self.active) < self.in_flight:  # down the chain, past the links already submitted
                child = next((c for c in self.children[tid] if len(self.tasks[c].dependencies) == 1), None)
                if child is None or child not in self.waiting:
                    break
                if child not in self.active:
                    if self.waiting[child] != 1 or not submit_after(self._job(child, {tid: ("follow", None)}), tid):
                        break
                    self.active.add(child)
                    self.following[child] = tid
                tid = child

    def _released(self, tid: int) -> None:
        """A job submitted to follow its upstream task came back unstarted: it is submitted as any other."""
        if tid not in self.active or tid not in self.following:
            return
        self.active.discard(tid)
        del self.following[tid]
        if self.waiting.get(tid) == 0:
            self.ready.append(tid)
            self.fresh.add(tid)
            self._update(tid, state=RunState.PENDING)

    def _job(self, tid: int, inputs: dict[int, Input]) -> Job:
        t = self.tasks[tid]
        function_bytes, func_key = None, ""
        if not self.executor.in_process:
            key = id(t.function)
            if key not in self.functions:
                from .versions import dump_code

                code = dump_code(t.function, [t.function])
                self.functions[key] = (code, hashlib.sha1(code).hexdigest())
            function_bytes, func_key = self.functions[key]
        return Job(
            run_id=self.run_id,
            task_id=tid,
            name=t.name,
            attempt=1,
            func_key=func_key,
            arguments=t.arguments,
            inputs=inputs,
            system={**self.system, "job_name": t.name},
            env_vars=t.env_vars,
            stdout=self.logs.path(tid, "stdout"),
            stderr=self.logs.path(tid, "stderr"),
            staging_dir=str(self.staging) if self.staging is not None else None,
            clock=self.clock,
            function=t.function if self.executor.in_process else None,
            function_bytes=function_bytes,
            resources=t.resources,
        )

    def _finished(self, outcome: Outcome) -> None:
        tid = outcome.task_id
        if tid not in self.active:
            return
        self.active.discard(tid)
        self.logs.pump_task(tid)
        common: dict[str, Any] = {
            "start_time": outcome.start_time,
            "end_time": outcome.end_time,
            "exit_code": outcome.exit_code,
        }
        if outcome.pid:
            common["host"] = outcome.host
        if outcome.ok:
            self._update(tid, state=RunState.COMPLETED, result=outcome.result, **common)
            if self.executor.in_process:
                self.values[tid] = ("value", outcome.value)
            elif outcome.result is not None and outcome.result.data is not None:
                self.values[tid] = ("encoded", outcome.result.meta, outcome.result.data)
            else:
                self.stored[tid] = (self.run_id, tid)
            if self.consumers.get(tid, 0) <= 0:
                self.values.pop(tid, None)
            for child in self.children[tid]:
                if child in self.waiting:
                    self.waiting[child] -= 1
                    if self.waiting[child] == 0 and child not in self.active:  # (else it follows this task)
                        self.ready.append(child)
                        self.fresh.add(child)
                        self._update(child, state=RunState.PENDING)
            return
        self._update(tid, state=RunState.FAILED, error=outcome.error, **common)
        if self.first_error is None and outcome.error is not None:
            self.first_error = f"task {self.tasks[tid].name!r} failed: {outcome.error.type}: {outcome.error.message}"
        for down in sorted(self.bp.downstream({tid}) - {tid}):
            if down in self.waiting and self.state.get(down) is None:
                self._update(down, state=RunState.DID_NOT_RUN)
                del self.waiting[down]
                if self.following.pop(down, None) is not None:  # the executor drops it: no event comes for it
                    self.active.discard(down)
