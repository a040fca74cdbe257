"""Every executor (process, thread, inline, Dask on a LocalCluster and on a cluster started with the dask commands)
passes the same contract: start, report, capture, fail, cancel."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from datatailr_jupyter.engine import InlineExecutor, ProcessExecutor, ThreadExecutor, task
from datatailr_jupyter.engine.clock import system_clock
from datatailr_jupyter.engine.executors import Executor, Started
from datatailr_jupyter.engine.graph import Ref
from datatailr_jupyter.engine.versions import dump_code
from datatailr_jupyter.engine.workers import SYSTEM_LINE_PREFIX, Job, Outcome
from tests.engine.dask_clusters import wait_until_idle


@task()
def double(x):
    print(f"doubling {x}")
    return 2 * x


@task()
def nap(seconds):
    time.sleep(seconds)
    return os.getpid()


@task()
def boom(x):
    raise ValueError(f"bad input {x}")


@pytest.fixture(params=["process", "thread", "inline", "dask-local", "dask-cli"])
def executor(request: pytest.FixtureRequest) -> Iterator[Executor]:
    ex: Executor
    if request.param == "process":
        ex = ProcessExecutor(2)
    elif request.param == "thread":
        ex = ThreadExecutor(2)
    elif request.param.startswith("dask"):
        from datatailr_jupyter.engine.dask_executor import DaskExecutor

        client = request.getfixturevalue("dask_local_client" if request.param == "dask-local" else "dask_cli_client")
        wait_until_idle(client)  # the clusters are shared with other tests, whose stopped tasks may still run
        ex = DaskExecutor(client)
    else:
        ex = InlineExecutor()
    yield ex
    ex.close()


def make_job(ex: Executor, tmp_path: Path, task_id: int, function, arguments, inputs=None) -> Job:
    return Job(
        run_id=1,
        task_id=task_id,
        name=function.name,
        attempt=1,
        func_key="",
        arguments=arguments,
        inputs=inputs or {},
        system={},
        env_vars={},
        stdout=str(tmp_path / f"{task_id}.out"),
        stderr=str(tmp_path / f"{task_id}.err"),
        staging_dir=None,
        clock=system_clock,
        function=function if ex.in_process else None,
        function_bytes=None if ex.in_process else dump_code(function, [function]),
    )


def collect(ex: Executor, n: int, timeout: float = 60) -> tuple[list[Started], dict[int, Outcome]]:
    started: list[Started] = []
    outcomes: dict[int, Outcome] = {}
    deadline = time.monotonic() + timeout
    while len(outcomes) < n and time.monotonic() < deadline:
        for event in ex.wait(0.5):
            if isinstance(event, Started):
                started.append(event)
            else:
                outcomes[event.task_id] = event
    return started, outcomes


def test_a_job_runs_reports_start_and_result_and_captures_output(executor, tmp_path):
    executor.submit(make_job(executor, tmp_path, 7, double, {"x": 21}))
    started, outcomes = collect(executor, 1)
    assert [s.task_id for s in started] == [7]
    out = outcomes[7]
    assert out.ok and out.error is None and out.result is not None
    assert out.result.meta.python_type == "builtins.int"
    if executor.in_process:
        assert out.value == 42
    log = (tmp_path / "7.out").read_text()
    assert "doubling 21" in log
    system = [line for line in log.splitlines() if line.startswith(SYSTEM_LINE_PREFIX)]
    assert len(system) == 2 and "start 'double'" in system[0] and "completed" in system[1]
    assert not (tmp_path / "7.err").exists(), "a task that writes nothing to stderr gets no stderr log"


def test_upstream_values_are_passed_as_objects_or_encoded(executor, tmp_path):
    if executor.in_process:
        inputs = {3: ("value", 5)}
    else:
        from datatailr_jupyter.store.codecs import encode

        enc = encode(5)
        inputs = {3: ("encoded", enc.meta, enc.data)}
    executor.submit(make_job(executor, tmp_path, 1, double, {"x": Ref(3)}, inputs))
    _, outcomes = collect(executor, 1)
    assert outcomes[1].ok
    assert "doubling 5" in (tmp_path / "1.out").read_text()


def test_a_raising_task_is_reported_with_its_traceback(executor, tmp_path):
    executor.submit(make_job(executor, tmp_path, 2, boom, {"x": 3}))
    _, outcomes = collect(executor, 1)
    out = outcomes[2]
    assert not out.ok and out.error is not None
    assert out.error.type == "ValueError" and out.error.message == "bad input 3"
    assert "in boom" in out.error.traceback
    assert "ValueError: bad input 3" in (tmp_path / "2.err").read_text()


def test_independent_jobs_run_at_the_same_time(executor, tmp_path):
    if executor.max_workers < 2:
        pytest.skip("the inline executor runs one task at a time by design")
    collect_start = time.monotonic()
    # warm-up: worker processes are started; as long as the naps below, so Dask's estimate of a nap (it learns one
    # per task name) does not say "10 ms" and pack both on one worker, as it may rightly do with short tasks
    executor.submit(make_job(executor, tmp_path, 0, nap, {"seconds": 0.4}))
    collect(executor, 1)
    t0 = time.monotonic()
    for i in (1, 2):
        executor.submit(make_job(executor, tmp_path, i, nap, {"seconds": 0.6}))
    _, outcomes = collect(executor, 2)
    assert all(o.ok for o in outcomes.values())
    # the tasks' own recorded times overlap: one started before the other ended (true on a loaded machine too)
    starts = [o.start_time for o in outcomes.values()]
    ends = [o.end_time for o in outcomes.values()]
    where = [(o.host, o.pid) for o in outcomes.values()]
    assert max(starts) < min(ends), f"two 0.6 s tasks ran one after the other: {starts} -> {ends} on {where}"
    del collect_start, t0


def test_cancel_reports_running_tasks_and_drops_queued_ones(executor, tmp_path):
    if isinstance(executor, InlineExecutor):
        executor.submit(make_job(executor, tmp_path, 1, nap, {"seconds": 0}))
        assert executor.cancel() == set()
        assert executor.wait(0.1) == []
        return
    for i in range(4):
        executor.submit(make_job(executor, tmp_path, i, nap, {"seconds": 1.5}))
    started: set[int] = set()
    deadline = time.monotonic() + 30
    while len(started) < 2 and time.monotonic() < deadline:
        started |= {e.task_id for e in executor.wait(0.2) if isinstance(e, Started)}
    assert executor.cancel() == started
    time.sleep(0.2)
    assert [e for e in executor.wait(0.1) if not isinstance(e, Started)] == []
    executor.submit(make_job(executor, tmp_path, 9, double, {"x": 1}))
    _, outcomes = collect(executor, 1)
    assert outcomes[9].ok, "the executor is usable after a cancel"


# ---------------------------------------------------------------- upstream results given as files


@task()
def bump_first(x):
    x[0] += 100  # tasks may change their input in place
    return float(x[0]), float(x[-1]), type(x).__name__


def staged(tmp_path: Path, value) -> tuple:
    from datatailr_jupyter.store.codecs import encode_to_file

    staging = tmp_path / "staging"
    staging.mkdir(exist_ok=True)
    enc = encode_to_file(value, staging)
    assert enc.path is not None
    return enc.meta, enc.path


def test_an_upstream_result_file_is_read_by_the_worker_and_never_changed(executor, tmp_path):
    import numpy as np

    meta, path = staged(tmp_path, np.arange(300_000, dtype=np.float64))
    before = Path(path).read_bytes()
    executor.submit(make_job(executor, tmp_path, 1, bump_first, {"x": Ref(3)}, {3: ("file", meta, path)}))
    _, outcomes = collect(executor, 1)
    assert outcomes[1].ok, outcomes[1].error
    if executor.in_process:
        assert outcomes[1].value == (100.0, 299_999.0, "ndarray")
    assert Path(path).read_bytes() == before, "changing the input in place must not change the stored result"


def test_a_truncated_upstream_result_file_fails_the_task_with_a_clear_error(executor, tmp_path):
    meta, path = staged(tmp_path, {"rows": list(range(50_000))})
    with open(path, "r+b") as fh:
        fh.truncate(meta.bytes // 2)
    executor.submit(make_job(executor, tmp_path, 1, double, {"x": Ref(3)}, {3: ("file", meta, path)}))
    _, outcomes = collect(executor, 1)
    out = outcomes[1]
    assert not out.ok and out.error is not None and out.error.type == "ResultDecodeError"
    assert "truncated/corrupt" in out.error.message and "rerun the task" in out.error.message


def test_a_large_array_result_file_holds_the_npy_bytes_and_loads_back_as_an_ndarray(tmp_path):
    import numpy as np

    from datatailr_jupyter.engine.workers import load_result_file
    from datatailr_jupyter.store.codecs import encode

    value = np.arange(2_000_000, dtype=np.float64).reshape(1000, 2000)[:, ::2]  # not contiguous
    meta, path = staged(tmp_path, value)
    assert meta.codec == "npy" and Path(path).read_bytes() == encode(value).data
    loaded = load_result_file(meta, path)
    assert type(loaded) is np.ndarray and np.array_equal(loaded, value)


@pytest.mark.slow
def test_a_200_mb_array_reaches_its_consumer_without_growing_the_engine():
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("peak RSS is read from /proc")
    from bench.bench_big_results import MB, measure

    figures = measure(200 * MB)
    assert figures["consumer_ok"], "the consumer did not get the array the producer returned"
    assert figures["engine_growth_mb"] < 100, figures
    assert figures["producer_peak_mb"] < 1.3 * 200 + 100, figures  # + the worker's own ~50 MB
    assert figures["consumer_peak_mb"] < 1.1 * 200 + 100, figures
