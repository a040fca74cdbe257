"""Workflows on a Dask cluster (loopback): fan-out, live logs, resources, worker and scheduler deaths, Ctrl+C,
notebook-defined tasks; the contract suite itself runs in test_executors.py."""

from __future__ import annotations

import _thread
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from datatailr_jupyter.client import Client as RunsClient
from datatailr_jupyter.engine import task, workflow
from datatailr_jupyter.errors import ExecutorError
from datatailr_jupyter.models import RunState
from tests.engine.dask_clusters import CliCluster, free_port

pytest.importorskip("distributed", reason="the Dask tests need distributed: pip install -e '.[dask]'")


@task()
def seed():
    return 1


@task()
def add(x, i):
    print(f"adding {i}")
    return x + i


@task()
def total(*values):
    return sum(values)


@task()
def ticker(n):
    for i in range(n):
        print(f"tick {i}", flush=True)
        time.sleep(0.3)
    return n


@task()
def sleeper(marker, seconds):
    Path(marker).write_text(str(os.getpid()))
    time.sleep(seconds)
    return seconds


@task()
def after(x):
    return x


@task(cpu=8)
def greedy():
    return "never placed"


@task(cpu=2, memory="1g")
def fits():
    return "placed"


def test_import_and_a_local_run_never_import_distributed(tmp_path):
    code = (
        "import sys\n"
        "import datatailr_jupyter\n"
        "from datatailr_jupyter import task, workflow\n"
        "@task()\n"
        "def one():\n    return 1\n"
        "@workflow(name='No Dask')\n"
        "def wf():\n    one()\n"
        f"assert wf(local_run=True, store={str(tmp_path / 'store')!r}).state.value == 'completed'\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))\n"
        "assert not loaded, loaded\n"
    )
    env = {**os.environ, "DT_RUNS_CONFIG": str(tmp_path / "none.toml")}
    env.pop("DT_EXECUTOR", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_a_500_task_fan_out_runs_on_the_cluster_with_everything_recorded(store, dask_local_client):
    @workflow(name="Dask Fan 500")
    def fan():
        r = seed()
        total(*[add(r, i) for i in range(498)])

    handle = fan(local_run=True, store=store, executor=dask_local_client)
    assert handle.state is RunState.COMPLETED
    detail = store.get_run(handle.run_id)
    assert len(detail.tasks) == 500 and all(t.state is RunState.COMPLETED for t in detail.tasks)
    assert handle.results["total"] == sum(1 + i for i in range(498))
    hosts = {t.host for t in detail.tasks}
    assert hosts and None not in hosts
    log = RunsClient(store).read_log(handle.run_id, "add-7").text
    assert "adding 7" in log and "dask worker tcp://127.0.0.1:" in log


@task()
def bulky(n):
    return "x" * n


@task()
def length(text):
    return len(text)


def test_an_outcome_too_large_for_the_event_log_is_gathered_and_passed_on(store, dask_local_client):
    from datatailr_jupyter.engine.dask_worker import OUTCOME_EVENT_BYTES

    @workflow(name="Dask Large Outcome")
    def large():
        length(bulky(4 * OUTCOME_EVENT_BYTES))
        length(bulky(10))

    handle = large(local_run=True, store=store, executor=dask_local_client)
    assert handle.state is RunState.COMPLETED
    assert sorted(v for k, v in handle.results.items() if k.startswith("length")) == [10, 4 * OUTCOME_EVENT_BYTES]


def test_the_executor_is_chosen_by_url_and_by_the_dt_executor_variable(store, dask_cli_cluster, monkeypatch):
    @workflow(name="Dask By Url")
    def small():
        after(seed())

    by_url = small(local_run=True, store=store, executor="dask://" + dask_cli_cluster.address.split("://")[1])
    assert by_url.state is RunState.COMPLETED
    monkeypatch.setenv("DT_EXECUTOR", "dask://" + dask_cli_cluster.address.split("://")[1])
    configured = small(local_run=True, store=store)
    assert configured.state is RunState.COMPLETED

    @workflow(name="Dask By Variable")
    def printing():
        add(seed(), 7)

    logged = printing(local_run=True, store=store)  # a task that writes has a log, whose system lines name the worker
    assert "dask worker" in RunsClient(store).read_log(logged.run_id, "add").text


def test_an_unreachable_scheduler_is_reported_before_a_run_is_recorded(store, monkeypatch):
    from datatailr_jupyter.engine import dask_connect

    monkeypatch.setattr(dask_connect, "CONNECT_TIMEOUT", 1.0)

    @workflow(name="Dask Nowhere")
    def nowhere():
        seed()

    with pytest.raises(ExecutorError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:"):
        nowhere(local_run=True, store=store, executor=f"dask://127.0.0.1:{free_port()}")
    assert RunsClient(store).runs().empty, "no run (nor version) was recorded"


def test_a_running_task_log_is_read_through_the_client_while_it_runs(store, dask_cli_client):
    @workflow(name="Dask Live Log")
    def live():
        ticker(12)

    client = RunsClient(store)
    seen: list[str] = []
    result: dict[str, object] = {}
    runner = threading.Thread(
        target=lambda: result.update(h=live(local_run=True, store=store, executor=dask_cli_client)), daemon=True
    )
    runner.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and runner.is_alive():
        runs = client.runs()
        if not runs.empty:
            try:
                text = client.read_log(int(runs.index[0]), "ticker").text
            except Exception:
                text = ""
            if "tick 2" in text:
                seen.append(text)
                break
        time.sleep(0.1)
    assert seen and runner.is_alive(), "the log of the running task was not readable before it ended"
    assert "tick 11" not in seen[0]
    runner.join(60)
    assert result["h"].state is RunState.COMPLETED  # type: ignore[attr-defined]


@task()
def chatty(pause):
    print("first line", flush=True)
    print("first warning", file=sys.stderr, flush=True)
    time.sleep(pause)
    for i in range(3):
        print(f"more {i}")
    print("last warning", file=sys.stderr)
    return pause


def test_logs_of_workers_apart_from_the_store_reach_it_while_the_task_runs(store, dask_cli_client, monkeypatch):
    from datatailr_jupyter.engine.dask_executor import DaskExecutor
    from datatailr_jupyter.engine.workers import SYSTEM_LINE_PREFIX

    def not_shared(self: DaskExecutor, directory: str) -> None:  # as if the workers saw another filesystem
        self.shared = False

    monkeypatch.setattr(DaskExecutor, "_check_shared", not_shared)

    @workflow(name="Dask Streamed Log")
    def streamed():
        chatty(6)

    client = RunsClient(store)
    result: dict[str, object] = {}
    runner = threading.Thread(
        target=lambda: result.update(h=streamed(local_run=True, store=store, executor=dask_cli_client)), daemon=True
    )
    runner.start()
    live = {"stdout": "", "stderr": ""}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and runner.is_alive() and "first warning" not in live["stderr"]:
        runs = client.runs()
        if not runs.empty:
            for stream in live:
                try:
                    live[stream] = client.read_log(int(runs.index[0]), "chatty", stream).text
                except Exception:
                    pass
        time.sleep(0.1)
    still_running = runner.is_alive()
    runner.join(60)
    assert "first line" in live["stdout"] and "first warning" in live["stderr"], live
    assert still_running and "more 0" not in live["stdout"], "the first lines came only with the task's end"
    handle = result["h"]
    assert handle.state is RunState.COMPLETED  # type: ignore[attr-defined]
    out = client.read_log(handle.run_id, "chatty").text  # type: ignore[attr-defined]
    err = client.read_log(handle.run_id, "chatty", "stderr").text  # type: ignore[attr-defined]
    assert out.startswith(live["stdout"]) and err.startswith(live["stderr"]), "the streamed bytes were rewritten"
    system = [line for line in out.splitlines() if line.startswith(SYSTEM_LINE_PREFIX)]
    printed = [line for line in out.splitlines() if not line.startswith(SYSTEM_LINE_PREFIX)]
    assert printed == ["first line", "more 0", "more 1", "more 2"], out
    assert len(system) == 2 and "dask worker tcp://127.0.0.1:" in system[0] and "completed" in system[1], out
    assert err == "first warning\nlast warning\n"


def test_resource_hints_place_tasks_and_a_task_no_worker_can_take_fails_at_once(store, dask_cli_client):
    @workflow(name="Dask Resources")
    def sized():
        fits()
        greedy()

    t0 = time.monotonic()
    handle = sized(local_run=True, store=store, executor=dask_cli_client)
    assert time.monotonic() - t0 < 30
    states = {t.name: t for t in store.get_run(handle.run_id).tasks}
    assert states["fits"].state is RunState.COMPLETED
    assert states["greedy"].state is RunState.FAILED
    error = states["greedy"].error
    assert error is not None and error.type == "NoWorkerFits" and "cpu=8" in error.message


def test_ctrl_c_stops_the_run_and_cancels_its_cluster_tasks(store, dask_cli_client, tmp_path):
    marker = tmp_path / "pid"

    @workflow(name="Dask Interrupted")
    def interrupted():
        after(sleeper(str(marker), 20))

    def interrupt_when_started() -> None:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        _thread.interrupt_main()

    threading.Thread(target=interrupt_when_started, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        interrupted(local_run=True, store=store, executor=dask_cli_client)
    detail = store.get_run(int(RunsClient(store).runs(workflow="Dask Interrupted").index[0]))
    assert detail.run.state is RunState.STOPPED
    assert {t.name: t.state for t in detail.tasks} == {"sleeper": RunState.STOPPED, "after": RunState.DID_NOT_RUN}

    def ours(dask_scheduler) -> list[str]:  # type: ignore[no-untyped-def]
        return [str(k) for k in dask_scheduler.tasks if str(k).startswith("dt-sleeper")]

    deadline = time.monotonic() + 10
    while dask_cli_client.run_on_scheduler(ours) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert dask_cli_client.run_on_scheduler(ours) == [], "the cluster still holds the stopped run's task"


@pytest.fixture(scope="module")
def fragile_cluster():
    """A cluster of its own for the kill tests: workers without nannies, so a killed worker stays dead."""
    cluster = CliCluster.start(2, nanny=False)
    try:
        yield cluster
    finally:
        cluster.stop()


def test_a_worker_killed_mid_task_fails_that_task_with_worker_lost(store, fragile_cluster, tmp_path):
    marker = tmp_path / "pid"

    @workflow(name="Dask Worker Killed")
    def killed():
        after(sleeper(str(marker), 120))  # far longer than the bound below: an answer in time came from the loss
        total(seed(), seed())

    def kill_when_started() -> None:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        os.kill(int(marker.read_text()), signal.SIGKILL)

    threading.Thread(target=kill_when_started, daemon=True).start()
    client = fragile_cluster.client()
    try:
        t0 = time.monotonic()
        handle = killed(local_run=True, store=store, executor=client)
        assert time.monotonic() - t0 < 60, "the lost worker's task was not reported before its sleep would end"
    finally:
        client.close()
    assert handle.state is RunState.FAILED
    tasks = {t.name: t for t in store.get_run(handle.run_id).tasks}
    assert tasks["sleeper"].state is RunState.FAILED and tasks["after"].state is RunState.DID_NOT_RUN
    error = tasks["sleeper"].error
    assert error is not None and error.type == "WorkerLost" and "tcp://127.0.0.1:" in error.message
    assert tasks["total"].state is RunState.COMPLETED, "an independent branch goes on"


def test_a_scheduler_killed_mid_run_ends_the_run_failed_with_the_reason(store, fragile_cluster, tmp_path):
    marker = tmp_path / "pid"

    @workflow(name="Dask Scheduler Killed")
    def orphaned():
        after(sleeper(str(marker), 30))

    def kill_when_started() -> None:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        fragile_cluster.scheduler.send_signal(signal.SIGKILL)

    threading.Thread(target=kill_when_started, daemon=True).start()
    client = fragile_cluster.client()
    try:
        t0 = time.monotonic()
        handle = orphaned(local_run=True, store=store, executor=client)
        assert time.monotonic() - t0 < 40
    finally:
        client.close(timeout=2)
    detail = store.get_run(handle.run_id)
    assert detail.run.state is RunState.FAILED
    assert "lost the Dask scheduler" in (detail.run.error_message or "")
    states = {t.name: t.state for t in detail.tasks}
    assert states["after"] is RunState.DID_NOT_RUN and states["sleeper"] is not RunState.COMPLETED
    assert all(t.result is None for t in detail.tasks), "nothing was committed half-way"


NOTEBOOK_CELLS = [
    "from datatailr_jupyter import task, workflow\n",
    "@task()\ndef cube(x):\n    return x ** 3\n\n"
    "@task()\ndef refuse(x):\n    raise ValueError('refused in the notebook')\n",
    "@workflow(name='Dask Notebook')\ndef nb():\n    refuse(cube(3))\n\n"
    "handle = nb(local_run=True, store=STORE, executor=ADDRESS)\n",
]


def test_a_notebook_defined_task_runs_on_the_cluster_from_a_real_kernel(tmp_path, dask_cli_cluster):
    import nbformat
    from nbclient import NotebookClient

    store_dir = tmp_path / "store"
    setup = f"STORE = {str(store_dir)!r}\nADDRESS = {'dask://' + dask_cli_cluster.address.split('://')[1]!r}\n"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(setup)] + [nbformat.v4.new_code_cell(c) for c in NOTEBOOK_CELLS]
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    from datatailr_jupyter.store.registry import open_store

    with open_store(f"sqlite://{store_dir}") as s:
        run = s.get_run(int(RunsClient(s).runs(workflow="Dask Notebook").index[0]))
    tasks = {t.name: t for t in run.tasks}
    assert tasks["cube"].state is RunState.COMPLETED
    error = tasks["refuse"].error
    assert tasks["refuse"].state is RunState.FAILED and error is not None
    assert "refused in the notebook" in error.message
    assert "raise ValueError('refused in the notebook')" in error.traceback, "the traceback shows the cell's line"
