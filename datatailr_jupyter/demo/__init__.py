"""Fills a store with three weeks of engine-made history: ``python -m datatailr_jupyter.demo --store DIR [--runs N]``.

Every run is a real run of the engine (real task code, logs, results, failures and reruns); only the clock is
injected: each run gets a :class:`~datatailr_jupyter.engine.clock.ScaledClock` that starts at its backdated time
and runs faster than the wall clock, so three weeks are recorded in under a minute. Failures are real exceptions
raised by task code; which task fails in which run is drawn from a seeded random generator and handed to the
tasks through a small control file (``DT_DEMO_CONTROL``), so the same seed gives the same history.
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
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ..engine import ScaledClock, ThreadExecutor, rerun
from ..engine.decorators import WorkflowFunction
from ..engine.launch import run_blueprint
from ..models import RunState, Trigger
from ..settings import store_url_from
from ..store.protocols import RunStore
from ..store.registry import open_store
from .workflows import (
    CONTROL_ENV,
    complex_pipeline,
    daily_sales,
    regime_sweep,
    simple_data_pipeline,
    stock_lake_compaction,
)

SPEED = 3000.0  # one real millisecond is recorded as three seconds
DAYS = 21


# ---------------------------------------------------------------- the timeline


FAILURES: dict[str, tuple[float, list[tuple[str, str, str]]]] = {
    # workflow: (probability, [(task, exception type, message), ...])
    "Daily Sales Report": (0.12, [("fetch_data", "ConnectionError", "sales API timed out after 30 s")]),
    "Simple Data Pipeline": (
        0.1,
        [
            ("Random between previous two", "ValueError", "service returned an empty body"),
            ("process_data", "OSError", "[Errno 28] No space left on device: '/scratch/tmp'"),
        ],
    ),
    "Complex Pipeline": (0.06, [("reduce_list", "RuntimeError", "inputs disagree: 5 numbers, 4 checksums")]),
    "Stock Lake Hourly Compaction": (
        0.04,
        [("compact_partitions", "OSError", "[Errno 5] Input/output error while writing part-0003.parquet")],
    ),
    "Regime Sweep": (0.2, [("transform_L4_2", "ValueError", "covariance matrix is not positive definite")]),
}


@dataclass(order=True)
class Event:
    when: datetime
    workflow: str = field(compare=False)
    env: str = field(compare=False)
    trigger: Trigger = field(compare=False)
    fail: dict[str, tuple[str, str]] = field(compare=False, default_factory=dict)
    rerun_of: Event | None = field(compare=False, default=None)
    rerun: dict[str, Any] = field(compare=False, default_factory=dict)
    run_id: int | None = field(compare=False, default=None)
    executor: str = field(compare=False, default="thread")


CADENCE = [
    # workflow, env, every (hours), trigger, jitter (minutes)
    ("Stock Lake Hourly Compaction", "prod", 1, Trigger.SCHEDULE, 0),
    ("Stock Lake Hourly Compaction", "pre", 1, Trigger.SCHEDULE, 0),
    ("Stock Lake Hourly Compaction", "dev", 2, Trigger.MANUAL, 60),
    ("Daily Sales Report", "prod", 24, Trigger.SCHEDULE, 0),
    ("Daily Sales Report", "pre", 24, Trigger.SCHEDULE, 0),
    ("Daily Sales Report", "dev", 3, Trigger.MANUAL, 120),
    ("Simple Data Pipeline", "dev", 1, Trigger.MANUAL, 50),
    ("Simple Data Pipeline", "pre", 8, Trigger.MANUAL, 60),
    ("Simple Data Pipeline", "prod", 12, Trigger.SCHEDULE, 0),
    ("Complex Pipeline", "prod", 3, Trigger.SCHEDULE, 0),
    ("Complex Pipeline", "dev", 8, Trigger.MANUAL, 120),
    ("Regime Sweep", "prod", 24, Trigger.SCHEDULE, 0),
    ("Regime Sweep", "dev", 72, Trigger.MANUAL, 240),
]


def timeline(now: datetime, runs: int, rng: random.Random) -> list[Event]:
    start = (now - timedelta(days=DAYS)).replace(minute=0, second=0, microsecond=0)
    events: list[Event] = []
    for wf, env, every, trigger, jitter in CADENCE:
        t = start + timedelta(hours=rng.randrange(every)) + (timedelta(hours=6) if every == 24 else timedelta(0))
        while t < now - timedelta(minutes=30):
            when = t + timedelta(minutes=rng.uniform(0, jitter)) if jitter else t
            if trigger is Trigger.MANUAL and when.weekday() >= 5 and rng.random() < 0.8:
                t += timedelta(hours=every)
                continue  # fewer manual runs at weekends
            events.append(Event(when, wf, env, trigger))
            t += timedelta(hours=every)
    events.sort()
    if runs and len(events) > runs:
        step = len(events) / runs
        events = [events[int(i * step)] for i in range(runs)]
    reruns: list[Event] = []
    for ev in events:
        probability, modes = FAILURES[ev.workflow]
        if rng.random() < probability:
            name, kind, message = modes[rng.randrange(len(modes))]
            ev.fail = {name: (kind, message)}
            if rng.random() < 0.65:
                again = Event(ev.when + timedelta(minutes=rng.uniform(20, 180)), ev.workflow, ev.env, Trigger.RERUN)
                again.rerun_of, again.rerun = ev, {}
                if ev.workflow == "Daily Sales Report" and (now - ev.when).days >= 14 and rng.random() < 0.5:
                    again.rerun = {"latest_version": True}  # fixed in a newer version: rerun with that one, later
                    again.when = now - timedelta(days=rng.uniform(1, 4))
                elif rng.random() < 0.25:  # the first rerun fails the same way; a second one fixes it
                    again.fail = dict(ev.fail)
                    third = Event(
                        again.when + timedelta(minutes=rng.uniform(20, 90)), ev.workflow, ev.env, Trigger.RERUN
                    )
                    third.rerun_of, third.rerun = again, {}
                    reruns.append(third)
                reruns.append(again)
        elif ev.workflow == "Complex Pipeline" and rng.random() < 0.05:
            full = Event(ev.when + timedelta(hours=1), ev.workflow, ev.env, Trigger.RERUN)
            full.rerun_of, full.rerun = ev, {"full": True}
            reruns.append(full)
        elif ev.workflow == "Simple Data Pipeline" and rng.random() < 0.04:
            again = Event(ev.when + timedelta(minutes=40), ev.workflow, ev.env, Trigger.RERUN)
            again.rerun_of, again.rerun = ev, {"from_task": "Random 0-10"}
            reruns.append(again)
    events = sorted(ev for ev in events + reruns if ev.when < now - timedelta(minutes=45))
    for ev in events[-25:]:
        ev.executor = "process"
    return events


def _workflow_for(name: str, when: datetime, now: datetime) -> WorkflowFunction:
    age = (now - when).days
    if name == "Daily Sales Report":
        return daily_sales(1 if age >= 14 else (2 if age >= 5 else 3))
    if name == "Complex Pipeline":
        return complex_pipeline(1 if age >= 10 else 2)
    return {
        "Simple Data Pipeline": simple_data_pipeline,
        "Stock Lake Hourly Compaction": stock_lake_compaction,
        "Regime Sweep": regime_sweep,
    }[name]


# ---------------------------------------------------------------- running it


def already_filled(store: RunStore) -> int:
    return sum(w.n_runs for w in store.list_workflows() if w.name == "Daily Sales Report")


def fill(store: RunStore, runs: int = 0, seed: int = 7, now: datetime | None = None) -> dict[str, int]:
    """Run the demo history into ``store``; returns counts by outcome."""
    now = now or datetime.now(timezone.utc)
    rng = random.Random(seed)
    events = timeline(now, runs, rng)
    counts = {"runs": 0, "failed": 0, "reruns": 0}
    control = Path(tempfile.mkdtemp(prefix="dt-demo-")) / "control.json"
    control.write_text("{}")
    old_control = os.environ.get(CONTROL_ENV)
    os.environ[CONTROL_ENV] = str(control)
    threads = ThreadExecutor(6)
    built: dict[int, Any] = {}
    quiet = contextlib.redirect_stderr(io.StringIO())  # the engine's one line per failed run: expected here
    try:
        quiet.__enter__()
        for ev in events:
            control.write_text(json.dumps({"fail": ev.fail}))
            clock = ScaledClock.starting_at(ev.when, SPEED)
            executor: Any = "process" if ev.executor == "process" else threads
            if ev.rerun_of is not None:
                if ev.rerun_of.run_id is None:
                    continue
                options = dict(ev.rerun)
                if options.pop("latest_version", False):
                    options["version"] = store.list_versions(ev.workflow)[-1].version
                handle = rerun(ev.rerun_of.run_id, store=store, executor=executor, clock=clock, **options)
                counts["reruns"] += 1
            else:
                wf = _workflow_for(ev.workflow, ev.when, now)
                if id(wf) not in built:
                    built[id(wf)] = wf.build()
                blueprint, options, params = built[id(wf)]
                scheduled = ev.when if ev.trigger is Trigger.SCHEDULE else None
                handle = run_blueprint(
                    blueprint, options, env=ev.env, store=store, executor=executor, params=params,
                    trigger=ev.trigger, clock=clock, scheduled_time=scheduled,
                )  # fmt: skip
            ev.run_id = handle.run_id
            counts["runs"] += 1
            if handle.detail().run.state is not RunState.COMPLETED:
                counts["failed"] += 1
        _deploy_schedules(store)
    finally:
        quiet.__exit__(None, None, None)
        threads.close()
        if old_control is None:
            os.environ.pop(CONTROL_ENV, None)
        else:
            os.environ[CONTROL_ENV] = old_control
    return counts


def _deploy_schedules(store: RunStore) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        stock_lake_compaction(store=store, env="prod")
        daily_sales(3)(store=store, env="prod")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m datatailr_jupyter.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="store directory (created if missing) or store URL")
    parser.add_argument("--runs", type=int, default=0, help="at most this many scheduled/manual runs (default: all)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the history (default 7)")
    args = parser.parse_args(argv)
    store = open_store(store_url_from(args.store))
    try:
        existing = already_filled(store)
        if existing:
            print(
                f"demo: {store.label} already has the demo history ({existing} Daily Sales Report runs); nothing added"
            )
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
