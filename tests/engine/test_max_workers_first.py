"""A bad max_workers is refused before anything is recorded: no rerun, no claimed tick, no run that never started."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from datatailr_jupyter.engine import Schedule, rerun, task, workflow
from datatailr_jupyter.engine.schedule import next_tick
from datatailr_jupyter.engine.scheduler import run_scheduler, scheduler_tick
from datatailr_jupyter.errors import InvalidArgumentError
from datatailr_jupyter.models import RunQuery
from datatailr_jupyter.store.protocols import RunStore

BAD = [0, -1, 2.5, "4", True]


@task()
def one():
    return 1


@workflow(name="Every Hour", schedule=Schedule(at_minutes=[0]))
def every_hour():
    one()


def run_ids(store: RunStore) -> list[int]:
    return [r.run_id for r in store.list_runs(RunQuery(limit=100)).runs]


@pytest.mark.parametrize("bad", BAD)
def test_a_rerun_with_a_bad_max_workers_records_no_run(store: RunStore, bad: object):
    first = every_hour(local_run=True, store=store, executor="inline")
    with pytest.raises(InvalidArgumentError, match="max_workers must be a whole number"):
        rerun(first.run_id, store=store, executor="process", max_workers=bad)  # type: ignore[arg-type]
    assert run_ids(store) == [first.run_id]
    assert store.get_run(first.run_id).run.n_reruns == 0


@pytest.mark.parametrize("bad", BAD)
def test_a_scheduler_with_a_bad_max_workers_claims_no_tick_and_records_no_run(store: RunStore, bad: object):
    every_hour(store=store, env="prod")
    tick = next_tick("0 0 * * * *", store.get_version("Every Hour", 1).created_at)
    with pytest.raises(InvalidArgumentError, match="max_workers must be a whole number"):
        scheduler_tick(store, tick + timedelta(minutes=1), executor="process", max_workers=bad, log=print)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="max_workers must be a whole number"):
        run_scheduler(store, poll_interval=0.1, stop=threading.Event(), max_workers=bad, log=print)  # type: ignore[arg-type]
    assert run_ids(store) == []
    assert store.claim_schedule("Every Hour", "prod", tick), "the tick was claimed by a scheduler that could not run it"
