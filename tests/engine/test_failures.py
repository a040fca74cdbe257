"""A dying worker fails only its task; Ctrl+C stops the run cleanly; the engine keeps working afterwards."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from datatailr_jupyter.engine import task, workflow
from datatailr_jupyter.models import RunQuery, RunState


@task()
def die(how):
    print("going down", flush=True)
    if how == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif how == "exit":
        os._exit(3)
    else:
        import ctypes

        ctypes.string_at(0)
    return "unreachable"


@task()
def steady(x, seconds=0.3):
    time.sleep(seconds)
    return x


@task()
def after(x):
    return x


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("sigkill", "worker process died with signal SIGKILL"),
        ("exit", "worker process died with exit code 3"),
        ("segfault", "worker process died with signal SIGSEGV"),
    ],
)
def test_a_dead_worker_fails_only_its_task(store, how, reason):
    @workflow(name=f"Dies by {how}")
    def wf():
        after(die(how)).alias("downstream")
        after(steady(1)).alias("independent")

    handle = wf(local_run=True, store=store, executor="process")
    detail = handle.detail()
    dead = detail.task("die")
    assert dead.state is RunState.FAILED and dead.error is not None
    assert dead.error.type == "WorkerDied" and dead.error.message == reason
    assert detail.task("downstream").state is RunState.DID_NOT_RUN
    assert handle.results["independent"] == 1
    assert detail.run.state is RunState.FAILED and reason in (detail.run.error_message or "")
    log = handle.logs("die")
    assert "going down" in log and reason in log
    if how == "segfault":
        assert "Fatal Python error" in handle.logs("die", "stderr")

    @workflow(name="After A Death")
    def healthy():
        after(steady(2, 0.01))

    assert healthy(local_run=True, store=store, executor="process").results["after"] == 2


@pytest.mark.parametrize("kind", ["process", "thread", "inline"])
def test_ctrl_c_stops_the_run_and_records_it(store, kind):
    @workflow(name=f"Interrupted {kind}")
    def wf():
        a = steady(1, 6.0).alias("long a")
        after(a).alias("waits for a")
        if kind != "inline":
            steady(2, 6.0).alias("long b")

    @workflow(name="After Ctrl C")
    def healthy():
        after(1)

    healthy(local_run=True, store=store, executor=kind)  # worker processes are up before the clock starts
    timer = threading.Timer(1.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        wf(local_run=True, store=store, executor=kind)
    assert time.monotonic() - t0 < 5.0, "the interrupt did not stop the running tasks"
    timer.cancel()
    run = store.list_runs(RunQuery(workflow=f"Interrupted {kind}")).runs[0]
    detail = store.get_run(run.run_id)
    assert detail.run.state is RunState.STOPPED and "KeyboardInterrupt" in (detail.run.error_message or "")
    states = {t.name: t.state for t in detail.tasks}
    assert states["long a"] is RunState.STOPPED and states["waits for a"] is RunState.DID_NOT_RUN
    if kind != "inline":
        assert states["long b"] is RunState.STOPPED
    assert all(t.end_time is not None for t in detail.tasks if t.state is RunState.STOPPED)
    assert healthy(local_run=True, store=store, executor=kind).results["after"] == 1
