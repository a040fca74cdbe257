"""Deploying registers a version with its schedule; the scheduler starts each tick exactly once, without backfill."""

from __future__ import annotations

import pickle
import sys
import threading
from datetime import datetime, timedelta, timezone

import cloudpickle
import pytest

from datatailr_jupyter.engine import Schedule, task, workflow
from datatailr_jupyter.engine.schedule import next_tick
from datatailr_jupyter.engine.scheduler import run_scheduler, scheduler_tick
from datatailr_jupyter.models import RunQuery, RunState, Trigger, utcnow
from datatailr_jupyter.store.protocols import VersionSpec
from datatailr_jupyter.store.registry import open_store


@task()
def hourly_job(x):
    return x * 2


@workflow(name="Hourly Compaction", schedule=Schedule(at_minutes=[0]))
def hourly():
    hourly_job(21)


def scheduled_runs(store):
    return [r for r in store.list_runs(RunQuery(workflow="Hourly Compaction", limit=100)).runs]


def test_deploy_registers_a_version_and_says_where_to_see_it(store, capsys):
    assert hourly(store=store, env="prod") is None
    out = capsys.readouterr().out
    assert "deployed as version 1" in out and "scheduled '0 0 * * * *'" in out
    assert '%dt_runs "Hourly Compaction" --env prod' in out and store.label in out
    version = store.get_version("Hourly Compaction", 1)
    assert version.definition["deployment"] == {"env": "prod", "schedule": "0 0 * * * *"}
    hourly(store=store, env="prod")
    assert [v.version for v in store.list_versions("Hourly Compaction")] == [1], "an unchanged deploy is not new"
    handle = hourly(local_run=True, store=store, executor="inline")
    assert handle.detail().run.job_version == 1, "a local run of the deployed graph uses the deployed version"


def test_each_tick_starts_exactly_once_even_across_restarts(store, capsys):
    hourly(store=store, env="prod")
    deployed = store.get_version("Hourly Compaction", 1).created_at
    tick = next_tick("0 0 * * * *", deployed)
    now = tick + timedelta(minutes=5)
    logs: list[str] = []
    started = scheduler_tick(store, now, executor="inline", log=logs.append)
    assert len(started) == 1
    run = store.get_run(started[0]).run
    assert run.trigger is Trigger.SCHEDULE and run.scheduled_time == tick and run.env == "prod"
    assert run.state is RunState.COMPLETED
    assert scheduler_tick(store, now, executor="inline", log=logs.append) == []  # same process again
    assert scheduler_tick(store, now + timedelta(minutes=20), executor="inline", log=logs.append, seen={}) == []

    following = next_tick("0 0 * * * *", tick)
    assert store.claim_schedule("Hourly Compaction", "prod", following)  # claimed, then the scheduler "crashed"
    assert scheduler_tick(store, following + timedelta(minutes=1), executor="inline", log=logs.append, seen={}) == []
    assert len(scheduled_runs(store)) == 1


def test_after_downtime_only_the_latest_missed_tick_runs(store):
    hourly(store=store, env="prod")
    deployed = store.get_version("Hourly Compaction", 1).created_at
    first = next_tick("0 0 * * * *", deployed)
    logs: list[str] = []
    scheduler_tick(store, first + timedelta(minutes=1), executor="inline", log=logs.append)
    later = first + timedelta(hours=10, minutes=3)
    started = scheduler_tick(store, later, executor="inline", log=logs.append, seen={})
    assert len(started) == 1
    assert store.get_run(started[0]).run.scheduled_time == first + timedelta(hours=10)
    assert any("skipped 9 missed tick(s)" in line for line in logs)
    assert len(scheduled_runs(store)) == 2


def test_no_tick_runs_before_the_deployment_and_local_runs_do_not_schedule(store):
    hourly(local_run=True, store=store, executor="inline")
    assert scheduler_tick(store, utcnow() + timedelta(hours=3), executor="inline", log=lambda _: None) == []
    hourly(store=store, env="dev")
    assert scheduler_tick(store, utcnow(), executor="inline", log=lambda _: None) == []


def test_run_scheduler_polls_until_stopped(store):
    hourly(store=store, env="prod")
    deployed = store.get_version("Hourly Compaction", 1).created_at
    fake_now = next_tick("0 0 * * * *", deployed) + timedelta(seconds=30)
    stop = threading.Event()
    logs: list[str] = []

    def log(line: str) -> None:
        logs.append(line)
        if "run " in line:
            stop.set()

    thread = threading.Thread(
        target=run_scheduler,
        args=(store,),
        kwargs={"poll_interval": 0.05, "stop": stop, "now": lambda: fake_now, "executor": "inline", "log": log},
    )
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    assert len(scheduled_runs(store)) == 1


# ---------------------------------------------------------------- one bad workflow never stops the others


