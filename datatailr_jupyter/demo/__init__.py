"""Fills a store with three weeks of engine-made history: ``python -m datatailr_jupyter.demo --store DIR [--runs N]``.

Every run is a real run of the engine (real task code, logs, results, failures and reruns); only the clock is
injected: each run gets a :class:`~datatailr_jupyter.engine.clock.ScaledClock` that starts at its backdated time
and runs faster than the wall clock, so three weeks are recorded in under a minute. Each version is registered
(scheduled workflows: deployed to prod) with a creation time shortly before its first run. Failures are the task
code meeting bad conditions: which run meets which (a slow service, a record without a field, a refund in the
sales feed, a full scratch disk) is drawn from a seeded random generator and handed to the simulated services
through a small control file (``DT_DEMO_CONTROL``), so the same seed gives the same history.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

from ..engine import ProcessExecutor, ScaledClock, ThreadExecutor, rerun
from ..engine.decorators import WorkflowFunction
from ..engine.launch import run_blueprint
from ..engine.versions import deploy, register
from ..models import RunState, Trigger
from ..settings import store_url_from
from ..store.protocols import RunStore, VersionSpec
from ..store.registry import open_store
from .services import CONTROL_ENV
from .workflows import complex_pipeline, daily_sales, regime_sweep, simple_data_pipeline, stock_lake_compaction

SPEED = 3000.0  # one real millisecond is recorded as three seconds (in worker processes, which start slower: 0.6 s)
DAYS = 21
DSR = "Daily Sales Report"


# ---------------------------------------------------------------- what goes wrong, and how it is fixed


@dataclass(frozen=True)
class Trouble:
    """Conditions a run meets (system -> behaviour, read by demo.services) and the rerun that fixes the run."""

    conditions: dict[str, dict[str, Any]]
    versions: tuple[int, ...] = ()  # only runs of these versions meet it (all when empty)
    fix: dict[str, Any] = field(default_factory=dict)  # rerun options ({}: from failure)


REPORT_THROTTLED = Trouble({"object-store": {"slow_down": "s3://reports/daily-sales/"}}, (3,))  # the last task fails
TROUBLES: dict[str, tuple[float, list[Trouble]]] = {
    # workflow: (probability per run, what can happen)
    DSR: (
        0.12,
        [
            Trouble({"sales-api": {"latency_s": 47.0}}),  # TimeoutError calling the sales API
            Trouble({"sales-api": {"drop_field": ["amount", 137]}}),  # KeyError in the parser
            Trouble({"sales-api": {"refund": [212, "-1204.50"]}}, (2, 3), {"from_task": "fetch_data"}),  # bad row
            REPORT_THROTTLED,
        ],
    ),
    "Simple Data Pipeline": (
        0.1,
        [Trouble({"number-service": {"status": 503}}), Trouble({"scratch": {"free_bytes": 96 * 2**20}})],
    ),
    "Complex Pipeline": (
        0.06,
        [Trouble({"number-service": {"latency_s": 12.5}}), Trouble({"number-service": {"value": -1}}, (2,))],
    ),
    "Stock Lake Hourly Compaction": (0.04, [Trouble({"object-store": {"slow_down": "quotes/hour=03"}})]),
    "Regime Sweep": (0.2, [Trouble({"market-data": {"unstable_seed": 4}})]),
}

VERSIONS = {DSR: (0, 7, 16), "Complex Pipeline": (0, 11)}  # day of the history each version arrives
WORKFLOWS: dict[str, Callable[[int], WorkflowFunction]] = {
    DSR: daily_sales,
    "Complex Pipeline": complex_pipeline,
    "Simple Data Pipeline": lambda version: simple_data_pipeline,
    "Stock Lake Hourly Compaction": lambda version: stock_lake_compaction,
    "Regime Sweep": lambda version: regime_sweep,
}
DEPLOYED = {DSR, "Stock Lake Hourly Compaction"}  # scheduled: each version is deployed to prod


# ---------------------------------------------------------------- the timeline


@dataclass(order=True)
class Event:
    when: datetime
    workflow: str = field(compare=False)
    env: str = field(compare=False)
    trigger: Trigger = field(compare=False)
    version: int = field(compare=False, default=1)
    conditions: dict[str, dict[str, Any]] = field(compare=False, default_factory=dict)
    rerun_of: Event | None = field(compare=False, default=None)
    rerun: dict[str, Any] = field(compare=False, default_factory=dict)
    run_id: int | None = field(compare=False, default=None)
    executor: str = field(compare=False, default="thread")


CADENCE = [
    # workflow, env, every (hours), trigger, jitter (minutes)
    ("Stock Lake Hourly Compaction", "prod", 1, Trigger.SCHEDULE, 0),
    ("Stock Lake Hourly Compaction", "pre", 1, Trigger.SCHEDULE, 0),
    ("Stock Lake Hourly Compaction", "dev", 2, Trigger.MANUAL, 60),
    (DSR, "prod", 24, Trigger.SCHEDULE, 0),
    (DSR, "pre", 24, Trigger.SCHEDULE, 0),
    (DSR, "dev", 3, Trigger.MANUAL, 120),
    ("Simple Data Pipeline", "dev", 1, Trigger.MANUAL, 50),
    ("Simple Data Pipeline", "pre", 8, Trigger.MANUAL, 60),
    ("Simple Data Pipeline", "prod", 12, Trigger.SCHEDULE, 0),
    ("Complex Pipeline", "prod", 3, Trigger.SCHEDULE, 0),
    ("Complex Pipeline", "dev", 8, Trigger.MANUAL, 120),
    ("Regime Sweep", "prod", 24, Trigger.SCHEDULE, 0),
    ("Regime Sweep", "dev", 72, Trigger.MANUAL, 240),
]


def history_start(now: datetime) -> datetime:
    """Midnight UTC, DAYS days before ``now``: daily schedules then tick at their cron time (06:00)."""
    return (now - timedelta(days=DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)


def version_at(workflow: str, when: datetime, start: datetime) -> int:
    return sum(1 for day in VERSIONS.get(workflow, (0,)) if when >= start + timedelta(days=day))


def timeline(now: datetime, runs: int, rng: random.Random) -> list[Event]:
    start = history_start(now)
    events: list[Event] = []
    for wf, env, every, trigger, jitter in CADENCE:
        t = start + (timedelta(hours=6) if every == 24 else timedelta(hours=rng.randrange(every)))
        while t < now - timedelta(minutes=30):
            when = t + timedelta(minutes=rng.uniform(0, jitter)) if jitter else t
            if trigger is Trigger.MANUAL and when.weekday() >= 5 and rng.random() < 0.8:
                t += timedelta(hours=every)
                continue  # fewer manual runs at weekends
            events.append(Event(when, wf, env, trigger, version_at(wf, when, start)))
            t += timedelta(hours=every)
    events.sort()
    featured = _featured(events, now)
    if runs and len(events) > runs:
        step = len(events) / runs
        events = [events[int(i * step)] for i in range(runs)]
        if featured is not None and not any(ev is featured for ev in events):
            nearest = min(range(len(events)), key=lambda i: abs(events[i].when - featured.when))
            events[nearest] = featured
            events.sort()
    reruns: list[Event] = []
    for ev in events:
        reruns.extend(_trouble_and_reruns(ev, featured, now, rng))
    events = sorted(ev for ev in events + reruns if ev.when < now - timedelta(minutes=45))
    for ev in events[-25:]:
        ev.executor = "process"
    return events


def _featured(events: list[Event], now: datetime) -> Event | None:
    """The last scheduled prod run of the Daily Sales Report older than a day: publishing its report always fails
    (the object store throttles), then it is rerun from failure, reusing what it fetched and computed."""
    prod = [ev for ev in events if ev.workflow == DSR and ev.env == "prod" and ev.when < now - timedelta(hours=20)]
    return prod[-1] if prod else None


def _rerun_event(of: Event, after: timedelta, options: dict[str, Any]) -> Event:
    again = Event(of.when + after, of.workflow, of.env, Trigger.RERUN, of.version)
    again.rerun_of, again.rerun = of, dict(options)
    return again


def _trouble_and_reruns(ev: Event, featured: Event | None, now: datetime, rng: random.Random) -> list[Event]:
    """Decide what ``ev`` meets; returns the reruns that follow it."""
    minutes = timedelta(minutes=1)
    if ev is featured:
        ev.conditions = REPORT_THROTTLED.conditions
        return [_rerun_event(ev, rng.uniform(35, 70) * minutes, {})]
    if featured is not None and ev.workflow == DSR and ev.env == "prod" and ev.when > featured.when:
        return []  # the featured failure stays the newest failed prod run of the report
    probability, troubles = TROUBLES[ev.workflow]
    possible = [t for t in troubles if not t.versions or ev.version in t.versions]
    if rng.random() < probability:
        trouble = possible[rng.randrange(len(possible))]
        ev.conditions = trouble.conditions
        if rng.random() >= 0.65:
            return []  # nobody reran it
        again = _rerun_event(ev, rng.uniform(20, 180) * minutes, trouble.fix)
        if ev.workflow == DSR and ev.version == 1 and rng.random() < 0.5:
            again.rerun = {"latest_version": True}  # fixed in a newer version: rerun with that one, later
            again.when = now - timedelta(days=rng.uniform(1, 4))
            return [again]
        if rng.random() < 0.25:  # the first rerun, from failure, fails the same way; a second one fixes it
            again.rerun, again.conditions = {}, ev.conditions
            return [again, _rerun_event(again, rng.uniform(20, 90) * minutes, trouble.fix)]
        return [again]
    if ev.workflow == "Complex Pipeline" and rng.random() < 0.05:
        return [_rerun_event(ev, timedelta(hours=1), {"full": True})]
    if ev.workflow == "Simple Data Pipeline" and rng.random() < 0.04:
        return [_rerun_event(ev, 40 * minutes, {"from_task": "Random 0-10"})]
    return []


# ---------------------------------------------------------------- versions, made before their first run


class _CreatedAt:
    """The store, except that the versions registered through it carry ``created_at``."""

    def __init__(self, store: RunStore, created_at: datetime) -> None:
        self._store, self._created_at = store, created_at

    def register_version(self, spec: VersionSpec) -> Any:
        return self._store.register_version(replace(spec, created_at=self._created_at))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def register_versions(
    store: RunStore, events: list[Event], start: datetime, rng: random.Random
) -> dict[tuple[str, int], tuple[int, Any]]:
    """Register (scheduled workflows: deploy to prod) every version a little before its first run.

    Returns (workflow, demo version) -> (store version, built workflow)."""
    first: dict[tuple[str, int], datetime] = {}
    for ev in events:
        first.setdefault((ev.workflow, ev.version), ev.when)
    planned = []
    for name, make in WORKFLOWS.items():
        for version, day in enumerate(VERSIONS.get(name, (0,)), start=1):
            arrives = start + timedelta(days=day, hours=6)
            use = first.get((name, version), arrives)
            planned.append((min(arrives, use) - timedelta(minutes=rng.uniform(30, 300)), name, version, make(version)))
    made: dict[tuple[str, int], tuple[int, Any]] = {}
    for created, name, version, wf in sorted(planned, key=lambda p: p[0]):
        stamped = cast(RunStore, _CreatedAt(store, created))
        blueprint, options, params = wf.build()
        if name in DEPLOYED:
            with contextlib.redirect_stdout(io.StringIO()):
                number = deploy(blueprint, options, env="prod", store=stamped).version
        else:
            number = register(stamped, blueprint, options).version
        made[(name, version)] = (number, (blueprint, options, params))
    return made


# ---------------------------------------------------------------- running it


def already_filled(store: RunStore) -> int:
    return sum(w.n_runs for w in store.list_workflows() if w.name == DSR)


def fill(store: RunStore, runs: int = 0, seed: int = 7, now: datetime | None = None) -> dict[str, int]:
    """Run the demo history into ``store``; returns counts by outcome."""
    now = now or datetime.now(timezone.utc)
    rng = random.Random(seed)
    events = timeline(now, runs, rng)
    versions = register_versions(store, events, history_start(now), rng)
    counts = {"runs": 0, "failed": 0, "reruns": 0}
    control = Path(tempfile.mkdtemp(prefix="dt-demo-")) / "control.json"
    control.write_text("{}")
    old_control = os.environ.get(CONTROL_ENV)
    os.environ[CONTROL_ENV] = str(control)
    threads = ThreadExecutor(6)
    processes = ProcessExecutor(2)  # its own workers: they see this fill's control file
    quiet = contextlib.redirect_stderr(io.StringIO())  # the engine's one line per failed run: expected here
    try:
        processes.start()
        quiet.__enter__()
        for ev in events:
            clock = ScaledClock.starting_at(ev.when, SPEED if ev.executor == "thread" else SPEED / 5)
            timing = {"start": clock.start.isoformat(), "origin": clock.origin, "speed": clock.speed}
            control.write_text(json.dumps({"clock": timing, "conditions": ev.conditions}))
            executor: Any = processes if ev.executor == "process" else threads
            if ev.rerun_of is not None:
                if ev.rerun_of.run_id is None:
                    continue
                options = dict(ev.rerun)
                if options.pop("latest_version", False):
                    options["version"] = store.list_versions(ev.workflow)[-1].version
                handle = rerun(ev.rerun_of.run_id, store=store, executor=executor, clock=clock, **options)
                counts["reruns"] += 1
            else:
                number, (blueprint, options, params) = versions[(ev.workflow, ev.version)]
                scheduled = ev.when if ev.trigger is Trigger.SCHEDULE else None
                handle = run_blueprint(
                    blueprint, options, env=ev.env, store=store, executor=executor, params=params,
                    trigger=ev.trigger, clock=clock, scheduled_time=scheduled, job_version=number,
                )  # fmt: skip
            ev.run_id = handle.run_id
            counts["runs"] += 1
            if handle.detail().run.state is not RunState.COMPLETED:
                counts["failed"] += 1
    finally:
        quiet.__exit__(None, None, None)
        threads.close()
        processes.close()
        control.unlink(missing_ok=True)
        control.parent.rmdir()
        if old_control is None:
            os.environ.pop(CONTROL_ENV, None)
        else:
            os.environ[CONTROL_ENV] = old_control
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m datatailr_jupyter.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="store directory (created if missing) or store URL")
    parser.add_argument("--runs", type=int, default=0, help="at most this many scheduled/manual runs (default: all)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the history (default 7)")
    args = parser.parse_args(argv)
    store = open_store(store_url_from(args.store), trust=True)  # it writes the store and reruns its own runs
    try:
        existing = already_filled(store)
        if existing:
            print(f"demo: {store.label} already has the demo history ({existing} {DSR} runs); nothing added")
            return 0
        t0 = time.monotonic()
        counts = fill(store, runs=args.runs, seed=args.seed)
        n_workflows = len({w.key for w in store.list_workflows()})
        print(
            f"demo: {counts['runs']:,} runs ({counts['failed']} not completed, {counts['reruns']} reruns) of "
            f"{n_workflows} workflows in dev/pre/prod over {DAYS} days, into {store.label} "
            f"in {time.monotonic() - t0:.1f} s"
        )
    finally:
        store.close()
    return 0
