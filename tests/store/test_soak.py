"""Soak: writers, readers, the scheduler and the explorer on one store at once, for DT_SOAK_SECONDS seconds.

3 processes loop ``wf(local_run=True)``, 2 loop connect / runs / run(id).tasks / close, one loops the explorer's
request handlers, and ``dt scheduler`` runs an every-minute workflow. Nothing may fail, every run a writer was
told about must be there and completed, and SQLite's integrity check must pass. DT_SOAK_SECONDS defaults to 20 in
the quick profile and 180 in the full one (tests/chaos.py).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datatailr_jupyter.models import RunQuery, RunState, Trigger
from datatailr_jupyter.store.sqlite import SqliteRunStore
from tests import chaos

ROOT = Path(__file__).resolve().parents[2]
SECONDS = float(os.environ.get("DT_SOAK_SECONDS", chaos.size(20, 180)))


def _start(role: str, store: Path, out: Path, seconds: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DT_RUNS_STORE": str(store), "DT_RUNS_TRUSTED_STORES": str(store), "PYTHONPATH": str(ROOT)}
    with open(out.with_suffix(".log"), "wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "tests.store.soak_worker", role, str(seconds), str(out)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


@pytest.mark.slow
def test_writers_readers_scheduler_and_explorer_together_lose_nothing_and_never_fail(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    deploy = _start("deploy", store_dir, tmp_path / "deploy.json", 0)
    assert deploy.wait(120) == 0, (tmp_path / "deploy.log").read_text()
    env = {**os.environ, "DT_RUNS_STORE": str(store_dir), "DT_RUNS_TRUSTED_STORES": str(store_dir)}
    env["PYTHONPATH"] = str(ROOT)
    with open(tmp_path / "scheduler.log", "wb") as scheduler_log:
        scheduler = subprocess.Popen(
            [sys.executable, "-m", "datatailr_jupyter.cli", "scheduler", "--poll", "1"],
            cwd=ROOT, env=env, stdout=scheduler_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    roles = ["writer"] * 3 + ["reader"] * 2 + ["explorer"]
    outs = [tmp_path / f"{role}-{i}.json" for i, role in enumerate(roles)]
    started = time.monotonic()
    procs = [_start(role, store_dir, out, SECONDS) for role, out in zip(roles, outs, strict=True)]
    try:
        for proc in procs:
            proc.wait(SECONDS + 300)
    finally:
        scheduler.send_signal(signal.SIGINT)
        try:
            scheduler.wait(60)
        except subprocess.TimeoutExpired:
            scheduler.kill()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    elapsed = time.monotonic() - started
    logs = {out.name: out.with_suffix(".log").read_text(errors="replace") for out in outs}
    assert all(proc.returncode == 0 for proc in procs), logs
    reports = {out.name: json.loads(out.read_text()) for out in outs}
    writers = [r for name, r in reports.items() if name.startswith("writer")]
    others = [r for name, r in reports.items() if not name.startswith("writer")]
    errors = [e for r in reports.values() for e in r["errors"]]
    reported = [run_id for w in writers for run_id in w["runs"]]
    reader_ops = sum(r["ops"] for r in others)

    scheduler_out = (tmp_path / "scheduler.log").read_text(errors="replace")
    with SqliteRunStore(store_dir, create=False) as store:
        states = {r.run_id: r for r in store.list_runs(RunQuery(limit=1000, workflow="Soak")).runs}
        total = store.list_runs(RunQuery(workflow="Soak")).total
        scheduled = store.list_runs(RunQuery(workflow="Soak Every Minute", limit=1000)).runs
    conn = sqlite3.connect(store_dir / "runs.db")
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        every = dict(conn.execute("SELECT run_id, state FROM runs r JOIN workflows w ON w.id = r.workflow_id "
                                  "WHERE w.key = 'soak'").fetchall())  # fmt: skip
    finally:
        conn.close()
    print(
        f"\nsoak {elapsed:.0f} s: {len(reported)} runs by 3 writers ({sum(w['attempts'] for w in writers)} attempts), "
        f"{reader_ops} reader/explorer operations, {len(errors)} errors, {len(scheduled)} scheduled runs, "
        f"integrity {integrity}"
    )
    chaos.record(
        "soak", seconds=round(elapsed), writers=3, readers=2, runs=len(reported), reader_ops=reader_ops,
        scheduled_runs=len(scheduled), errors=len(errors), integrity=integrity,
    )  # fmt: skip
    assert errors == [], errors[:5]
    assert len(reported) == len(set(reported)) and reported, "run ids are unique"
    lost = [run_id for run_id in reported if every.get(run_id) != "completed"]
    assert lost == [], f"{len(lost)} reported runs are missing or not completed: {lost[:10]}"
    assert total == len(reported) and all(s.state is RunState.COMPLETED for s in states.values())
    assert integrity == "ok"
    assert all(r.trigger is Trigger.SCHEDULE for r in scheduled)
    assert all(r.state in (RunState.COMPLETED, RunState.STOPPED) for r in scheduled), scheduled
    assert "Traceback" not in scheduler_out and "error" not in scheduler_out.lower(), scheduler_out
    if SECONDS >= 150:
        assert len(scheduled) >= 2, scheduler_out
