"""The workflows overview of one environment: its records, the sort and page rules, and the fallback over any RunReader.

A store may answer ``workflow_overview`` itself (the SQLite store does, with a few indexed queries over its count
tables); :func:`workflow_overview` uses that when the store has it and otherwise builds the same page from the basic
RunReader calls (list_workflows, list_runs, list_versions), so every store shows the same overview.

The window of the statistics is whole UTC days: ``days`` days ending with today (the day of ``now``). Success rate is
completed / (completed + failed) runs of the window, where failed means any failure state (failed, failed_after,
out_of_memory, stopped, expired); the median duration is that of the window's completed runs; the heatmap counts the
window's runs per weekday (0 = Monday) and UTC hour of their start, split into completed, failed and other.
"""

from __future__ import annotations

import base64
import binascii
import functools
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import InvalidArgumentError
from ..models import _RECORDS, RunQuery, RunState, RunSummary, WorkflowInfo, _Record, _wire, check_env, utcnow

__all__ = [
    "OVERVIEW_SORTS",
    "OverviewPage",
    "RecentRun",
    "WorkflowOverview",
    "WorkflowStats",
    "describe_schedule",
    "overview_from_reader",
    "workflow_overview",
]

OVERVIEW_SORTS = ("name", "last_run", "runs", "state", "success_rate", "median_duration")
"""Sort keys of the overview; a leading '-' reverses one (``-last_run``: newest first)."""
MAX_LIMIT = 500
RECENT = 10


@dataclass(frozen=True)
class RecentRun(_Record):
    """One cell of a workflow's strip of recent runs."""

    run_id: int
    state: RunState = _wire("state", default=RunState.UNKNOWN)
    start_time: datetime | None = _wire("time")
    duration: float | None = None


@dataclass(frozen=True)
class WorkflowOverview(_Record):
    """One row of the workflows overview."""

    name: str
    key: str
    n_tasks: int = 0
    latest_version: int = 0
    state: RunState | None = _wire("state")  # the latest run's
    n_runs: int = 0  # in this env, ever
    schedule: str | None = None  # cron of the latest deployed version
    schedule_env: str | None = None  # the env it was deployed to
    schedule_text: str | None = None  # the cron in words
    next_run: datetime | None = _wire("time")
    recent: tuple[RecentRun, ...] = _wire("records:RecentRun", default=())  # newest first
    window_runs: int = 0
    completed: int = 0
    failed: int = 0
    success_rate: float | None = None
    median_duration: float | None = None
    heatmap: tuple[tuple[int, ...], ...] = _wire("grid", default=())  # (weekday, hour, completed, failed, other)


@dataclass(frozen=True)
class OverviewPage(_Record):
    workflows: tuple[WorkflowOverview, ...] = _wire("records:WorkflowOverview", default=())
    total: int = 0
    next_cursor: str | None = None
    since: datetime | None = _wire("time")  # start of the statistics window


_RECORDS.update(RecentRun=RecentRun, WorkflowOverview=WorkflowOverview)


@dataclass(frozen=True)
class WorkflowStats:
    """What a store computes for one workflow of the page (or of every candidate, to sort by a statistic)."""

    recent: tuple[RecentRun, ...] = ()
    counts: dict[str, int] | None = None  # runs of the window per state
    durations: tuple[float, ...] = ()  # of the window's completed runs
    hours: dict[tuple[int, str], int] | None = None  # (hour number since the epoch, state) -> runs
    deployment: tuple[str | None, str | None] = (None, None)  # (schedule, env) of the latest deployed version


# ---------------------------------------------------------------- schedules in words


@functools.lru_cache(maxsize=4096)
def describe_schedule(expr: str | None) -> str | None:
    """A cron string in words (``'0 6 * * 1-5'`` → ``'At 06:00, Monday through Friday'``), its time zone after it."""
    if not expr:
        return None
    text = expr.strip()
    zone = None
    if text.upper().startswith(("TZ=", "CRON_TZ=")):
        head, _, text = text.partition(" ")
        zone = head.split("=", 1)[1]
    try:
        from cron_descriptor import ExpressionDescriptor, Options

        options = Options()
        options.use_24hour_time_format = True
        words = str(ExpressionDescriptor(text.strip(), options).get_description())
    except Exception:  # an expression the describer does not know: show it as written
        words = f"cron {text.strip()}"
    return f"{words} ({zone})" if zone else f"{words} (UTC)"


_NEXT: dict[str, tuple[datetime, datetime | None]] = {}  # cron -> (asked after, its next tick then)


