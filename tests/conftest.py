"""Marks the chaos suite (kills, concurrent load, full disks, hostile input) and reports its figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import chaos

ROOT = Path(__file__).resolve().parents[1]
CHAOS_MODULES = {
    "tests/store/test_crash_safety.py",
    "tests/store/test_concurrency.py",
    "tests/store/test_soak.py",
    "tests/store/test_full_disk.py",
    "tests/store/test_lost_files.py",
    "tests/store/test_database_files.py",
    "tests/store/test_log_cap.py",
    "tests/store/test_bad_input.py",
    "tests/engine/test_engine_crash.py",
    "tests/engine/test_failures.py",
    "tests/engine/test_processes.py",
    "tests/engine/test_scheduler.py",
    "tests/engine/test_names.py",
    "tests/test_cli_hostile.py",
    "tests/test_terminal.py",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).resolve().relative_to(ROOT).as_posix() in CHAOS_MODULES:
            item.add_marker(pytest.mark.chaos)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not chaos.FIGURES:
        return
    out = ROOT / "test-artifacts" / "chaos-figures.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"profile": chaos.PROFILE, "figures": chaos.FIGURES}, indent=1, default=str))
    terminalreporter.section(f"chaos figures ({chaos.PROFILE} profile; {out.relative_to(ROOT)})")
    for entry in chaos.FIGURES:
        rest = ", ".join(f"{k} {v}" for k, v in entry.items() if k != "test")
        terminalreporter.write_line(f"{entry['test']}: {rest}")
