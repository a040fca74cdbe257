"""The scheduler: starts runs of deployed, scheduled workflows when their cron ticks come, exactly once per tick.

Each pass looks at the latest *deployed* version of every workflow (``wf()`` without ``local_run``). If its
schedule has a tick at or before now that is newer than the deployment and than the last scheduled run, the
scheduler claims that tick in the store (``claim_schedule``: true exactly once per workflow, env and tick, so a
restarted or second scheduler never starts it again) and starts the run with ``trigger=schedule`` and
``scheduled_time`` set. After downtime only the latest missed tick runs (no backfill storm); the number of
skipped ticks is logged. Claiming comes before starting, so a crash in between loses that tick rather than
running it twice.

One workflow never stops the others. Once a tick is claimed, anything that keeps its run from starting (stored
code that cannot be loaded here: a module that does not import, a damaged pickle) is recorded as that tick's
failed run, with the reason and what to do. A stored schedule that has no tick (one deployed before such
schedules were refused) is recorded once per deployed version as a failed run. Every such error is one line of
the log, printed once per scheduler process, never a traceback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import CodeLoadError, DatatailrJupyterError, NotFoundError
from ..models import RunQuery, RunState, Trigger, Version, utcnow
from ..store.protocols import NewRun, RunStore, RunUpdate, TaskSpec, TaskUpdate
from .clock import Clock
from .executors import check_max_workers
from .graph import Blueprint
from .launch import engine_owner, execute_run, start_run
from .schedule import latest_tick, ticks_between
from .versions import blueprint_for

__all__ = ["Deployment", "deployments", "run_scheduler", "scheduler_tick"]

Log = Callable[[str], None]


@dataclass(frozen=True)
class Deployment:
    workflow: str
    env: str
    schedule: str
    version: Version


def deployments(store: RunStore, log: Log | None = None) -> list[Deployment]:
    """The scheduled deployments: per workflow, its latest deployed version when that has a schedule.

    A workflow whose versions cannot be read is left out (and said in ``log``), so the others still run."""
    out: list[Deployment] = []
    seen: set[str] = set()
    for info in store.list_workflows():
        if info.key in seen:
            continue
        seen.add(info.key)
        try:
            versions = store.list_versions(info.key)
        except NotFoundError:
            continue
        except Exception as exc:
            if log is not None:
                log(f"dt scheduler: {info.name!r}: its versions cannot be read: {_describe(exc)}")
            continue
        deployed = [v for v in versions if isinstance(v.definition.get("deployment"), dict)]
        if not deployed:
            continue
        latest = deployed[-1]
        dep: dict[str, Any] = latest.definition["deployment"]
        if dep.get("schedule"):
            out.append(Deployment(info.name, str(dep.get("env", "dev")), str(dep["schedule"]), latest))
    return out


class _FixedClock:
    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now()


def _last_scheduled(store: RunStore, workflow: str, env: str) -> datetime | None:
    page = store.list_runs(RunQuery(workflow=workflow, env=env, limit=20))
    times = [r.scheduled_time for r in page.runs if r.trigger is Trigger.SCHEDULE and r.scheduled_time]
    return max(times) if times else None


def _describe(exc: BaseException) -> str:
    """``Type: message`` on one line."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _code_error(dep: Deployment, exc: BaseException) -> str:
    if isinstance(exc, CodeLoadError) and exc.__cause__ is not None:
        exc = exc.__cause__  # the scheduler gives its own advice for the underlying failure
    what = f"the code of version {dep.version.version} could not be loaded by the scheduler ({_describe(exc)})"
    if isinstance(exc, ImportError):
        return (
            f"{what}; start `dt scheduler` where the workflow's modules import (in its project directory, or with "
            "that directory on PYTHONPATH) or install them there, or deploy the workflow again"
        )
    if isinstance(exc, DatatailrJupyterError):
        return what
    return f"{what}; deploy the workflow again from an environment that runs it"