def _next_run(expr: str | None, now: datetime) -> datetime | None:
    """The first tick of ``expr`` after ``now``; remembered per expression until that tick has passed."""
    if not expr:
        return None
    known = _NEXT.get(expr)
    if known is not None and known[0] <= now and (known[1] is None or now < known[1]):
        return known[1]
    from ..engine.schedule import next_tick

    try:
        tick: datetime | None = next_tick(expr, now)
    except Exception:  # a stored schedule without ticks: the scheduler reports it; here it has no next run
        tick = None
    if len(_NEXT) > 4096:
        _NEXT.clear()
    _NEXT[expr] = (now, tick)
    return tick


# ---------------------------------------------------------------- sort, page, assemble


def window_start(now: datetime, days: int) -> datetime:
    if not 1 <= days <= 366:
        raise InvalidArgumentError(f"days must be between 1 and 366, got {days}")
    today = now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days - 1)


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode("ascii")
        kind, offset = raw.split(":")
        if kind != "o" or int(offset) < 0:
            raise ValueError(offset)
        return int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError, AttributeError, TypeError):
        raise InvalidArgumentError(
            f"cursor {str(cursor)[:40]!r} is not an overview page cursor; start again from the first page"
        ) from None


def _sort_key(sort: str) -> tuple[str, bool]:
    key, descending = (sort[1:], True) if sort.startswith("-") else (sort, False)
    if key not in OVERVIEW_SORTS:
        raise InvalidArgumentError(f"unknown sort {sort!r}; sort by one of {', '.join(OVERVIEW_SORTS)} (- reverses)")
    return key, descending


def _check(env: str, limit: int) -> None:
    check_env(env)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidArgumentError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")


ALL_PARTS = frozenset({"recent", "counts", "durations", "hours", "deployment"})
Stats = Callable[[Sequence[WorkflowInfo], frozenset[str]], dict[str, WorkflowStats]]
"""A store's statistics of some workflows: only the parts asked for (of ALL_PARTS) need be filled in."""


def assemble(
    infos: Iterable[WorkflowInfo],
    stats_of: Stats,
    *,
    name_filter: str | None,
    sort: str,
    limit: int,
    cursor: str | None,
    now: datetime,
    since: datetime,
) -> OverviewPage:
    """Filter, sort and page the candidate workflows; ``stats_of`` is asked for the page's rows (and, when the sort
    is by a statistic, first for that statistic's part of every candidate)."""
    key, descending = _sort_key(sort)
    offset = decode_cursor(cursor)
    needle = (name_filter or "").strip().lower()
    rows = [w for w in infos if not needle or needle in w.name.lower() or needle in w.key]
    rows.sort(key=lambda w: (w.name.lower(), w.name))
    if key in ("success_rate", "median_duration"):
        part = "counts" if key == "success_rate" else "durations"
        partial = stats_of(rows, frozenset({part}))
        figure = {w.key: _figure(key, partial.get(w.key, WorkflowStats())) for w in rows}
        present = [w for w in rows if figure[w.key] is not None]
        present.sort(key=lambda w: figure[w.key] or 0.0, reverse=descending)
        rows = present + [w for w in rows if figure[w.key] is None]  # without the figure: last either way
    elif key != "name" or descending:
        rows = _sorted(rows, key, descending)
    page = rows[offset : offset + limit]
    stats = stats_of(page, ALL_PARTS)
    more = offset + limit < len(rows)
    return OverviewPage(
        workflows=tuple(_row(w, stats.get(w.key, WorkflowStats()), now) for w in page),
        total=len(rows),
        next_cursor=encode_cursor(offset + limit) if more else None,
        since=since,
    )


def _success(counts: dict[str, int]) -> tuple[int, int, float | None]:
    completed = counts.get(RunState.COMPLETED.value, 0)
    failed = sum(n for s, n in counts.items() if _OUTCOME[s] == 1)
    return completed, failed, (completed / (completed + failed) if completed + failed else None)


def _figure(key: str, stats: WorkflowStats) -> float | None:
    if key == "success_rate":
        return _success(stats.counts or {})[2]
    return statistics.median(stats.durations) if stats.durations else None


def _sorted(rows: list[WorkflowInfo], key: str, descending: bool) -> list[WorkflowInfo]:
    if key == "name":
        return rows[::-1] if descending else rows
    if key == "runs":
        return sorted(rows, key=lambda w: w.n_runs, reverse=descending)
    if key == "state":
        return sorted(rows, key=_state_rank, reverse=descending)
    have = [w for w in rows if w.last_start_time is not None]  # never run: last either way
    have.sort(key=lambda w: (w.last_start_time, w.last_run_id or 0), reverse=descending)
    return have + [w for w in rows if w.last_start_time is None]


_OUTCOME = {s.value: 0 if s is RunState.COMPLETED else 1 if s.is_failure else 2 for s in RunState}
"""Heatmap column of each state: completed, failed (any failure), other."""


