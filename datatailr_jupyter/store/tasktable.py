"""A run's tasks as columns (one list per TaskRun field), for readers that show every task at once: the DAG.

Reading a 10,000-task run as :class:`~datatailr_jupyter.models.TaskRun` records costs a dataclass, two datetimes
and several parsed records per task; a :class:`TaskTable` holds the same values as plain lists, times as the
stored integers. A store may offer it directly (optional RunReader method ``get_task_table``: the SQLite store
reads it with one query); :func:`task_table_of` falls back to ``get_run`` for every other store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..models import ResultMeta, RunDetail, RunState, RunSummary, TaskError, TaskRun

__all__ = ["COLUMNS", "TaskTable", "from_us", "table_of", "task_of", "task_table_of", "to_us"]

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)


def to_us(value: datetime | None) -> int | None:
    """An aware datetime as microseconds since the Unix epoch (UTC); None stays None."""
    return None if value is None else (value - EPOCH) // _US


def from_us(value: int | None) -> datetime | None:
    return None if value is None else EPOCH + timedelta(microseconds=value)


@dataclass(frozen=True)
class TaskTable:
    """The run and its tasks in task id order, one list per field (each as long as ``id``).

    Values are those of the TaskRun fields of the same name, except: ``dependencies`` are lists, ``state`` is the
    state's value, ``start_time``/``end_time`` are microseconds since the Unix epoch (UTC), ``error`` and ``result``
    are the ``to_dict()`` form of TaskError / ResultMeta (or None), a result without its ``preview`` and ``sha256``
    (a listing does not show them; ``get_run`` and ``read_result`` have them). ``run_id`` is ``run.run_id``."""

    run: RunSummary
    id: list[int]
    name: list[str]
    function: list[str]
    dependencies: list[list[int]]
    state: list[str]
    start_time: list[int | None]
    end_time: list[int | None]
    attempt: list[int]
    exit_code: list[int | None]
    error: list[dict[str, Any] | None]
    resources: list[dict[str, Any]]
    result: list[dict[str, Any] | None]
    reused_from_run: list[int | None]
    stdout_bytes: list[int]
    stderr_bytes: list[int]
    host: list[str | None]

    def __len__(self) -> int:
        return len(self.id)

    def tasks(self) -> tuple[TaskRun, ...]:
        """The same tasks as TaskRun records (``get_run(run_id).tasks`` with results' preview and sha256 "")."""
        run_id = self.run.run_id
        return tuple(
            TaskRun(
                run_id=run_id,
                id=self.id[i],
                name=self.name[i],
                function=self.function[i],
                dependencies=tuple(self.dependencies[i]),
                state=RunState(self.state[i]),
                start_time=from_us(self.start_time[i]),
                end_time=from_us(self.end_time[i]),
                attempt=self.attempt[i],
                exit_code=self.exit_code[i],
                error=_record(TaskError, self.error[i]),
                resources=self.resources[i],
                result=_record(ResultMeta, self.result[i]),
                reused_from_run=self.reused_from_run[i],
                stdout_bytes=self.stdout_bytes[i],
                stderr_bytes=self.stderr_bytes[i],
                host=self.host[i],
            )
            for i in range(len(self.id))
        )


COLUMNS = tuple(f.name for f in dataclasses.fields(TaskTable) if f.name != "run")
"""The task fields of a TaskTable, in TaskRun order (without ``run_id``)."""


def _record(kind: Any, data: Mapping[str, Any] | None) -> Any:
    return None if data is None else kind.from_dict(data)


def _listed(meta: ResultMeta) -> dict[str, Any]:
    data = meta.to_dict()
    del data["preview"], data["sha256"]
    return data


def table_of(detail: RunDetail) -> TaskTable:
    """The TaskTable of a RunDetail (the fallback for stores without ``get_task_table``)."""
    tasks = detail.tasks
    return TaskTable(
        run=detail.run,
        id=[t.id for t in tasks],
        name=[t.name for t in tasks],
        function=[t.function for t in tasks],
        dependencies=[list(t.dependencies) for t in tasks],
        state=[t.state.value for t in tasks],
        start_time=[to_us(t.start_time) for t in tasks],
        end_time=[to_us(t.end_time) for t in tasks],
        attempt=[t.attempt for t in tasks],
        exit_code=[t.exit_code for t in tasks],
        error=[None if t.error is None else t.error.to_dict() for t in tasks],
        resources=[t.resources for t in tasks],
        result=[None if t.result is None else _listed(t.result) for t in tasks],
        reused_from_run=[t.reused_from_run for t in tasks],
        stdout_bytes=[t.stdout_bytes for t in tasks],
        stderr_bytes=[t.stderr_bytes for t in tasks],
        host=[t.host for t in tasks],
    )


def task_table_of(reader: object, run_id: int) -> TaskTable:
    """``reader.get_task_table(run_id)`` where the store offers it, else the table of ``reader.get_run(run_id)``."""
    read = getattr(reader, "get_task_table", None)
    if read is not None:
        table: TaskTable = read(run_id)
        return table
    detail: RunDetail = reader.get_run(run_id)  # type: ignore[attr-defined]
    return table_of(detail)


def task_of(reader: object, run_id: int, task_id: int) -> TaskRun:
    """``reader.get_task(run_id, task_id)`` where the store offers it (one task's row), else that task of
    ``reader.get_run(run_id)``; RunNotFoundError / TaskNotFoundError (naming the run's tasks) either way."""
    read = getattr(reader, "get_task", None)
    if read is not None:
        task: TaskRun = read(run_id, task_id)
        return task
    detail: RunDetail = reader.get_run(run_id)  # type: ignore[attr-defined]
    return detail.task(task_id)
