"""A separate process that writes to a store for the crash and concurrency tests (run with ``python -m``)."""

# python -m tests.store.store_worker crash <store-dir> <seed>
#     prints "ready", waits for a line on stdin, then records runs with results of 10 B - 2 MB until killed.
# python -m tests.store.store_worker transitions <store-dir> <worker> <runs>
#     prints "ready", waits for a line on stdin, then makes 5 state transitions per run and prints a JSON
#     report: {"errors": [...], "commit_ms": [...]} (one commit latency per transition).
# python -m tests.store.store_worker register <store-dir> <workflow name> store|deploy
#     prints "ready", waits for a line on stdin, registers (or deploys) the workflow and prints
#     {"ok": bool, "error": str}.

from __future__ import annotations

import json
import math
import os
import random
import socket
import sys
import time
import traceback
from datetime import datetime, timedelta, timezone
from pathlib import Path

from datatailr_jupyter.models import RunState
from datatailr_jupyter.store.codecs import encode, encode_to_file
from datatailr_jupyter.store.protocols import NewRun, RunUpdate, TaskSpec, TaskUpdate, VersionSpec
from datatailr_jupyter.store.sqlite import SqliteRunStore

WORKFLOW = "Crash Test"
TASKS = (TaskSpec(0, "a", "m:a"), TaskSpec(1, "b", "m:b", (0,)), TaskSpec(2, "c", "m:c", (1,)))
T0 = datetime(2026, 3, 2, tzinfo=timezone.utc)


def owner() -> str:
    with open(f"/proc/{os.getpid()}/stat", encoding="ascii") as fh:
        started = fh.read().rsplit(")", 1)[1].split()[19]
    return f"{socket.gethostname()}:{os.getpid()}:{started}"


def register(store: SqliteRunStore) -> None:
    definition = {"tasks": [{"id": t.id, "name": t.name} for t in TASKS]}
    store.register_version(VersionSpec(workflow=WORKFLOW, definition=definition, definition_hash="v1"))


def crash(store_dir: Path, seed: int) -> None:
    rng = random.Random(seed)
    store = SqliteRunStore(store_dir)
    register(store)
    me = owner()
    while True:
        run = store.create_run(NewRun(workflow=WORKFLOW, env="dev", job_version=1, tasks=TASKS, owner=me))
        store.update_run(run.run_id, RunUpdate(state=RunState.RUNNING, start_time=datetime.now(timezone.utc)))
        for task in TASKS:
            store.update_tasks(run.run_id, [TaskUpdate(task.id, state=RunState.RUNNING)])
            size = int(math.exp(rng.uniform(math.log(10), math.log(2_000_000))))
            value = rng.randbytes(size)
            staging = store.staging_dir()
            result = encode_to_file(value, staging) if staging and rng.random() < 0.5 else encode(value)
            store.append_log(run.run_id, task.id, "stdout", f"task {task.id} made {size} bytes\n".encode())
            store.update_tasks(run.run_id, [TaskUpdate(task.id, state=RunState.COMPLETED, result=result)])
        store.update_run(run.run_id, RunUpdate(state=RunState.COMPLETED, end_time=datetime.now(timezone.utc)))


def transitions(store_dir: Path, worker: int, runs: int) -> None:
    errors: list[str] = []
    commits: list[float] = []
    store = SqliteRunStore(store_dir)

    def timed(call: object, *args: object) -> None:
        started = time.perf_counter()
        try:
            call(*args)  # type: ignore[operator]
        except Exception:
            errors.append(traceback.format_exc(limit=3))
        commits.append((time.perf_counter() - started) * 1000)

    me = owner()
    for i in range(runs):
        started = time.perf_counter()
        try:
            run = store.create_run(
                NewRun(workflow=WORKFLOW, env=("dev", "prod")[worker % 2], job_version=1, tasks=TASKS[:1], owner=me,
                       submit_time=T0 + timedelta(minutes=worker * runs + i))
            )  # fmt: skip
        except Exception:
            errors.append(traceback.format_exc(limit=3))
            continue
        commits.append((time.perf_counter() - started) * 1000)
        now = T0 + timedelta(minutes=worker * runs + i, seconds=30)
        timed(store.update_run, run.run_id, RunUpdate(state=RunState.RUNNING, start_time=now))
        timed(store.update_tasks, run.run_id, [TaskUpdate(0, state=RunState.RUNNING, start_time=now)])
        timed(store.update_tasks, run.run_id, [TaskUpdate(0, state=RunState.COMPLETED, result=encode([worker, i]))])
        timed(store.update_run, run.run_id, RunUpdate(state=RunState.COMPLETED, end_time=now))
    store.close()
    print(json.dumps({"errors": errors, "commit_ms": commits}))


def register_name(store_dir: Path, name: str, how: str) -> None:
    """Register a workflow called ``name`` once the parent says go, through the store (``how`` = "store") or by
    deploying it with the engine ("deploy"); prints {"ok": bool, "error": str}."""
    from datatailr_jupyter.engine import task, workflow

    @task()
    def step() -> int:
        return 1

    @workflow(name=name)
    def flow() -> None:
        step()

    store = SqliteRunStore(store_dir)
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        if how == "store":
            definition = {"tasks": [{"id": 0, "name": "step"}]}
            store.register_version(VersionSpec(workflow=name, definition=definition, definition_hash=name))
        else:
            flow(store=store, env="prod")
        print(json.dumps({"ok": True, "error": ""}), flush=True)
    except Exception as exc:
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
    finally:
        store.close()


def main() -> None:
    mode, store_dir = sys.argv[1], Path(sys.argv[2])
    if mode == "register":
        register_name(store_dir, sys.argv[3], sys.argv[4])
        return
    print("ready", flush=True)
    sys.stdin.readline()
    if mode == "crash":
        crash(store_dir, int(sys.argv[3]))
    else:
        transitions(store_dir, int(sys.argv[3]), int(sys.argv[4]))


if __name__ == "__main__":
    main()
