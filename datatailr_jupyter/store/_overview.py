"""The workflows overview of the embedded store: a page of workflows with their recent runs and window statistics from
the summary and count tables, in a handful of indexed queries however many runs the store holds."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..models import RunState, WorkflowInfo, utcnow
from . import _queries as q
from .overview import RECENT, OverviewPage, RecentRun, WorkflowStats, _check, assemble, window_start

__all__ = ["workflow_overview"]

_IDS = "workflow_id IN (SELECT value FROM json_each(:ids))"
_RECENT = (
    "SELECT run_id, state, start_time, end_time FROM runs WHERE workflow_id = ? AND env = ? "
    "ORDER BY t DESC, run_id DESC LIMIT ?"
)
# statements assembled once from constant fragments; values always go in as parameters
_COUNTS = (
    "SELECT workflow_id, state, sum(n) FROM run_days WHERE " + _IDS + " AND env = :env AND day >= :day "  # noqa: S608
    "GROUP BY workflow_id, state"
)
_HOURS = (
    "SELECT workflow_id, hour, state, sum(n) FROM run_hours WHERE "  # noqa: S608
    + _IDS
    + " AND env = :env AND hour >= :hour GROUP BY workflow_id, hour, state"
)
_DURATIONS = (
    "SELECT workflow_id, end_time - start_time FROM runs WHERE " + _IDS + " AND env = :env AND t >= :t "  # noqa: S608
    "AND state = 'completed' AND start_time IS NOT NULL AND end_time IS NOT NULL"
)
_DEPLOYED = (
    "SELECT workflow_id, json_extract(definition, '$.deployment.schedule'), "  # noqa: S608
    "json_extract(definition, '$.deployment.env') FROM versions WHERE " + _IDS + " "
    "AND json_type(definition, '$.deployment') = 'object' ORDER BY workflow_id, version"
)


def workflow_overview(
    conn: sqlite3.Connection,
    env: str,
    name_filter: str | None,
    sort: str,
    limit: int,
    cursor: str | None,
    days: int,
    now: datetime | None,
) -> OverviewPage:
    """One page of the overview of ``env`` (see ``store.overview`` for what each figure means)."""
    _check(env, limit)
    now = now or utcnow()
    since = window_start(now, days)
    ids = {str(k): int(i) for i, k in conn.execute("SELECT id, key FROM workflows")}

    def stats_of(infos: Sequence[WorkflowInfo], parts: frozenset[str]) -> dict[str, WorkflowStats]:
        return _stats(conn, env, {w.key: ids[w.key] for w in infos if w.key in ids}, q.to_us(since) or 0, parts)

    infos = q.list_workflows(conn, env)
    return assemble(
        infos, stats_of, name_filter=name_filter, sort=sort, limit=limit, cursor=cursor, now=now, since=since
    )


def _stats(
    conn: sqlite3.Connection, env: str, wanted: dict[str, int], since: int, parts: frozenset[str]
) -> dict[str, WorkflowStats]:
    """The ``parts`` of the statistics of the ``wanted`` workflows (key -> id), one query per part (the recent runs:
    one indexed query per workflow)."""
    if not wanted:
        return {}
    keys = {i: k for k, i in wanted.items()}
    p = {"ids": json.dumps(sorted(keys)), "env": env, "day": since // q.DAY, "hour": since // q.HOUR, "t": since}
    recent: dict[int, tuple[RecentRun, ...]] = {}
    for wf in keys if "recent" in parts else ():
        rows = conn.execute(_RECENT, (wf, env, RECENT)).fetchall()
        recent[wf] = tuple(
            RecentRun(r, RunState(s), q.from_us(a), None if a is None or b is None else (b - a) / 1e6)
            for r, s, a, b in rows
        )
    counts: dict[int, dict[str, int]] = {}
    for wf, state, n in _rows(conn, _COUNTS, p, "counts" in parts):
        if n:
            counts.setdefault(wf, {})[state] = int(n)
    hours: dict[int, dict[tuple[int, str], int]] = {}
    for wf, hour, state, n in _rows(conn, _HOURS, p, "hours" in parts):
        if n:
            hours.setdefault(wf, {})[(int(hour), state)] = int(n)
    durations: dict[int, list[float]] = {}
    for wf, us in _rows(conn, _DURATIONS, p, "durations" in parts):
        durations.setdefault(wf, []).append(us / 1e6)
    deployed: dict[int, tuple[str | None, str | None]] = {}
    for wf, schedule, dep_env in _rows(conn, _DEPLOYED, p, "deployment" in parts):
        deployed[wf] = (schedule or None, dep_env)  # ordered by version: the latest deployed one stays
    return {
        key: WorkflowStats(
            recent=recent.get(wf, ()),
            counts=counts.get(wf, {}),
            durations=tuple(durations.get(wf, ())),
            hours=hours.get(wf, {}),
            deployment=deployed.get(wf, (None, None)),
        )
        for wf, key in keys.items()
    }


def _rows(conn: sqlite3.Connection, sql: str, p: dict[str, Any], wanted: bool) -> list[Any]:
    return conn.execute(sql, p).fetchall() if wanted else []
