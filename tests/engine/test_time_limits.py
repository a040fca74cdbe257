"""A workflow's fail_after and expire_after are enforced by the run loop on every executor, not only recorded."""

from __future__ import annotations

import time

import pytest

from datatailr_jupyter.engine import task, workflow
from datatailr_jupyter.engine.executors import Event
from datatailr_jupyter.engine.workers import Job
from datatailr_jupyter.models import RunState


@task()
def quick():
    return 1


@task()
def sleepy(x, seconds=30.0):
    time.sleep(seconds)
    return x


@workflow(name="Too Slow", fail_after="1s")
def too_slow():
    sleepy(quick())


@workflow(name="Never Placed", expire_after="1s")
def never_placed():
    quick()


class NeverStarts:
    """An executor whose tasks wait for a worker forever (a cluster no worker of which can take them)."""

    name = "never"
    in_process = False
    max_workers = 1

    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.cancelled = False

    def submit(self, job: Job) -> None:
        self.jobs.append(job)

    def wait(self, timeout: float | None) -> list[Event]:
        time.sleep(min(timeout or 0.1, 0.1))
        return []

    def cancel(self) -> set[int]:
        self.cancelled = True
        return set()

    def close(self) -> None:
        pass


@pytest.mark.parametrize("kind", ["process", "thread"])
def test_a_run_past_fail_after_ends_failed_after_with_its_running_task(store, kind):
    t0 = time.monotonic()
    handle = too_slow(local_run=True, store=store, executor=kind)
    assert time.monotonic() - t0 < 10, "fail_after did not stop the 30 s task"
    assert handle.state is RunState.FAILED_AFTER
    run = store.get_run(handle.run_id)
    assert "fail_after" in (run.run.error_message or "")
    states = {t.name: t.state for t in run.tasks}
    assert states == {"quick": RunState.COMPLETED, "sleepy": RunState.FAILED_AFTER}


def test_a_run_whose_tasks_never_start_expires_after_expire_after(store):
    executor = NeverStarts()
    t0 = time.monotonic()
    handle = never_placed(local_run=True, store=store, executor=executor)
    assert time.monotonic() - t0 < 10
    assert handle.state is RunState.EXPIRED and executor.cancelled
    run = store.get_run(handle.run_id)
    assert "expire_after" in (run.run.error_message or "")
    assert [t.state for t in run.tasks] == [RunState.EXPIRED]


def test_a_run_that_started_is_not_expired(store):
    @workflow(name="Started In Time", expire_after="1s")
    def started():
        sleepy(quick(), seconds=1.5)

    assert started(local_run=True, store=store, executor="thread").state is RunState.COMPLETED
