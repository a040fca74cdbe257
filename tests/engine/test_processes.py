"""Worker processes and the processes tasks start: nothing outlives its task or its run, bad pool sizes are refused,
a killed task keeps its start time, and no temporary file is left behind by a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

from datatailr_jupyter.engine import ProcessExecutor, task, workflow
from datatailr_jupyter.engine.executors import make_executor
from datatailr_jupyter.errors import InvalidArgumentError
from datatailr_jupyter.models import RunQuery, RunState
from datatailr_jupyter.store.registry import open_store

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")


def alive(pid: int) -> bool:
    """Whether ``pid`` is still a running (not zombie) process."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_gone(pids: list[int], seconds: float = 5.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def start_children(pid_file: str) -> list[int]:
    """A child, a shell pipeline, an orphaned grandchild and a child in a session of its own; their pids are
    written to ``pid_file`` (one a line) and returned."""
    child = subprocess.Popen(["sleep", "300"])
    pipeline = subprocess.Popen("sleep 301 | sleep 302", shell=True)
    orphan_parent = subprocess.run(
        ["sh", "-c", "sleep 303 >/dev/null 2>&1 & echo $!"], capture_output=True, text=True, check=True
    )
    own_session = subprocess.Popen(["sleep", "304"], start_new_session=True)
    time.sleep(0.3)  # the pipeline's members exist
    pids = [child.pid, pipeline.pid, int(orphan_parent.stdout.strip()), own_session.pid]
    pids += [p.pid for p in psutil.Process(pipeline.pid).children()]
    with open(pid_file, "w") as fh:
        fh.write("\n".join(map(str, pids)) + "\n")
    return pids


@task()
def spawn(pid_file, fail=False, then_sleep=0.0):
    pids = start_children(pid_file)
    time.sleep(then_sleep)
    if fail:
        raise RuntimeError("failed after starting processes")
    return pids


