"""A full disk (an 8 MB tmpfs): a result or a log too big for it fails its run with the reason, leaves no staging
file behind, never stops the store from being read, and the next run works once there is space again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from datatailr_jupyter import connect

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount an 8 MB tmpfs here ({done.stderr.strip() or done.returncode}); needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _env(store: Path) -> dict[str, str]:
    return {**os.environ, "DT_RUNS_STORE": str(store), "PYTHONPATH": str(ROOT)}


def run_flow(store: Path, name: str, executor: str = "process") -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.store.disk_worker", name, executor],
        cwd=ROOT, env=_env(store), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return outcome


def dt(store: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "datatailr_jupyter.cli", "--store", str(store), *argv],
        cwd=ROOT, env=_env(store), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass
    return filler


def staging(store: Path) -> list[str]:
    return sorted(p.name for p in (store / "staging").iterdir())


@pytest.mark.slow
def test_a_full_disk_fails_the_run_with_the_reason_and_the_store_stays_readable(tiny_disk: Path) -> None:
    store = tiny_disk / "store"
    assert run_flow(store, "small")["state"] == "completed"

    big_result = run_flow(store, "big-result")  # 20 MB of numpy into 8 MB
    assert big_result["state"] == "failed" and staging(store) == []
    big_log = run_flow(store, "big-log")  # 20 MB of stdout into what is left
    assert big_log["state"] == "failed" and staging(store) == []

    filler = fill(tiny_disk)  # 100% full: even SQLite's shared-memory file cannot be made now
    assert os.statvfs(tiny_disk).f_bavail == 0
    listed = dt(store, "runs")
    assert listed.returncode == 0, listed.stderr
    assert "Big Result" in listed.stdout and "Big Log" in listed.stdout
    client = connect(str(store))
    try:
        for outcome in (big_result, big_log):
            run = client.run(outcome["run_id"]).summary
            assert run.state.value == "failed"
            assert "no space left on device" in (run.error_message or "").lower(), run.error_message
            assert "engine" not in (run.error_message or "").lower()
        assert client.result(1, "small") == 42
        assert "small task ran" in client.logs(1, "small")
        assert client.logs(big_log["run_id"], "chatty").startswith("\u27e6dt\u27e7 ")
    finally:
        client.close()

    filler.unlink()
    (store / "logs" / str(big_log["run_id"]) / "0.stdout").unlink()
    again = run_flow(store, "small")
    assert again["state"] == "completed" and staging(store) == []
    check = subprocess.run(
        [sys.executable, "-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("
         "'PRAGMA integrity_check').fetchone()[0])", str(store / "runs.db")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert check.stdout.strip() == "ok"
