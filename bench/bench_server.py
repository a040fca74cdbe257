"""List-runs requests per second through HttpRunStore against ``dt serve`` on loopback, with 1 and 8 client threads:
python -m bench.bench_server [--runs 10000] [--seconds 10] [--limit 20] [--workers 1]; then the same page with
plain http.client clients in 1 and 8 processes, which measures the server alone. The 8-thread figures are printed
next to their aims (>= 1,500 requests/s, p99 <= 20 ms).

The server runs in its own process (uvicorn with the settings ``serve()`` uses; ``--workers 2`` runs two uvicorn
worker processes instead, to compare) over a SQLite store of ``--runs`` runs; the clients are threads of this
process, each with its own HttpRunStore and a read token.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

from datatailr_jupyter.models import RunQuery
from datatailr_jupyter.server import create_token
from datatailr_jupyter.store.http import HttpRunStore
from datatailr_jupyter.store.sqlite import SqliteRunStore

from .aims import aim_check, load_average
from .bench_store import fill as fill_store
from .bench_store import name


def make_app() -> Any:
    """(In a uvicorn worker.) The app of ``dt serve`` over the store named by DT_BENCH_STORE, tokens checked."""
    from datatailr_jupyter.server.app import create_app

    return create_app(SqliteRunStore(os.environ["DT_BENCH_STORE"], create=False), True)


def serve(directory: str, port: int, workers: int = 1) -> None:
    """(In the server process.) Serve the store with the settings of ``dt serve`` (and ``workers`` processes)."""
    import uvicorn

    from datatailr_jupyter.server.serve import uvicorn_config

    os.environ["DT_BENCH_STORE"] = directory
    if workers == 1:
        uvicorn.Server(uvicorn_config(make_app(), "127.0.0.1", port, log_level="warning")).run()
        return
    uvicorn.run("bench.bench_server:make_app", host="127.0.0.1", port=port, factory=True, workers=workers,
                log_level="warning", access_log=False, server_header=False, proxy_headers=False)  # fmt: skip


def wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    probe = HttpRunStore(url, attempts=0)
    deadline = time.monotonic() + 30
    while True:
        try:
            probe.health()
            return
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start") from None
            time.sleep(0.1)
        finally:
            probe.close()


def load(url: str, token: str, query: RunQuery, threads: int, seconds: float) -> tuple[float, list[float]]:
    """Requests per second and every latency (ms) of ``threads`` clients listing runs for ``seconds``."""
    latencies: list[list[float]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads + 1)
    stop = threading.Event()

    def client(i: int) -> None:
        store = HttpRunStore(url, token)
        store.list_runs(query)  # connect, warm
        start.wait()
        mine = latencies[i]
        while not stop.is_set():
            began = time.perf_counter()
            page = store.list_runs(query)
            mine.append((time.perf_counter() - began) * 1000)
            assert len(page.runs) == query.limit
        store.close()

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - began
    every = [x for mine in latencies for x in mine]
    return len(every) / elapsed, every


def _raw_client(port: int, path: str, token: str, seconds: float, out: Any) -> None:
    """(In a client process.) Keep-alive GETs with http.client for ``seconds``: (requests, latencies in ms)."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}"}
    connection.request("GET", path, headers=headers)
    connection.getresponse().read()
    latencies = []
    began = time.perf_counter()
    while time.perf_counter() - began < seconds:
        t = time.perf_counter()
        connection.request("GET", path, headers=headers)
        connection.getresponse().read()
        latencies.append((time.perf_counter() - t) * 1000)
    out.put((len(latencies) / (time.perf_counter() - began), latencies))


def load_raw(port: int, token: str, query: RunQuery, processes: int, seconds: float) -> tuple[float, list[float]]:
    """The server alone: ``processes`` client processes with http.client (no HttpRunStore, no decoding)."""
    path = "/v1/runs?" + urllib.parse.urlencode({"workflow": query.workflow, "env": query.env, "limit": query.limit})
    out: Any = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=_raw_client, args=(port, path, token, seconds, out)) for _ in
               range(processes)]  # fmt: skip
    for w in workers:
        w.start()
    results = [out.get() for _ in workers]
    for w in workers:
        w.join()
    return sum(r for r, _ in results), [x for _, lat in results for x in lat]


def report(label: str, rate: float, every: list[float]) -> tuple[float, float]:
    """Print a table row; (requests/s, p99 ms)."""
    every.sort()
    p99 = every[min(len(every) - 1, int(len(every) * 0.99))]
    print(f"| {label} | {rate:,.0f} | {statistics.median(every):.2f} ms | {p99:.2f} ms |")
    return rate, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10_000, help="runs in the store (default 10,000)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per measurement (default 10)")
    parser.add_argument("--limit", type=int, default=20, help="runs per page (default 20)")
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1, as dt serve)")
    parser.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.workers)
        return
    directory = Path(tempfile.mkdtemp(prefix="dt-bench-server-")) / "store"
    store, took = fill_store(directory, args.runs)
    token = create_token(store, "bench", "read")
    store.close()
    print(f"store of {args.runs:,} runs filled in {took:.1f} s")
    url = f"http://127.0.0.1:{args.port}"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_server", "--serve", str(directory), "--port", str(args.port), "--workers",
         str(args.workers)], env=env,
    )  # fmt: skip
    try:
        wait_up(url, process)
        query = RunQuery(workflow=name(42), env="prod", limit=args.limit)
        workers = f", {args.workers} uvicorn workers" if args.workers > 1 else ""
        print(f"list_runs, page of {args.limit} (workflow + env), {args.seconds:g} s per line{workers}")
        print("| clients | requests/s | p50 | p99 |\n|---|---:|---:|---:|")
        figures = {}
        for threads in (1, 8):
            figures[threads] = report(f"HttpRunStore, {threads} thread{'s' if threads > 1 else ''}",
                                      *load(url, token, query, threads, args.seconds))  # fmt: skip
        for processes in (1, 8):
            report(f"http.client, {processes} process{'es' if processes > 1 else ''} (server alone)",
                   *load_raw(args.port, token, query, processes, args.seconds))  # fmt: skip
        rate, p99 = figures[8]
        print(aim_check("list_runs through HttpRunStore, 8 threads:", f"{rate:,.0f} requests/s", "\u2265 1,500",
                        rate >= 1500))  # fmt: skip
        print(aim_check("p99 latency, 8 threads:", f"{p99:.1f} ms", "\u2264 20 ms", p99 <= 20))
        print(f"load average {load_average()} (2 cores shared by server and clients)")
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    main()
