"""Dask benchmark: ``.venv/bin/python -m bench.bench_dask`` (a benchmark, not a test; prints a table).

On one ``distributed.LocalCluster`` (2 worker processes, 1 thread each), in one run:
(a) the 1,000-task fan-out/fan-in of trivial tasks, run by the engine with everything persisted in a real
    SqliteRunStore (states, logs, results), against Dask's own ``client.submit`` of the same functions with
    nothing persisted;
(b) the 200-task chain, both ways.
Rounds alternate engine and bare Dask so both see the same machine load; medians of the rounds, and the median
of each round's ratio (engine / bare Dask, next to each other in time). CPU: seconds of CPU of this process (the
engine or the bare client, and the LocalCluster's scheduler, which runs in it) plus the two worker processes; it
depends less on the other load of the machine than the wall time.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.aims import aim_line, load_average
from bench.bench_engine import chain, fan, gather, leaf, seed_value
from datatailr_jupyter.models import RunState
from datatailr_jupyter.store.registry import open_store


def _worker_cpu() -> float:
    times = os.times()
    return times.user + times.system


def measured(client: Any, work: Callable[[], None]) -> tuple[float, float]:
    """Wall seconds of ``work`` and the CPU seconds it cost this process and the workers."""
    workers0 = sum(client.run(_worker_cpu).values())
    cpu0, t0 = time.process_time(), time.perf_counter()
    work()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return wall, cpu + sum(client.run(_worker_cpu).values()) - workers0


def bare_fan(client: Any, n: int) -> None:
    root = client.submit(seed_value, pure=False)
    leaves = [client.submit(leaf, root, i, pure=False) for i in range(n - 2)]
    assert client.submit(gather, *leaves, pure=False).result() == sum(1 + i for i in range(n - 2))


def bare_chain(client: Any, n: int) -> None:
    x = client.submit(seed_value, pure=False)
    for i in range(n - 1):
        x = client.submit(leaf, x, i, pure=False)
    x.result()


def engine(wf: Any, store: Any, client: Any) -> None:
    handle = wf(local_run=True, store=store, executor=client)
    assert handle.state is RunState.COMPLETED, handle.state


def main() -> None:
    from distributed import Client, LocalCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("distributed").setLevel(logging.ERROR)
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        store = open_store(f"sqlite://{Path(tmp) / 'store'}")
        fan_wf, chain_wf = fan(1000), chain(200)
        engine(fan(10), store, client)  # warm-up: workers import the package
        engine(chain(10), store, client)
        bare_fan(client, 10)
        rows: dict[str, list[tuple[float, float]]] = {
            k: [] for k in ("fan engine", "fan dask", "chain engine", "chain dask")
        }
        for _ in range(args.rounds):
            rows["fan engine"].append(measured(client, lambda: engine(fan_wf, store, client)))
            rows["fan dask"].append(measured(client, lambda: bare_fan(client, 1000)))
            rows["chain engine"].append(measured(client, lambda: engine(chain_wf, store, client)))
            rows["chain dask"].append(measured(client, lambda: bare_chain(client, 200)))
        store.close()
    med = {k: statistics.median(w for w, _ in v) for k, v in rows.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in rows.items()}
    print(f"Dask benchmark: medians of {args.rounds} rounds, load average {load_average()}")
    print(f"{'workload':<34}{'engine (persisted)':>20}{'bare Dask':>12}{'ratio':>8}{'round ratio':>13}")
    aims: list[str] = []
    for label, key, n in (("1,000-task fan-out/fan-in", "fan", 1000), ("200-task chain", "chain", 200)):
        e, d = med[f"{key} engine"], med[f"{key} dask"]
        paired = statistics.median(a[0] / b[0] for a, b in zip(rows[f"{key} engine"], rows[f"{key} dask"], strict=True))
        print(f"{label + ' (whole run)':<34}{e:>19.2f}s{d:>11.2f}s{e / d:>7.2f}x{paired:>12.2f}x")
        print(f"{'  per task':<34}{e / n * 1e3:>18.2f}ms{d / n * 1e3:>10.2f}ms")
        ce, cd = cpu[f"{key} engine"], cpu[f"{key} dask"]
        print(f"{'  CPU (client, scheduler, workers)':<34}{ce:>19.2f}s{cd:>11.2f}s{ce / cd:>7.2f}x")
        aims.append(aim_line(f"{label} on Dask", f"{e:.2f} s", e / d, 1.5, f"bare Dask {d:.2f} s"))
    print("rounds (wall, CPU):", {k: [(round(w, 2), round(c, 2)) for w, c in v] for k, v in rows.items()})
    for line in aims:
        print(f"  {line}")


if __name__ == "__main__":
    main()
