"""Explorer benchmark: how fast %dt_runs shows the run table, big DAGs and a 1 GB log, and how big its messages are.

    .venv/bin/python -m bench.bench_explorer [--runs 1000000] [--log-mb 1024] [--reps 3]

A benchmark that prints numbers, not a test. It fills a 100-run store and a big store (bench_store's bulk load),
adds runs of 500 / 2,000 / 10,000 tasks and a task with a 1 GB ANSI-coloured log, then measures in the kernel
(request handlers: time and JSON size of each answer) and in a real JupyterLab driven by Chromium (time from
running the magic cell to the first run row, and from selecting a run to its DAG drawn).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from comm.base_comm import BaseComm
from jupyter_client.session import json_packer

from bench.bench_store import fill
from datatailr_jupyter.client import Client
from datatailr_jupyter.explorer.handlers import dispatch
from datatailr_jupyter.models import RunQuery, RunState
from datatailr_jupyter.store.codecs import encode
from datatailr_jupyter.store.protocols import NewRun, TaskSpec, TaskUpdate, VersionSpec
from datatailr_jupyter.store.sqlite import SqliteRunStore

T0 = datetime(2026, 2, 20, tzinfo=timezone.utc)


def add_dag_run(store: SqliteRunStore, n: int) -> int:
    """A completed run of ``n`` tasks in layers of ~sqrt(n), each task depending on one or two of the layer above."""
    rng = random.Random(n)
    width = max(2, int(n**0.5))
    tasks = []
    for i in range(n):
        layer_start = (i // width) * width
        above = range(max(0, layer_start - width), layer_start)
        deps = tuple(sorted(set(rng.sample(list(above), min(len(above), rng.choice((1, 2))))))) if above else ()
        tasks.append(TaskSpec(i, f"step_{i // width}_{i % width}", "flows:step", deps))
    definition = {"tasks": [{"id": t.id, "name": t.name, "dependencies": list(t.dependencies)} for t in tasks]}
    store.register_version(VersionSpec(f"Big DAG {n}", definition, f"dag-{n}"))
    run = store.create_run(NewRun(workflow=f"Big DAG {n}", env="prod", job_version=1, tasks=tuple(tasks)))
    end = T0 + timedelta(seconds=2)
    updates = [
        TaskUpdate(i, state=RunState.COMPLETED, start_time=T0, end_time=end, attempt=1, result=encode(i))
        for i in range(n)
    ]
    store.update_tasks(run.run_id, updates)
    return run.run_id


def add_log_run(store: SqliteRunStore, megabytes: int) -> int:
    """A run whose one task wrote ``megabytes`` MB of coloured log lines to stdout."""
    task = (TaskSpec(0, "chatty", "flows:chatty"),)
    store.register_version(VersionSpec("Log Giant", {"tasks": [{"id": 0, "name": "chatty"}]}, "log"))
    run = store.create_run(NewRun(workflow="Log Giant", env="prod", job_version=1, tasks=task))
    path = store.log_path(run.run_id, 0, "stdout")
    line = "\x1b[32mINFO\x1b[0m step {:09d} processed \x1b[1m1,024\x1b[0m rows from partition p={:04d}\n"
    block = "".join(line.format(i, i % 1000) for i in range(100_000)).encode()
    with path.open("ab") as fh:
        for _ in range(max(1, megabytes * 1_000_000 // len(block))):
            fh.write(block)
        fh.write(b"\x1b[31mERROR\x1b[0m the needle: partition p=0042 is corrupt\n")
    store.update_tasks(run.run_id, [TaskUpdate(0, state=RunState.COMPLETED, start_time=T0, end_time=T0)])
    return run.run_id


def kernel_side(client: Client, kind: str, payload: dict[str, Any], reps: int) -> tuple[float, int]:
    """Median milliseconds of a request handled in the kernel, and the JSON size of its answer."""
    samples, size = [], 0
    for _ in range(reps):
        started = time.perf_counter()
        response = dispatch(client, kind, payload, 1)
        samples.append((time.perf_counter() - started) * 1000)
        assert "error" not in response, response.get("error")
        size = len(json.dumps(response))
    return statistics.median(samples), size


class PackingComm(BaseComm):
    """A comm that does what ipykernel does with a message before it leaves: pack it as JSON (jupyter_client)."""

    def publish_msg(
        self, msg_type: str, data: Any = None, metadata: Any = None, buffers: Any = None, **keys: Any
    ) -> None:
        binary = sum(memoryview(b).nbytes for b in buffers or ())  # sent as they are, after the JSON
        self.packed = len(json_packer({"data": data, "comm_id": self.comm_id, **keys})) + binary


def magic_in_kernel(lines: dict[str, str], reps: int) -> dict[str, tuple[float, float, float]]:
    """Per ``%dt_runs`` line: median wall ms and CPU ms from calling the magic to its widget's first message packed
    (the explorer built, its first answers computed, the comm opened), and that message's size in bytes. Another
    explorer on each store stays open meanwhile, as in a notebook where a cell above showed one."""
    import comm

    from datatailr_jupyter.explorer.magic import dt_runs

    made = comm.create_comm
    comm.create_comm = lambda **kwargs: PackingComm(**kwargs)
    out: dict[str, tuple[float, float, float]] = {}
    try:
        for label, line in lines.items():
            keep = dt_runs(line.split(" --run ")[0] if " --run " in line else line)  # warm: the store is open
            walls, cpus, size = [], [], 0.0
            for _ in range(reps):
                wall, cpu = time.perf_counter(), time.process_time()
                widget = dt_runs(line)
                walls.append((time.perf_counter() - wall) * 1000)
                cpus.append((time.process_time() - cpu) * 1000)
                assert widget is not None and not widget.message.startswith("%"), line
                size = widget.comm.packed
                widget.close()
            keep.close()
            out[label] = (statistics.median(walls), statistics.median(cpus), size)
    finally:
        comm.create_comm = made
    return out


def get_run_split(client: Client, run_id: int, reps: int) -> dict[str, float]:
    """get-run's parts in the kernel, median ms: the store read, the columns, their JSON; and the records form
    the answer had before (one dict per task) built and dumped from the same read, with both sizes in bytes."""
    from datatailr_jupyter.explorer.handlers import MAX_TRACEBACK

    try:
        from datatailr_jupyter.explorer.getrun import arguments, task_columns
        from datatailr_jupyter.store.tasktable import task_table_of
    except ImportError:  # a package from before the task table (on PYTHONPATH, to compare): no split
        return {}

    parts: dict[str, list[float]] = {}

    def timed(name: str, fn: Any, *args: Any) -> Any:
        started = time.perf_counter()
        value = fn(*args)
        parts.setdefault(name, []).append((time.perf_counter() - started) * 1000)
        return value

    def records(tasks: Any, arguments: dict[int, Any]) -> list[dict[str, Any]]:
        out = []
        for t in tasks:
            data = t.to_dict()
            if data.get("result"):
                data["result"]["preview"] = data["result"]["sha256"] = ""
            if data.get("error") and len(data["error"]["traceback"]) > MAX_TRACEBACK:
                data["error"]["traceback"] = "…" + data["error"]["traceback"][-MAX_TRACEBACK:]
            data["arguments"] = arguments.get(t.id, {})
            out.append(data)
        return out

    def dumps(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False).encode()

    sizes: dict[str, float] = {}
    for _ in range(reps):
        table = timed("store read (task table)", task_table_of, client.store, run_id)
        args = timed("arguments (version definition)", arguments, client, table.run)
        cols = timed("columns built", task_columns, table, args)
        sizes["columns bytes"] = len(timed("columns JSON", dumps, cols))
        detail = timed("store read (get_run: a record per task)", lambda: client.run(run_id).detail)
        recs = timed("records built (the form before columns)", records, detail.tasks, args)
        sizes["records bytes"] = len(timed("records JSON (the form before columns)", dumps, recs))
    return {**{k: statistics.median(v) for k, v in parts.items()}, **sizes}


def busiest(store: SqliteRunStore) -> str:
    """The workflow of the newest prod run (so the table has rows in both stores)."""
    return store.list_runs(RunQuery(env="prod", limit=1)).runs[0].workflow


START_MARKS = (
    ("module evaluated", "data-module-at"),
    ("render", "data-render-at"),
    ("first request sent", "data-first-sent-at"),
    ("first answer", "data-first-answer-at"),
)


DAG_MARKS = (
    ("run in hand (decoded)", "data-detail-at"),
    ("layout started", "data-layout-at"),
    ("drawn", "data-drawn-at"),
)
CLICK_CLOCK = "document.addEventListener('click', (e) => { window.__dtClickAt = e.timeStamp; }, { capture: true })"
"""Keeps the page-clock time of the last click event (``Event.timeStamp`` is on ``performance.now()``'s clock)."""

LOG_MARKS = (
    ("tail requested (from click)", "data-request-at"),
    ("tail answered", "data-answer-at"),
    ("tail rendered", "data-rendered-at"),
)


def start_split(cell: Any, page_t0: float) -> dict[str, float]:
    """Milliseconds from Ctrl+Enter (page clock) to each start mark the widget leaves on its root element.

    A module evaluated before Ctrl+Enter (negative) was reused from an earlier widget of the page."""
    root = cell.get_by_test_id("dt-explorer").first  # no request at all when the state carried every answer
    found = {label: root.get_attribute(attr) for label, attr in START_MARKS}
    return {f"start: {label}": float(v) - page_t0 for label, v in found.items() if v}


FLOOR_WIDGET = """import anywidget, traitlets
class Floor(anywidget.AnyWidget):
    _esm = ("export default { render({ model, el }) { const s = document.createElement('span'); "
            "s.dataset.testid = 'floor'; s.textContent = 'shown'; el.append(s); "
            "window.__dtPing = () => new Promise((done) => { const t = performance.now(); "
            "const back = () => { model.off('msg:custom', back); done(performance.now() - t); }; "
            "model.on('msg:custom', back); model.send({ ping: t }); }); } }")
    n = traitlets.Int(0).tag(sync=True)
    def __init__(self):
        super().__init__()
        self.on_msg(lambda widget, content, buffers: widget.send(content))"""
"""A bare anywidget: its module appends a span, and ``window.__dtPing()`` times one custom message to the kernel
and back (the kernel echoes it from the shell thread), the floor of every explorer request."""


def browser_side(stores: dict[str, tuple[Path, str]], runs: dict[str, tuple[str, int]], reps: int) -> dict[str, float]:
    """Milliseconds seen by a person in JupyterLab: magic cell to first run row, and selecting a run to its DAG.

    The floor is a bare anywidget whose module only appends a span, run from a cell of the same page before each
    table: what Jupyter itself takes from Ctrl+Enter to a widget on screen on this machine at this moment."""
    from playwright.sync_api import expect, sync_playwright

    from tests.browser.conftest import CELLS, CHROMIUM, CHROMIUM_ARGS, JupyterServer, make_notebook, run_cell

    tmp = Path(tempfile.mkdtemp(prefix="bench-explorer-"))
    server = JupyterServer("lab", tmp, next(iter(stores.values()))[0])
    out: dict[str, list[float]] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            cells = ["%load_ext datatailr_jupyter\n" + FLOOR_WIDGET, "Floor()"]
            for label, (path, workflow) in stores.items():
                cells.append(f'# {label}\n%dt_runs "{workflow}" --env prod --store "{path}"')
            for label, (store_label, run_id) in runs.items():
                cells.append(f'# {label}\n%dt_runs --store "{stores[store_label][0]}" --run {run_id}')
            make_notebook(server.root / "bench.ipynb", cells)
            page.goto(server.url("lab/tree/bench.ipynb", reset=True))
            page.locator(CELLS).first.locator(".cm-content").wait_for(timeout=60_000)
            run_cell(page, 0)
            expect(page.locator(CELLS).first.locator(".jp-InputPrompt")).to_have_text("[1]:", timeout=60_000)
            for _ in range(reps):
                floor = page.locator(CELLS).nth(1)
                started = time.perf_counter()
                run_cell(page, 1)
                floor.get_by_test_id("floor").last.wait_for(timeout=60_000)
                out.setdefault("floor: a bare anywidget visible", []).append((time.perf_counter() - started) * 1000)
                for i, label in enumerate(stores, start=2):
                    cell = page.locator(CELLS).nth(i)
                    page_t0 = float(page.evaluate("performance.now()"))
                    started = time.perf_counter()
                    run_cell(page, i)
                    cell.get_by_test_id("dt-run-row").first.wait_for(timeout=60_000)
                    out.setdefault(f"table visible, {label}", []).append((time.perf_counter() - started) * 1000)
                    for part, ms in start_split(cell, page_t0).items():
                        out.setdefault(f"table, {label}: {part}", []).append(ms)
                for j, label in enumerate(runs, start=2 + len(stores)):
                    cell = page.locator(CELLS).nth(j)
                    page_t0 = float(page.evaluate("performance.now()"))
                    started = time.perf_counter()
                    run_cell(page, j)
                    dag = cell.get_by_test_id("dt-dag")
                    drawn = cell.locator('[data-testid="dt-dag-node"], [data-testid="dt-dag-canvas"]').first
                    drawn.wait_for(timeout=120_000)
                    expect(dag).to_have_attribute("data-draw-ms", re.compile(r"\d"), timeout=120_000)
                    out.setdefault(f"{label}: magic to drawn", []).append((time.perf_counter() - started) * 1000)
                    for part, ms in start_split(cell, page_t0).items():
                        out.setdefault(f"{label}: {part}", []).append(ms)
                    for part, attr in DAG_MARKS:
                        value = dag.get_attribute(attr)
                        if value:
                            out.setdefault(f"{label}: {part}", []).append(float(value) - page_t0)
                    for attr in ("data-layout-ms", "data-draw-ms"):
                        value = dag.get_attribute(attr)
                        if value:
                            out.setdefault(f"{label}: {attr[5:-3]} (in the widget)", []).append(float(value))
                    if label.startswith("log"):  # click the task: its stdout tail is the first screen
                        page.evaluate(CLICK_CLOCK)
                        page_t0 = float(page.evaluate("performance.now()"))
                        started = time.perf_counter()
                        cell.get_by_test_id("dt-dag-node").first.click()
                        expect(cell.get_by_test_id("dt-log")).to_contain_text("the needle", timeout=60_000)
                        out.setdefault(f"{label}: click task to first screen", []).append(
                            (time.perf_counter() - started) * 1000
                        )
                        shown = cell.locator('[data-testid="dt-log"][data-rendered-at]').first
                        for part, attr in LOG_MARKS:
                            value = shown.get_attribute(attr)
                            if value:
                                out.setdefault(f"{label}: {part}", []).append(float(value) - page_t0)
                        pings = [float(page.evaluate("window.__dtPing()")) for _ in range(5)]
                        out.setdefault("floor: a custom message to the kernel and back", []).append(
                            statistics.median(pings)
                        )
                        clicked, rendered = page.evaluate("window.__dtClickAt"), shown.get_attribute("data-rendered-at")
                        if clicked and rendered:  # what a person waits: the browser's click event to the lines drawn
                            out.setdefault(f"{label}: click event to last lines drawn", []).append(
                                float(rendered) - float(clicked)
                            )
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return {k: statistics.median(v) for k, v in out.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_explorer", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000, help="runs in the big store (default 1,000,000)")
    parser.add_argument("--log-mb", type=int, default=1024, help="size of the big log in MB (default 1024)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true", help="only the kernel-side measurements")
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="dt-bench-explorer-"))
    try:
        small, small_s = fill(root / "small", 100)
        big, big_s = fill(root / "big", args.runs)
        print(f"filled 100 runs in {small_s:.1f} s and {args.runs:,} runs in {big_s:.1f} s")
        shown = {id(small): busiest(small), id(big): busiest(big)}  # before the DAG and log runs are added
        dags = {n: add_dag_run(small, n) for n in (500, 2_000, 10_000)}
        started = time.perf_counter()
        log_run = add_log_run(small, args.log_mb)
        log_size = small.read_log(log_run, 0, "stdout", limit=1).size
        print(f"wrote a {log_size / 1e9:.2f} GB log in {time.perf_counter() - started:.1f} s")

        rows: list[tuple[str, float, int]] = []

        def measure(label: str, client: Client, kind: str, payload: dict[str, Any]) -> None:
            ms, size = kernel_side(client, kind, payload, args.reps)
            rows.append((label, ms, size))

        opened = {"100 runs": small, f"{args.runs:,} runs": big}
        for label, store in opened.items():
            client = Client(store)
            page: dict[str, Any] = {"workflow": shown[id(store)], "env": "prod", "limit": 25}
            measure(f"list-runs, first page of 25 ({label})", client, "list-runs", page)
            measure(f"list-workflows ({label})", client, "list-workflows", {"env": "prod"})
        client = Client(small)
        for n, run_id in dags.items():
            measure(f"get-run, {n:,} tasks", client, "get-run", {"run_id": run_id})
        log = {"run_id": log_run, "task_id": 0, "stream": "stdout"}
        measure("read-log, last 256 KB of the 1 GB log", client, "read-log", {**log, "tail": 256 * 1024})
        middle = {**log, "offset": log_size // 2, "limit": 256 * 1024}
        measure("read-log, 256 KB from the middle", client, "read-log", middle)
        measure("search-log, whole 1 GB log (substring)", client, "search-log", {**log, "pattern": "the needle"})
        measure("get-result (int)", client, "get-result", {"run_id": dags[500], "task_id": 3})

        print(f"\n{'kernel side (request handled in the kernel)':<52} {'p50 ms':>10} {'answer bytes':>14}")
        for label, ms, size in rows:
            print(f"{label:<52} {ms:>10.2f} {size:>14,}")
        lines = {f"table, {label}": f'"{shown[id(s)]}" --env prod --store "{s.path}"' for label, s in opened.items()}
        lines.update({f"run of {n:,} tasks": f'--store "{small.path}" --run {run_id}' for n, run_id in dags.items()})
        print(
            f"\n{'%dt_runs in the kernel, to its first message packed':<52} {'wall ms':>10} {'CPU ms':>8} {'bytes':>11}"
        )
        for label, (wall, cpu, size) in magic_in_kernel(lines, max(3, args.reps)).items():
            print(f"{label:<52} {wall:>10.1f} {cpu:>8.1f} {size:>11,.0f}")
        for n, run_id in dags.items():
            print(f"\nget-run of {n:,} tasks, its parts (p50 ms; bytes)")
            for part, value in get_run_split(client, run_id, args.reps).items():
                print(f"  {part:<50} {value:>10,.1f}")

        from datatailr_jupyter.explorer.widget import ESM_PATH

        plotly = ESM_PATH.parent / "plotly.js"
        print(f"\nwidget bundle (sent with every widget): {ESM_PATH.stat().st_size:,} bytes", end="")
        if plotly.exists():
            print(f"; plotly.js, sent once per page on the first chart: {plotly.stat().st_size:,} bytes")
        else:
            print("; plotly.js inside it")
        if not args.no_browser:
            stores = {"100 runs": (small.path, shown[id(small)]), f"{args.runs:,} runs": (big.path, shown[id(big)])}
            runs = {f"DAG of {n:,} tasks": ("100 runs", run_id) for n, run_id in dags.items()}
            runs[f"log of {log_size / 1e9:.1f} GB"] = ("100 runs", log_run)
            small.close()
            big.close()
            seen = browser_side(stores, runs, args.reps)
            print(f"\n{'in JupyterLab + Chromium':<52} {'p50 ms':>10}")
            for label, ms in seen.items():
                print(f"{label:<52} {ms:>10.0f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
