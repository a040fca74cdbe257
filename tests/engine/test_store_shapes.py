"""The engine works with stores that have no local files (remote stores) and with code defined in ``__main__``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import numpy as np

from datatailr_jupyter.engine import task, workflow
from datatailr_jupyter.models import RunQuery, RunState


class NoLocalFiles:
    """The real store as a remote store looks to the engine: no log files to write to, no staging directory."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.appended = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def log_path(self, run_id: int, task_id: int, stream: str) -> None:
        return None

    def staging_dir(self) -> None:
        return None

    def append_log(self, run_id: int, task_id: int, stream: str, data: bytes) -> None:
        self.appended += 1
        self.inner.append_log(run_id, task_id, stream, data)


@task()
def noisy_array(n, pause):
    print("computing", n, flush=True)
    time.sleep(pause)
    print("warning: rounding", file=sys.stderr)
    return np.arange(n, dtype=np.float64)


@task()
def total(values):
    return float(values.sum())


def test_logs_and_large_results_reach_a_store_without_local_files(store):
    remote = NoLocalFiles(store)

    @workflow(name="Remote Shape")
    def wf():
        total(noisy_array(300_000, 1.5))

    seen_live = threading.Event()
    result: dict = {}
    runner = threading.Thread(target=lambda: result.setdefault("h", wf(local_run=True, store=remote)))
    runner.start()
    deadline = time.monotonic() + 30
    while runner.is_alive() and time.monotonic() < deadline:
        runs = store.list_runs(RunQuery())
        if runs.runs and "computing" in store.read_log(runs.runs[0].run_id, 0, "stdout").text:
            if store.get_run(runs.runs[0].run_id).tasks[0].state is RunState.RUNNING:
                seen_live.set()
        time.sleep(0.1)
    runner.join()
    handle = result["h"]
    assert handle.state is RunState.COMPLETED
    assert seen_live.is_set(), "the log was not readable while the task ran"
    assert handle.results["total"] == float(np.arange(300_000).sum())
    assert handle.result("noisy_array").shape == (300_000,)
    assert "computing 300000" in handle.logs("noisy_array")
    assert "warning: rounding" in handle.logs("noisy_array", "stderr")
    assert remote.appended >= 2


def test_script_tasks_run_in_worker_processes_and_rerun_from_stored_code(tmp_path):
    script = tmp_path / "flow.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            from datatailr_jupyter import task, workflow

            OFFSET = 100

            @task()
            def square(x):
                return x * x + OFFSET

            @task()
            def combine(*values):
                return sum(values)

            @workflow(name="Script Flow")
            def flow(n):
                combine(*[square(i) for i in range(n)])

            handle = flow(local_run=True, store=sys.argv[1], executor="process", n=4)
            print(handle.state.value, handle.results["combine"])
            """
        )
    )
    out = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "store")], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "completed 414"
    again = (
        "import sys; from datatailr_jupyter import rerun; "
        "h = rerun(1, full=True, store=sys.argv[1]); print(h.state.value, h.results['combine'])"
    )
    trusting = {**os.environ, "DT_RUNS_TRUSTED_STORES": str(tmp_path / "store")}  # the rerun loads stored code
    out = subprocess.run(
        [sys.executable, "-c", again, str(tmp_path / "store")],
        capture_output=True,
        text=True,
        timeout=120,
        env=trusting,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "completed 414", "a rerun elsewhere runs the stored code"
