"""Deploying registers a version with its schedule; the scheduler starts each tick exactly once, without backfill."""

from __future__ import annotations

import threading
from datetime import timedelta

from datatailr_jupyter.engine import Schedule, task, workflow
from datatailr_jupyter.engine.schedule import next_tick
from datatailr_jupyter.engine.scheduler import run_scheduler, scheduler_tick
from datatailr_jupyter.models import RunQuery, RunState, Trigger, utcnow


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
