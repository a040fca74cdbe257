"""A real SqliteRunStore filled through the RunWriter protocol, and the explorer fixtures built on it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from datatailr_jupyter import Client, connect
from datatailr_jupyter.models import RunDetail, RunState, TaskError, Trigger, Version
from datatailr_jupyter.store.codecs import encode
from datatailr_jupyter.store.protocols import NewRun, RunStore, RunUpdate, TaskSpec, TaskUpdate, VersionSpec
from datatailr_jupyter.store.registry import open_store
from datatailr_jupyter.store.sqlite import SqliteRunStore
from datatailr_jupyter.store.tasktable import TaskTable

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)  # a Monday
SALES = "Daily Sales Report"
OTHER = "Other Flow"
SALES_TASKS = (
    TaskSpec(0, "fetch_data", "flows:fetch_data"),
    TaskSpec(1, "calculate_total", "flows:calculate_total", (0,)),
    TaskSpec(2, "write report", "flows:write_report", (1,)),
)


class Opaque:
    """A result no codec but pickle can store."""

    def __init__(self, payload: str) -> None:
        self.payload = payload

    def __repr__(self) -> str:
        return f"Opaque({self.payload!r})"


@dataclass
class Built:
    """What the builder wrote: the store URL and the ids of the runs tests refer to by role."""

    url: str
    runs: dict[str, int] = field(default_factory=dict)


def _definition(tasks: tuple[TaskSpec, ...]) -> dict[str, Any]:
    return {
        "tasks": [{"id": t.id, "name": t.name, "function": t.function, "dependencies": list(t.dependencies)}
                  for t in tasks]
    }  # fmt: skip


def _finish(store: RunStore, run_id: int, start: datetime, state: RunState, error: str | None = None) -> None:
    store.update_run(
        run_id,
        RunUpdate(state=state, start_time=start, end_time=start + timedelta(seconds=30), error_message=error),
    )


def _sales_run(store: RunStore, env: str, start: datetime, fail: bool, rerun_of: int | None = None) -> int:
    run = store.create_run(
        NewRun(
            workflow=SALES,
            env=env,
            job_version=1,
            tasks=SALES_TASKS,
            submit_time=start,
            trigger=Trigger.RERUN if rerun_of else Trigger.LOCAL,
            rerun_of=rerun_of,
            partial_rerun=rerun_of is not None,
        )
    )
    frame = pd.DataFrame({"region": [f"r{i % 7}" for i in range(120)], "amount": np.arange(120) * 2.5})
    store.update_tasks(
        run.run_id,
        [TaskUpdate(0, state=RunState.COMPLETED, start_time=start, end_time=start + timedelta(seconds=5),
                    result=encode(frame))],
    )  # fmt: skip
    store.append_log(run.run_id, 0, "stdout", b"fetching\nfetched 120 rows\n")
    end = start + timedelta(seconds=20)
    if fail:
        error = TaskError("ValueError", "amount must be positive", "Traceback (most recent call last):\nValueError\n")
        store.update_tasks(
            run.run_id,
            [
                TaskUpdate(1, state=RunState.FAILED, start_time=start, end_time=end, error=error, exit_code=1),
                TaskUpdate(2, state=RunState.DID_NOT_RUN),
            ],
        )
        store.append_log(run.run_id, 1, "stderr", b"Traceback (most recent call last):\nValueError: amount\n")
        _finish(store, run.run_id, start, RunState.FAILED, "ValueError: amount must be positive")
    else:
        store.update_tasks(
            run.run_id,
            [
                TaskUpdate(1, state=RunState.COMPLETED, start_time=start, end_time=end, result=encode(300.0)),
                TaskUpdate(2, state=RunState.COMPLETED, start_time=end, end_time=end, result=encode(Opaque("report"))),
            ],
        )
        store.append_log(run.run_id, 1, "stdout", b"total is 300.0\n")
        _finish(store, run.run_id, start, RunState.COMPLETED)
    return run.run_id


def build_store(path: Path) -> Built:
    """Two workflows in dev and prod: completed and failed runs, a rerun family, results of every codec, logs."""
    built = Built(url=f"sqlite://{path}")
    client = Client(open_store(built.url))
    store = client.store
    try:
        store.register_version(VersionSpec(workflow=SALES, definition=_definition(SALES_TASKS), definition_hash="s1"))
        changed = (*SALES_TASKS, TaskSpec(3, "archive", "flows:archive", (2,)))
        store.register_version(VersionSpec(workflow=SALES, definition=_definition(changed), definition_hash="s2"))
        other_tasks = (TaskSpec(0, "only", "flows:only"),)
        store.register_version(VersionSpec(workflow=OTHER, definition=_definition(other_tasks), definition_hash="o1"))

        built.runs["ok"] = _sales_run(store, "prod", T0, fail=False)
        built.runs["failed"] = _sales_run(store, "prod", T0 + timedelta(days=1), fail=True)
        built.runs["rerun"] = _sales_run(store, "prod", T0 + timedelta(days=1, hours=2), False, built.runs["failed"])
        for day in range(2, 6):
            built.runs[f"day{day}"] = _sales_run(store, "prod", T0 + timedelta(days=day), fail=day == 4)
        built.runs["dev"] = _sales_run(store, "dev", T0 + timedelta(days=2), fail=False)

        other = store.create_run(NewRun(workflow=OTHER, env="dev", job_version=1, tasks=other_tasks, submit_time=T0))
        big_log = b"".join(f"line {i} {'needle' if i % 1000 == 0 else 'hay'}\n".encode() for i in range(200_000))
        store.append_log(other.run_id, 0, "stdout", big_log)
        store.update_tasks(
            other.run_id,
            [TaskUpdate(0, state=RunState.COMPLETED, start_time=T0, end_time=T0, result=encode("x" * 5_000_000))],
        )
        _finish(store, other.run_id, T0, RunState.COMPLETED)
        built.runs["other"] = other.run_id
    finally:
        client.close()
    return built


@pytest.fixture(scope="session")
def built_store(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """A store built once per session; tests that write use their own (``fresh_store``)."""
    return build_store(tmp_path_factory.mktemp("explorer") / "store")


@pytest.fixture()
def fresh_store(tmp_path: Path) -> Built:
    return build_store(tmp_path / "store")


@pytest.fixture()
def client(built_store: Built) -> Iterator[Client]:
    opened = connect(built_store.url)
    yield opened
    opened.close()


class CountingStore(SqliteRunStore):
    """The SQLite store of a built store, counting the reads of a whole run (all its tasks) and of versions."""

    def __init__(self, built: Built) -> None:
        super().__init__(Path(built.url.removeprefix("sqlite://")))
        self.reads: list[str] = []

    def get_run(self, run_id: int) -> RunDetail:
        self.reads.append("get_run")
        return super().get_run(run_id)

    def get_task_table(self, run_id: int) -> TaskTable:
        self.reads.append("get_task_table")
        return super().get_task_table(run_id)

    def get_version(self, workflow: str, version: int) -> Version:
        self.reads.append("get_version")
        return super().get_version(workflow, version)
