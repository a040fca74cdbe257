"""Read queries of the embedded run store: rows to records, keyset pages, counts from buckets, activity, workflows."""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import (
    InvalidArgumentError,
    RunNotFoundError,
    TaskNotFoundError,
    VersionNotFoundError,
    WorkflowNotFoundError,
    known,
)
from ..models import (
    ActivityGrid,
    ResultMeta,
    RunDetail,
    RunPage,
    RunQuery,
    RunState,
    RunSummary,
    TaskError,
    TaskRun,
    Trigger,
    Version,
    WorkflowInfo,
    check_env,
    normalize_name,
)
from ._schema import ALL_ENVS, ALL_WORKFLOWS
from .tasktable import COLUMNS as TABLE_COLUMNS
from .tasktable import TaskTable

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
US = timedelta(microseconds=1)
HOUR = 3_600_000_000  # microseconds
DAY = 24 * HOUR
LOW, HIGH = -(2**62), 2**62  # open ends of a time range
RECENT = 10


def to_us(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidArgumentError(f"datetime {value.isoformat()} has no time zone; pass an aware (UTC) datetime")
    return (value - EPOCH) // US


def from_us(value: int | None) -> datetime | None:
    return None if value is None else EPOCH + timedelta(microseconds=value)


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# ---------------------------------------------------------------- rows to records

RUN_COLUMNS = (
    "r.run_id, w.name, w.key, r.env, r.job_version, r.state, r.trigger, r.original_run_id, r.rerun_of, "
    "r.partial_rerun, r.submit_time, r.start_time, r.end_time, r.scheduled_time, r.params, r.n_tasks, "
    "r.task_counts, r.error_message, r.n_reruns, r.t"
)
_RUNS = "SELECT " + RUN_COLUMNS + " FROM runs r CROSS JOIN workflows w ON w.id = r.workflow_id "  # noqa: S608


def summary(row: Sequence[Any]) -> RunSummary:
    return RunSummary(
        run_id=row[0],
        workflow=row[1],
        workflow_key=row[2],
        env=row[3],
        job_version=row[4],
        state=RunState(row[5]),
        trigger=Trigger(row[6]),
        original_run_id=row[7],
        rerun_of=row[8],
        partial_rerun=bool(row[9]),
        submit_time=from_us(row[10]),
        start_time=from_us(row[11]),
        end_time=from_us(row[12]),
        scheduled_time=from_us(row[13]),
        params=json.loads(row[14]),
        n_tasks=row[15],
        task_counts=json.loads(row[16]),
        error_message=row[17],
        n_reruns=row[18],
    )


TASK_COLUMNS = (
    "run_id, task_id, name, function, dependencies, state, start_time, end_time, attempt, exit_code, error, "
    "resources, result_meta, reused_from_run, host"
)


def run_detail(conn: sqlite3.Connection, run: RunSummary, sizes: dict[str, int]) -> RunDetail:
    """The run with its tasks as records, in task id order."""
    rows = conn.execute(
        "SELECT " + TASK_COLUMNS + " FROM tasks WHERE run_id = ? ORDER BY task_id",  # noqa: S608
        (run.run_id,),
    ).fetchall()
    return RunDetail(run=run, tasks=tuple(task(r, sizes) for r in rows))


def one_task(conn: sqlite3.Connection, run: RunSummary, sizes: dict[str, int], task_id: int, label: str) -> TaskRun:
    """Task ``task_id`` of ``run`` (``sizes``: its log files' sizes); TaskNotFoundError lists the run's tasks."""
    return task(task_row(conn, run.run_id, task_id, label, TASK_COLUMNS), sizes)


def task(row: Sequence[Any], sizes: dict[str, int]) -> TaskRun:
    error = json.loads(row[10]) if row[10] else None
    meta = json.loads(row[12]) if row[12] else None
    return TaskRun(
        run_id=row[0],
        id=row[1],
        name=row[2],
        function=row[3],
        dependencies=tuple(json.loads(row[4])),
        state=RunState(row[5]),
        start_time=from_us(row[6]),
        end_time=from_us(row[7]),
        attempt=row[8],
        exit_code=row[9],
        error=TaskError.from_dict(error) if error else None,
        resources=json.loads(row[11]),
        result=ResultMeta.from_dict(meta) if meta else None,
        reused_from_run=row[13],
        stdout_bytes=sizes.get(f"{row[1]}.stdout", 0),
        stderr_bytes=sizes.get(f"{row[1]}.stderr", 0),
        host=row[14],
    )


_TABLE = (
    "SELECT task_id, name, function, dependencies, state, start_time, end_time, attempt, exit_code, "
    "ifnull(nullif(error, ''), 'null'), resources, "
    "ifnull(json_remove(nullif(result_meta, ''), '$.preview', '$.sha256'), 'null'), reused_from_run, host "
    "FROM tasks WHERE run_id = ? ORDER BY task_id"
)


def _json_values(texts: Sequence[str]) -> list[Any]:
    """Each JSON text parsed, in one call of the parser for all of them."""
    values: list[Any] = json.loads("[" + ",".join(texts) + "]")
    return values


def task_table(conn: sqlite3.Connection, run: RunSummary, sizes: dict[str, int]) -> TaskTable:
    """The tasks of ``run`` as columns: one query, the rows transposed, each JSON column parsed in one call."""
    rows = conn.execute(_TABLE, (run.run_id,)).fetchall()
    if not rows:
        return TaskTable(run, *([] for _ in TABLE_COLUMNS))
    ids, names, functions, deps, states, starts, ends, attempts, codes, errors, resources, results, reused, hosts = (
        list(column) for column in zip(*rows, strict=True)
    )
    if sizes:
        out = [sizes.get(f"{i}.stdout", 0) for i in ids]
        err = [sizes.get(f"{i}.stderr", 0) for i in ids]
    else:
        out, err = [0] * len(ids), [0] * len(ids)
    return TaskTable(
        run, ids, names, functions, _json_values(deps), states, starts, ends, attempts, codes,
        [e or None for e in _json_values(errors)], _json_values(resources), [r or None for r in _json_values(results)],
        reused, out, err, hosts,
    )  # fmt: skip


# ---------------------------------------------------------------- lookups


def workflow(conn: sqlite3.Connection, ref: str) -> tuple[int, str, str]:
    """(id, key, display name) of a workflow given its display name or key; WorkflowNotFoundError lists names."""
    if isinstance(ref, str):
        row = conn.execute(
            "SELECT id, key, name FROM workflows WHERE key = ? OR key = ? ORDER BY key = ? DESC LIMIT 1",
            (ref, normalize_name(ref), ref),
        ).fetchone()
        if row is not None:
            return int(row[0]), str(row[1]), str(row[2])
    names = [r[0] for r in conn.execute("SELECT name FROM workflows ORDER BY name")]
    raise WorkflowNotFoundError(f"no workflow is called {ref!r}; known workflows: {known(names)}")


def run_row(conn: sqlite3.Connection, run_id: int, label: str) -> tuple[Any, ...]:
    row = conn.execute(_RUNS + "WHERE r.run_id = ?", (run_id,)).fetchone()
    if row is None:
        raise RunNotFoundError(f"run {run_id} does not exist in store {label}")
    return tuple(row)


def task_row(conn: sqlite3.Connection, run_id: int, task_id: int, label: str, columns: str) -> tuple[Any, ...]:
    """Columns of one task, or RunNotFoundError / TaskNotFoundError listing the run's tasks."""
    row = conn.execute(
        "SELECT " + columns + " FROM tasks WHERE run_id = ? AND task_id = ?",  # noqa: S608 - constant columns
        (run_id, task_id),
    ).fetchone()
    if row is not None:
        return tuple(row)
    run_row(conn, run_id, label)
    tasks = [
        f"{i} ({name!r})" for i, name in conn.execute("SELECT task_id, name FROM tasks WHERE run_id = ?", (run_id,))
    ]
    raise TaskNotFoundError(f"run {run_id} has no task {task_id!r}; its tasks are {', '.join(tasks) or '(none)'}")


def version(conn: sqlite3.Connection, ref: str, number: int) -> tuple[tuple[Any, ...], str]:
    wf_id, key, name = workflow(conn, ref)
    row = conn.execute(
        "SELECT version, created_at, definition_hash, definition, schedule, code FROM versions "
        "WHERE workflow_id = ? AND version = ?",
        (wf_id, number),
    ).fetchone()
    if row is None:
        existing = [v for (v,) in conn.execute("SELECT version FROM versions WHERE workflow_id = ?", (wf_id,))]
        raise VersionNotFoundError(
            f"workflow {name!r} has no version {number!r}; its versions are {versions_text(existing)}"
        )
    return tuple(row), key


def version_record(key: str, row: Sequence[Any]) -> Version:
    return Version(
        workflow_key=key,
        version=row[0],
        created_at=EPOCH + timedelta(microseconds=row[1]),
        definition_hash=row[2],
        definition=json.loads(row[3]),
        schedule=row[4],
    )


# ---------------------------------------------------------------- run pages and counts

_SCOPES = {
    (True, True): "r.workflow_id = :wf AND r.env = :env",
    (True, False): "r.workflow_id = :wf",
    (False, True): "r.env = :env",
    (False, False): "1",
}
_FILTER = (
    " AND r.t >= :lo AND r.t < :hi AND r.is_root >= :root"
    " AND (:states IS NULL OR r.state IN (SELECT value FROM json_each(:states)))"
)
# statements assembled once from the constant fragments above; values always go in as parameters
_PAGE = {
    k: _RUNS + "WHERE " + w + _FILTER + " AND (r.t, r.run_id) < (:ct, :cr) ORDER BY r.t DESC, r.run_id DESC LIMIT :n"
    for k, w in _SCOPES.items()
}
_COUNT = {k: "SELECT count(*) FROM runs r WHERE " + w + _FILTER for k, w in _SCOPES.items()}  # noqa: S608


def encode_cursor(t: int, run_id: int) -> str:
    return base64.urlsafe_b64encode(f"{t}:{run_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode("ascii")
        t, run_id = raw.split(":")
        return int(t), int(run_id)
    except (ValueError, binascii.Error, UnicodeDecodeError, AttributeError, TypeError):
        raise InvalidArgumentError(
            f"cursor {str(cursor)[:40]!r} is not a page cursor of this store; start again from the first page"
        ) from None


def _params(conn: sqlite3.Connection, query: RunQuery) -> dict[str, Any]:
    wf_id = workflow(conn, query.workflow)[0] if query.workflow else None
    states = json.dumps([RunState.parse(s).value for s in query.states]) if query.states else None
    return {
        "wf": wf_id,
        "env": None if query.env is None else check_env(query.env),
        "lo": LOW if query.start is None else to_us(query.start),
        "hi": HIGH if query.end is None else to_us(query.end),
        "root": 1 if query.roots_only else 0,
        "states": states,
    }


def _bucket_sum(
    conn: sqlite3.Connection, table: str, p: dict[str, Any], lo: int, hi: int, states: set[str] | None
) -> int:
    """Runs in whole buckets [lo, hi) of run_days (day numbers) or run_hours (hour numbers)."""
    sql = _BUCKETS[table]
    wf = ALL_WORKFLOWS if p["wf"] is None else p["wf"]
    env = ALL_ENVS if p["env"] is None else p["env"]
    total = 0
    for state, is_root, n in conn.execute(sql, (wf, env, lo, hi)):
        if is_root >= p["root"] and (states is None or state in states):
            total += n
    return total


_BUCKETS = {
    "run_days": "SELECT state, is_root, sum(n) FROM run_days WHERE workflow_id = ? AND env = ? "
    "AND day >= ? AND day < ? GROUP BY state, is_root",
    "run_hours": "SELECT state, is_root, sum(n) FROM run_hours WHERE workflow_id = ? AND env = ? "
    "AND hour >= ? AND hour < ? GROUP BY state, is_root",
}


def _count_runs(conn: sqlite3.Connection, p: dict[str, Any], lo: int, hi: int) -> int:
    if lo >= hi:
        return 0
    sql = _COUNT[(p["wf"] is not None, p["env"] is not None)]
    return int(conn.execute(sql, {**p, "lo": lo, "hi": hi}).fetchone()[0])


def _count_hours(conn: sqlite3.Connection, p: dict[str, Any], lo: int, hi: int, states: set[str] | None) -> int:
    first, last = ceil_div(lo, HOUR), hi // HOUR
    if first >= last:
        return _count_runs(conn, p, lo, hi)
    whole = _bucket_sum(conn, "run_hours", p, first, last, states)
    return whole + _count_runs(conn, p, lo, first * HOUR) + _count_runs(conn, p, last * HOUR, hi)


def count(conn: sqlite3.Connection, p: dict[str, Any]) -> int:
    """How many runs match: whole days from run_days, whole hours of the edge days from run_hours, and only
    the partial edge hours from the runs index, so the cost does not grow with the number of runs."""
    states = set(json.loads(p["states"])) if p["states"] else None
    lo, hi = p["lo"], p["hi"]
    first, last = ceil_div(lo, DAY), hi // DAY
    if first >= last:
        return _count_hours(conn, p, lo, hi, states)
    whole = _bucket_sum(conn, "run_days", p, first, last, states)
    return whole + _count_hours(conn, p, lo, first * DAY, states) + _count_hours(conn, p, last * DAY, hi, states)


def list_runs(conn: sqlite3.Connection, query: RunQuery) -> RunPage:
    p = _params(conn, query)
    page = dict(p, ct=HIGH, cr=HIGH, n=query.limit + 1)
    if query.cursor is not None:
        ct, cr = decode_cursor(query.cursor)
        page.update(ct=ct, cr=cr, hi=min(p["hi"], ct + 1))  # one upper bound, so the index range starts there
    rows = conn.execute(_PAGE[(p["wf"] is not None, p["env"] is not None)], page).fetchall()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    cursor = encode_cursor(rows[-1][19], rows[-1][0]) if more and rows else None
    return RunPage(runs=tuple(summary(r) for r in rows), total=count(conn, p), next_cursor=cursor)


def rerun_family(conn: sqlite3.Connection, run_id: int, label: str) -> list[RunSummary]:
    row = run_row(conn, run_id, label)
    root = row[7] if row[7] is not None else row[0]
    rows = conn.execute(_RUNS + "WHERE r.run_id = ? OR r.original_run_id = ? ORDER BY r.run_id", (root, root))
    return [summary(r) for r in rows]


# ---------------------------------------------------------------- activity and workflows


_HOURS = ", ".join(f"sum(h{h})" for h in range(24))
_ACTIVITY_DAYS = (
    "SELECT ((day % 7) + 10) % 7 AS weekday, " + _HOURS + " FROM activity_days "  # noqa: S608 - constant fragments
    "WHERE workflow_id = ? AND env = ? AND day >= ? AND day < ? GROUP BY weekday"
)


def activity(
    conn: sqlite3.Connection, wf: str | None, env: str | None, start: datetime | None, end: datetime | None
) -> ActivityGrid:
    """Runs per weekday x hour (UTC) of their start: whole days from activity_days (24 counts a row), hours of
    the edge days from run_hours, and only the partial edge hours from the runs index."""
    p = _params(conn, RunQuery(workflow=wf or None, env=env, start=start, end=end))
    lo, hi = p["lo"], p["hi"]
    scope = (ALL_WORKFLOWS if p["wf"] is None else p["wf"], ALL_ENVS if env is None else env)
    grid = [[0] * 24 for _ in range(7)]
    first, last = ceil_div(lo, DAY), hi // DAY
    if first < last:
        for weekday, *hours in conn.execute(_ACTIVITY_DAYS, (*scope, first, last)):
            for h, n in enumerate(hours):
                grid[weekday][h] += n or 0
        edges = [(lo, first * DAY), (last * DAY, hi)]
    else:
        edges = [(lo, hi)]
    per_hour: dict[int, int] = {}
    for a, b in edges:
        first_hour, last_hour = ceil_div(a, HOUR), b // HOUR
        if first_hour < last_hour:
            rows = conn.execute(
                "SELECT hour, sum(n) FROM run_hours WHERE workflow_id = ? AND env = ? AND hour >= ? AND hour < ? "
                "GROUP BY hour",
                (*scope, first_hour, last_hour),
            )
            per_hour.update((int(h), int(n)) for h, n in rows)
            parts = [(a, first_hour * HOUR), (last_hour * HOUR, b)]
        else:
            parts = [(a, b)]
        for x, y in parts:
            n = _count_runs(conn, p, x, y)
            if n:
                per_hour[x // HOUR] = per_hour.get(x // HOUR, 0) + n
    for hour, n in per_hour.items():
        grid[(hour // 24 + 3) % 7][hour % 24] += n  # 1970-01-01 was a Thursday (weekday 3)
    return ActivityGrid(counts=tuple(tuple(row) for row in grid), total=sum(map(sum, grid)))


def _recent(entries: Iterable[Sequence[Any]]) -> list[Sequence[Any]]:
    return sorted(entries, key=lambda e: (e[3], e[0]), reverse=True)[:RECENT]


def list_workflows(conn: sqlite3.Connection, env: str | None) -> list[WorkflowInfo]:
    """Per workflow: the latest version's task count and schedule, and the run summary of ``env``.

    With an env: the workflows that have runs in it, plus registered workflows that have no run anywhere yet.
    Without one: one row per workflow, summing every env, whose ``env`` is that of its newest run ("" if none)
    and whose recent states merge all envs, newest first."""
    if env is not None:
        check_env(env)
    latest = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT w.id, w.key, w.name, v.version, v.n_tasks, v.schedule FROM workflows w "
            "LEFT JOIN versions v ON v.workflow_id = w.id "
            "AND v.version = (SELECT max(version) FROM versions WHERE workflow_id = w.id)"
        )
    }
    per: dict[int, list[tuple[str, int, list[Any]]]] = {}
    has_runs = {wf_id for (wf_id,) in conn.execute("SELECT DISTINCT workflow_id FROM wf_env")}
    rows = conn.execute(
        "SELECT workflow_id, env, n_runs, recent FROM wf_env WHERE ? IS NULL OR env = ?", (env, env)
    ).fetchall()
    for wf_id, row_env, n_runs, recent in rows:
        per.setdefault(wf_id, []).append((row_env, n_runs, json.loads(recent)))
    out: list[WorkflowInfo] = []
    for wf_id, (key, name, number, n_tasks, schedule) in latest.items():
        mine = per.get(wf_id, [])
        if env is not None and not mine and wf_id in has_runs:
            continue  # it has runs, in other envs only
        recent = _recent(e for r in mine for e in r[2])
        env_of = env if env is not None else (_env_of(mine, recent[0][0]) if recent else "")
        out.append(
            WorkflowInfo(
                key=key,
                name=name,
                env=env_of,
                n_tasks=n_tasks or 0,
                schedule=schedule,
                latest_version=number or 0,
                n_runs=sum(r[1] for r in mine),
                last_run_id=recent[0][0] if recent else None,
                last_state=RunState(recent[0][1]) if recent else None,
                last_start_time=from_us(recent[0][2]) if recent else None,
                recent_states=tuple(RunState(e[1]) for e in recent),
            )
        )
    return sorted(out, key=lambda w: (w.name.lower(), w.name))


def _env_of(rows: list[tuple[str, int, list[Any]]], run_id: int) -> str:
    return next(r[0] for r in rows if any(e[0] == run_id for e in r[2]))


def versions_text(numbers: Iterable[int]) -> str:
    return ", ".join(str(n) for n in numbers) or "(none)"