def read_pids(path: Path, timeout: float = 20.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            return [int(x) for x in path.read_text().split()]
        time.sleep(0.05)
    raise AssertionError(f"{path} was not written")


# ---------------------------------------------------------------- task children


@pytest.mark.parametrize("fail", [False, True], ids=["completed", "failed"])
def test_processes_a_task_started_end_when_the_task_ends(store, tmp_path, fail):
    pid_file = tmp_path / "pids"

    @workflow(name=f"Spawner {fail}")
    def wf():
        spawn(str(pid_file), fail)

    handle = wf(local_run=True, store=store, executor="process")
    assert handle.detail().task("spawn").state is (RunState.FAILED if fail else RunState.COMPLETED)
    pids = read_pids(pid_file)
    assert len(pids) >= 5
    assert wait_gone(pids, 2.0) == [], "processes started by the task outlived it"


def test_processes_a_task_started_end_when_the_run_is_interrupted(store, tmp_path):
    pid_file = tmp_path / "pids"

    @workflow(name="Interrupted Spawner")
    def wf():
        spawn(str(pid_file), then_sleep=30)

    def interrupt() -> None:
        read_pids(pid_file)
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Thread(target=interrupt, daemon=True)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        wf(local_run=True, store=store, executor="process")
    pids = read_pids(pid_file)
    assert wait_gone(pids) == [], "processes started by the task outlived the stopped run"


# ---------------------------------------------------------------- the engine process itself

ENGINE = textwrap.dedent(
    """
    import sys, time
    from datatailr_jupyter.engine import task, workflow
    from tests.engine.test_processes import start_children

    @task()
    def long(pid_file):
        import os
        start_children(pid_file)
        with open(pid_file, "a") as fh:
            fh.write(f"{os.getpid()}\\n")  # the worker
        time.sleep(60)

    @workflow(name="Engine Target")
    def wf():
        long(sys.argv[2])

    print("ready", flush=True)
    wf(local_run=True, store=sys.argv[1], executor="process", max_workers=1)
    """
)


def start_engine(tmp_path: Path) -> tuple[subprocess.Popen[str], Path, Path, list[int]]:
    script = tmp_path / "engine.py"
    script.write_text(ENGINE)
    spool_dir = tmp_path / "tmp"
    spool_dir.mkdir()
    store_dir, pid_file = tmp_path / "store", tmp_path / "pids"
    env = {**os.environ, "TMPDIR": str(spool_dir), "PYTHONPATH": str(ROOT)}
    engine = subprocess.Popen(
        [sys.executable, str(script), str(store_dir), str(pid_file)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert engine.stdout is not None and engine.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(pid_file.read_text().split() if pid_file.exists() else []) < 6:
        time.sleep(0.05)
    pids = read_pids(pid_file)
    assert len(pids) >= 6, "the task did not start its processes"
    return engine, store_dir, spool_dir, pids


def test_sigterm_stops_the_run_like_ctrl_c_and_ends_workers_and_their_children(tmp_path):
    engine, store_dir, _, pids = start_engine(tmp_path)
    engine.send_signal(signal.SIGTERM)
    _, err = engine.communicate(timeout=30)
    assert engine.returncode == 128 + signal.SIGTERM, err
    assert "stopped by SIGTERM" in err
    assert wait_gone(pids) == [], "the worker or processes of its task outlived the engine"
    store = open_store(f"sqlite://{store_dir}")
    try:
        run = store.list_runs(RunQuery(workflow="Engine Target")).runs[0]
        detail = store.get_run(run.run_id)
        assert detail.run.state is RunState.STOPPED and detail.run.error_message == "stopped by SIGTERM"
        assert detail.task("long").state is RunState.STOPPED
    finally:
        store.close()


def test_a_killed_engine_leaves_no_worker_child_process_or_stderr_spool_behind(tmp_path):
    engine, _, spool_dir, pids = start_engine(tmp_path)
    assert list(spool_dir.glob("dt-stderr-*")) == [], "spool files are unlinked once the worker holds them"
    engine.kill()
    engine.communicate(timeout=10)
    assert wait_gone(pids, 5.0) == [], "workers end themselves, and what their task started, when the engine dies"
    assert list(spool_dir.glob("dt-stderr-*")) == []


# ---------------------------------------------------------------- pool sizes


@task()
def one():
    return 1


@pytest.mark.parametrize("bad", [-1, 0, 1025, 2.5, True, "4"])
def test_a_pool_size_outside_1_to_1024_is_refused_before_a_run_is_recorded(store, bad):
    for kind in ("process", "thread", "inline"):
        with pytest.raises(InvalidArgumentError, match="max_workers must be a whole number from 1 to 1024"):
            make_executor(kind, bad)
    with pytest.raises(InvalidArgumentError, match="max_workers"):
        ProcessExecutor(bad)

    @workflow(name="Bad Pool Size")
    def wf():
        one()

    t0 = time.monotonic()
    with pytest.raises(InvalidArgumentError, match="max_workers"):
        wf(local_run=True, store=store, executor="process", max_workers=bad)
    assert time.monotonic() - t0 < 5
    assert all(w.name != "Bad Pool Size" for w in store.list_workflows()), "nothing is recorded for it"


def test_none_means_one_worker_per_cpu():
    ex, release = make_executor("thread", None)
    try:
        assert 1 <= ex.max_workers <= 1024
    finally:
        release()


# ---------------------------------------------------------------- a killed task's times


@task()
def dies_late(seconds):
    time.sleep(seconds)
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_killed_task_keeps_its_start_time(store):
    @workflow(name="Dies Late")
    def wf():
        dies_late(1.0)

    detail = wf(local_run=True, store=store, executor="process").detail()
    dead = detail.task("dies_late")
    assert dead.state is RunState.FAILED and dead.error is not None and dead.error.type == "WorkerDied"
    assert dead.start_time is not None and dead.end_time is not None
    assert (dead.end_time - dead.start_time).total_seconds() >= 0.9
