"""The task-table half of the run-store contract: ``task_table_of`` gives every store's run as columns, the same
values ``get_run`` gives (the store's own ``get_task_table`` where it has one, else the fallback), and ``task_of``
one task as ``get_run`` gives it (the store's own ``get_task`` where it has one)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import numpy as np
import pytest

from datatailr_jupyter.errors import RunNotFoundError, TaskNotFoundError
from datatailr_jupyter.models import RunDetail, RunState, TaskError, TaskRun
from datatailr_jupyter.store.codecs import encode
from datatailr_jupyter.store.protocols import RunStore, TaskSpec, TaskUpdate
from datatailr_jupyter.store.tasktable import COLUMNS, TaskTable, table_of, task_of, task_table_of, to_us

from .contract_data import T0, new_run, register

TRACEBACK = "Traceback (most recent call last):\n  ...\nKeyError: 'ß'"


def listed(task: TaskRun) -> TaskRun:
    """A task as a task table holds it: its result without preview and sha256."""
    if task.result is None:
        return task
    return dataclasses.replace(task, result=dataclasses.replace(task.result, preview="", sha256=""))


def assert_same_run(table: TaskTable, detail: RunDetail) -> None:
    assert table.run == detail.run
    assert {name: len(getattr(table, name)) for name in COLUMNS} == dict.fromkeys(COLUMNS, len(detail.tasks))
    assert table.tasks() == tuple(listed(t) for t in detail.tasks)
    assert table == table_of(detail)  # the store's own table is the fallback's, value for value


class TaskTableContract:
    """Subclasses provide ``store``: a fresh, empty, writable RunStore."""

    @pytest.fixture()
    def store(self) -> RunStore:  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    def test_the_task_table_is_get_runs_tasks_column_by_column(self, store: RunStore) -> None:
        specs = (
            TaskSpec(0, "extract", "flows:extract", (), {"cpu": 2, "memory": "1g"}),
            TaskSpec(1, "transform ü", "flows:transform", (0,)),
            TaskSpec(2, "load", "flows:load", (0, 1)),
            TaskSpec(3, "report", "flows:report", (2,)),
        )
        register(store, tasks=specs)
        first = new_run(store, tasks=specs)
        store.update_tasks(first.run_id, [TaskUpdate(0, state=RunState.COMPLETED, result=encode(np.ones((2, 3))))])
        run = new_run(store, tasks=specs, rerun_of=first.run_id)
        later = T0 + timedelta(seconds=1, microseconds=250)
        store.update_tasks(
            run.run_id,
            [
                TaskUpdate(0, state=RunState.COMPLETED, reused_from_run=first.run_id),
                TaskUpdate(1, state=RunState.COMPLETED, start_time=T0, end_time=later, attempt=2, exit_code=0,
                           host="worker-1", result=encode({"rows": [1, 2]})),
                TaskUpdate(2, state=RunState.FAILED, start_time=later, end_time=later, exit_code=1,
                           error=TaskError("KeyError", "'ß' is missing", TRACEBACK)),
                TaskUpdate(3, state=RunState.DID_NOT_RUN),
            ],
        )  # fmt: skip
        store.append_log(run.run_id, 1, "stdout", b"hello\n")
        store.append_log(run.run_id, 2, "stderr", "ünïcode\n".encode())
        table = task_table_of(store, run.run_id)
        assert_same_run(table, store.get_run(run.run_id))
        assert table.start_time == [None, to_us(T0), to_us(later), None] and table.end_time[1] == to_us(later)
        assert table.state == ["completed", "completed", "failed", "did_not_run"]
        assert table.dependencies == [[], [0], [0, 1], [2]] and table.resources[0] == {"cpu": 2, "memory": "1g"}
        assert table.result[0] is not None and table.result[0]["shape"] == [2, 3]
        assert "sha256" not in table.result[1] and "preview" not in table.result[1]  # type: ignore[operator]
        assert table.reused_from_run == [first.run_id, None, None, None]
        assert table.stdout_bytes[1] == 6 and table.stderr_bytes[2] == len("ünïcode\n".encode())
        assert table.error[:2] == [None, None] and table.error[3] is None
        assert table.error[2] == {"type": "KeyError", "message": "'ß' is missing", "traceback": TRACEBACK}

    def test_the_task_table_of_a_large_run_is_in_task_id_order(self, store: RunStore) -> None:
        tasks = tuple(TaskSpec(i, f"t{i}", "m:f", (i - 1,) if i else ()) for i in reversed(range(300)))
        register(store, "Wide", tasks=tasks)
        run = new_run(store, workflow="Wide", tasks=tasks)
        table = task_table_of(store, run.run_id)
        assert table.id == list(range(300)) and table.dependencies[299] == [298]
        assert_same_run(table, store.get_run(run.run_id))

    def test_the_task_table_of_a_missing_run_names_it(self, store: RunStore) -> None:
        register(store)
        new_run(store)
        with pytest.raises(RunNotFoundError, match=r"run 99999 does not exist"):
            task_table_of(store, 99999)

    def test_one_task_is_get_runs_task_and_errors_name_what_is_missing(self, store: RunStore) -> None:
        specs = (TaskSpec(0, "extract", "flows:extract"), TaskSpec(1, "load ü", "flows:load", (0,), {"cpu": 2}))
        register(store, tasks=specs)
        run = new_run(store, tasks=specs)
        store.update_tasks(
            run.run_id,
            [
                TaskUpdate(0, state=RunState.COMPLETED, start_time=T0, end_time=T0, result=encode([1, 2]), host="h"),
                TaskUpdate(1, state=RunState.FAILED, start_time=T0, error=TaskError("KeyError", "'ß'", TRACEBACK)),
            ],
        )
        store.append_log(run.run_id, 1, "stderr", "ünïcode\n".encode())
        detail = store.get_run(run.run_id)
        assert [task_of(store, run.run_id, i) for i in (0, 1)] == list(detail.tasks)
        assert task_of(store, run.run_id, 1).stderr_bytes == len("ünïcode\n".encode())
        with pytest.raises(TaskNotFoundError, match=r"run \d+ has no task 7.*extract"):
            task_of(store, run.run_id, 7)
        with pytest.raises(RunNotFoundError, match=r"run 99999 does not exist"):
            task_of(store, 99999, 0)
