"""The workflows overview: the SQLite store's own queries and the fallback over the basic reader calls agree, and each
figure means what the overview says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from datatailr_jupyter.client import Client
from datatailr_jupyter.engine.launch import engine_owner
from datatailr_jupyter.errors import InvalidArgumentError
from datatailr_jupyter.models import RunState, Trigger
from datatailr_jupyter.store.http import HttpRunStore
from datatailr_jupyter.store.overview import describe_schedule, overview_from_reader, workflow_overview
from datatailr_jupyter.store.protocols import NewRun, RunUpdate, TaskSpec, VersionSpec
from datatailr_jupyter.store.sqlite import SqliteRunStore

NOW = datetime(2026, 11, 18, 15, 30, tzinfo=timezone.utc)  # a Wednesday
TASKS = (TaskSpec(0, "a", "m:a"), TaskSpec(1, "b", "m:b", (0,)))


def _version(store: SqliteRunStore, name: str, n_tasks: int, deployment: dict | None = None, tag: str = "") -> None:
    definition = {"tasks": [{"id": i, "name": f"t{i}"} for i in range(n_tasks)], "deployment": deployment}
    schedule = (deployment or {}).get("schedule")
    store.register_version(VersionSpec(name, definition, f"{name}{n_tasks}{tag}{deployment}", schedule=schedule))


def _run(
    store: SqliteRunStore, name: str, env: str, start: datetime, seconds: float | None, state: RunState,
    rerun_of: int | None = None,
) -> int:  # fmt: skip
    version = store.list_versions(name)[-1].version
    run = store.create_run(
        NewRun(workflow=name, env=env, job_version=version, tasks=TASKS, submit_time=start - timedelta(seconds=3),
               rerun_of=rerun_of, trigger=Trigger.RERUN if rerun_of else Trigger.SCHEDULE,
               owner=engine_owner())  # alive: recovery leaves its running run alone
    )  # fmt: skip
    end = None if seconds is None else start + timedelta(seconds=seconds)
    store.update_run(run.run_id, RunUpdate(state=state, start_time=start, end_time=end))
    return run.run_id


@pytest.fixture()
def filled(store: SqliteRunStore) -> SqliteRunStore:
    """Ingest (every 6 h for 40 days in prod, 1 in 8 failed, plus a running one), Reports (a few in prod and dev,
    deployed with a schedule), Idle (registered, never run) and Elsewhere (runs in dev only)."""
    _version(store, "Ingest", 3)
    _version(store, "Reports", 2, {"env": "prod", "schedule": "0 0 9 * * 1-5"})
    _version(store, "Idle", 1)
    _version(store, "Elsewhere", 4)
    for i in range(160):
        start = NOW - timedelta(hours=6 * i + 1)
        state = RunState.FAILED if i % 8 == 3 else RunState.COMPLETED
        _run(store, "Ingest", "prod", start, 60 + (i % 7) * 10, state)
    _run(store, "Ingest", "prod", NOW - timedelta(minutes=5), None, RunState.RUNNING)
    first = _run(store, "Reports", "prod", NOW - timedelta(days=2, hours=3), 300, RunState.FAILED)
    _run(store, "Reports", "prod", NOW - timedelta(days=2, hours=2), 200, RunState.COMPLETED, rerun_of=first)
    _run(store, "Reports", "prod", NOW - timedelta(days=45), 100, RunState.COMPLETED)  # outside the window
    _run(store, "Reports", "dev", NOW - timedelta(days=1), 50, RunState.STOPPED)
    _run(store, "Elsewhere", "dev", NOW - timedelta(days=1), 10, RunState.COMPLETED)
    _version(store, "Reports", 2, {"env": "prod", "schedule": "0 0 9 * * 1-5"}, tag="later, not deployed")
    return store


SORTS = ("name", "-name", "last_run", "-last_run", "runs", "-runs", "state", "success_rate", "-success_rate",
         "median_duration", "-median_duration")  # fmt: skip


@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("env", ["prod", "dev"])
def test_sqlite_overview_equals_the_fallback_over_basic_reader_calls(
    filled: SqliteRunStore, sort: str, env: str
) -> None:
    for days in (30, 3):
        cursor = None
        while True:
            own = filled.workflow_overview(env, sort=sort, limit=2, cursor=cursor, days=days, now=NOW)
            generic = overview_from_reader(filled, env, sort=sort, limit=2, cursor=cursor, days=days, now=NOW)
            assert own == generic
            cursor = own.next_cursor
            if cursor is None:
                break


def test_overview_figures_of_a_busy_workflow(filled: SqliteRunStore) -> None:
    page = filled.workflow_overview("prod", name_filter="ingest", now=NOW)
    assert page.total == 1 and page.since == datetime(2026, 10, 20, tzinfo=timezone.utc)
    row = page.workflows[0]
    assert (row.name, row.n_tasks, row.latest_version, row.n_runs) == ("Ingest", 3, 1, 161)
    assert row.state is RunState.RUNNING and row.recent[0].state is RunState.RUNNING
    assert len(row.recent) == 10 and row.recent[0].duration is None and row.recent[1].duration == 60.0
    assert [r.run_id for r in row.recent] == sorted((r.run_id for r in row.recent), key=lambda i: -i if i > 160 else i)
    in_window = [i for i in range(160) if NOW - timedelta(hours=6 * i + 1) >= page.since]
    failed = [i for i in in_window if i % 8 == 3]
    assert (row.window_runs, row.failed, row.completed) == (
        len(in_window) + 1,
        len(failed),
        len(in_window) - len(failed),
    )
    assert row.success_rate == pytest.approx((len(in_window) - len(failed)) / len(in_window))
    cells = {(wd, h): (ok, bad, other) for wd, h, ok, bad, other in row.heatmap}
    assert sum(sum(c) for c in cells.values()) == row.window_runs
    assert cells[(2, 15)][2] == 1  # the running run: Wednesday 15:25 UTC, neither completed nor failed
    assert {h for _, h in cells} == {14, 15, 20, 2, 8}
    assert row.schedule is None and row.next_run is None


def test_overview_schedule_comes_from_the_latest_deployed_version(filled: SqliteRunStore) -> None:
    (row,) = filled.workflow_overview("prod", name_filter="REPORTS", now=NOW).workflows
    assert row.latest_version == 2 and row.schedule == "0 0 9 * * 1-5" and row.schedule_env == "prod"
    assert row.schedule_text == "At 09:00, Monday through Friday (UTC)"
    assert row.next_run == datetime(2026, 11, 19, 9, tzinfo=timezone.utc)
    assert (row.window_runs, row.completed, row.failed, row.success_rate, row.median_duration) == (2, 1, 1, 0.5, 200.0)
    assert row.state is RunState.COMPLETED and [r.state for r in row.recent][:2] == [
        RunState.COMPLETED,
        RunState.FAILED,
    ]


def test_overview_lists_workflows_never_run_and_leaves_out_those_of_other_envs(filled: SqliteRunStore) -> None:
    page = filled.workflow_overview("prod", now=NOW)
    assert [w.name for w in page.workflows] == ["Idle", "Ingest", "Reports"]
    idle = page.workflows[0]
    assert (idle.state, idle.recent, idle.success_rate, idle.median_duration, idle.heatmap) == (
        None,
        (),
        None,
        None,
        (),
    )


def test_overview_sorts_and_pages(filled: SqliteRunStore) -> None:
    names = lambda sort: [w.name for w in filled.workflow_overview("prod", sort=sort, now=NOW).workflows]  # noqa: E731
    assert names("-name") == ["Reports", "Ingest", "Idle"]
    assert names("-last_run") == ["Ingest", "Reports", "Idle"]
    assert names("success_rate") == ["Reports", "Ingest", "Idle"]  # no figure: last, whichever the direction
    assert names("-success_rate") == ["Ingest", "Reports", "Idle"]
    assert names("-median_duration")[:2] == ["Reports", "Ingest"]
    first = filled.workflow_overview("prod", limit=2, now=NOW)
    second = filled.workflow_overview("prod", limit=2, cursor=first.next_cursor, now=NOW)
    assert first.total == second.total == 3 and second.next_cursor is None
    assert [w.name for w in first.workflows + second.workflows] == ["Idle", "Ingest", "Reports"]


def test_overview_refuses_unknown_sorts_cursors_and_envs(filled: SqliteRunStore) -> None:
    with pytest.raises(InvalidArgumentError, match="sort by one of"):
        filled.workflow_overview("prod", sort="colour")
    with pytest.raises(InvalidArgumentError, match="not an overview page cursor"):
        filled.workflow_overview("prod", cursor="nonsense!")
    with pytest.raises(Exception, match="not valid"):
        overview_from_reader(filled, "bad env")


def test_schedules_in_words() -> None:
    assert describe_schedule("0 6 * * *") == "At 06:00 (UTC)"
    assert describe_schedule("TZ=Europe/London 30 2 * * 1") == "At 02:30, only on Monday (Europe/London)"
    assert describe_schedule("*/15 * * * *") == "Every 15 minutes (UTC)"
    assert describe_schedule(None) is None


def test_client_overview_is_a_frame_indexed_by_name(filled: SqliteRunStore) -> None:
    frame = Client(filled, env="prod").overview(limit=None)
    assert list(frame.index) == ["Idle", "Ingest", "Reports"]
    assert frame.loc["Reports", "schedule_text"].startswith("At 09:00")
    assert frame.loc["Ingest", "recent_states"][0] == "running" and len(frame.loc["Ingest", "recent_runs"]) == 10


@pytest.fixture()
def served(filled: SqliteRunStore) -> Iterator[HttpRunStore]:
    from datatailr_jupyter.server import create_app
    from tests.server.live import LiveServer

    server = LiveServer().start()
    server.app = create_app(filled, False, executor="inline")
    try:
        with HttpRunStore(server.url, None) as remote:
            yield remote
    finally:
        server.stop()


def test_http_store_overview_equals_the_served_store(filled: SqliteRunStore, served: HttpRunStore) -> None:
    for sort in ("name", "-success_rate", "-last_run"):
        remote = workflow_overview(served, "prod", sort=sort, limit=2, now=NOW)
        assert remote == filled.workflow_overview("prod", sort=sort, limit=2, now=NOW)
        assert remote.next_cursor is not None
        rest = served.workflow_overview("prod", sort=sort, limit=2, cursor=remote.next_cursor, now=NOW)
        assert len(rest.workflows) == 1


def test_median_durations_are_read_from_the_completed_runs_index_alone(filled: SqliteRunStore) -> None:
    from datatailr_jupyter.store import _overview

    conn = filled._conn()
    plan = " ".join(
        str(row[-1])
        for row in conn.execute(
            "EXPLAIN QUERY PLAN " + _overview._DURATIONS, {"ids": "[1, 2, 3, 4]", "env": "prod", "t": 0}
        )
    )
    assert "COVERING INDEX runs_completed_times" in plan, plan


def test_a_version_2_store_gains_the_index_and_keeps_its_overview(filled: SqliteRunStore) -> None:
    import sqlite3

    from datatailr_jupyter.store import _schema

    before = filled.workflow_overview("prod", sort="median_duration", now=NOW)
    root = filled.path
    filled.close()
    conn = sqlite3.connect(root / "runs.db")  # back to v2, as an older datatailr_jupyter left it
    conn.executescript("DROP INDEX runs_completed_times; PRAGMA user_version = 2;")
    conn.close()
    reopened = SqliteRunStore(root)
    try:
        assert reopened.workflow_overview("prod", sort="median_duration", now=NOW) == before
        names = {r[0] for r in reopened._conn().execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "runs_completed_times" in names
        assert reopened._conn().execute("PRAGMA user_version").fetchone()[0] == _schema.SCHEMA_VERSION == 3
    finally:
        reopened.close()