@task()
def minute_job():
    return "ok"


@workflow(name="Healthy", schedule="* * * * *")
def healthy():
    minute_job()


def runs_of(store, name):
    return store.list_runs(RunQuery(workflow=name, limit=1000)).runs


def register_deployed(store, name, schedule, code):
    """A deployed version as an older release (or another machine) could have stored it."""
    definition = {
        "workflow": name,
        "tasks": [
            {"id": 0, "name": "load", "function": "jobs:load", "dependencies": [], "resources": {}},
            {"id": 1, "name": "report", "function": "jobs:report", "dependencies": [0], "resources": {}},
        ],
        "deployment": {"env": "dev", "schedule": schedule},
    }
    return store.register_version(
        VersionSpec(workflow=name, definition=definition, definition_hash=name, schedule=schedule, code=code)
    )


def passes(store, start, n, logs, **kwargs):
    """``n`` passes a minute apart from ``start`` of one scheduler process; the runs each one started."""
    kwargs.setdefault("seen", {})
    kwargs.setdefault("said", {})
    return [
        scheduler_tick(store, start + timedelta(minutes=i), executor="inline", log=logs.append, **kwargs)
        for i in range(n)
    ]


def healthy_start(store):
    healthy(store=store, env="dev")
    return next_tick("* * * * *", store.get_version("Healthy", 1).created_at) + timedelta(seconds=5)


def assert_healthy_ran(store, n):
    runs = runs_of(store, "Healthy")
    assert len(runs) == n and {r.state for r in runs} == {RunState.COMPLETED}
    assert all(r.trigger is Trigger.SCHEDULE for r in runs)


def assert_one_line_each(logs):
    assert all("\n" not in line and "Traceback" not in line for line in logs)


@pytest.mark.parametrize("schedule", ["0 0 30 2 *", "0 0 31 2 *", "0 0 31 4 *", "R * * * *", "0 H * * *", "not a cron"])
def test_a_stored_schedule_without_ticks_fails_once_and_the_others_keep_running(store, schedule):
    start = healthy_start(store)
    register_deployed(store, "Feb30", schedule, code=None)
    logs: list[str] = []
    passes(store, start, 3, logs)
    passes(store, start + timedelta(minutes=3), 2, logs, seen={})  # a restarted scheduler
    assert_healthy_ran(store, 5)
    [bad] = runs_of(store, "Feb30")
    assert bad.state is RunState.FAILED and bad.trigger is Trigger.SCHEDULE
    assert f"its schedule {schedule!r} cannot be used" in bad.error_message
    assert "deploy it again with a schedule that ticks" in bad.error_message
    assert {t.state for t in store.get_run(bad.run_id).tasks} == {RunState.DID_NOT_RUN}
    mentions = [line for line in logs if "'Feb30'" in line]
    assert len(mentions) == 2, "one line when recorded, one from the restarted scheduler"
    assert f"run {bad.run_id} failed" in mentions[0]
    assert_one_line_each(logs)


def test_croniter_failing_on_a_stored_schedule_is_that_workflows_error(store, monkeypatch):
    from croniter import CroniterBadDateError

    from datatailr_jupyter.engine import scheduler as module

    start = healthy_start(store)
    register_deployed(store, "Odd", "0 0 1 1 *", code=None)
    real = module.latest_tick

    def latest(expr, now):
        if expr == "0 0 1 1 *":
            raise CroniterBadDateError("failed to find prev date")
        return real(expr, now)

    monkeypatch.setattr(module, "latest_tick", latest)
    logs: list[str] = []
    passes(store, start, 2, logs)
    assert_healthy_ran(store, 2)
    [bad] = runs_of(store, "Odd")
    assert "CroniterBadDateError: failed to find prev date" in bad.error_message


BAD_CODE = [
    (b"cno_such_module_for_dt\nload\n.", "ModuleNotFoundError: No module named 'no_such_module_for_dt'", "PYTHONPATH"),
    (b"not a pickle at all", "UnpicklingError", "deploy the workflow again"),
    (pickle.dumps({"not": "a blueprint"}), "stored code is a dict", "could not be loaded"),
    (b"cdt_import_fails\nload\n.", "RuntimeError: this module fails on import", "deploy the workflow again"),
]


