"""Workflows for the log-cap and full-disk tests: ``python -m tests.store.disk_worker NAME EXECUTOR`` with
DT_RUNS_STORE set runs one of them and prints ``{"run_id": ..., "state": ...}`` as its last line."""

from __future__ import annotations

import json
import sys

from datatailr_jupyter.engine import task, workflow

LINE = "x" * 90


@task()
def chatty(lines: int) -> int:
    for i in range(lines):
        print(f"line {i:08d} {LINE}")
    print("the last line")
    return lines


@task()
def noisy_stderr(lines: int) -> int:
    for i in range(lines):
        print(f"err {i:08d} {LINE}", file=sys.stderr)
    print("the last error line", file=sys.stderr)
    return lines


@task()
def big_result(megabytes: int) -> object:
    import numpy as np

    return np.ones(megabytes * (1 << 20) // 8)


@task()
def small() -> int:
    print("small task ran")
    return 42


@workflow(name="Chatty")
def chatty_flow() -> None:
    chatty(22_000)  # about 2 MB
    noisy_stderr(22_000)


@workflow(name="Big Log")
def big_log_flow() -> None:
    chatty(220_000)  # about 20 MB


@workflow(name="Big Result")
def big_result_flow() -> None:
    big_result(20)


@workflow(name="Small")
def small_flow() -> None:
    small()


FLOWS = {"chatty": chatty_flow, "big-log": big_log_flow, "big-result": big_result_flow, "small": small_flow}


def main() -> None:
    name, executor = sys.argv[1], sys.argv[2]
    handle = FLOWS[name](local_run=True, executor=executor, max_workers=1)
    print(json.dumps({"run_id": handle.run_id, "state": handle.state.value}))


if __name__ == "__main__":
    main()
