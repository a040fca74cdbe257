"""In threads (the thread and Dask executors) a task's log files are created only when it writes: creating a file
costs more than a short task. The engine's start and end lines wait in memory until then."""

from __future__ import annotations

import subprocess
import sys

from datatailr_jupyter.engine import SYSTEM_LINE_PREFIX, task, workflow
from datatailr_jupyter.models import RunState


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


def test_a_failed_task_in_a_thread_keeps_its_start_and_end_lines(store):
    @workflow(name="Lazy Logs Failure")
    def wf():
        broken()

    handle = wf(local_run=True, store=store, executor="thread")
    assert handle.state is RunState.FAILED
    lines = _log(store, handle.run_id, "broken").splitlines()
    assert len(lines) == 2 and "start 'broken'" in lines[0] and "failed (RuntimeError)" in lines[1]
    assert "RuntimeError: no output, but a failure" in _log(store, handle.run_id, "broken", "stderr")