@pytest.mark.parametrize(
    ("code", "error", "advice"), BAD_CODE, ids=["missing-module", "not-a-pickle", "not-a-blueprint", "import-fails"]
)
def test_stored_code_that_does_not_load_fails_each_tick_and_the_others_keep_running(
    store, tmp_path, monkeypatch, code, error, advice
):
    (tmp_path / "dt_import_fails.py").write_text("raise RuntimeError('this module fails on import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    start = healthy_start(store)
    register_deployed(store, "Broken", "* * * * *", code=code)
    logs: list[str] = []
    started = passes(store, start, 3, logs)
    assert_healthy_ran(store, 3)
    broken = runs_of(store, "Broken")
    assert len(broken) == 3, "each claimed tick is recorded, none lost"
    assert all(len(ids) == 2 for ids in started)
    for run in broken:
        assert run.state is RunState.FAILED and run.trigger is Trigger.SCHEDULE and run.scheduled_time is not None
        assert "the code of version 1 could not be loaded by the scheduler" in run.error_message
        assert error in run.error_message and advice in run.error_message
        detail = store.get_run(run.run_id)
        assert [t.name for t in detail.tasks] == ["load", "report"], "the failed run still shows the DAG"
    assert {r.scheduled_time for r in broken} == {r.scheduled_time for r in runs_of(store, "Healthy")}
    lines = [line for line in logs if "'Broken'" in line]
    assert len(lines) == 3 and all(error in line for line in lines)
    assert_one_line_each(logs)


def test_a_task_module_importing_a_sibling_the_scheduler_cannot_import(store, store_dir, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "dt_sibling_helpers.py").write_text("def compute():\n    return 42\n")
    (project / "dt_sibling_jobs.py").write_text(
        "from datatailr_jupyter.engine import task, workflow\n"
        "from dt_sibling_helpers import compute\n\n"
        "@task()\ndef work():\n    return compute()\n\n"
        "@workflow(name='Sibling', schedule='* * * * *')\ndef sibling():\n    work()\n"
    )
    sys.path.insert(0, str(project))
    try:
        import dt_sibling_jobs  # type: ignore[import-not-found]

        dt_sibling_jobs.sibling(store=store, env="dev")
    finally:
        sys.path.remove(str(project))
        for name in ("dt_sibling_jobs", "dt_sibling_helpers"):
            module = sys.modules.pop(name, None)
            if module is not None and name in cloudpickle.list_registry_pickle_by_value():
                cloudpickle.unregister_pickle_by_value(module)
    start = healthy_start(store)
    scheduler_store = open_store(f"sqlite://{store_dir}", trust=True)  # what `dt scheduler` elsewhere opens
    logs: list[str] = []
    try:
        passes(scheduler_store, start, 2, logs)
    finally:
        scheduler_store.close()
    assert_healthy_ran(store, 2)
    failed = runs_of(store, "Sibling")
    assert len(failed) == 2 and {r.state for r in failed} == {RunState.FAILED}
    assert "No module named 'dt_sibling_helpers'" in failed[0].error_message
    assert "start `dt scheduler` where the workflow's modules import" in failed[0].error_message
    assert_one_line_each(logs)


def test_run_scheduler_keeps_polling_past_bad_workflows_and_a_failing_pass(store):
    start = healthy_start(store)
    register_deployed(store, "Feb30", "0 0 30 2 *", code=None)
    register_deployed(store, "Broken", "* * * * *", code=b"cno_such_module_for_dt\nload\n.")
    clock = iter(start + timedelta(minutes=i) for i in range(1000))
    stop = threading.Event()
    logs: list[str] = []
    calls = 0

    def now():
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("disk I/O error")  # the whole pass fails once
        if calls >= 5:
            stop.set()
        return next(clock)

    run_scheduler(store, poll_interval=0.01, stop=stop, now=now, executor="inline", log=logs.append)
    assert len(runs_of(store, "Healthy")) >= 3
    assert len(runs_of(store, "Feb30")) == 1 and len(runs_of(store, "Broken")) >= 3
    assert any("this pass failed (OSError: disk I/O error)" in line for line in logs)
    assert_one_line_each(logs)


def test_a_fixed_time_job_runs_once_on_the_fall_back_day_beside_an_every_minute_job(store):
    @workflow(name="Berlin Nightly", schedule=Schedule(at_hours=[2], at_minutes=[30], timezone="Europe/Berlin"))
    def nightly():
        minute_job()

    nightly(store=store, env="dev")
    healthy(store=store, env="dev")
    logs: list[str] = []
    at = datetime(2027, 10, 30, 23, 0, tzinfo=timezone.utc)  # 2027-10-31: Berlin repeats 02:00-03:00
    while at < datetime(2027, 10, 31, 3, 0, tzinfo=timezone.utc):
        scheduler_tick(store, at, executor="inline", log=logs.append)
        at += timedelta(minutes=10)
    ticks = sorted(r.scheduled_time for r in runs_of(store, "Berlin Nightly"))
    assert ticks == [
        datetime(2027, 10, 30, 0, 30, tzinfo=timezone.utc),  # the day before (its latest tick at the first pass)
        datetime(2027, 10, 31, 0, 30, tzinfo=timezone.utc),  # 02:30 summer time; 02:30 winter time does not run
    ]
    assert len(runs_of(store, "Healthy")) == 24
