"""The get-run answer: a run and its tasks in columns (docs/protocol.md), built from the store's task table."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ..client import Client
from ..errors import DatatailrJupyterError
from ..models import ResultMeta, RunSummary, TaskError
from ..store.tasktable import TaskTable, task_table_of
from .columns import encode_column, encode_dicts, encode_times
from .payloads import MAX_TRACEBACK, Context, Payload, run_id, summary

__all__ = ["arguments", "handle_get_run", "task_columns"]


def _defaults(record: type) -> dict[str, Any]:
    """Field -> default (None for a field without one) of a record class, in field order."""
    return {f.name: None if f.default is dataclasses.MISSING else f.default for f in dataclasses.fields(record)}


_RESULT_DEFAULTS = _defaults(ResultMeta)
_ERROR_DEFAULTS = _defaults(TaskError)
_SCALARS = ("id", "name", "function", "dependencies", "state")
_AFTER = ("attempt", "exit_code")
_TAIL = ("reused_from_run", "stdout_bytes", "stderr_bytes", "host")


def arguments(client: Client, run: RunSummary) -> dict[int, Any]:
    """Task id -> the arguments its version's definition records (literals as described, ``{"task": id}`` for an
    upstream output); empty when the version is not stored."""
    try:
        definition = client.store.get_version(run.workflow_key, run.job_version).definition
    except DatatailrJupyterError:
        return {}
    tasks = definition.get("tasks", []) if isinstance(definition, Mapping) else []
    return {t["id"]: t.get("arguments") or {} for t in tasks if isinstance(t, Mapping) and isinstance(t.get("id"), int)}


def _result_wire(name: str, values: list[Any]) -> list[Any]:
    # get-result sends the preview and the digest; keep big DAGs small
    return [""] * len(values) if name in ("preview", "sha256") else values


def _error_wire(name: str, values: list[Any]) -> list[Any]:
    if name != "traceback":
        return values
    return [v if len(v) <= MAX_TRACEBACK else "…" + v[-MAX_TRACEBACK:] for v in values]


def task_columns(table: TaskTable, args: Mapping[int, Any]) -> dict[str, Any]:
    """The tasks as columns (columns.py), field by field in TaskRun.to_dict() order, then ``arguments``."""
    cols: dict[str, Any] = {"run_id": encode_column([table.run.run_id] * len(table))}
    cols.update((f, encode_column(getattr(table, f))) for f in _SCALARS)
    cols["start_time"] = encode_times(table.start_time)
    cols["end_time"] = encode_times(table.end_time)
    cols.update((f, encode_column(getattr(table, f))) for f in _AFTER)
    cols["error"] = encode_dicts(table.error, _ERROR_DEFAULTS, _error_wire)
    cols["resources"] = encode_column(table.resources)
    cols["result"] = encode_dicts(table.result, _RESULT_DEFAULTS, _result_wire)
    cols.update((f, encode_column(getattr(table, f))) for f in _TAIL)
    cols["arguments"] = encode_column([args.get(i, {}) for i in table.id])
    return cols


def handle_get_run(client: Client, payload: Payload, context: Context | None = None) -> dict[str, Any]:
    """The run and its tasks in columnar form (docs/protocol.md), from one read of the store's task table (and of
    its version's definition, once per explorer: the live feed answers an active run's get-run every round)."""
    table = task_table_of(client.store, run_id(payload))
    version = (table.run.workflow_key, table.run.job_version)
    args = None if context is None else context.arguments.get(version)
    if args is None:
        args = arguments(client, table.run)
        if context is not None and len(context.arguments) < 64:
            context.arguments[version] = args
    columns = task_columns(table, args)
    return {"run": summary(table.run), "n_tasks": len(table), "columns": columns}