def _state_rank(info: WorkflowInfo) -> int:
    """Failures first, then active runs, other ends, never run."""
    state = info.last_state
    if state is None:
        return 3
    return 0 if state.is_failure else 1 if not state.is_terminal else 2


def _row(info: WorkflowInfo, stats: WorkflowStats, now: datetime) -> WorkflowOverview:
    counts = stats.counts or {}
    completed, failed, rate = _success(counts)
    cells: dict[tuple[int, int], list[int]] = {}
    for (hour, state), n in (stats.hours or {}).items():
        if n <= 0:
            continue
        cell = cells.setdefault(((hour // 24 + 3) % 7, hour % 24), [0, 0, 0])  # 1970-01-01 was a Thursday
        cell[_OUTCOME[state]] += n
    schedule, schedule_env = stats.deployment
    return WorkflowOverview(
        name=info.name,
        key=info.key,
        n_tasks=info.n_tasks,
        latest_version=info.latest_version,
        state=stats.recent[0].state if stats.recent else info.last_state,
        n_runs=info.n_runs,
        schedule=schedule,
        schedule_env=schedule_env,
        schedule_text=describe_schedule(schedule),
        next_run=_next_run(schedule, now),
        recent=stats.recent,
        window_runs=sum(counts.values()),
        completed=completed,
        failed=failed,
        success_rate=rate,
        median_duration=statistics.median(stats.durations) if stats.durations else None,
        heatmap=tuple((wd, h, *c) for (wd, h), c in sorted(cells.items())),
    )


def duration_of(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else (end - start).total_seconds()


# ---------------------------------------------------------------- any store


def workflow_overview(
    reader: Any,
    env: str,
    name_filter: str | None = None,
    sort: str = "name",
    limit: int = 50,
    cursor: str | None = None,
    days: int = 30,
    now: datetime | None = None,
) -> OverviewPage:
    """The overview page from ``reader.workflow_overview`` when the store offers it, else from its basic calls."""
    own = getattr(reader, "workflow_overview", None)
    if own is not None:
        page: OverviewPage = own(
            env, name_filter=name_filter, sort=sort, limit=limit, cursor=cursor, days=days, now=now
        )
        return page
    return overview_from_reader(reader, env, name_filter, sort, limit, cursor, days, now)


def overview_from_reader(
    reader: Any,
    env: str,
    name_filter: str | None = None,
    sort: str = "name",
    limit: int = 50,
    cursor: str | None = None,
    days: int = 30,
    now: datetime | None = None,
) -> OverviewPage:
    """The overview built from list_workflows, list_runs and list_versions only (what every RunReader has)."""
    _check(env, limit)
    now = now or utcnow()
    since = window_start(now, days)

    def stats_of(infos: Sequence[WorkflowInfo], parts: frozenset[str]) -> dict[str, WorkflowStats]:
        return {w.key: _reader_stats(reader, w, env, since, parts) for w in infos}

    infos = reader.list_workflows(env)
    return assemble(
        infos, stats_of, name_filter=name_filter, sort=sort, limit=limit, cursor=cursor, now=now, since=since
    )


def _reader_stats(reader: Any, info: WorkflowInfo, env: str, since: datetime, parts: frozenset[str]) -> WorkflowStats:
    recent: tuple[RecentRun, ...] = ()
    counts: dict[str, int] = {}
    durations: list[float] = []
    hours: dict[tuple[int, str], int] = {}
    if info.n_runs and "recent" in parts:
        page = reader.list_runs(RunQuery(workflow=info.key, env=env, limit=RECENT))
        recent = tuple(_recent(r) for r in page.runs)
    if info.n_runs and parts & {"counts", "durations", "hours"}:
        cursor: str | None = None
        while True:
            batch = reader.list_runs(RunQuery(workflow=info.key, env=env, start=since, limit=1000, cursor=cursor))
            for run in batch.runs:
                counts[run.state.value] = counts.get(run.state.value, 0) + 1
                t = run.start_time or run.submit_time
                if t is not None:
                    hour = (t - _EPOCH) // timedelta(hours=1)
                    hours[(hour, run.state.value)] = hours.get((hour, run.state.value), 0) + 1
                if run.state is RunState.COMPLETED and run.duration is not None:
                    durations.append(run.duration)
            cursor = batch.next_cursor
            if cursor is None or not batch.runs:
                break
    deployment: tuple[str | None, str | None] = (None, None)
    for version in reversed(reader.list_versions(info.key) if "deployment" in parts else []):
        dep = version.definition.get("deployment")
        if isinstance(dep, dict):
            deployment = (dep.get("schedule") or None, dep.get("env"))
            break
    return WorkflowStats(recent, counts, tuple(durations), hours, deployment)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _recent(run: RunSummary) -> RecentRun:
    return RecentRun(run.run_id, run.state, run.start_time, run.duration)
