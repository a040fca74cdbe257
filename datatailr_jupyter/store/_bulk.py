"""Bulk load of the embedded run store (benchmarks, imports): many finished runs in one transaction."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..errors import InvalidArgumentError
from ..models import RunState, Trigger, check_env
from . import _queries as q
from ._schema import Tx
from ._writes import rebuild_derived
from .protocols import TaskSpec

__all__ = ["BulkRun", "bulk_load"]


@dataclass(frozen=True)
class BulkRun:
    """A finished (or active) run to load as is. ``rerun_of`` is the index of an earlier run in the same batch."""

    workflow: str
    env: str
    job_version: int
    state: RunState
    submit_time: datetime
    start_time: datetime | None
    end_time: datetime | None
    tasks: tuple[TaskSpec, ...]
    task_states: tuple[RunState, ...]
    rerun_of: int | None = None
    trigger: Trigger = Trigger.LOCAL
    error_message: str | None = None


def bulk_load(tx: Tx, runs: Sequence[BulkRun], rebuild: bool = True) -> list[int]:
    """Insert many runs with executemany in this one transaction, then (unless told not to, for a load made
    of several batches) rebuild the derived tables. Versions are not checked: register them first."""
    ids: dict[str, int] = {}
    for name in {r.workflow for r in runs}:
        ids[name] = q.workflow(tx, name)[0]
    for env in {r.env for r in runs}:
        check_env(env)
    base = int(tx.execute("SELECT coalesce(max(run_id), 0) FROM runs").fetchone()[0])
    originals: list[int | None] = []
    reruns: Counter[int] = Counter()
    counts_json: dict[tuple[RunState, ...], str] = {}  # JSON made once per distinct value: most repeat
    deps_json: dict[tuple[int, ...], str] = {}
    run_rows = []
    task_rows = []
    for i, r in enumerate(runs):
        run_id = base + 1 + i
        original = None
        if r.rerun_of is not None:
            if not 0 <= r.rerun_of < i:
                raise InvalidArgumentError(f"bulk run {i}: rerun_of must be the index of an earlier run")
            original = originals[r.rerun_of] or base + 1 + r.rerun_of
            reruns[original] += 1
        originals.append(original)
        submit, start = q.to_us(r.submit_time), q.to_us(r.start_time)
        counts = counts_json.get(r.task_states)
        if counts is None:
            counts = counts_json[r.task_states] = json.dumps(
                dict(sorted(Counter(s.value for s in r.task_states).items()))
            )
        run_rows.append(
            (run_id, ids[r.workflow], r.env, r.job_version, r.state.value, r.trigger.value, original,
             None if r.rerun_of is None else base + 1 + r.rerun_of, int(r.rerun_of is not None),
             int(original is None), submit, start, q.to_us(r.end_time), start if start is not None else submit,
             "{}", len(r.tasks), counts, r.error_message)
        )  # fmt: skip
        for spec, state in zip(r.tasks, r.task_states, strict=True):
            deps = deps_json.get(spec.dependencies)
            if deps is None:
                deps = deps_json[spec.dependencies] = json.dumps(list(spec.dependencies))
            task_rows.append((run_id, spec.id, spec.name, spec.function, deps, "{}", state.value))
    tx.executemany(
        "INSERT INTO runs (run_id, workflow_id, env, job_version, state, trigger, original_run_id, rerun_of, "
        "partial_rerun, is_root, submit_time, start_time, end_time, t, params, n_tasks, task_counts, error_message) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        run_rows,
    )
    tx.executemany(
        "INSERT INTO tasks (run_id, task_id, name, function, dependencies, resources, state) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        task_rows,
    )
    tx.executemany("UPDATE runs SET n_reruns = n_reruns + ? WHERE run_id = ?", [(n, r) for r, n in reruns.items()])
    if rebuild:
        rebuild_derived(tx)
    return [base + 1 + i for i in range(len(runs))]
