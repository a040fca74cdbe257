"""SIGKILL a process recording runs at random instants: the store always reopens intact and no completed task
ever points at missing or truncated result bytes (reliability test T1)."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datatailr_jupyter.models import RunQuery, RunState
from datatailr_jupyter.store.sqlite import SqliteRunStore
from tests import chaos

from .store_worker import WORKFLOW, register

REPO = Path(__file__).resolve().parents[2]
KILLS = chaos.size(20, 100)


def spawn(store_dir: Path, seed: int) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.store.store_worker", "crash", str(store_dir), str(seed)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    return child


def check(store_dir: Path, after: int) -> tuple[int, int]:
    """Open the store as a user would, then verify it; returns (highest run id, results verified)."""
    with SqliteRunStore(store_dir) as store:
        conn = sqlite3.connect(store_dir / "runs.db")
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            referenced = {
                f"{run_id}/{task_id}"
                for run_id, task_id in conn.execute(
                    "SELECT run_id, task_id FROM tasks WHERE result_meta IS NOT NULL AND result_inline = 0 "
                    "AND result_run = run_id"
                )
            }
        finally:
            conn.close()
        page = store.list_runs(RunQuery(workflow=WORKFLOW, limit=1000))
        assert not [r.run_id for r in page.runs if not r.state.is_terminal], "an interrupted run was not recovered"
        verified = 0
        for summary in page.runs:
            if summary.run_id <= after:
                continue
            for task in store.get_run(summary.run_id).tasks:
                if task.state is RunState.COMPLETED:
                    assert task.result is not None, f"run {summary.run_id} task {task.id} completed without a result"
                if task.result is not None:
                    meta, data = store.read_result(summary.run_id, task.id)  # verifies size and sha256
                    assert len(data) == meta.bytes
                    verified += 1
        on_disk = {f"{p.parent.name}/{p.stem}" for p in (store_dir / "results").glob("*/*")}
        assert on_disk <= referenced, f"orphan result files: {sorted(on_disk - referenced)[:5]}"
        assert list((store_dir / "staging").iterdir()) == [], "staging files survived the reopen"
        return max((r.run_id for r in page.runs), default=after), verified


@pytest.mark.slow
def test_sigkill_at_random_instants_never_leaves_a_completed_task_without_its_bytes(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    with SqliteRunStore(store_dir) as store:
        register(store)
    rng = random.Random(20260302)
    started = time.monotonic()
    last, verified, kills = 0, 0, 0
    child = spawn(store_dir, 0)
    for k in range(KILLS):
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        time.sleep(rng.uniform(0.05, 0.6))
        assert child.poll() is None, "the writer ended on its own"
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        kills += child.returncode == -signal.SIGKILL
        following = spawn(store_dir, k + 1) if k + 1 < KILLS else None  # starts while this store is checked
        last, n = check(store_dir, last)
        verified += n
        if following is not None:
            child = following
    chaos.record("store writer SIGKILL", kills=kills, results_verified=verified, runs=last)
    assert kills == KILLS and last > KILLS and verified > 2 * KILLS
    assert time.monotonic() - started < 3 * KILLS
