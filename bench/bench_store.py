"""Store query latency at 10,000 and at 1,000,000 runs: python -m bench.bench_store [--runs 1000000]."""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from datatailr_jupyter.models import RunQuery, RunState, Trigger
from datatailr_jupyter.store import _queries
from datatailr_jupyter.store._bulk import BulkRun
from datatailr_jupyter.store.protocols import TaskSpec, VersionSpec
from datatailr_jupyter.store.sqlite import SqliteRunStore

WORKFLOWS = 100
ENVS = ("dev", "dev", "pre", "prod", "prod", "prod")  # weighted: most runs in prod
DAYS = 60
END = datetime(2026, 3, 1, tzinfo=timezone.utc)
TASKS = (TaskSpec(0, "extract", "flows:extract"), TaskSpec(1, "transform", "flows:transform", (0,)),
         TaskSpec(2, "load", "flows:load", (1,)))  # fmt: skip
OK = (RunState.COMPLETED,) * 3
FAILED = (RunState.COMPLETED, RunState.FAILED, RunState.DID_NOT_RUN)
BATCH = 100_000


def name(i: int) -> str:
    return f"Pipeline {i:03d}"


def batches(n_runs: int, seed: int) -> Iterator[list[BulkRun]]:
    """``n_runs`` runs of 100 workflows over 60 days: 5% failed, 3% reruns of an earlier run of the same flow."""
    rng = random.Random(seed)
    span = DAYS * 86_400
    for first in range(0, n_runs, BATCH):
        batch: list[BulkRun] = []
        last: dict[tuple[int, str], int] = {}
        for i in range(first, min(n_runs, first + BATCH)):
            wf, env = i % WORKFLOWS, rng.choice(ENVS)
            submit = END - timedelta(seconds=span * (1 - (i + rng.random()) / n_runs))
            start = submit + timedelta(seconds=rng.randrange(1, 30))
            failed = rng.random() < 0.05
            parent = last.get((wf, env)) if rng.random() < 0.03 else None
            batch.append(BulkRun(
                workflow=name(wf), env=env, job_version=1, state=RunState.FAILED if failed else RunState.COMPLETED,
                submit_time=submit, start_time=start, end_time=start + timedelta(seconds=rng.randrange(5, 900)),
                tasks=TASKS, task_states=FAILED if failed else OK, rerun_of=parent,
                trigger=Trigger.RERUN if parent is not None else Trigger.SCHEDULE,
                error_message="ValueError: bad input" if failed else None,
            ))  # fmt: skip
            last[(wf, env)] = len(batch) - 1
        yield batch


def fill(directory: Path, n_runs: int) -> tuple[SqliteRunStore, float]:
    store = SqliteRunStore(directory)
    started = time.perf_counter()
    definition = {"tasks": [{"id": t.id, "name": t.name, "dependencies": list(t.dependencies)} for t in TASKS]}
    for i in range(WORKFLOWS):
        store.register_version(VersionSpec(name(i), definition, "v1", schedule="0 * * * *"))
    for batch in batches(n_runs, seed=n_runs):
        store._bulk_load(batch, rebuild=False)
    store._bulk_load([], rebuild=True)
    return store, time.perf_counter() - started


def timed(call: Callable[[], object], reps: int) -> tuple[float, float]:
    call()  # warm the page cache and the statement cache
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def measure(store: SqliteRunStore, reps: int) -> dict[str, tuple[float, float]]:
    rng = random.Random(1)
    wf = name(42)
    # "the last 30 days" from an instant that is not on a day or hour boundary, so the counts use every tier
    end = END - timedelta(hours=5, minutes=17, seconds=3)
    month = RunQuery(workflow=wf, env="prod", start=end - timedelta(days=30), end=end, limit=20)
    assert len(store.list_runs(month).runs) == month.limit, "the first page is not full: compare like with like"
    cursor = None
    deep = RunQuery(env="prod", limit=50)
    for _ in range(49):  # follow cursors to the 50th page (2,450 runs in) of all prod runs
        page = store.list_runs(RunQuery(env="prod", limit=50, cursor=cursor))
        cursor = page.next_cursor
    assert cursor is not None, "too few runs for a 50th page"
    deep = RunQuery(env="prod", limit=50, cursor=cursor)
    conn = store._conn()
    counts = _queries._params(conn, month)
    everything = _queries._params(conn, RunQuery(env="prod", start=month.start, end=month.end))
    top = store.list_runs(RunQuery(limit=1)).runs[0].run_id
    return {
        "first page of 20 (workflow + env + 30 days)": timed(lambda: store.list_runs(month), reps),
        "50th page (env, following cursors)": timed(lambda: store.list_runs(deep), reps),
        "total count (workflow + env + 30 days)": timed(lambda: _queries.count(conn, counts), reps),
        "total count (env + 30 days, all workflows)": timed(lambda: _queries.count(conn, everything), reps),
        "workflow list (100 workflows, env)": timed(lambda: store.list_workflows("prod"), reps),
        "heatmap counts (workflow + env, 60 days)": timed(
            lambda: store.activity(wf, "prod", END - timedelta(days=DAYS), END), reps),
        "get_run (random run, 3 tasks)": timed(lambda: store.get_run(rng.randrange(1, top + 1)), reps),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1_000_000, help="runs in the large store (default 1,000,000)")
    parser.add_argument("--small", type=int, default=10_000, help="runs in the small store (default 10,000)")
    parser.add_argument("--reps", type=int, default=50, help="repetitions per query (default 50)")
    parser.add_argument("--dir", type=Path, default=None, help="where to build the stores (default: a temp dir)")
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="dt-bench-store-"))
    results: dict[int, dict[str, tuple[float, float]]] = {}
    try:
        for n in (args.small, args.runs):
            store, took = fill(root / f"store-{n}", n)
            size = (root / f"store-{n}" / "runs.db").stat().st_size
            print(f"filled {n:,} runs in {took:.1f} s ({size / 2**20:.0f} MiB)", flush=True)
            results[n] = measure(store, args.reps)
            store.close()
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)
    small, large = results[args.small], results[args.runs]
    print(f"\n| query | p50 at {args.small:,} | p95 at {args.small:,} | p50 at {args.runs:,} | "
          f"p95 at {args.runs:,} | ratio (p50) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    for query in small:
        (a50, a95), (b50, b95) = small[query], large[query]
        print(f"| {query} | {a50:.2f} ms | {a95:.2f} ms | {b50:.2f} ms | {b95:.2f} ms | {b50 / a50:.2f} |")


if __name__ == "__main__":
    main()
