"""What a Client hands out about runs: a run with its tasks (RunView), and runs and tasks as rows or DataFrames."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .models import RunDetail, RunSummary, TaskRun

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .client import Client
    from .store.overview import WorkflowOverview

__all__ = ["RUN_COLUMNS", "TASK_COLUMNS", "RunView", "frame_of", "run_row", "task_row"]

RUN_COLUMNS = [
    "run_id",
    "workflow",
    "env",
    "state",
    "start_time",
    "end_time",
    "duration_s",
    "job_version",
    "trigger",
    "original_run_id",
    "rerun_of",
    "partial_rerun",
    "n_tasks",
    "error_message",
]
TASK_COLUMNS = [
    "id",
    "name",
    "state",
    "start_time",
    "end_time",
    "duration_s",
    "attempt",
    "function",
    "dependencies",
    "reused_from_run",
    "result_type",
    "result_bytes",
    "error",
]


def run_row(run: RunSummary) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "workflow": run.workflow,
        "env": run.env,
        "state": run.state.value,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "duration_s": run.duration,
        "job_version": run.job_version,
        "trigger": run.trigger.value,
        "original_run_id": run.original_run_id,
        "rerun_of": run.rerun_of,
        "partial_rerun": run.partial_rerun,
        "n_tasks": run.n_tasks,
        "error_message": run.error_message,
    }


def task_row(task: TaskRun) -> dict[str, Any]:
    duration = None
    if task.start_time is not None and task.end_time is not None:
        duration = (task.end_time - task.start_time).total_seconds()
    return {
        "id": task.id,
        "name": task.name,
        "state": task.state.value,
        "start_time": task.start_time,
        "end_time": task.end_time,
        "duration_s": duration,
        "attempt": task.attempt,
        "function": task.function,
        "dependencies": list(task.dependencies),
        "reused_from_run": task.reused_from_run,
        "result_type": task.result.python_type if task.result else None,
        "result_bytes": task.result.bytes if task.result else None,
        "error": f"{task.error.type}: {task.error.message}" if task.error else None,
    }


OVERVIEW_COLUMNS = [
    "name", "key", "n_tasks", "latest_version", "state", "schedule", "schedule_text", "schedule_env", "next_run",
    "recent_runs", "recent_states", "success_rate", "median_duration_s", "window_runs", "n_runs", "heatmap",
]  # fmt: skip


def overview_row(w: WorkflowOverview) -> dict[str, Any]:
    """One row of ``Client.overview``'s DataFrame."""
    return {
        "name": w.name, "key": w.key, "n_tasks": w.n_tasks, "latest_version": w.latest_version,
        "state": w.state.value if w.state else None, "schedule": w.schedule, "schedule_text": w.schedule_text,
        "schedule_env": w.schedule_env, "next_run": w.next_run, "recent_runs": [r.run_id for r in w.recent],
        "recent_states": [r.state.value for r in w.recent], "success_rate": w.success_rate,
        "median_duration_s": w.median_duration, "window_runs": w.window_runs, "n_runs": w.n_runs,
        "heatmap": [list(cell) for cell in w.heatmap],
    }  # fmt: skip


def frame_of(rows: list[dict[str, Any]], columns: list[str], index: str) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame(rows, columns=columns)
    for col in ("start_time", "end_time"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame.set_index(index)


@dataclass(frozen=True)
class RunView:
    """One run: its summary, its tasks as a DataFrame, and shortcuts to their results and logs."""

    client: Client
    detail: RunDetail

    @property
    def summary(self) -> RunSummary:
        return self.detail.run

    @property
    def tasks(self) -> pd.DataFrame:
        return frame_of([task_row(t) for t in self.detail.tasks], TASK_COLUMNS, "id")

    def result(self, task: int | str) -> Any:
        return self.client.result(self.summary.run_id, task)

    def logs(self, task: int | str, stream: str = "stdout", tail: int | None = None) -> str:
        return self.client.logs(self.summary.run_id, task, stream, tail=tail)

    def _ipython_display_(self) -> None:
        """In a notebook, the run's view (DAG, logs, results; it follows the run while it is active); elsewhere
        the one-line summary."""
        from IPython.display import display

        monitor = None
        if "ipykernel" in sys.modules:
            from importlib import import_module

            monitor = import_module("datatailr_jupyter.explorer.runmonitor").view_of(
                self.client.store, self.summary.run_id
            )
        display(monitor if monitor is not None else {"text/plain": repr(self)}, raw=monitor is None)

    def __repr__(self) -> str:
        run = self.summary
        return f"<run {run.run_id} of {run.workflow!r} [{run.env}] v{run.job_version}: {run.state.value}>"
