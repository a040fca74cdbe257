"""Live-updates benchmark: ``.venv/bin/python -m bench.bench_live`` (a benchmark, not a test; prints figures and aims).

What one explorer's LiveFeed (the kernel-side thread that pushes the answers the view shows) costs the kernel, as
process CPU time over wall time, in % of one core:

- idle: one explorer subscribed to a page of 25 runs of a store of 2,000 runs, a run selected, nothing changing
  (the feed checks ``PRAGMA data_version`` every 2 s: its fastest pace, before it slows to 10 s after a quiet minute);
- active: the same, while another process runs a "run" of 4 running tasks that each print a line every 0.1 s (so
  every poll recomputes the page, the workflows, the run and 8 log tails and pushes what changed).

The process is otherwise asleep; a baseline of the same length without a feed is measured first, in the same process,
and subtracted. The pushes are serialised to JSON as the kernel's comm would.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bench.aims import aim_check, load_average
from datatailr_jupyter import connect
from datatailr_jupyter.engine.launch import engine_owner
from datatailr_jupyter.explorer.live import LiveFeed, Subscription
from datatailr_jupyter.models import RunState
from datatailr_jupyter.store.protocols import NewRun, RunUpdate, TaskSpec, TaskUpdate, VersionSpec
from datatailr_jupyter.store.registry import open_store

NAME = "Bench Live"
TASKS = tuple(TaskSpec(i, f"step_{i}", f"bench:step_{i}", (i - 1,) if i else ()) for i in range(4))
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
QUERY: dict[str, Any] = {
    "workflow": "bench-live",
    "env": "dev",
    "start": "",
    "end": "",
    "states": [],
    "cursor": None,
    "limit": 25,
}

WRITER = """
import sys, time
from datatailr_jupyter.store.registry import open_store
store = open_store(sys.argv[1])
run_id, seconds = int(sys.argv[2]), float(sys.argv[3])
end, n = time.monotonic() + seconds, 0
while time.monotonic() < end:
    for task in range(4):
        store.append_log(run_id, task, "stdout", f"task {task} line {n}\\n".encode())
    n += 1
    time.sleep(0.1)
store.close()
"""


def fill(url: str, runs: int) -> int:
    """A workflow with ``runs`` finished runs and one running run (4 running tasks); the running run's id."""
    store = open_store(url)
    try:
        definition = {"tasks": [{"id": t.id, "name": t.name, "function": t.function,
                                 "dependencies": list(t.dependencies)} for t in TASKS]}  # fmt: skip
        store.register_version(VersionSpec(workflow=NAME, definition=definition, definition_hash="b1"))
        for i in range(runs):
            start = T0 + timedelta(minutes=10 * i)
            run = store.create_run(NewRun(workflow=NAME, env="dev", job_version=1, tasks=TASKS, submit_time=start))
            store.update_tasks(run.run_id, [TaskUpdate(t.id, state=RunState.COMPLETED, start_time=start,
                                                       end_time=start) for t in TASKS])  # fmt: skip
            store.update_run(run.run_id, RunUpdate(state=RunState.COMPLETED, start_time=start, end_time=start))
        now = datetime.now(timezone.utc)
        owner = engine_owner()  # this process: the run is not taken for a dead engine's and ended
        active = store.create_run(
            NewRun(workflow=NAME, env="dev", job_version=1, tasks=TASKS, submit_time=now, owner=owner)
        )
        store.update_run(active.run_id, RunUpdate(state=RunState.RUNNING, start_time=now))
        store.update_tasks(active.run_id, [TaskUpdate(t.id, state=RunState.RUNNING, start_time=now) for t in TASKS])
        return active.run_id
    finally:
        store.close()


def cpu_share(seconds: float) -> float:
    """% of one core this process used over ``seconds`` of wall time (the main thread sleeps)."""
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    return 100 * (time.process_time() - cpu0) / (time.monotonic() - wall0)


def measure(url: str, sub: Subscription, seconds: float, writer: list[str] | None) -> tuple[float, int, int]:
    """(% of a core, notices pushed, rounds that computed answers) of one feed over ``seconds``."""
    client = connect(url)
    pushed: list[int] = []

    def send(notice: dict[str, Any]) -> None:
        pushed.append(len(json.dumps(notice)))

    feed = LiveFeed(client, send)
    proc = subprocess.Popen(writer) if writer else None
    try:
        feed.subscribe(sub)
        time.sleep(0.5)  # the first round (everything computed once) is not the steady state
        start_pushes, start_polls = len(pushed), feed.polls
        share = cpu_share(seconds)
        return share, len(pushed) - start_pushes, feed.polls - start_polls
    finally:
        feed.stop()
        if proc is not None:
            proc.wait(timeout=seconds + 30)
        client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_live", description="live updates benchmark")
    parser.add_argument("--seconds", type=float, default=60.0, help="wall time of each measurement (default 60)")
    parser.add_argument("--runs", type=int, default=2000, help="finished runs in the store (default 2000)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dt-bench-live-") as tmp:
        url = f"sqlite://{Path(tmp) / 'store'}"
        active = fill(url, args.runs)
        # the running run is the page's first row and the selected run: the feed follows it and its 4 tasks' logs
        print(f"store: {args.runs:,} finished runs + 1 running (4 running tasks); {args.seconds:g} s per figure")
        baseline = cpu_share(args.seconds)
        print(f"baseline (no feed, same process)  {baseline:.3f} % of a core")
        idle_sub = Subscription(QUERY, "dev", 1, True)
        idle_client = connect(url)
        idle_client.store.update_run(active, RunUpdate(state=RunState.COMPLETED, end_time=datetime.now(timezone.utc)))
        idle_client.close()
        idle, idle_pushes, idle_polls = measure(url, idle_sub, args.seconds, None)
        print(aim_check("idle feed", f"{idle - baseline:.3f} % of a core ({idle_pushes} pushes, {idle_polls} "
                        "computed rounds)", "< 2 %", idle - baseline < 2))  # fmt: skip
        again = connect(url)
        again.store.update_run(active, RunUpdate(state=RunState.RUNNING, end_time=None))
        again.close()
        writer = [sys.executable, "-c", WRITER, url, str(active), str(args.seconds + 1)]
        busy, busy_pushes, busy_polls = measure(url, Subscription(QUERY, "dev", active, True), args.seconds, writer)
        print(f"active feed (a run with 4 running tasks printing 10 lines/s each)  {busy - baseline:.3f} % of a core "
              f"({busy_pushes} pushes, {busy_polls} computed rounds)")  # fmt: skip
        print(f"load average {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
