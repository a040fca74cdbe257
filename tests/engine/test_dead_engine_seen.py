"""A process that keeps a store open (an explorer in a notebook, ``dt scheduler``, ``Client.wait``) sees the run of
an engine that was SIGKILLed end as failed, with the reason, without reopening the store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from datatailr_jupyter.client import Client
from datatailr_jupyter.engine.scheduler import run_scheduler
from datatailr_jupyter.models import RunDetail, RunQuery, RunState
from datatailr_jupyter.store.sqlite import SqliteRunStore

ROOT = Path(__file__).resolve().parents[2]
ENGINE = """
import sys, time
from datatailr_jupyter.engine import task, workflow

@task()
def wait_a_long_time():
    time.sleep(600)

@workflow(name="Killed Engine")
def killed():
    wait_a_long_time()

killed(local_run=True, store="sqlite://" + sys.argv[1], executor="thread")
"""
REASON = "ended before this run finished"
WITHIN = 15.0  # seconds after the kill


def wait_for(what: str, check: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``check()`` is true, polling every 0.2 s; fails the test after ``timeout``."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.2)
    return time.monotonic() - start


@pytest.fixture()
def reader(tmp_path: Path) -> Iterator[SqliteRunStore]:
    store = SqliteRunStore(tmp_path / "store")
    yield store
    store.close()


def start_engine(store: SqliteRunStore) -> tuple[subprocess.Popen[bytes], int]:
    """An engine process with one running run (found through ``store``): the process and the run id."""
    engine = subprocess.Popen([sys.executable, "-c", ENGINE, str(store.path)], cwd=ROOT, stderr=subprocess.DEVNULL)
    running: list[int] = []

    def started() -> bool:  # the run's task running, not only the run: a pending task would end did_not_run
        running[:] = [r.run_id for r in store.list_runs(RunQuery(limit=5)).runs if r.state is RunState.RUNNING]
        if running and all(t.state is RunState.RUNNING for t in store.get_run(running[0]).tasks):
            return True
        return engine.poll() is not None

    wait_for("the engine starting its run's task", started, 60)
    assert engine.poll() is None, "the engine process exited before its run started"
    return engine, running[0]


def kill(engine: subprocess.Popen[bytes]) -> None:
    os.kill(engine.pid, signal.SIGKILL)
    engine.wait()


def assert_ended_by_the_dead_engine(detail: RunDetail) -> None:
    assert detail.run.state is RunState.FAILED and detail.run.end_time is not None
    assert detail.run.error_message is not None and "the engine process" in detail.run.error_message
    assert REASON in detail.run.error_message
    [t] = detail.tasks
    assert t.state is RunState.FAILED and t.error is not None and t.error.type == "EngineLost"


def test_a_reader_opened_before_the_kill_sees_the_run_fail_without_reopening(reader: SqliteRunStore):
    engine, run_id = start_engine(reader)
    try:
        assert reader.get_run(run_id).run.state is RunState.RUNNING
    finally:
        kill(engine)

    def listed_as_failed() -> bool:
        [run] = reader.list_runs(RunQuery(limit=5)).runs
        return run.state is RunState.FAILED

    took = wait_for("the run of the killed engine ending", listed_as_failed, WITHIN)
    assert_ended_by_the_dead_engine(reader.get_run(run_id))
    print(f"\nseen as failed {took:.1f} s after the kill")


def test_get_run_alone_also_sees_it(reader: SqliteRunStore):
    engine, run_id = start_engine(reader)
    kill(engine)
    wait_for("get_run showing the run ended", lambda: reader.get_run(run_id).run.state.is_terminal, WITHIN)
    assert_ended_by_the_dead_engine(reader.get_run(run_id))


def test_a_running_scheduler_ends_the_run_of_an_engine_killed_after_it_started(tmp_path: Path):
    store = SqliteRunStore(tmp_path / "store")
    lines: list[str] = []
    stop = threading.Event()
    scheduler = threading.Thread(
        target=run_scheduler, args=(store,), kwargs={"poll_interval": 0.5, "stop": stop, "log": lines.append}
    )
    try:
        engine, run_id = start_engine(store)
        scheduler.start()
        time.sleep(1)  # a pass or two with the engine alive
        assert not lines, lines
        kill(engine)
        wait_for("the scheduler marking the run ended", lambda: any(str(run_id) in line for line in lines), WITHIN)
    finally:
        stop.set()
        if scheduler.is_alive():
            scheduler.join(10)
    assert lines == [f"dt scheduler: marked 1 run(s) of a dead engine as ended: [{run_id}]"]
    assert_ended_by_the_dead_engine(store.get_run(run_id))
    store.close()


class CountingStore(SqliteRunStore):
    """The SQLite store, counting how often a run is read with all its tasks."""

    full_reads = 0

    def get_run(self, run_id: int) -> RunDetail:
        self.full_reads += 1
        return super().get_run(run_id)


def test_client_wait_sees_it_end_without_reading_every_task(tmp_path: Path):
    store = CountingStore(tmp_path / "store")
    engine, run_id = start_engine(store)
    kill(engine)
    store.full_reads = 0
    began = time.monotonic()
    summary = Client(store).wait(run_id, timeout=WITHIN, poll=0.2)
    assert summary.state is RunState.FAILED, f"still {summary.state} {time.monotonic() - began:.1f} s after the kill"
    assert store.full_reads == 0  # the summary alone, polled: not a big run's every task twice a second
    assert_ended_by_the_dead_engine(store.get_run(run_id))
    store.close()