def _task_specs(definition: dict[str, Any]) -> tuple[TaskSpec, ...]:
    """The tasks of a stored definition, so a run that could not start still shows its DAG."""
    try:
        return tuple(
            TaskSpec(
                int(t["id"]),
                str(t["name"]),
                str(t.get("function", "")),
                tuple(int(d) for d in t["dependencies"]),
                dict(t.get("resources") or {}),
            )
            for t in definition.get("tasks", [])
        )
    except (KeyError, TypeError, ValueError):
        return ()


def _record_failed(store: RunStore, dep: Deployment, tick: datetime | None, reason: str, clock: Clock) -> int:
    """A scheduled run of ``dep`` that ended before it started: state failed, ``reason`` as its error."""
    now = clock.now()
    tasks = _task_specs(dep.version.definition)
    summary = store.create_run(
        NewRun(
            workflow=dep.workflow, env=dep.env, job_version=dep.version.version, tasks=tasks,
            trigger=Trigger.SCHEDULE, scheduled_time=tick, submit_time=now, owner=engine_owner(),
        )
    )  # fmt: skip
    if tasks:
        store.update_tasks(summary.run_id, [TaskUpdate(t.id, state=RunState.DID_NOT_RUN) for t in tasks])
    store.update_run(
        summary.run_id, RunUpdate(state=RunState.FAILED, start_time=now, end_time=now, error_message=reason)
    )
    return summary.run_id


class _Pass:
    """One scheduler pass over the deployments (state shared between passes: ``seen`` ticks, ``said`` errors)."""

    def __init__(
        self,
        store: RunStore,
        now: datetime,
        executor: object,
        max_workers: int | None,
        clock: Clock,
        log: Log,
        seen: dict[tuple[str, str], datetime],
        said: dict[tuple[str, str], str],
    ) -> None:
        self.store, self.now, self.executor, self.max_workers = store, now, executor, max_workers
        self.clock, self.log, self.seen, self.said = clock, log, seen, said

    def error(self, dep: Deployment, message: str) -> None:
        """Log one line for a workflow's error, once per process for the same message."""
        key = (dep.version.workflow_key, dep.env)
        line = f"dt scheduler: {dep.workflow!r} [{dep.env}] v{dep.version.version}: {message}"
        if self.said.get(key) != line:
            self.said[key] = line
            self.log(line)

    def start(self, dep: Deployment) -> int | None:
        """Start ``dep``'s due tick if this pass claims it; the run id, or None when nothing is due."""
        key = (dep.version.workflow_key, dep.env)
        created = dep.version.created_at
        try:
            tick = latest_tick(dep.schedule, self.now)
        except Exception as exc:
            return self.unusable_schedule(dep, exc)
        if created is not None and tick < created:
            return None  # no tick since it was deployed
        last = self.seen.get(key) or _last_scheduled(self.store, dep.workflow, dep.env)
        if last is not None and tick <= last:
            return None
        since = max(t for t in (last, created) if t is not None) if (last or created) else None
        missed = ticks_between(dep.schedule, since, tick) - 1 if since is not None else 0
        self.seen[key] = tick
        if not self.store.claim_schedule(dep.workflow, dep.env, tick):
            return None  # another scheduler (or this one before a restart) has it
        # The tick is ours from here: whatever keeps its run from starting is recorded as its failed run.
        if missed > 0:
            self.log(
                f"dt scheduler: {dep.workflow!r} [{dep.env}]: skipped {missed} missed tick(s); running {tick:%F %T}"
            )
        try:
            blueprint = blueprint_for(self.store, dep.workflow, dep.version.version)
        except Exception as exc:
            reason = _code_error(dep, exc)
            run_id = _record_failed(self.store, dep, tick, reason, self.clock)
            self.error(dep, f"run {run_id} for {tick:%F %T} failed: {reason}")
            return run_id
        return self.execute(dep, blueprint, tick)

    def execute(self, dep: Deployment, blueprint: Blueprint, tick: datetime) -> int:
        run_id = start_run(
            self.store, blueprint, dep.version.version, dep.env, trigger=Trigger.SCHEDULE, scheduled_time=tick,
            clock=self.clock,
        )  # fmt: skip
        self.log(f"dt scheduler: run {run_id} of {dep.workflow!r} [{dep.env}] v{dep.version.version} for {tick:%F %T}")
        try:
            execute_run(
                self.store, run_id, blueprint, self.executor, self.max_workers, clock=self.clock, scheduled_time=tick
            )
        except Exception as exc:
            self.log(f"dt scheduler: run {run_id} of {dep.workflow!r} could not finish: {_describe(exc)}")
        return run_id

    def unusable_schedule(self, dep: Deployment, exc: Exception) -> int | None:
        """A stored schedule without ticks: one failed run per deployed version (claimed at its deployment time)."""
        reason = (
            f"its schedule {dep.schedule!r} cannot be used ({_describe(exc)}); deploy it again with a schedule "
            "that ticks, e.g. '0 6 * * *'"
        )
        created = dep.version.created_at
        key = (dep.version.workflow_key, dep.env)
        if created is not None and self.seen.get(key) == created:
            return None  # recorded (and said) by this process already
        if created is None:
            self.error(dep, f"not scheduled: {reason}")
            return None
        self.seen[key] = created
        if not self.store.claim_schedule(dep.workflow, dep.env, created):
            self.error(dep, f"not scheduled: {reason}")
            return None
        run_id = _record_failed(self.store, dep, None, reason, self.clock)
        self.error(dep, f"run {run_id} failed: {reason}")
        return run_id


