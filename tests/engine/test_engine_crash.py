"""SIGKILL of the engine process at random instants leaves a store where every run and task has ended with a reason
and every recorded result can be read back (reliability.md T1)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datatailr_jupyter.models import RunQuery, RunState
from datatailr_jupyter.store.registry import open_store
from tests import chaos

ROOT = Path(__file__).resolve().parents[2]
KILLS = chaos.size(10, 60)


def start_engine(store_dir: Path, executor: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.engine.crash_engine", str(store_dir), executor],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def check_store(store_dir: Path) -> tuple[int, int]:
    """Open the store (recovering a dead engine's runs) and check every run, task and result; returns counts."""
    store = open_store(f"sqlite://{store_dir}")
    try:
        store.recover()
        runs = store.list_runs(RunQuery(workflow="Crash Target", limit=1000)).runs
        results = 0
        for summary in runs:
            detail = store.get_run(summary.run_id)
            assert detail.run.state.is_terminal, f"run {summary.run_id} is still {detail.run.state.value}"
            if detail.run.state is not RunState.COMPLETED:
                assert detail.run.error_message, f"run {summary.run_id} ended {detail.run.state.value} without a reason"
            for t in detail.tasks:
                assert t.state.is_terminal, f"task {t.name} of run {summary.run_id} is still {t.state.value}"
                if t.result is not None:
                    meta, data = store.read_result(summary.run_id, t.id)
                    assert len(data) == meta.bytes
                    results += 1
                if t.state is RunState.COMPLETED:
                    assert t.result is not None, f"completed task {t.name} has no result"
        return len(runs), results
    finally:
        store.close()


@pytest.mark.slow
def test_engine_sigkill_at_random_instants_leaves_a_consistent_store(tmp_path):
    rng = random.Random(20261123)
    store_dir = tmp_path / "store"
    open_store(f"sqlite://{store_dir}").close()
    t_start = time.monotonic()
    total_runs = total_results = 0
    for i in range(KILLS):
        engine = start_engine(store_dir, "process" if i % 2 == 0 else "thread")
        assert engine.stdout is not None
        assert engine.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.3, 2.5))
        os.kill(engine.pid, signal.SIGKILL)
        engine.wait()
        total_runs, total_results = check_store(store_dir)
    elapsed = time.monotonic() - t_start
    chaos.record("engine SIGKILL", kills=KILLS, runs=total_runs, results_checked=total_results, seconds=round(elapsed))
    assert total_runs >= KILLS, "most kills should interrupt a run"
    assert total_results > 0
    assert elapsed < 6 * KILLS, f"the crash test took {elapsed:.0f} s"
