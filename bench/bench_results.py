"""Results benchmark: ``.venv/bin/python -m bench.bench_results`` (a benchmark, not a test; prints figures and aims).

A task returns a 1,000,000 x 5 float DataFrame (40 MB); the run store keeps it as an uncompressed Arrow IPC file.
Loading it back through ``Client.result`` and ``load_result`` is compared, in the same process and in turns, with
the fastest stock reader of the same data from a local file: a Feather (Arrow IPC) file written by pyarrow, read
by ``pandas.read_feather``, ``pyarrow.feather.read_feather(memory_map=True)`` or a mapped IPC reader, whichever
is fastest here. In a fresh process, ``load_result`` (interpreter start, imports, store open, load) is compared
with plain pandas reading the result's own file.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.aims import aim_line, load_average
from bench.bench_engine import big_frame, paired

ROWS = 1_000_000


def _stock_readers(path: str) -> dict[str, Callable[[], Any]]:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.feather as feather

    def mapped_ipc() -> Any:
        with pa.memory_map(path) as source:
            return pa.ipc.open_file(source).read_all().to_pandas()

    return {
        "pandas.read_feather": lambda: pd.read_feather(path),
        "pyarrow.feather.read_feather(memory_map=True)": lambda: feather.read_feather(path, memory_map=True),
        "pyarrow.ipc mapped + to_pandas": mapped_ipc,
    }


def _fresh(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_results", description="results benchmark")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--fresh-reps", type=int, default=5)
    args = parser.parse_args(argv)

    import pyarrow.feather as feather

    from datatailr_jupyter import load_result
    from datatailr_jupyter.client import Client
    from datatailr_jupyter.engine import workflow
    from datatailr_jupyter.store.registry import open_store

    with tempfile.TemporaryDirectory(prefix="dt-bench-results-") as tmp:
        url = f"sqlite://{Path(tmp) / 'store'}"
        store = open_store(url, trust=True)

        @workflow(name="Bench Results")
        def frame_wf() -> None:
            big_frame(ROWS)

        handle = frame_wf(local_run=True, store=store, executor="process")
        client = Client(store)
        meta = client.result_meta(handle.run_id, "big_frame")
        assert meta is not None
        frame = client.result(handle.run_id, "big_frame")
        assert frame.shape == (ROWS, 5)
        floor_file = str(Path(tmp) / "floor.feather")
        feather.write_feather(frame, floor_file, compression="uncompressed")
        result_file = next((Path(tmp) / "store" / "results" / str(handle.run_id)).iterdir())

        readers = _stock_readers(floor_file)
        names = list(readers)
        times = paired(
            [
                *readers.values(),
                lambda: client.result(handle.run_id, "big_frame"),
                lambda: load_result("Bench Results", run=handle.run_id, task="big_frame", store=client),
            ],
            args.reps,
        )
        floors = dict(zip(names, times[: len(names)], strict=True))
        best = min(floors, key=floors.__getitem__)
        floor = floors[best]
        ours_client, ours_load = times[len(names) :]

        load_code = (
            "from datatailr_jupyter import load_result; "
            f"df = load_result('Bench Results', run={handle.run_id}, task='big_frame', store={url!r}); "
            f"assert df.shape == ({ROWS}, 5)"
        )
        pandas_code = f"import pandas as pd; df = pd.read_feather({str(result_file)!r}); assert df.shape == ({ROWS}, 5)"
        fresh_ours: list[float] = []
        fresh_pandas: list[float] = []
        for _ in range(args.fresh_reps):
            fresh_ours.append(_fresh(load_code))
            fresh_pandas.append(_fresh(pandas_code))
        f_ours, f_pandas = statistics.median(fresh_ours), statistics.median(fresh_pandas)
        store.close()

    print(
        f"results benchmark: {ROWS:,} x 5 float DataFrame, {meta.codec} result of {meta.bytes / 1e6:.1f} MB, "
        f"medians of {args.reps} (fresh processes: {args.fresh_reps}), load average {load_average()}"
    )
    for name, seconds in floors.items():
        print(f"  stock reader {name}: {seconds * 1e3:.1f} ms{'  <- floor' if name == best else ''}")
    floor_text = f"{floor * 1e3:.1f} ms"
    print(aim_line("  Client.result", f"{ours_client * 1e3:.1f} ms", ours_client / floor, 1.3, floor_text))
    print(aim_line("  load_result (Client given)", f"{ours_load * 1e3:.1f} ms", ours_load / floor, 1.3, floor_text))
    print(
        aim_line(
            "  load_result in a fresh process, wall",
            f"{f_ours:.2f} s",
            f_ours / f_pandas,
            1.2,
            f"pandas.read_feather in a fresh process {f_pandas:.2f} s",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
