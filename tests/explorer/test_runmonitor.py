"""The single-run view: a workflow run in a notebook kernel shows a RunMonitor before it ends, whose progress traits
and pushed answers follow the run; plain Python shows nothing and imports nothing of the explorer."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel

from datatailr_jupyter.errors import ConfigError
from datatailr_jupyter.explorer.runmonitor import progress_of
from datatailr_jupyter.models import RunQuery, RunState
from datatailr_jupyter.settings import resolve_show_runs
from datatailr_jupyter.store.protocols import NewRun, RunUpdate, TaskSpec, TaskUpdate, VersionSpec
from datatailr_jupyter.store.registry import open_store

pytestmark = pytest.mark.slow

WIDGET = "application/vnd.jupyter.widget-view+json"

FLOW = textwrap.dedent(
    """
    import time
    from datatailr_jupyter import task, workflow

    @task()
    def step(n: int) -> int:
        print(f"step {n} starts", flush=True)
        time.sleep(0.6)
        return n

    @workflow(name="Monitored Flow")
    def monitored() -> None:
        step(step(step(1).alias("first")).alias("second")).alias("third")
    """
)


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("monitor-store")


@pytest.fixture(scope="module")
def kernel(store_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlockingKernelClient]:
    config = tmp_path_factory.mktemp("cfg") / "config.toml"
    env = {**os.environ, "DT_RUNS_STORE": str(store_dir), "DT_RUNS_CONFIG": str(config), "DT_EXECUTOR": "thread"}
    env.pop("DT_SHOW_RUNS", None)
    manager: KernelManager
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    try:
        execute(client, FLOW)
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def execute(client: BlockingKernelClient, code: str, on_message: Any = None) -> list[dict[str, Any]]:
    """Run ``code``; its iopub messages up to idle (``on_message`` sees each as it arrives)."""
    msg_id = client.execute(code)
    messages = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            msg = client.get_iopub_msg(timeout=5)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if on_message is not None:
            on_message(msg)
        messages.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return messages
    raise AssertionError(f"{code!r} did not finish")


def displayed_widgets(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        m["content"]["data"]
        for m in messages
        if m["msg_type"] in ("display_data", "execute_result") and WIDGET in m["content"]["data"]
    ]


def updates(messages: list[dict[str, Any]], model_id: str) -> list[dict[str, Any]]:
    """The trait changes the kernel sent for the model."""
    return [
        m["content"]["data"]["state"]
        for m in messages
        if m["msg_type"] == "comm_msg"
        and m["content"]["comm_id"] == model_id
        and m["content"]["data"].get("method") == "update"
    ]


def custom(messages: list[dict[str, Any]], model_id: str, kind: str) -> list[dict[str, Any]]:
    return [
        m["content"]["data"]["content"]
        for m in messages
        if m["msg_type"] == "comm_msg"
        and m["content"]["comm_id"] == model_id
        and m["content"]["data"].get("method") == "custom"
        and m["content"]["data"]["content"].get("kind") == kind
    ]


def latest_run_state(store_dir: Path) -> RunState | None:
    """The state of the newest run in the store, read by this process (not the kernel)."""
    store = open_store(f"sqlite://{store_dir}", create=False)
    try:
        runs = store.list_runs(RunQuery(workflow="Monitored Flow", env="dev", limit=1)).runs
        return runs[0].state if runs else None
    finally:
        store.close()


def test_a_local_run_in_a_kernel_shows_its_monitor_before_it_ends_and_follows_it(
    kernel: BlockingKernelClient, store_dir: Path
) -> None:
    seen: dict[str, Any] = {}

    def watch(msg: dict[str, Any]) -> None:
        data = msg["content"].get("data", {})
        if msg["msg_type"] == "display_data" and WIDGET in data and "state_at_display" not in seen:
            seen["state_at_display"] = latest_run_state(store_dir)

    out = execute(kernel, "h = monitored(local_run=True)\nprint(type(h).__name__, h.state.value)", watch)
    widgets = displayed_widgets(out)
    assert len(widgets) == 1 and "RunMonitor" in widgets[0]["text/plain"]
    assert seen["state_at_display"] is not None and not seen["state_at_display"].is_terminal
    model_id = widgets[0][WIDGET]["model_id"]
    opened = [m for m in out if m["msg_type"] == "comm_open" and m["content"]["comm_id"] == model_id]
    assert opened and opened[0]["content"]["data"]["state"]["mode"] == "run"

    changes = updates(out, model_id)
    done = [c["n_done"] for c in changes if "n_done" in c]
    assert done[-1] == 3 and len(set(done)) >= 2, done  # counted up while the cell ran
    assert len({c["elapsed"] for c in changes if "elapsed" in c}) >= 3
    assert [c["run_state"] for c in changes if "run_state" in c][-1] == "completed"
    pushed = [a for n in custom(out, model_id, "live") for a in n["answers"]]
    runs = [a["answer"]["run"]["state"] for a in pushed if a["kind"] == "get-run"]
    assert "running" in runs and runs[-1] == "completed"
    logs = [a["answer"]["text"] for a in pushed if a["kind"] == "read-log" and a["payload"]["stream"] == "stdout"]
    assert any("step 1 starts" in text for text in logs)
    stdout = "".join(
        m["content"]["text"] for m in out if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"
    )
    assert "RunHandle completed" in stdout


def test_the_handle_shows_the_run_view_later_but_not_twice_in_its_own_cell(kernel: BlockingKernelClient) -> None:
    same_cell = execute(kernel, "monitored(local_run=True)")
    assert len(displayed_widgets(same_cell)) == 1  # the live monitor; the returned handle adds nothing
    assert not [m for m in same_cell if m["msg_type"] == "execute_result"]
    live = displayed_widgets(same_cell)[0][WIDGET]["model_id"]
    later = execute(kernel, "h = _\nh")
    widgets = displayed_widgets(later)
    assert len(widgets) == 1 and "RunMonitor" in widgets[0]["text/plain"] and "completed" in widgets[0]["text/plain"]
    assert widgets[0][WIDGET]["model_id"] != live  # a view of its own: a task clicked there is not clicked here


def test_a_rerun_through_the_client_shows_its_view_while_it_runs_and_client_run_shows_it_again(
    kernel: BlockingKernelClient,
) -> None:
    code = textwrap.dedent(
        """
        from datatailr_jupyter import connect
        c = connect(trust=True)
        first = c.runs("Monitored Flow", limit=1).index[0]
        again = c.rerun(int(first), full=True)
        print("rerun", again.run_id, again.state.value)
        """
    )
    out = execute(kernel, code)
    widgets = displayed_widgets(out)
    assert len(widgets) == 1 and "RunMonitor" in widgets[0]["text/plain"], widgets
    model_id = widgets[0][WIDGET]["model_id"]
    assert [c["run_state"] for c in updates(out, model_id) if "run_state" in c][-1] == "completed"
    stdout = "".join(m["content"]["text"] for m in out if m["msg_type"] == "stream")
    assert "rerun" in stdout and "completed" in stdout, stdout
    shown = displayed_widgets(execute(kernel, "c.run(again.run_id)"))
    assert len(shown) == 1 and "RunMonitor" in shown[0]["text/plain"] and shown[0][WIDGET]["model_id"] != model_id


def test_show_runs_off_shows_the_html_summary_and_no_widget(kernel: BlockingKernelClient) -> None:
    try:
        out = execute(kernel, "import os; os.environ['DT_SHOW_RUNS'] = '0'\nmonitored(local_run=True)")
        assert not displayed_widgets(out)
        results = [m["content"]["data"] for m in out if m["msg_type"] in ("execute_result", "display_data")]
        assert len(results) == 1 and "Monitored Flow" in results[0]["text/html"] and "<run " in results[0]["text/plain"]
    finally:
        execute(kernel, "os.environ.pop('DT_SHOW_RUNS', None)")


def test_only_the_kernels_main_thread_shows_runs_not_its_threads_or_forks(kernel: BlockingKernelClient) -> None:
    code = textwrap.dedent(
        """
        import os, threading
        from datatailr_jupyter.explorer.runmonitor import notebook_display
        seen = {"main": notebook_display()}
        worker = threading.Thread(target=lambda: seen.update(thread=notebook_display()))
        worker.start(); worker.join()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.write(w, b"1" if notebook_display() else b"0")
            os._exit(0)
        os.waitpid(pid, 0)
        seen["fork"] = os.read(r, 1) == b"1"
        print(sorted(seen.items()))
        """
    )
    out = execute(kernel, code)
    stdout = "".join(
        m["content"]["text"] for m in out if m["msg_type"] == "stream" and m["content"]["name"] == "stdout"
    )
    assert stdout.strip() == "[('fork', False), ('main', True), ('thread', False)]"


def test_plain_python_runs_show_nothing_and_import_nothing_of_the_explorer(tmp_path: Path) -> None:
    script = FLOW + textwrap.dedent(
        """
        import sys
        h = monitored(local_run=True, executor="thread")
        print(type(h).__name__, h.state.value)
        print("explorer imported:", any(m.startswith("datatailr_jupyter.explorer") for m in sys.modules))
        """
    )
    env = {**os.environ, "DT_RUNS_STORE": str(tmp_path / "store"), "DT_RUNS_CONFIG": str(tmp_path / "none.toml")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["RunHandle completed", "explorer imported: False"]


def test_show_runs_is_read_from_the_environment_then_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    assert resolve_show_runs({"DT_RUNS_CONFIG": str(config)}) is True
    config.write_text("show_runs = false\n")
    assert resolve_show_runs({"DT_RUNS_CONFIG": str(config)}) is False
    assert resolve_show_runs({"DT_RUNS_CONFIG": str(config), "DT_SHOW_RUNS": "1"}) is True
    with pytest.raises(ConfigError, match="DT_SHOW_RUNS must be 1 or 0"):
        resolve_show_runs({"DT_SHOW_RUNS": "maybe"})
    config.write_text('show_runs = "no"\n')
    with pytest.raises(ConfigError, match="show_runs must be true or false"):
        resolve_show_runs({"DT_RUNS_CONFIG": str(config)})


def test_progress_counts_tasks_by_outcome_and_times_the_run_to_now_or_its_end(tmp_path: Path) -> None:
    t0 = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)
    store = open_store(f"sqlite://{tmp_path / 'store'}")
    try:
        tasks = tuple(TaskSpec(i, f"t{i}", f"flows:t{i}", (0,) if i else ()) for i in range(5))
        definition = {"tasks": [{"id": t.id, "name": t.name, "function": t.function} for t in tasks]}
        store.register_version(VersionSpec(workflow="Counted", definition=definition, definition_hash="c1"))
        run = store.create_run(NewRun(workflow="Counted", env="dev", job_version=1, tasks=tasks, submit_time=t0))
        store.update_run(run.run_id, RunUpdate(state=RunState.RUNNING, start_time=t0))
        store.update_tasks(
            run.run_id,
            [
                TaskUpdate(0, state=RunState.COMPLETED, start_time=t0, end_time=t0),
                TaskUpdate(1, state=RunState.RUNNING, start_time=t0),
                TaskUpdate(2, state=RunState.FAILED, start_time=t0, end_time=t0),
                TaskUpdate(3, state=RunState.OUT_OF_MEMORY, start_time=t0, end_time=t0),
            ],
        )
        now = t0 + timedelta(seconds=12.37)
        detail = store.get_run(run.run_id)
        assert progress_of(detail, now) == {
            "run_state": "running", "n_tasks": 5, "n_done": 1, "n_running": 1, "n_failed": 2, "elapsed": 12.3,
        }  # fmt: skip
        assert progress_of(detail.run, now) == progress_of(detail, now)  # from the run's task counts alone
        store.update_run(run.run_id, RunUpdate(state=RunState.FAILED, end_time=t0 + timedelta(seconds=3)))
        ended = progress_of(store.get_run(run.run_id), now + timedelta(hours=1))
        assert (ended["run_state"], ended["elapsed"]) == ("failed", 3.0)
        assert progress_of(store.get_run(run.run_id).run, now + timedelta(hours=1)) == ended
    finally:
        store.close()