def scheduler_tick(
    store: RunStore,
    now: datetime,
    *,
    executor: object = None,
    max_workers: int | None = None,
    clock: Clock | None = None,
    log: Log = print,
    seen: dict[tuple[str, str], datetime] | None = None,
    said: dict[tuple[str, str], str] | None = None,
) -> list[int]:
    """One pass: start every due tick that this call claims; returns the ids of the runs it started.

    A workflow's error (bad stored schedule, code that does not load here, a store error about it) is logged in
    one line and, once its tick is claimed, recorded as that tick's failed run; the pass goes on with the others.
    ``seen`` and ``said`` carry the ticks seen and the errors logged from one pass to the next.
    """
    check_max_workers(max_workers)  # before a tick is claimed and its run recorded
    work = _Pass(
        store, now, executor, max_workers, clock or _FixedClock(utcnow), log,
        {} if seen is None else seen, {} if said is None else said,
    )  # fmt: skip
    started: list[int] = []
    for dep in deployments(store, log):
        try:
            run_id = work.start(dep)
        except Exception as exc:
            work.error(dep, f"skipped this pass: {_describe(exc)}")
            continue
        if run_id is not None:
            started.append(run_id)
    return started


def run_scheduler(
    store: RunStore,
    *,
    poll_interval: float = 30.0,
    stop: threading.Event | None = None,
    now: Callable[[], datetime] = utcnow,
    executor: object = None,
    max_workers: int | None = None,
    log: Callable[[str], None] = print,
) -> None:
    """Start scheduled runs until ``stop`` is set (or KeyboardInterrupt): one pass every ``poll_interval`` s.
    Each pass first ends the runs of engines that died (``recover``), so they do not stay running for ever.

    Runs execute one after another in this thread; ``now`` is injectable for tests and simulations.
    """
    if poll_interval <= 0:
        raise ValueError(f"poll_interval must be a positive number of seconds, got {poll_interval}")
    check_max_workers(max_workers)
    stop = stop or threading.Event()
    seen: dict[tuple[str, str], datetime] = {}
    said: dict[tuple[str, str], str] = {}
    while not stop.is_set():
        try:
            recovered = store.recover()  # every pass: engines (notebooks, other schedulers) die while it waits
            if recovered:
                log(f"dt scheduler: marked {len(recovered)} run(s) of a dead engine as ended: {recovered}")
            scheduler_tick(store, now(), executor=executor, max_workers=max_workers, log=log, seen=seen, said=said)
        except Exception as exc:  # the store itself failed this pass; the next one tries again
            log(f"dt scheduler: this pass failed ({_describe(exc)}); trying again in {poll_interval:g} s")
        stop.wait(poll_interval)
