"""One process of the soak test: ``python -m tests.store.soak_worker ROLE SECONDS OUT`` with DT_RUNS_STORE set.

Roles: ``writer`` (loops ``wf(local_run=True)``), ``reader`` (loops connect / runs / run(id).tasks / close),
``explorer`` (loops the explorer's request handlers through one Client) and ``deploy`` (deploys the
every-minute workflow that ``dt scheduler`` runs). Each loop writes a JSON report to OUT when its time is up.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import traceback
from typing import Any

from datatailr_jupyter import connect
from datatailr_jupyter.engine import task, workflow
from datatailr_jupyter.explorer.columns import task_records
from datatailr_jupyter.explorer.handlers import HANDLERS


@task()
def numbers(n: int) -> list[int]:
    print(f"making {n} numbers")
    return list(range(n))


@task()
def total(values: list[int]) -> int:
    return sum(values)


@task()
def blob(n: int) -> bytes:
    return os.urandom(n)  # above the inline limit: a result file


@workflow(name="Soak")
def soak() -> None:
    total(numbers(100))
    blob(100_000)


@workflow(name="Soak Every Minute", schedule="* * * * *")
def every_minute() -> None:
    total(numbers(10))


def _error(errors: list[str], exc: BaseException) -> None:
    if len(errors) < 20:
        errors.append("".join(traceback.format_exception_only(type(exc), exc)).strip())


def writer(deadline: float) -> dict[str, Any]:
    runs: list[int] = []
    errors: list[str] = []
    attempts = 0
    while time.monotonic() < deadline:
        attempts += 1
        try:
            handle = soak(local_run=True, max_workers=2)
            if handle.state.value != "completed":
                errors.append(f"run {handle.run_id} ended {handle.state.value}")
            runs.append(handle.run_id)
        except Exception as exc:
            _error(errors, exc)
    return {"attempts": attempts, "runs": runs, "errors": errors}


def reader(deadline: float) -> dict[str, Any]:
    ops = 0
    errors: list[str] = []
    while time.monotonic() < deadline:
        try:
            client = connect()
            try:
                frame = client.runs(limit=50)
                ops += 1
                if len(frame):
                    view = client.run(int(random.choice(list(frame.index))))
                    _ = view.tasks
                    ops += 1
            finally:
                client.close()
        except Exception as exc:
            _error(errors, exc)
    return {"ops": ops, "errors": errors}


def explorer(deadline: float) -> dict[str, Any]:
    ops = 0
    errors: list[str] = []
    client = connect()
    try:
        while time.monotonic() < deadline:
            try:
                HANDLERS["list-workflows"](client, {}, None)
                page = HANDLERS["list-runs"](client, {"workflow": "soak", "limit": 25}, None)
                HANDLERS["activity"](client, {"workflow": "soak"}, None)
                ops += 3
                if page["runs"]:
                    run_id = random.choice(page["runs"])["run_id"]
                    detail = HANDLERS["get-run"](client, {"run_id": run_id}, None)
                    HANDLERS["rerun-family"](client, {"run_id": run_id}, None)
                    ops += 2
                    for t in task_records(detail):
                        if t["state"] == "completed":
                            HANDLERS["read-log"](client, {"run_id": run_id, "task_id": t["id"], "tail": 4096}, None)
                            HANDLERS["get-result"](client, {"run_id": run_id, "task_id": t["id"]}, None)
                            ops += 2
            except Exception as exc:
                _error(errors, exc)
    finally:
        client.close()
    return {"ops": ops, "errors": errors}


def main() -> None:
    role, seconds, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    deadline = time.monotonic() + seconds
    if role == "deploy":
        soak(env="dev")  # registered before the explorer's first look, which would not find it otherwise
        every_minute(env="dev")
        report: dict[str, Any] = {}
    else:
        report = {"writer": writer, "reader": reader, "explorer": explorer}[role](deadline)
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(report, fh)


if __name__ == "__main__":
    main()
