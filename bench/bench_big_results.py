"""Big results: peak memory of the producing worker, the engine and the consuming worker for one large array.

A workflow ``hold -> (produce -> consume)`` runs in a fresh engine process with two worker processes: ``produce``
returns a float64 array of the given size, ``consume`` reads all of it and checks it. ``hold`` occupies the first
worker while ``produce`` runs on the second, so ``consume`` (which starts on the first free worker) runs in another
process than ``produce``. Peaks are VmHWM (Linux) of each process; the engine's is given as growth over its peak
after a warm-up run.

    .venv/bin/python -m bench.bench_big_results            # 200 MB
    .venv/bin/python -m bench.bench_big_results --full     # 1.5 GB
    .venv/bin/python -m bench.bench_big_results --mb 500 [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from datatailr_jupyter.engine import task, workflow
from datatailr_jupyter.store.sqlite import SqliteRunStore

MB = 1 << 20


def peak_kb(pid: int | str = "self") -> int:
    """VmHWM of a process, in KiB (0 where /proc is missing)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


@task()
def hold(seconds):
    time.sleep(seconds)
    return os.getpid()


@task()
def produce(n):
    return np.arange(n, dtype=np.float64)


@task()
def consume(x, n):
    ok = bool(x.shape == (n,) and x.dtype == np.float64 and x[0] == 0 and x[-1] == n - 1)
    ok = ok and float(x[:: 1 << 12].sum()) == float(np.arange(0, n, 1 << 12, dtype=np.float64).sum())
    total = float(x.sum())  # reads every page
    return {"pid": os.getpid(), "peak_kb": peak_kb(), "ok": ok, "sum": total}


@workflow(name="Big Result")
def big_result(n: int = 1000, seconds: float = 0.5):
    hold(seconds)
    consume(produce(n), n)


def engine(store_dir: Path, size: int) -> dict[str, Any]:
    """Run in a fresh process: a warm-up run, then the measured one; returns the figures."""
    from datatailr_jupyter.engine.procpool import _SHARED

    store = SqliteRunStore(store_dir)
    n = size // 8
    big_result(1000, 0.05, local_run=True, store=store, executor="process", max_workers=2)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    handle = big_result(n, 0.5, local_run=True, store=store, executor="process", max_workers=2)
    wall = time.perf_counter() - t0
    engine_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    detail = handle.detail()
    assert detail.run.state.value == "completed", detail.run.error_message
    out = handle.results["consume"]
    workers = [w.proc.pid for pool in _SHARED.values() for w in pool.workers]
    producer = [p for p in workers if p != out["pid"]]
    return {
        "size_mb": size / MB,
        "wall_s": wall,
        "engine_growth_mb": (engine_peak - base) / 1024,
        "engine_peak_mb": engine_peak / 1024,
        "producer_peak_mb": max((peak_kb(p) for p in producer), default=0) / 1024,
        "consumer_peak_mb": out["peak_kb"] / 1024,
        "consumer_ok": out["ok"],
    }


def measure(size: int, directory: Path | None = None) -> dict[str, Any]:
    """The figures for one array of ``size`` bytes, from a fresh engine process."""
    with tempfile.TemporaryDirectory(prefix="dt-bench-big-", dir=directory) as tmp:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.bench_big_results", "--engine", tmp, str(size)],
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"the engine process failed:\n{proc.stderr}")
        return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=200, help="array size in MiB (default 200)")
    parser.add_argument("--full", action="store_true", help="1.5 GiB (1536 MiB)")
    parser.add_argument("--dir", type=Path, help="where the temporary store goes")
    parser.add_argument("--engine", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        print(json.dumps(engine(Path(args.engine[0]) / "store", int(args.engine[1]))))
        return
    size = int((1536 if args.full else args.mb) * MB)
    r = measure(size, args.dir)
    print(f"array {r['size_mb']:,.0f} MiB (float64)")
    size_mb = r["size_mb"]
    print(f"  producer worker peak RSS  {r['producer_peak_mb']:8,.0f} MiB  ({r['producer_peak_mb'] / size_mb:.2f}x)")
    print(f"  engine peak RSS growth    {r['engine_growth_mb']:8,.0f} MiB  (peak {r['engine_peak_mb']:,.0f} MiB)")
    print(f"  consumer worker peak RSS  {r['consumer_peak_mb']:8,.0f} MiB  ({r['consumer_peak_mb'] / size_mb:.2f}x)")
    print(f"  wall                      {r['wall_s']:8.1f} s    consumer got the right array: {r['consumer_ok']}")


if __name__ == "__main__":
    main()
