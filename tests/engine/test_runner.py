"""Local runs record every state, time, log and result; failures stop only their downstream tasks."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from datatailr_jupyter.engine import SYSTEM_LINE_PREFIX, RunHandle, task, workflow
from datatailr_jupyter.errors import WorkflowNotFoundError
from datatailr_jupyter.models import RunQuery, RunState, Trigger


@task()
def source(n):
    print(f"source {n}")
    return list(range(n))


@task()
def total(values):
    return sum(values)


@task()
def fail(x):
    print("about to fail", file=sys.stderr)
    raise RuntimeError(f"failing on purpose with {x}")


@task()
def after(x):
    return x


@task()
def slow(x, seconds=0.5):
    time.sleep(seconds)
    return x


@task()
def make_generator():
    return (i for i in range(3))


@task()
def frame(rows):
    return pd.DataFrame({"a": range(rows), "b": [float(i) for i in range(rows)]})


@task()
def rows_of(df):
    return len(df)


@task()
def env_value(name):
    return os.environ.get(name)


@task()
def stamp(x, rundate, job_name, batch_name):
    return {"x": x, "rundate": rundate, "job_name": job_name, "batch_name": batch_name}


@task()
def fd_level():
    os.system("echo from-subprocess")
    os.write(1, b"raw fd write\n")
    import ctypes

    libc = ctypes.CDLL(None)
    libc.printf(b"from printf\n")
    libc.fflush(None)
    return 1


@workflow(name="Runner Basic")
def basic(n=4):
    values = source(n)
    total(values).alias("sum")
    total(source(2).alias("small"))


@workflow(name="Runner Failure")
def failing():
    ok = source(3)
    bad = fail(ok)
    after(after(bad).alias("child")).alias("grandchild")
    total(source(5).alias("independent")).alias("independent total")


def test_local_run_records_states_results_and_times(store, executor_kind):
    handle = basic(local_run=True, store=store, executor=executor_kind, n=5)
    assert isinstance(handle, RunHandle)
    assert handle.state is RunState.COMPLETED
    assert handle.results["sum"] == 10 and handle.result("total") == 1
    assert handle.results["source"] == [0, 1, 2, 3, 4]
    detail = handle.detail()
    run = detail.run
    assert run.trigger is Trigger.LOCAL and run.job_version == 1 and run.params == {"n": 5}
    assert run.start_time is not None and run.end_time is not None and run.start_time <= run.end_time
    for t in detail.tasks:
        assert t.state is RunState.COMPLETED and t.start_time is not None and t.end_time is not None
        assert t.result is not None
    assert [t.dependencies for t in detail.tasks] == [(), (0,), (), (2,)]
    assert "source 5" in handle.logs("source")
    frame_ = handle.tasks
    assert list(frame_["state"]) == ["completed"] * 4


def test_failure_stops_downstream_only_and_the_run_names_it(store, executor_kind):
    handle = failing(local_run=True, store=store, executor=executor_kind)
    states = {t.name: t.state for t in handle.detail().tasks}
    assert states == {
        "source": RunState.COMPLETED,
        "fail": RunState.FAILED,
        "child": RunState.DID_NOT_RUN,
        "grandchild": RunState.DID_NOT_RUN,
        "independent": RunState.COMPLETED,
        "independent total": RunState.COMPLETED,
    }
    run = handle.detail().run
    assert run.state is RunState.FAILED
    assert run.error_message == "task 'fail' failed: RuntimeError: failing on purpose with [0, 1, 2]"
    failed = handle.detail().task("fail")
    assert failed.error is not None
    lines = Path(__file__).read_text(encoding="utf-8").splitlines()
    line = next(i for i, text in enumerate(lines, 1) if "raise RuntimeError" in text)
    assert f'File "{__file__}", line {line}, in fail\n    raise RuntimeError' in failed.error.traceback
    stderr = handle.logs("fail", "stderr")
    assert "about to fail" in stderr and "RuntimeError: failing on purpose" in stderr
    assert handle.results["independent total"] == 10
    assert "first failure" in handle._repr_html_() and "fail: RuntimeError" in repr(handle)


def test_unpicklable_result_fails_the_task_with_a_clear_message(store, executor_kind):
    @workflow(name="Unpicklable")
    def wf():
        make_generator()

    handle = wf(local_run=True, store=store, executor=executor_kind)
    t = handle.detail().tasks[0]
    assert t.state is RunState.FAILED and t.error is not None
    assert "cannot be stored" in t.error.message and "generator" in t.error.message
    assert handle.state is RunState.FAILED


def test_dataframes_flow_between_tasks_and_load_back(store, executor_kind):
    @workflow(name="Frames")
    def wf():
        rows_of(frame(300_000))

    handle = wf(local_run=True, store=store, executor=executor_kind)
    assert handle.state is RunState.COMPLETED
    assert handle.results["rows_of"] == 300_000
    loaded = handle.results["frame"]
    assert isinstance(loaded, pd.DataFrame) and loaded.shape == (300_000, 2)


def test_env_vars_and_system_parameters_reach_the_task(store):
    @workflow(name="Env And System", env_vars={"DT_TEST_MODE": "wf"})
    def wf():
        env_value("DT_TEST_MODE").alias("workflow env")
        env_value("DT_TEST_MODE").update_env_vars({"DT_TEST_MODE": "task"}).alias("task env")
        stamp(1)

    handle = wf(local_run=True, store=store, executor="process")
    assert handle.results["workflow env"] == "wf" and handle.results["task env"] == "task"
    stamped = handle.results["stamp"]
    run = handle.detail().run
    assert stamped == {
        "x": 1,
        "rundate": run.start_time.date().isoformat(),
        "job_name": "stamp",
        "batch_name": "Env And System",
    }
    assert "DT_TEST_MODE" not in os.environ


@pytest.mark.parametrize("kind", ["process", "inline"])
def test_output_is_captured_at_the_file_descriptor_level(store, kind):
    @workflow(name="Fd Level")
    def wf():
        fd_level()

    handle = wf(local_run=True, store=store, executor=kind)
    log = handle.logs("fd_level")
    for line in ("from-subprocess", "raw fd write", "from printf"):
        assert line in log
    lines = log.splitlines()
    assert lines[0].startswith(SYSTEM_LINE_PREFIX) and lines[-1].startswith(SYSTEM_LINE_PREFIX)


def test_independent_tasks_run_in_parallel(store):
    @workflow(name="Parallel")
    def wf():
        slow(1, 1.0).alias("a")
        slow(2, 1.0).alias("b")

    wf(local_run=True, store=store, executor="process")  # warm the pool
    t0 = time.monotonic()
    handle = wf(local_run=True, store=store, executor="process")
    assert handle.state is RunState.COMPLETED
    assert time.monotonic() - t0 < 1.8
    a, b = handle.detail().tasks
    assert a.start_time < b.end_time and b.start_time < a.end_time


@task()
def chatty(seconds):
    print("first line, then a pause", flush=True)
    os.write(2, b"a warning, then a pause\n")
    time.sleep(seconds)
    return "done"


def test_a_running_task_log_can_be_read_before_it_ends(store):
    @workflow(name="Tail")
    def wf():
        chatty(3.0)

    result: dict = {}
    thread = threading.Thread(
        target=lambda: result.setdefault("h", wf(local_run=True, store=store, executor="process"))
    )
    thread.start()
    seen_while_running = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and thread.is_alive():
        try:
            runs = store.list_runs(RunQuery(workflow="Tail"))
        except WorkflowNotFoundError:  # not registered yet
            runs = None
        if runs is not None and runs.runs:
            run_id = runs.runs[0].run_id
            task_run = store.get_run(run_id).tasks[0]
            out = store.read_log(run_id, 0, "stdout").text
            err = store.read_log(run_id, 0, "stderr").text
            if "first line, then a pause" in out and "a warning" in err and task_run.state is RunState.RUNNING:
                seen_while_running = True
                break
        time.sleep(0.1)
    thread.join()
    assert seen_while_running
    assert result["h"].results["chatty"] == "done"


def test_run_summary_escapes_names_and_errors(store):
    @workflow(name="<b>Bold</b> & Co")
    def wf():
        fail("<script>alert(1)</script>")

    handle = wf(local_run=True, store=store, executor="inline")
    page = handle._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; Co" in page
    assert "1 failed" in page and "failed" in repr(handle)
