"""Workflows overview latency on 1,000 workflows over 1,000,000 runs: python -m bench.bench_overview [--runs N].

The store is filled with executemany straight into its tables (no engine, no tasks), then its count and summary
tables are rebuilt once, as SqliteRunStore._bulk_load does. Each overview query runs once to warm the page cache and
then ``--reps`` times; the figures are p50 and p95 in milliseconds of ``SqliteRunStore.workflow_overview``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from datatailr_jupyter.store import _queries as q
from datatailr_jupyter.store import _writes
from datatailr_jupyter.store.overview import overview_from_reader
from datatailr_jupyter.store.sqlite import SqliteRunStore

WORKFLOWS = 1000
ENVS = ("dev", "prod", "prod")  # weighted: two thirds of runs in prod
DAYS = 90
NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
INSERT_RUN = "INSERT INTO runs VALUES (" + ", ".join("?" * 21) + ")"  # noqa: S608 - 21 placeholders
SCHEDULES = ("0 6 * * *", "*/15 * * * *", "0 0 9 * * 1-5", "TZ=Europe/London 30 2 * * 1", None)


def name(i: int) -> str:
    return f"Pipeline {i:04d}"


def fill(directory: Path, n_runs: int, seed: int = 7) -> tuple[SqliteRunStore, float]:
    """``n_runs`` finished runs of WORKFLOWS workflows over DAYS days up to NOW: 5 % failed, 1 % stopped."""
    rng = random.Random(seed)
    store = SqliteRunStore(directory)
    started = time.perf_counter()
    created = q.to_us(NOW - timedelta(days=DAYS + 1)) or 0
    with store._write() as tx:
        tx.executemany(
            "INSERT INTO workflows (id, key, name) VALUES (?, ?, ?)",
            [(i + 1, name(i).lower().replace(" ", "-"), name(i)) for i in range(WORKFLOWS)],
        )
        versions = []
        for i in range(WORKFLOWS):
            schedule = SCHEDULES[i % len(SCHEDULES)]
            for v in (1, 2):
                deployment = {"env": "prod", "schedule": schedule} if v == 2 else None
                definition = {"tasks": [{"id": k, "name": f"step{k}"} for k in range(3 + i % 5)],
                              "deployment": deployment}  # fmt: skip
                versions.append(
                    (i + 1, v, created, f"h{i}.{v}", json.dumps(definition), schedule if v == 2 else None,
                     3 + i % 5, None)
                )  # fmt: skip
        tx.executemany("INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", versions)
        span = DAYS * 86_400_000_000
        end = q.to_us(NOW) or 0
        batch: list[tuple[object, ...]] = []
        for run_id in range(1, n_runs + 1):
            wf = rng.randrange(WORKFLOWS) + 1
            submit = end - span + (span * run_id) // n_runs
            start = submit + rng.randrange(1_000_000, 30_000_000)
            roll = rng.random()
            state = "failed" if roll < 0.05 else "stopped" if roll < 0.06 else "completed"
            finish = start + rng.randrange(5_000_000, 900_000_000)
            batch.append(
                (run_id, wf, rng.choice(ENVS), 2, state, "schedule", None, None, 0, 1, submit, start, finish, None,
                 start, "{}", 3, '{"completed":3}', "ValueError: bad input" if state == "failed" else None, 0, None)
            )  # fmt: skip
            if len(batch) == 100_000:
                tx.executemany(INSERT_RUN, batch)
                batch = []
        if batch:
            tx.executemany(INSERT_RUN, batch)
        _writes.rebuild_derived(tx)
    return store, time.perf_counter() - started


def timed(call: Callable[[], object], reps: int) -> tuple[float, float]:
    call()
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--dir", type=Path, default=None, help="where to build or find the store (a temp dir)")
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="bench-overview-"))
    try:
        if (root / "store" / "runs.db").exists():  # --dir of an earlier run: measure that store again
            store = SqliteRunStore(root / "store")
            print(f"reusing the store in {root}")
        else:
            store, seconds = fill(root / "store", args.runs)
            print(f"filled {args.runs:,} runs of {WORKFLOWS:,} workflows in {seconds:.1f} s")
        print(f"runs.db is {(root / 'store' / 'runs.db').stat().st_size / 2**20:.0f} MiB")
        ov = store.workflow_overview
        cursor = None
        for _ in range(19):
            cursor = ov("prod", limit=50, cursor=cursor, now=NOW).next_cursor
        cases: list[tuple[str, Callable[[], object]]] = [
            ("first page of 50, by name (prod, 30 days)", lambda: ov("prod", limit=50, now=NOW)),
            ("20th page of 50, by name", lambda: ov("prod", limit=50, cursor=cursor, now=NOW)),
            ("first page, newest run first", lambda: ov("prod", sort="-last_run", limit=50, now=NOW)),
            ("first page, lowest success rate first", lambda: ov("prod", sort="success_rate", limit=50, now=NOW)),
            ("first page, slowest median first", lambda: ov("prod", sort="-median_duration", limit=50, now=NOW)),
            ("name filter '012' (10 matches)", lambda: ov("prod", name_filter="012", limit=50, now=NOW)),
            ("first page of 50, 7-day window", lambda: ov("prod", limit=50, days=7, now=NOW)),
        ]
        print("| query | p50 | p95 |\n|---|---:|---:|")
        for label, call in cases:
            p50, p95 = timed(call, args.reps)
            print(f"| {label} | {p50:.1f} ms | {p95:.1f} ms |")
        p50, p95 = timed(lambda: overview_from_reader(store, "prod", limit=50, now=NOW), 3)
        print(f"| first page of 50 through the fallback (basic reader calls) | {p50:.1f} ms | {p95:.1f} ms |")
        store.close()
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
