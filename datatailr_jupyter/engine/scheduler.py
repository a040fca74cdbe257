"""The scheduler: starts runs of deployed, scheduled workflows when their cron ticks come, exactly once per tick.

Each pass looks at the latest *deployed* version of every workflow (``wf()`` without ``local_run``). If its
schedule has a tick at or before now that is newer than the deployment and than the last scheduled run, the
scheduler claims that tick in the store (``claim_schedule``: true exactly once per workflow, env and tick, so a
restarted or second scheduler never starts it again) and starts the run with ``trigger=schedule`` and
``scheduled_time`` set. After downtime only the latest missed tick runs (no backfill storm); the number of
skipped ticks is logged. Claiming comes before starting, so a crash in between loses that tick rather than
running it twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import DatatailrJupyterError, NotFoundError
from ..models import RunQuery, Trigger, Version, utcnow
from ..store.protocols import RunStore
from .clock import Clock
from .executors import Executor
from .launch import execute_run, start_run
from .schedule import latest_tick, ticks_between
from .versions import blueprint_for

__all__ = ["Deployment", "deployments", "run_scheduler", "scheduler_tick"]


@dataclass(frozen=True)
class Deployment:
    workflow: str
    env: str
    schedule: str
    version: Version


def deployments(store: RunStore) -> list[Deployment]:
    """The scheduled deployments: per workflow, its latest deployed version when that has a schedule."""
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


def scheduler_tick(
    store: RunStore,
    now: datetime,
    *,
    executor: str | Executor = "process",
    max_workers: int | None = None,
    clock: Clock | None = None,
    log: Callable[[str], None] = print,
    seen: dict[tuple[str, str], datetime] | None = None,
) -> list[int]:
    """One pass: start every due tick that this call claims; returns the ids of the runs it started."""
    started: list[int] = []
    seen = {} if seen is None else seen
    for dep in deployments(store):
        key = (dep.version.workflow_key, dep.env)
        tick = latest_tick(dep.schedule, now)
        created = dep.version.created_at
        if created is not None and tick < created:
            continue  # no tick since it was deployed
        last = seen.get(key) or _last_scheduled(store, dep.workflow, dep.env)
        if last is not None and tick <= last:
            continue
        seen[key] = tick
        if not store.claim_schedule(dep.workflow, dep.env, tick):
            continue  # another scheduler (or this one before a restart) has it
        since = max(t for t in (last, created) if t is not None) if (last or created) else None
        missed = ticks_between(dep.schedule, since, tick) - 1 if since is not None else 0
        if missed > 0:
            log(f"dt scheduler: {dep.workflow!r} [{dep.env}]: skipped {missed} missed tick(s); running {tick:%F %T}")
        blueprint = blueprint_for(store, dep.workflow, dep.version.version)
        run_clock = clock or _FixedClock(utcnow)
        run_id = start_run(
            store, blueprint, dep.version.version, dep.env, trigger=Trigger.SCHEDULE, scheduled_time=tick,
            clock=run_clock,
        )  # fmt: skip
        log(f"dt scheduler: run {run_id} of {dep.workflow!r} [{dep.env}] v{dep.version.version} for {tick:%F %T}")
        started.append(run_id)
        try:
            execute_run(store, run_id, blueprint, executor, max_workers, clock=run_clock, scheduled_time=tick)
        except DatatailrJupyterError as exc:
            log(f"dt scheduler: run {run_id} of {dep.workflow!r} could not finish: {exc}")
    return started


def run_scheduler(
    store: RunStore,
    *,
    poll_interval: float = 30.0,
    stop: threading.Event | None = None,
    now: Callable[[], datetime] = utcnow,
    executor: str | Executor = "process",
    max_workers: int | None = None,
    log: Callable[[str], None] = print,
) -> None:
    """Start scheduled runs until ``stop`` is set (or KeyboardInterrupt): one pass every ``poll_interval`` s.

    Runs execute one after another in this thread; ``now`` is injectable for tests and simulations.
    """
    if poll_interval <= 0:
        raise ValueError(f"poll_interval must be a positive number of seconds, got {poll_interval}")
    stop = stop or threading.Event()
    seen: dict[tuple[str, str], datetime] = {}
    recovered = store.recover()
    if recovered:
        log(f"dt scheduler: marked {len(recovered)} run(s) of a dead engine as ended: {recovered}")
    while not stop.is_set():
        scheduler_tick(store, now(), executor=executor, max_workers=max_workers, log=log, seen=seen)
        stop.wait(poll_interval)
