"""Chains on the process pool and on Dask: a task whose only upstream task is running is sent to follow it (on its
worker; with its future), and behaves exactly as if the run loop had sent it after the upstream task completed."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from datatailr_jupyter.engine import ProcessExecutor, task, workflow
from datatailr_jupyter.engine.clock import system_clock
from datatailr_jupyter.engine.executors import Released, Started
from datatailr_jupyter.engine.graph import Ref
from datatailr_jupyter.engine.versions import dump_code
from datatailr_jupyter.engine.workers import Job, Outcome
from datatailr_jupyter.models import RunState


@pytest.fixture(params=["process", "dask"])
def executor(request: pytest.FixtureRequest) -> object:
    if request.param == "dask":
        pytest.importorskip("distributed")
        return request.getfixturevalue("dask_local_client")
    return "process"


@task()
def pair():
    return (1, 2)


@task()
def kind(x):
    return type(x).__name__


@task()
def inc(x):
    return x + 1


@task()
def fail_at(x, at):
    if x == at:
        raise ValueError(f"link {x} fails")
    return x + 1


@task()
def big(n):
    return np.arange(n, dtype=np.float64)


@task()
def total(values):
    return float(values.sum())


def test_a_link_gets_its_upstream_value_as_any_consumer_gets_it(store, executor):
    @workflow(name="Chain Kinds")
    def wf():
        kind(pair()).alias("followed")

    handle = wf(local_run=True, store=store, executor=executor)
    assert handle.state is RunState.COMPLETED
    stored = handle.result("pair")
    assert stored == (1, 2) and handle.result("followed") == type(stored).__name__


def test_a_long_chain_completes_in_order_with_every_time_recorded(store, executor):
    @workflow(name="Chain Long")
    def wf():
        x = inc(0)
        for _ in range(59):
            x = inc(x)

    handle = wf(local_run=True, store=store, executor=executor)
    assert handle.state is RunState.COMPLETED
    tasks = sorted(handle.detail().tasks, key=lambda t: t.id)
    assert [handle.result(t.id) for t in tasks[:3]] == [1, 2, 3] and handle.result(tasks[-1].id) == 60
    for up, down in zip(tasks, tasks[1:], strict=False):
        assert up.end_time is not None and down.start_time is not None and up.end_time <= down.start_time


def test_a_failed_link_ends_the_rest_of_the_chain_did_not_run(store, executor):
    @workflow(name="Chain Breaks")
    def wf():
        x = fail_at(0, 2)
        for _ in range(6):
            x = fail_at(x, 2)

    t0 = time.monotonic()
    handle = wf(local_run=True, store=store, executor=executor)
    assert time.monotonic() - t0 < 30
    states = [t.state for t in sorted(handle.detail().tasks, key=lambda t: t.id)]
    assert states == [RunState.COMPLETED] * 2 + [RunState.FAILED] + [RunState.DID_NOT_RUN] * 4
    assert handle.state is RunState.FAILED


def test_a_link_after_a_result_in_a_file_reads_it_from_the_store(store, executor):
    n = 400_000  # 3.2 MB: written to a file, not kept in memory

    @workflow(name="Chain Big")
    def wf():
        total(big(n)).alias("sum")

    handle = wf(local_run=True, store=store, executor=executor)
    assert handle.state is RunState.COMPLETED
    assert handle.result("sum") == float(np.arange(n).sum())


def _job(task_id: int, function, arguments, tmp_path: Path) -> Job:
    return Job(
        run_id=1, task_id=task_id, name=function.name, attempt=1, func_key="", arguments=arguments, inputs={},
        system={}, env_vars={}, stdout=str(tmp_path / f"{task_id}.out"), stderr=str(tmp_path / f"{task_id}.err"),
        staging_dir=None, clock=system_clock, function_bytes=dump_code(function, [function]),
    )  # fmt: skip


def _events(ex: ProcessExecutor, ends: int, seconds: float = 20.0) -> list[object]:
    """Events until ``ends`` outcomes and releases came (or ``seconds`` passed), and any that follow within 0.3 s."""
    out: list[object] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and sum(not isinstance(e, Started) for e in out) < ends:
        out += ex.wait(0.1)
    quiet = time.monotonic() + 0.3
    while time.monotonic() < quiet:
        out += ex.wait(0.05)
    return out


def test_a_follower_starts_after_its_upstream_completes_and_never_after_it_fails(tmp_path):
    ex = ProcessExecutor(1)
    try:
        ex.submit(_job(1, inc, {"x": 1}, tmp_path))
        assert ex.submit_after(_job(2, inc, {"x": Ref(1)}, tmp_path), 1)
        events = _events(ex, 2)
        kinds = [(type(e).__name__, e.task_id) for e in events]  # type: ignore[attr-defined]
        assert kinds == [("Started", 1), ("Outcome", 1), ("Started", 2), ("Outcome", 2)]
        assert isinstance(events[3], Outcome) and events[3].ok and events[3].result is not None
        assert events[3].result.data == b"3"

        ex.submit(_job(3, fail_at, {"x": 1, "at": 1}, tmp_path))
        assert ex.submit_after(_job(4, inc, {"x": Ref(3)}, tmp_path), 3)
        events = _events(ex, 1)
        assert [e.task_id for e in events if isinstance(e, Started)] == [3]  # type: ignore[attr-defined]
        outcomes = [e for e in events if isinstance(e, Outcome)]
        assert [(o.task_id, o.ok) for o in outcomes] == [(3, False)]
        assert all(isinstance(e, Released) for e in events if getattr(e, "task_id", None) == 4)
        assert not (tmp_path / "4.out").exists(), "the follower of a failed task never ran"

        producer = _job(5, big, {"n": 400_000}, tmp_path)
        producer.staging_dir = str(tmp_path)
        ex.submit(producer)
        assert ex.submit_after(_job(6, total, {"values": Ref(5)}, tmp_path), 5)
        events = _events(ex, 2)
        assert [(type(e).__name__, e.task_id) for e in events] == [  # type: ignore[attr-defined]
            ("Started", 5),
            ("Outcome", 5),
            ("Released", 6),
        ], "a result in a file is read from the store: its follower is given back to be submitted again"
        assert not (tmp_path / "6.out").exists()
    finally:
        ex.close()
