"""Every `dt` command answers hostile arguments (huge numbers and dates, escapes, odd files) in one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from datatailr_jupyter.cli import main
from datatailr_jupyter.engine import task, workflow
from tests import chaos

HOSTILE = [
    "99999999999999999999",
    "-1",
    "1e309",
    "nan",
    "99999999d",
    "9999-99-99",
    "0000-01-01",
    "\x1b]0;title\x07",
    "../../etc/passwd",
    "A" * 5000,
    "'; DROP TABLE runs; --",
    "\u202egnp.exe",
    "x\x00y",
]
COMMANDS = [
    ["run", "{v}"],
    ["logs", "{v}", "fetch"],
    ["logs", "{run}", "{v}"],
    ["logs", "{run}", "fetch", "--tail", "{v}"],
    ["result", "{v}", "fetch"],
    ["result", "{run}", "{v}"],
    ["runs", "--since", "{v}"],
    ["runs", "--until", "{v}"],
    ["runs", "--limit", "{v}"],
    ["runs", "{v}"],
    ["runs", "--env", "{v}"],
    ["runs", "--state", "{v}"],
    ["versions", "{v}"],
    ["workflows", "--env", "{v}"],
    ["rerun", "{v}", "--plan"],
    ["rerun", "{run}", "--version", "{v}", "--plan"],
    ["rerun", "{run}", "--from-task", "{v}", "--plan"],
    ["scheduler", "--poll", "{v}"],
    ["job", "ls", "--env", "{v}"],
    ["job", "get", "{v}"],
    ["job", "get", "Hostile Inputs", "--version", "{v}"],
    ["job", "run", "{v}"],
    ["job", "run", "Hostile Inputs", "--version", "{v}"],
    ["job", "runs", "--since", "{v}"],
    ["job", "runs", "{v}"],
    ["job", "rerun", "{v}", "--plan"],
    ["job", "rerun", "{run}", "--from-task", "{v}", "--plan"],
    ["log", "read", "{v}"],
    ["log", "read", "{run}", "--task", "{v}"],
    ["log", "read", "{run}", "--tail", "{v}"],
    ["token", "revoke", "{v}"],
    ["serve", "--port", "{v}"],
]


@task()
def fetch():
    print("fetched")
    return 3


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int]:
    from datatailr_jupyter.store.registry import open_store

    path = tmp_path_factory.mktemp("hostile") / "store"
    opened = open_store(f"sqlite://{path}")

    @workflow(name="Hostile Inputs")
    def flow():
        fetch()

    try:
        return str(path), flow(local_run=True, store=opened, executor="thread").run_id
    finally:
        opened.close()


def call(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's usage errors: exit 2 with a usage line and the reason
        return int(exc.code or 0)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_hostile_values_get_one_clear_line_and_a_non_zero_exit(
    store: tuple[str, int], command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, run = store
    for value in HOSTILE:
        argv = [part.format(v=value, run=run) if "{" in part else part for part in command]
        code = call(["--store", path, *argv])
        out, err = capsys.readouterr()
        shown = repr(value[:20])
        assert code != 0, f"{shown} in {command}: exit 0 with {out[:200]!r}"
        assert "Traceback" not in err + out, f"{shown} in {command}: {err}"
        assert err.count("\n") == 1 and "error: " in err, f"{shown} in {command}: {err[:300]!r}"
        assert "\x1b" not in err and "\x00" not in err
    chaos.record(f"dt {' '.join(command[:2])} hostile values", tried=len(HOSTILE), tracebacks=0)


def test_unreadable_and_missing_files_are_one_line(
    store: tuple[str, int], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path, run = store
    copy = tmp_path / "copy"
    shutil.copytree(path, copy)
    logs = [p for p in (copy / "logs").rglob("*") if p.is_file() and p.stat().st_size > 0]
    assert logs, "the run wrote no log file"
    for log in logs:  # a log that is a directory where a file should be: unreadable for every user, root included
        log.unlink()
        log.mkdir()
    assert call(["--store", str(copy), "logs", str(run), "fetch"]) != 0
    err = capsys.readouterr().err
    assert err.startswith("dt: error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_the_installed_entry_point_answers_in_one_line(store: tuple[str, int]) -> None:
    dt = Path(sys.executable).with_name("dt")
    assert dt.exists(), f"no dt next to {sys.executable}: install the package (make install)"
    path, _ = store
    env = dict(os.environ, NO_COLOR="1")
    for argv in (["run", "99999999999999999999"], ["runs", "--since", "99999999d"], ["logs", "1", "x", "--tail", "-5"]):
        done = subprocess.run([str(dt), "--store", path, *argv], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
        assert "error:" in done.stderr.strip().splitlines()[-1]
