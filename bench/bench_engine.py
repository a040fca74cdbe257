"""Engine benchmark: ``.venv/bin/python -m bench.bench_engine`` (a benchmark, not a test; prints a table).

(a) 1,000-task fan-out/fan-in of trivial tasks, everything persisted in a real SqliteRunStore, against a bare
    concurrent.futures.ProcessPoolExecutor making the same 1,000 calls with no persistence;
(b) a 200-task chain (latency per task);
(c) one task returning a 1,000,000 x 5 float DataFrame: persist time, and load back in a fresh process against
    reading the same file with pandas (bench_results.py measures loading in detail).
Pools are warm in both (a) and (b) (worker start-up is reported separately); medians of a few repetitions. Each
figure of (a) and (b) is printed next to its aim; ``--quick`` runs (a) and (b) only, with 3 repetitions.
(a) and (b) also report CPU time per task, which the machine's load moves far less than wall time: the calling
process's ``process_time`` plus its worker processes' user + system time from /proc, engine against bare pool.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.aims import aim_line, load_average
from datatailr_jupyter.engine import task, workflow
from datatailr_jupyter.models import RunState
from datatailr_jupyter.store.registry import open_store


def seed_value() -> int:
    return 1


def leaf(x: int, i: int) -> int:
    return x + i


def gather(*values: int) -> int:
    return sum(values)


root_t, leaf_t, gather_t = task(seed_value), task(leaf), task(gather)


def fan(n: int) -> Any:
    @workflow(name=f"Bench Fan {n}")
    def wf() -> None:
        r = root_t()
        gather_t(*[leaf_t(r, i) for i in range(n - 2)])

    return wf


def chain(n: int) -> Any:
    @workflow(name=f"Bench Chain {n}")
    def wf() -> None:
        x = root_t()
        for i in range(n - 1):
            x = leaf_t(x, i)

    return wf


@task()
def big_frame(rows: int) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.random((rows, 5)), columns=list("abcde"))


@task()
def big_frame_dropped(rows: int) -> None:
    big_frame.func(rows)


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def processes_cpu(pids: list[int]) -> float:
    """Seconds of CPU (user + system) the processes used so far (0 where /proc cannot say)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])
    return total / _TICK


def engine_worker_pids() -> list[int]:
    from datatailr_jupyter.engine.procpool import _SHARED

    return [w.proc.pid for pool in _SHARED.values() for w in pool.workers]


def cpu_per_task(fn: Callable[[], Any], pids: Callable[[], list[int]], tasks: int, reps: int) -> tuple[float, float]:
    """(this process's, the workers') CPU seconds per task, the mean over ``reps`` calls (/proc counts 10 ms
    ticks, so one short run says little)."""
    own0, workers0 = time.process_time(), processes_cpu(pids())
    for _ in range(reps):
        fn()
    own, workers = time.process_time() - own0, processes_cpu(pids()) - workers0
    return own / reps / tasks, workers / reps / tasks


def median_time(fn: Callable[[], Any], reps: int) -> float:
    return paired([fn], reps)[0]


