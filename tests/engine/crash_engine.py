"""An engine process for the crash tests: runs a 200-task workflow with results of 10 B to 2 MB, until killed."""

from __future__ import annotations

import sys
import time

import numpy as np

from datatailr_jupyter.engine import task, workflow
from datatailr_jupyter.store.registry import open_store


@task()
def produce(i, size):
    time.sleep(0.002 * (i % 7))
    return np.full(size // 8, i, dtype=np.float64) if size > 1000 else b"x" * size


@task()
def consume(*parts):
    return sum(len(p) for p in parts)


@workflow(name="Crash Target")
def crash_target():
    parts = [produce(i, 10 if i % 20 else 2_000_000).alias(f"p{i}") for i in range(180)]
    for j in range(19):
        consume(*parts[j * 9 : j * 9 + 9]).alias(f"c{j}")
    consume(*parts[::20]).alias("all")


if __name__ == "__main__":
    store = open_store(f"sqlite://{sys.argv[1]}")
    print("ready", flush=True)
    while True:
        crash_target(local_run=True, store=store, executor=sys.argv[2])
