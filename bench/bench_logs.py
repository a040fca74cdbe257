"""Logs benchmark: ``.venv/bin/python -m bench.bench_logs`` (a benchmark, not a test; prints figures and aims).

A task prints 200,000 short lines. The engine runs it with its output captured into the store's log file (warm
process pool, everything persisted); the floor runs the same function in a warm bare ProcessPoolExecutor worker
whose standard output is a plain file, so the difference is what capturing costs. Runs alternate; medians.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.aims import aim_line, load_average
from bench.bench_engine import paired
from datatailr_jupyter.engine import task, workflow
from datatailr_jupyter.models import RunState
from datatailr_jupyter.store.registry import open_store

LINES = 200_000


def chatty(lines: int) -> int:
    for i in range(lines):
        print(f"line {i} of the log")
    return lines


chatty_t = task(chatty)


def _floor_init(path: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1 << 16, encoding="utf-8", closefd=False)  # the worker's stdout for its life


def _floor_call(lines: int) -> int:
    value = chatty(lines)
    sys.stdout.flush()
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_logs", description="logs benchmark")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--lines", type=int, default=LINES)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dt-bench-logs-") as tmp:
        store = open_store(f"sqlite://{Path(tmp) / 'store'}")

        @workflow(name="Bench Logs")
        def wf() -> None:
            chatty_t(args.lines)

        handles: list[Any] = []

        def ours() -> None:
            handles.append(wf(local_run=True, store=store, executor="process"))

        ours()  # warm pool, registered version
        with cf.ProcessPoolExecutor(1, initializer=_floor_init, initargs=(str(Path(tmp) / "floor.log"),)) as pool:
            pool.submit(abs, 1).result()
            engine, floor = paired([ours, lambda: pool.submit(_floor_call, args.lines).result()], args.reps)
        for handle in handles:
            assert handle.state is RunState.COMPLETED, handle
        size = store.read_log(handles[-1].run_id, 0, "stdout", tail=1).size
        store.close()
    print(
        f"logs benchmark: a task printing {args.lines:,} lines ({size / 1e6:.1f} MB log), medians of {args.reps}, "
        f"load average {load_average()}"
    )
    floor_text = f"{floor:.3f} s (bare pool, stdout to a file)"
    print(aim_line("  run wall", f"{engine:.3f} s", engine / floor, 1.5, floor_text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