def paired(fns: list[Callable[[], Any]], reps: int) -> list[float]:
    """Median seconds of each function, run in turns (so a busy moment of the machine hits all of them)."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(reps):
        for fn, out in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def bare_fan(pool: cf.ProcessPoolExecutor, n: int) -> int:
    r = pool.submit(seed_value).result()
    leaves = [pool.submit(leaf, r, i) for i in range(n - 2)]
    return pool.submit(gather, *[f.result() for f in leaves]).result()


def bare_chain(pool: cf.ProcessPoolExecutor, n: int) -> int:
    x = pool.submit(seed_value).result()
    for i in range(n - 1):
        x = pool.submit(leaf, x, i).result()
    return x


def run_ok(wf: Any, store: Any, executor: str = "process") -> Any:
    """Run and return the handle; its state is checked after the clock stops (see check_all)."""
    handle = wf(local_run=True, store=store, executor=executor)
    _handles.append(handle)
    return handle


_handles: list[Any] = []


def check_all() -> None:
    for handle in _handles:
        assert handle.state is RunState.COMPLETED, handle
    _handles.clear()


def fresh_process(code: str) -> tuple[float, float]:
    """(wall seconds of a new interpreter running ``code``, seconds ``code`` itself reported)."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_engine", description="engine benchmark")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 5; 3 with --quick)")
    parser.add_argument("--quick", action="store_true", help="(a) and (b) only, 3 repetitions")
    args = parser.parse_args(argv)
    if args.reps is None:
        args.reps = 3 if args.quick else 5
    aims: list[str] = []
    workers = os.cpu_count() or 1
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="dt-bench-") as tmp:
        store = open_store(f"sqlite://{Path(tmp) / 'store'}")
        t0 = time.perf_counter()
        run_ok(chain(2), store)  # starts the shared worker processes
        startup = time.perf_counter() - t0
        with cf.ProcessPoolExecutor(workers) as pool:
            t0 = time.perf_counter()
            list(pool.map(abs, range(workers)))
            bare_startup = time.perf_counter() - t0

            fan1000 = fan(1000)
            run_ok(fan1000, store)  # registers the version; later runs reuse it
            ours_fan, bare, ours_thread = paired(
                [
                    lambda: run_ok(fan1000, store),
                    lambda: bare_fan(pool, 1000),
                    lambda: run_ok(fan1000, store, "thread"),
                ],
                args.reps,
            )
            rows.append(
                (
                    "(a) fan-out/fan-in 1,000 tasks, process pool, persisted",
                    f"{ours_fan:.3f} s",
                    f"{ours_fan / 1000 * 1e6:.0f} µs/task",
                )
            )
            rows.append(
                (
                    "    bare ProcessPoolExecutor, same 1,000 calls, nothing persisted",
                    f"{bare:.3f} s",
                    f"ratio {ours_fan / bare:.2f}x",
                )
            )
            rows.append(
                (
                    "    same workflow, thread executor, persisted",
                    f"{ours_thread:.3f} s",
                    f"{ours_thread / 1000 * 1e6:.0f} µs/task",
                )
            )

            cpu_reps = max(5, 2 * args.reps)
            bare_pids = lambda: list(pool._processes)  # noqa: E731
            fan_cpu = cpu_per_task(lambda: run_ok(fan1000, store), engine_worker_pids, 1000, cpu_reps)
            bare_fan_cpu = cpu_per_task(lambda: bare_fan(pool, 1000), bare_pids, 1000, cpu_reps)
            rows.append(_cpu_row("    CPU per task (engine + workers / bare)", fan_cpu, bare_fan_cpu))

            chain200 = chain(200)
            run_ok(chain200, store)
            ours_chain, bare_c = paired([lambda: run_ok(chain200, store), lambda: bare_chain(pool, 200)], args.reps)
            rows.append(
                (
                    "(b) chain of 200 tasks, process pool, persisted",
                    f"{ours_chain:.3f} s",
                    f"{ours_chain / 200 * 1e3:.2f} ms/task",
                )
            )
            rows.append(
                (
                    "    bare ProcessPoolExecutor chain of 200 calls",
                    f"{bare_c:.3f} s",
                    f"{bare_c / 200 * 1e3:.2f} ms/task",
                )
            )
            chain_cpu = cpu_per_task(lambda: run_ok(chain200, store), engine_worker_pids, 200, cpu_reps)
            bare_chain_cpu = cpu_per_task(lambda: bare_chain(pool, 200), bare_pids, 200, cpu_reps)
            rows.append(_cpu_row("    CPU per task (engine + workers / bare)", chain_cpu, bare_chain_cpu))
        rows.append(("    worker start-up (engine pool / bare pool)", f"{startup:.2f} s", f"{bare_startup:.2f} s"))
        bare_fan_text = f"{bare / 1000 * 1e3:.3f} ms"
        aims.append(
            aim_line("fan-out per task", f"{ours_fan / 1000 * 1e3:.3f} ms", ours_fan / bare, 2.0, bare_fan_text)
        )
        per_link = ours_chain / 200 * 1e3
        mark = "\u2713" if per_link <= 0.3 else "\u2717"
        aims.append(
            f"chain per task {per_link:.3f} ms (aim \u2264 0.3 ms; floor {bare_c / 200 * 1e3:.3f} ms: "
            f"{per_link / (bare_c / 200 * 1e3):.2f}\u00d7 floor {mark})"
        )
        aims.append(f"worker start-up {startup:.2f} s (reported, not in the per-run figures)")
        if args.quick:
            check_all()
            store.close()
            _print(rows, aims, workers, args.reps)
            return 0

        @workflow(name="Bench Frame")
        def frame_wf() -> None:
            big_frame(1_000_000)

        @workflow(name="Bench Frame Dropped")
        def dropped_wf() -> None:
            big_frame_dropped(1_000_000)

        run_ok(frame_wf, store)
        run_ok(dropped_wf, store)
        with_result, without = paired([lambda: run_ok(frame_wf, store), lambda: run_ok(dropped_wf, store)], args.reps)
        handle = run_ok(frame_wf, store)
        meta = handle.detail().task("big_frame").result
        result_file = next((Path(tmp) / "store" / "results" / str(handle.run_id)).iterdir())
        rows.append(
            (
                "(c) 1,000,000 x 5 float DataFrame: persist (run with result - run without)",
                f"{with_result - without:.3f} s",
                f"{meta.bytes / 1e6:.1f} MB {meta.codec}" if meta else "",
            )
        )
        store_url = f"sqlite://{Path(tmp) / 'store'}"
        load_code = (
            "import time; t = time.perf_counter(); from datatailr_jupyter import load_result; "
            f"df = load_result('Bench Frame', run={handle.run_id}, task='big_frame', store={store_url!r}); "
            "assert df.shape == (1_000_000, 5); print(time.perf_counter() - t)"
        )
        reader = "read_feather" if result_file.suffix == ".arrow" else "read_parquet"
        pandas_code = (
            "import time; t = time.perf_counter(); import pandas as pd; "
            f"df = pd.{reader}({str(result_file)!r}); assert df.shape == (1_000_000, 5); print(time.perf_counter() - t)"
        )
        ours = [fresh_process(load_code) for _ in range(args.reps)]
        direct = [fresh_process(pandas_code) for _ in range(args.reps)]
        o_wall, o_in = statistics.median(w for w, _ in ours), statistics.median(i for _, i in ours)
        d_wall, d_in = statistics.median(w for w, _ in direct), statistics.median(i for _, i in direct)
        rows.append(
            ("    load_result in a fresh process (wall / after interpreter start)", f"{o_wall:.2f} s", f"{o_in:.2f} s")
        )
        rows.append((f"    pandas.{reader} of the same file, fresh process", f"{d_wall:.2f} s", f"{d_in:.2f} s"))
        check_all()
        store.close()
    _print(rows, aims, workers, args.reps)
    return 0


def _cpu_row(name: str, ours: tuple[float, float], bare: tuple[float, float]) -> tuple[str, str, str]:
    return (
        name,
        f"{ours[0] * 1e3:.3f} + {ours[1] * 1e3:.3f} ms",
        f"{bare[0] * 1e3:.3f} + {bare[1] * 1e3:.3f} ms (ratio {sum(ours) / max(sum(bare), 1e-9):.2f}x)",
    )


def _print(rows: list[tuple[str, str, str]], aims: list[str], workers: int, reps: int) -> None:
    width = max(len(r[0]) for r in rows)
    print(
        f"engine benchmark: {workers} CPUs, Python {sys.version.split()[0]}, medians of {reps}, "
        f"load average {load_average()}"
    )
    for name, a, b in rows:
        print(f"{name:<{width}}  {a:>9}  {b}")
    for line in aims:
        print(f"  {line}")


if __name__ == "__main__":
    sys.exit(main())
