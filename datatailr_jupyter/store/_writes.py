"""Write operations of the embedded run store, each run inside one BEGIN IMMEDIATE transaction (a Tx)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from ..errors import InvalidArgumentError, InvalidNameError, RunNotFoundError, StoreError, VersionNotFoundError
from ..models import (
    NAME_MAX,
    ResultMeta,
    RunState,
    RunSummary,
    TaskError,
    Trigger,
    Version,
    check_env,
    check_name,
    normalize_name,
)
from . import _queries as q
from ._schema import ALL_ENVS, ALL_WORKFLOWS, Tx
from .protocols import NewRun, RunUpdate, TaskSpec, TaskUpdate, VersionSpec

ACTIVE = ("created", "scheduled", "pending", "running")
Bucket = tuple[int, str, int]  # (t, state, is_root) of a run, as the count tables see it


_COMPACT = json.JSONEncoder(separators=(",", ":"))  # json.dumps(value, separators=(",", ":")), made once


def to_json(value: Any, what: str) -> str:
    try:
        return _COMPACT.encode(value)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"{what} must be plain JSON (str, number, bool, None, list, dict): {exc}") from None


_string = json.encoder.encode_basestring_ascii  # a str as JSON, as the encoder writes it (ensure_ascii)
_META_FIELDS = ("codec", "bytes", "python_type", "shape", "length", "preview", "sha256")
_FAST_META = tuple(f.name for f in fields(ResultMeta)) == _META_FIELDS


def meta_json(meta: ResultMeta) -> str:
    """``meta.to_dict()`` as JSON, built directly (the run loop's hot path: one per completed task)."""
    if not _FAST_META:  # pragma: no cover - the record changed: the general way
        return to_json(meta.to_dict(), "result meta")
    codec, size, kind, shape_, length, preview, sha = (
        meta.codec,
        meta.bytes,
        meta.python_type,
        meta.shape,
        meta.length,
        meta.preview,
        meta.sha256,
    )
    if (
        type(codec) is str and type(size) is int and type(kind) is str and type(preview) is str and type(sha) is str
        and (length is None or type(length) is int)
        and (shape_ is None or all(type(n) is int for n in shape_))
    ):  # fmt: skip
        # the plain case, as the compact encoder writes it (same text), without building a dict per result
        dims = "null" if shape_ is None else "[" + ",".join(map(str, shape_)) + "]"
        return (
            f'{{"codec":{_string(codec)},"bytes":{size},"python_type":{_string(kind)},"shape":{dims},'
            f'"length":{"null" if length is None else length},"preview":{_string(preview)},"sha256":{_string(sha)}}}'
        )
    shape = None if meta.shape is None else list(meta.shape)
    return to_json(
        {"codec": meta.codec, "bytes": meta.bytes, "python_type": meta.python_type, "shape": shape,
         "length": meta.length, "preview": meta.preview, "sha256": meta.sha256},
        "result meta",
    )  # fmt: skip


def _error_text(error: TaskError) -> str:
    return f"{error.type}: {error.message}"[:2000]


# ---------------------------------------------------------------- derived tables


_ACTIVITY = tuple(
    f"INSERT INTO activity_days (workflow_id, env, day, h{h}) VALUES (?, ?, ?, ?) "  # noqa: S608 - constant h
    f"ON CONFLICT (workflow_id, env, day) DO UPDATE SET h{h} = h{h} + excluded.h{h}"
    for h in range(24)
)


def account(tx: Tx, wf_id: int, env: str, old: Bucket | None, new: Bucket | None) -> None:
    """Move one run between the day/hour count buckets (with their all-workflow and all-env roll-ups).
    Buckets that drop to 0 stay as rows with n = 0; every reader sums, so they cost nothing."""
    if old == new:
        return
    for sign, item in ((-1, old), (1, new)):
        if item is None:
            continue
        t, state, root = item
        moved = old is None or new is None or old[0] != new[0]  # the heatmap counts runs, not states
        for w in (wf_id, ALL_WORKFLOWS):
            for e in (env, ALL_ENVS):
                if moved:
                    tx.execute(_ACTIVITY[t // q.HOUR % 24], (w, e, t // q.DAY, sign))
                tx.execute(
                    "INSERT INTO run_days VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (workflow_id, env, day, state, "
                    "is_root) DO UPDATE SET n = n + excluded.n",
                    (w, e, t // q.DAY, state, root, sign),
                )
                tx.execute(
                    "INSERT INTO run_hours VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (workflow_id, env, hour, state, "
                    "is_root) DO UPDATE SET n = n + excluded.n",
                    (w, e, t // q.HOUR, state, root, sign),
                )


def refresh_recent(tx: Tx, wf_id: int, env: str, added: int) -> None:
    """Recount the workflow/env summary row: ``added`` more runs, and its 10 newest runs from the index."""
    rows = tx.execute(
        "SELECT run_id, state, start_time, t FROM runs WHERE workflow_id = ? AND env = ? "
        "ORDER BY t DESC, run_id DESC LIMIT ?",
        (wf_id, env, q.RECENT),
    ).fetchall()
    tx.execute(
        "INSERT INTO wf_env VALUES (?, ?, ?, ?) ON CONFLICT (workflow_id, env) "
        "DO UPDATE SET n_runs = n_runs + excluded.n_runs, recent = excluded.recent",
        (wf_id, env, added, json.dumps([list(r) for r in rows])),
    )


def rebuild_derived(tx: Tx) -> None:
    """Recompute every count and summary row from the runs table (bulk loads; consistency checks)."""
    tx.execute("DELETE FROM run_days")
    tx.execute("DELETE FROM run_hours")
    tx.execute("DELETE FROM activity_days")
    tx.execute("DELETE FROM wf_env")
    tx.execute("DROP TABLE IF EXISTS temp.hours")
    tx.execute(
        "CREATE TEMP TABLE hours AS SELECT workflow_id, env, (t / 3600000000) - (t < 0 AND t % 3600000000 != 0) "
        "AS hour, state, is_root, count(*) AS n FROM runs GROUP BY 1, 2, 3, 4, 5"
    )
    for target, unit in (("run_hours", "hour"), ("run_days", "(hour / 24) - (hour < 0 AND hour % 24 != 0)")):
        # (workflow, env) rows, then the roll-ups over every workflow (id 0) and every env ('*')
        for wf, env, keys in (("workflow_id", "env", "workflow_id, env, "), ("0", "env", "env, "),
                              ("workflow_id", "'*'", "workflow_id, "), ("0", "'*'", "")):  # fmt: skip
            tx.execute(
                f"INSERT INTO {target} SELECT {wf}, {env}, {unit} AS b, state, is_root, sum(n) FROM temp.hours "  # noqa: S608 - constant fragments
                f"GROUP BY {keys}b, state, is_root"
            )
    day = "(hour / 24) - (hour < 0 AND hour % 24 != 0)"
    columns = ", ".join(f"sum(n * (hour - 24 * ({day}) = {h}))" for h in range(24))
    for wf, env, keys in (("workflow_id", "env", "workflow_id, env, "), ("0", "env", "env, "),
                          ("workflow_id", "'*'", "workflow_id, "), ("0", "'*'", "")):  # fmt: skip
        tx.execute(
            f"INSERT INTO activity_days SELECT {wf}, {env}, {day} AS d, {columns} FROM temp.hours "  # noqa: S608 - constant fragments
            f"GROUP BY {keys}d"
        )
    tx.execute("DROP TABLE temp.hours")
    for wf_id, env, n in tx.execute("SELECT workflow_id, env, count(*) FROM runs GROUP BY 1, 2").fetchall():
        refresh_recent(tx, wf_id, env, n)


# ---------------------------------------------------------------- versions and runs


def register_version(tx: Tx, spec: VersionSpec, now: int) -> Version:
    name = check_name(spec.workflow, "workflow name")
    key = normalize_name(name)
    if not key:
        raise InvalidNameError(f"workflow name {name!r} has no letter or digit; give it at least one")
    definition = to_json(spec.definition, "the workflow definition")
    row = tx.execute("SELECT id, name FROM workflows WHERE key = ?", (key,)).fetchone()
    if row is None:
        wf_id = int(tx.execute("INSERT INTO workflows (key, name) VALUES (?, ?)", (key, name)).lastrowid or 0)
    elif row[1] != name:  # one display name per key, checked in the transaction that would register it
        raise InvalidNameError(
            f"a workflow {row[1]!r} already uses the key {key!r} in this store, so {name!r} would share its versions "
            "and runs; rename this one or use that exact name"
        )
    else:
        wf_id = int(row[0])
    latest = tx.execute(
        "SELECT version, created_at, definition_hash, definition, schedule FROM versions WHERE workflow_id = ? "
        "ORDER BY version DESC LIMIT 1",
        (wf_id,),
    ).fetchone()
    if latest is not None and latest[2] == spec.definition_hash:
        return q.version_record(key, latest)
    number = 1 if latest is None else latest[0] + 1
    tasks = spec.definition.get("tasks") if isinstance(spec.definition, dict) else None
    tx.execute(
        "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (wf_id, number, now, spec.definition_hash, definition, spec.schedule,
         len(tasks) if isinstance(tasks, list) else 0, spec.code),
    )  # fmt: skip
    return q.version_record(key, (number, now, spec.definition_hash, definition, spec.schedule))


def _ids_json(ids: Sequence[int]) -> str:
    """``json.dumps(list(ids))``, without the encoder for plain ints (one call per task of a new run)."""
    if all(type(i) is int for i in ids):
        return "[" + ", ".join(map(str, ids)) + "]"
    return json.dumps(list(ids))


_SCALARS = frozenset((str, int, float, bool, type(None)))


def _resources_json(resources: Any, seen: dict[Any, str]) -> str:
    """``to_json(resources)``, once per distinct value of a run (most tasks of a run share their resources)."""
    if type(resources) is not dict or not all(type(v) in _SCALARS for v in resources.values()):
        return to_json(resources, "resources")
    key = tuple((k, type(v), v) for k, v in resources.items())  # 1 and 1.0 are equal keys, not equal JSON
    text = seen.get(key)
    if text is None:
        text = seen[key] = to_json(resources, "resources")
    return text


def _check_tasks(tasks: Sequence[TaskSpec]) -> None:
    ids = [t.id for t in tasks]
    if any(not isinstance(i, int) or isinstance(i, bool) or i < 0 for i in ids) or len(set(ids)) != len(ids):
        raise InvalidArgumentError(f"task ids must be distinct integers >= 0, got {ids[:50]}")
    known = set(ids)
    for t in tasks:
        name = t.name
        # a short single line of printable ASCII is a good name; anything else gets the full check
        if not (type(name) is str and name.isascii() and name.isprintable() and name.strip() and len(name) <= NAME_MAX):
            check_name(name, "task name")
        missing = [d for d in t.dependencies if d not in known]
        if missing:
            raise InvalidArgumentError(f"task {t.name!r} depends on unknown task ids {missing}")


def create_run(tx: Tx, run: NewRun, now: int, label: str) -> RunSummary:
    env = check_env(run.env)
    check_name(run.workflow, "workflow name")
    wf_id, _key, name = q.workflow(tx, run.workflow)
    if tx.execute("SELECT 1 FROM versions WHERE workflow_id = ? AND version = ?", (wf_id, run.job_version)).fetchone():
        pass
    else:
        existing = [v for (v,) in tx.execute("SELECT version FROM versions WHERE workflow_id = ?", (wf_id,))]
        raise VersionNotFoundError(
            f"workflow {name!r} has no version {run.job_version!r} (its versions are {q.versions_text(existing)}); "
            "register the version before creating runs of it"
        )
    _check_tasks(run.tasks)
    original = None
    if run.rerun_of is not None:
        parent = tx.execute(
            "SELECT workflow_id, original_run_id FROM runs WHERE run_id = ?", (run.rerun_of,)
        ).fetchone()
        if parent is None:
            raise RunNotFoundError(f"run {run.rerun_of} does not exist in store {label}, so it cannot be rerun")
        if parent[0] != wf_id:
            raise InvalidArgumentError(
                f"run {run.rerun_of} is not a run of workflow {name!r}; a rerun keeps its workflow"
            )
        original = parent[1] if parent[1] is not None else run.rerun_of
    submit = now if run.submit_time is None else q.to_us(run.submit_time)
    state = RunState.parse(run.state).value
    root = 1 if original is None else 0
    counts = {RunState.CREATED.value: len(run.tasks)} if run.tasks else {}
    cursor = tx.execute(
        "INSERT INTO runs (workflow_id, env, job_version, state, trigger, original_run_id, rerun_of, partial_rerun, "
        "is_root, submit_time, scheduled_time, t, params, n_tasks, task_counts, owner) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (wf_id, env, run.job_version, state, Trigger(run.trigger).value, original, run.rerun_of,
         int(run.partial_rerun), root, submit, q.to_us(run.scheduled_time), submit,
         to_json(run.params, "run params"), len(run.tasks), json.dumps(counts), run.owner),
    )  # fmt: skip
    run_id = int(cursor.lastrowid or 0)
    seen: dict[Any, str] = {}
    tx.executemany(
        "INSERT INTO tasks (run_id, task_id, name, function, dependencies, resources, state) "
        "VALUES (?, ?, ?, ?, ?, ?, 'created')",
        [(run_id, t.id, t.name, t.function, _ids_json(t.dependencies), _resources_json(t.resources, seen))
         for t in run.tasks],
    )  # fmt: skip
    if original is not None:
        tx.execute("UPDATE runs SET n_reruns = n_reruns + 1 WHERE run_id = ?", (original,))
    account(tx, wf_id, env, None, (submit or 0, state, root))
    refresh_recent(tx, wf_id, env, 1)
    return q.summary(q.run_row(tx, run_id, label))


def update_run(tx: Tx, run_id: int, update: RunUpdate, label: str) -> None:
    row = tx.execute(
        "SELECT workflow_id, env, state, t, submit_time, start_time, is_root FROM runs WHERE run_id = ?", (run_id,)
    ).fetchone()
    if row is None:
        raise RunNotFoundError(f"run {run_id} does not exist in store {label}")
    wf_id, env, state, t, submit, start, root = row
    new_state = state if update.state is None else RunState.parse(update.state).value
    new_start = start if update.start_time is None else q.to_us(update.start_time)
    new_t = submit if new_start is None else new_start
    tx.execute(
        "UPDATE runs SET state = ?, start_time = ?, t = ?, end_time = coalesce(?, end_time), "
        "error_message = coalesce(?, error_message) WHERE run_id = ?",
        (new_state, new_start, new_t, q.to_us(update.end_time), update.error_message, run_id),
    )
    account(tx, wf_id, env, (t, state, root), (new_t, new_state, root))
    if (new_state, new_start) != (state, start):
        refresh_recent(tx, wf_id, env, 0)


@dataclass(frozen=True)
class Placed:
    """A result made durable before its commit: inline bytes, or a file already renamed into results/."""

    meta: ResultMeta
    inline: bytes | None


_UPDATE_TASK = (
    "UPDATE tasks SET state = ?, start_time = coalesce(?, start_time), end_time = coalesce(?, end_time), "
    "attempt = coalesce(?, attempt), exit_code = coalesce(?, exit_code), error = coalesce(?, error), "
    "host = coalesce(?, host), result_meta = coalesce(?, result_meta), result_run = coalesce(?, result_run), "
    "result_task = coalesce(?, result_task), result_inline = coalesce(?, result_inline), "
    "reused_from_run = coalesce(?, reused_from_run) WHERE run_id = ? AND task_id = ?"
)


def _current(tx: Tx, run_id: int, ids: list[int], label: str) -> dict[int, tuple[str, Any]]:
    """(state, result_meta) of the given tasks, read with one query per 500 ids; an unknown id raises."""
    found: dict[int, tuple[str, Any]] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        rows = tx.execute(
            f"SELECT task_id, state, result_meta FROM tasks WHERE run_id = ? AND task_id IN ({marks})",  # noqa: S608 - placeholders only
            (run_id, *chunk),
        )
        found.update((tid, (state, meta)) for tid, state, meta in rows)
    for tid in unique:
        if tid not in found:
            q.task_row(tx, run_id, tid, label, "state")  # raises RunNotFoundError / TaskNotFoundError
    return found


_NO_RESULT: tuple[Any, ...] = (None, None, None, None, None)
_STATE_VALUES: dict[Any, str] = {s: s.value for s in RunState}  # RunState.parse(s).value, for states and enum members


def update_tasks(tx: Tx, run_id: int, updates: Sequence[TaskUpdate], placed: dict[int, Placed], label: str) -> None:
    """Apply a batch of task changes: one query reads the tasks' states, one executemany writes them."""
    run = tx.execute("SELECT task_counts, error_message FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if run is None:
        raise RunNotFoundError(f"run {run_id} does not exist in store {label}")
    counts = Counter(json.loads(run[0]))
    first_error = run[1]
    current = _current(tx, run_id, [u.task_id for u in updates], label)
    rows: list[tuple[Any, ...]] = []
    blobs: list[tuple[int, int, bytes]] = []
    to_us = q.to_us
    for i, u in enumerate(updates):
        state, meta = current[u.task_id]
        result: tuple[Any, ...] = _NO_RESULT
        if u.result is not None or u.reused_from_run is not None:
            if u.result is not None and u.reused_from_run is not None:
                raise InvalidArgumentError(f"task {u.task_id}: give a result or reused_from_run, not both")
            if meta is not None:
                raise StoreError(
                    f"task {u.task_id} of run {run_id} already has a result; results are never overwritten "
                    "(rerun the workflow to make a new one)"
                )
            if u.result is not None:
                p = placed[i]
                result = (meta_json(p.meta), run_id, u.task_id, int(p.inline is not None), None)
                if p.inline is not None:
                    blobs.append((run_id, u.task_id, p.inline))
            else:
                source_task = u.task_id if u.reused_from_task is None else int(u.reused_from_task)
                result = _reuse(tx, run_id, u.task_id, int(u.reused_from_run or 0), source_task, label)
        new_state = state if u.state is None else _STATE_VALUES.get(u.state) or RunState.parse(u.state).value
        if new_state != state:
            counts[state] -= 1
            counts[new_state] += 1
        current[u.task_id] = (new_state, meta if result[0] is None else result[0])
        error = None if u.error is None else to_json(u.error.to_dict(), "task error")
        if u.error is not None and first_error is None:
            first_error = _error_text(u.error)
        rows.append(
            (new_state, None if u.start_time is None else to_us(u.start_time),
             None if u.end_time is None else to_us(u.end_time), u.attempt, u.exit_code, error, u.host,
             *result, run_id, u.task_id)
        )  # fmt: skip
    if blobs:
        tx.executemany("INSERT INTO result_blobs VALUES (?, ?, ?)", blobs)
    tx.executemany(_UPDATE_TASK, rows)
    clean = {k: v for k, v in sorted(counts.items()) if v > 0}
    tx.execute(
        "UPDATE runs SET task_counts = ?, error_message = ? WHERE run_id = ?", (json.dumps(clean), first_error, run_id)
    )


def _reuse(tx: Tx, run_id: int, task_id: int, source: int, source_task: int, label: str) -> tuple[Any, ...]:
    """The result columns of task ``source_task`` in run ``source``, pointing at the run that owns the bytes."""
    if source == run_id:
        raise InvalidArgumentError(f"task {task_id} of run {run_id} cannot reuse its own result")
    meta, owner, owner_task, inline, reused = q.task_row(
        tx, source, source_task, label, "result_meta, result_run, result_task, result_inline, reused_from_run"
    )
    if meta is None:
        return (None, None, None, None, reused or source)
    return (meta, owner, owner_task, inline, owner)


def claim_schedule(tx: Tx, workflow: str, env: str, at: int, now: int) -> bool:
    key = normalize_name(check_name(workflow, "workflow name"))
    cursor = tx.execute("INSERT OR IGNORE INTO schedule_claims VALUES (?, ?, ?, ?)", (key, check_env(env), at, now))
    return cursor.rowcount == 1


# ---------------------------------------------------------------- recovery


def recover(tx: Tx, is_dead: Callable[[str | None], bool], now: int) -> list[int]:
    """End the active runs of dead engines: running tasks failed (EngineLost), unstarted did_not_run."""
    rows = tx.execute(
        "SELECT run_id, owner, error_message FROM runs WHERE state IN ('created', 'scheduled', 'pending', 'running')"
    ).fetchall()
    recovered: list[int] = []
    for run_id, owner, message in rows:
        if not is_dead(owner):
            continue
        who = owner or "that created it"
        lost = to_json(
            TaskError("EngineLost", f"the engine process {who} ended before this task finished").to_dict(), ""
        )
        tx.execute(
            "UPDATE tasks SET state = 'failed', end_time = ?, error = coalesce(error, ?) "
            "WHERE run_id = ? AND state = 'running'",
            (now, lost, run_id),
        )
        tx.execute(
            "UPDATE tasks SET state = 'did_not_run' WHERE run_id = ? AND state IN ('created', 'scheduled', 'pending')",
            (run_id,),
        )
        counts = dict(tx.execute("SELECT state, count(*) FROM tasks WHERE run_id = ? GROUP BY state", (run_id,)))
        reason = f"the engine process {who} ended before this run finished"
        if message:
            reason = f"{message} (then {reason})"[:2000]
        tx.execute(
            "UPDATE runs SET task_counts = ?, error_message = ? WHERE run_id = ?",
            (json.dumps(dict(sorted(counts.items()))), reason, run_id),
        )
        update_run(tx, run_id, RunUpdate(state=RunState.FAILED, end_time=q.from_us(now)), "")
        recovered.append(run_id)
    return recovered
