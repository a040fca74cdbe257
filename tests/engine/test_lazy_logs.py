"""In threads (the thread and Dask executors) and in the process pool's workers a task's log files are created only
when it writes, fails or runs a while: creating a file costs more than a short task. The engine's start and end
lines wait in memory (threads) or in the worker's stdout spool (processes) until then."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from datatailr_jupyter.engine import SYSTEM_LINE_PREFIX, task, workflow
from datatailr_jupyter.models import RunQuery, RunState


@task()
def silent():
    return 1


@task()
def chatty():
    print("hello from the task")
    return 2


@task()
def child():
    subprocess.run([sys.executable, "-c", "print('from a child process')"], check=True)
    return 3


@task()
def native():
    os.write(1, b"straight to descriptor 1\n")
    print("then through sys.stdout")
    return 4


@task()
def slow(seconds):
    time.sleep(seconds)
    return 5


@task()
def broken():
    raise RuntimeError("no output, but a failure")


def _log(store, run_id, name, stream="stdout"):
    detail = store.get_run(run_id)
    path = store.log_path(run_id, detail.task(name).id, stream)
    return path.read_text() if path.exists() else None


def test_a_silent_task_in_a_thread_gets_no_log_file_and_a_chatty_one_gets_its_lines_in_order(store):
    @workflow(name="Lazy Logs")
    def wf():
        silent()
        chatty()
        child()

    handle = wf(local_run=True, store=store, executor="thread")
    assert handle.state is RunState.COMPLETED
    assert _log(store, handle.run_id, "silent") is None
    assert _log(store, handle.run_id, "silent", "stderr") is None
    for name, text in (("chatty", "hello from the task"), ("child", "from a child process")):
        lines = _log(store, handle.run_id, name).splitlines()
        assert lines[0].startswith(SYSTEM_LINE_PREFIX) and f"start '{name}'" in lines[0]
        assert text in lines[1:-1]
        assert lines[-1].startswith(SYSTEM_LINE_PREFIX) and "completed" in lines[-1]


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_a_failed_silent_task_keeps_its_start_and_end_lines(store, executor):
    @workflow(name="Lazy Logs Failure")
    def wf():
        broken()

    handle = wf(local_run=True, store=store, executor=executor)
    assert handle.state is RunState.FAILED
    lines = _log(store, handle.run_id, "broken").splitlines()
    assert len(lines) == 2 and "start 'broken'" in lines[0] and "failed (RuntimeError)" in lines[1]
    assert "RuntimeError: no output, but a failure" in _log(store, handle.run_id, "broken", "stderr")


def test_a_silent_task_in_a_worker_process_gets_no_log_file_and_chatty_ones_get_their_lines_in_order(store):
    @workflow(name="Lazy Process Logs")
    def wf():
        silent()
        chatty()
        child()
        native()

    handle = wf(local_run=True, store=store, executor="process")
    assert handle.state is RunState.COMPLETED
    assert _log(store, handle.run_id, "silent") is None
    assert _log(store, handle.run_id, "silent", "stderr") is None
    expected = {
        "chatty": ["hello from the task"],
        "child": ["from a child process"],
        "native": ["straight to descriptor 1", "then through sys.stdout"],
    }
    for name, text in expected.items():
        lines = _log(store, handle.run_id, name).splitlines()
        assert lines[0].startswith(SYSTEM_LINE_PREFIX) and f"start '{name}'" in lines[0]
        assert lines[1:-1] == text
        assert lines[-1].startswith(SYSTEM_LINE_PREFIX) and "completed" in lines[-1]


def test_a_silent_task_still_running_in_a_worker_process_has_a_log_to_tail(store):
    @workflow(name="Lazy Process Logs Tail")
    def wf():
        slow(1.5)

    ran: list[object] = []
    runner = threading.Thread(target=lambda: ran.append(wf(local_run=True, store=store, executor="process")))
    runner.start()
    seen = None
    deadline = time.monotonic() + 30
    while runner.is_alive() and time.monotonic() < deadline and seen is None:
        time.sleep(0.05)
        for run in store.list_runs(RunQuery(workflow="Lazy Process Logs Tail")).runs:
            path = store.log_path(run.run_id, 0, "stdout")
            if path.exists() and "start 'slow'" in path.read_text():
                seen = path
    still_running = runner.is_alive()
    runner.join(60)
    assert seen is not None and still_running, "the running task's log was not there to tail before it ended"
    assert ran and ran[0].state is RunState.COMPLETED
    lines = seen.read_text().splitlines()
    assert len(lines) == 2 and "start 'slow'" in lines[0] and "completed" in lines[1]
