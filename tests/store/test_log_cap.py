"""Task logs are capped (DT_RUNS_MAX_LOG_BYTES): the head and the latest bytes stay, with a line saying how many
bytes were left out between them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from datatailr_jupyter import connect
from datatailr_jupyter.engine.capture import DEFAULT_MAX_LOG_BYTES, CappedLog, max_log_bytes

ROOT = Path(__file__).resolve().parents[2]
OMITTED = re.compile(r"\u27e6dt\u27e7 \u2026 ([\d,]+) bytes omitted \u2026")


def split_capped(text: str) -> tuple[str, int, str]:
    """(head, omitted bytes, tail) of a capped log."""
    found = OMITTED.search(text)
    assert found, "no marker line"
    line_end = text.index("\n", found.end()) + 1
    return text[: found.start()], int(found.group(1).replace(",", "")), text[line_end:]


def test_the_cap_setting_reads_bytes_and_suffixes_and_falls_back_on_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    assert max_log_bytes("123456") == 123_456 and max_log_bytes("64K") == 65_536 and max_log_bytes("2g") == 2 << 30
    assert max_log_bytes("1_000_000") == 1_000_000 and max_log_bytes("10") == 4096  # a floor keeps logs readable
    assert max_log_bytes("lots") == DEFAULT_MAX_LOG_BYTES == 1 << 30
    monkeypatch.setenv("DT_RUNS_MAX_LOG_BYTES", "8M")
    assert max_log_bytes() == 8 << 20
    monkeypatch.delenv("DT_RUNS_MAX_LOG_BYTES")
    assert max_log_bytes() == 1 << 30


def test_a_capped_log_keeps_the_head_and_the_latest_lines_and_counts_what_it_left_out(tmp_path: Path) -> None:
    path = tmp_path / "0.stdout"
    log = CappedLog(os.open(path, os.O_RDWR | os.O_CREAT), 40_000)
    lines = [f"line {i:06d} {'y' * (i % 50)}\n".encode() for i in range(20_000)]
    peak = 0
    for line in lines:
        log.write(line)
        peak = max(peak, path.stat().st_size)
    log.close()
    written = b"".join(lines)
    head, omitted, tail = split_capped(path.read_text())
    assert peak <= 40_000 + 1000 and path.stat().st_size <= 40_000 + 1000
    assert head.startswith("line 000000") and head.endswith("\n") and 19_000 <= len(head) <= 20_000
    assert tail.endswith("line 019999 " + "y" * (19_999 % 50) + "\n") and tail.startswith("line ")
    assert len(tail) >= 10_000
    assert len(head) + omitted + len(tail) == len(written)
    assert written.startswith(head.encode()) and written.endswith(tail.encode())


def test_a_log_under_the_cap_is_untouched(tmp_path: Path) -> None:
    path = tmp_path / "0.stdout"
    log = CappedLog(os.open(path, os.O_RDWR | os.O_CREAT), 40_000)
    log.write(b"partial line")
    log.write(b" and the rest\n")
    log.close()
    assert path.read_bytes() == b"partial line and the rest\n"


@pytest.mark.parametrize("executor", ["process", "thread", "inline"])
def test_task_logs_of_every_executor_are_capped(tmp_path: Path, executor: str) -> None:
    store = tmp_path / "store"
    env = {**os.environ, "DT_RUNS_STORE": str(store), "DT_RUNS_MAX_LOG_BYTES": "200000", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.store.disk_worker", "chatty", executor],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["state"] == "completed"
    client = connect(str(store))
    try:
        for task, stream, first, last in (
            ("chatty", "stdout", "line 00000000", "the last line"),
            ("noisy_stderr", "stderr", "err 00000000", "the last error line"),
        ):
            path = store / "logs" / str(outcome["run_id"]) / f"{client.task(outcome['run_id'], task).id}.{stream}"
            assert path.stat().st_size <= 200_000 + 16_384, (task, path.stat().st_size)
            head, omitted, tail = split_capped(client.logs(outcome["run_id"], task, stream))
            assert first in head and omitted > 1_500_000 and last in tail[-300:], (task, tail[-300:])
            if stream == "stdout":
                assert "start 'chatty'" in head and "end 'chatty': completed" in tail  # the engine's lines
    finally:
        client.close()
