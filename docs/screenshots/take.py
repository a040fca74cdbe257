"""Retakes the README's screenshots from the demo: ``.venv/bin/python docs/screenshots/take.py [--out DIR]``.

Fills a demo store (the default seed, as ``make demo`` does), starts a real JupyterLab and headless Chromium with
the browser tests' helpers (tests/browser/conftest.py), opens a notebook running ``%dt_runs "Daily Sales Report"
--env prod`` and captures, on the newest failed prod run (its report could not be published):

1. run-table-and-dag.png -- the run table, reruns nested, and the run's DAG coloured by state;
2. failed-task-stderr-search.png -- the failed task's stderr with a search over the log;
3. rerun-dialog-and-loaded-result.png -- the rerun dialog above the orders DataFrame "Load into cell" inserted;
4. rerun-nested-with-reuse.png -- the confirmed rerun nested under its run, the reused tasks drawn dashed;

then the dashboard views:

5. overview.png -- ``%dt_runs --env prod``: every workflow with its last runs, success rate and the weekly heatmap;
6. charts-timeline.png -- the Charts tab: the failed run's tasks on a timeline;
7. compare.png -- two runs compared task by task;
8. run-in-cell.png -- a workflow run in a cell (``local_run=True``) following itself in the cell's output.

Needs the test extras (Playwright) and Debian's chromium, as ``make test`` installs them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from datatailr_jupyter import connect, demo  # noqa: E402
from tests.browser.conftest import (  # noqa: E402
    CELLS,
    CHROMIUM,
    CHROMIUM_ARGS,
    JupyterServer,
    make_notebook,
    run_cell,
)

WORKFLOW = "Daily Sales Report"


def newest_failed_run(store: Path) -> int:
    client = connect(str(store))
    try:
        failed = client.runs(WORKFLOW, env="prod", states=["failed"], limit=1)
    finally:
        client.close()
    if failed.empty:
        raise SystemExit(f"the demo store {store} has no failed prod run of {WORKFLOW!r}")
    return int(failed.index[0])


def take(page: Any, lab: JupyterServer, run_id: int, out: Path) -> list[Path]:
    from playwright.sync_api import expect

    shots: list[Path] = []

    def shot(name: str) -> None:
        time.sleep(0.5)  # let transitions settle
        page.screenshot(path=str(out / name))
        shots.append(out / name)

    make_notebook(lab.root / "explore.ipynb", [f'%load_ext datatailr_jupyter\n%dt_runs "{WORKFLOW}" --env prod', ""])
    page.goto(lab.url("lab/tree/explore.ipynb", reset=True))
    page.locator(CELLS).first.locator(".cm-content").wait_for(timeout=60_000)
    run_cell(page, 0)

    row = page.locator(f'[data-testid="dt-run-row"][data-run-id="{run_id}"]')
    expect(row).to_be_visible(timeout=60_000)
    row.click()
    expect(page.get_by_test_id("dt-dag-node")).to_have_count(3, timeout=30_000)
    failed = page.locator('[data-testid="dt-dag-node"][data-state="failed"]')
    expect(failed).to_have_count(1)
    shot("run-table-and-dag.png")

    failed.click()
    page.get_by_test_id("dt-tab-stderr").click()
    expect(page.get_by_test_id("dt-logview-stderr")).to_contain_text("503 Slow Down", timeout=30_000)
    page.get_by_test_id("dt-log-search").fill("slow down")
    page.get_by_test_id("dt-log-search").press("Enter")
    expect(page.get_by_test_id("dt-log-match").first).to_be_visible(timeout=30_000)
    shot("failed-task-stderr-search.png")

    page.locator('[data-testid="dt-dag-node"]', has_text="fetch_data").first.click()
    page.get_by_test_id("dt-tab-result").click()
    expect(page.get_by_test_id("dt-result-meta")).to_contain_text("DataFrame", timeout=30_000)
    page.get_by_test_id("dt-load-cell").click()
    expect(page.locator(CELLS)).to_have_count(3, timeout=30_000)
    run_cell(page, 1)
    summary = page.locator(CELLS).nth(2)
    summary.locator(".cm-content").click()
    page.keyboard.type('fetch_data.groupby("store")["amount"].agg(["count", "sum"])')
    run_cell(page, 2)
    expect(summary.locator(".jp-OutputArea-output")).to_contain_text("north", timeout=60_000)
    row.get_by_test_id("dt-rerun-button").click()
    dialog = page.get_by_test_id("dt-rerun-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_test_id("dt-plan-reuse")).to_contain_text("2", timeout=30_000)
    shot("rerun-dialog-and-loaded-result.png")

    page.get_by_test_id("dt-rerun-confirm").click()
    expect(dialog).to_be_hidden(timeout=30_000)
    expect(page.locator('[data-testid="dt-dag-node"].dt-reused')).to_have_count(2, timeout=60_000)
    expect(page.locator('[data-testid="dt-dag-node"][data-state="completed"]')).to_have_count(3, timeout=120_000)
    page.locator(CELLS).first.scroll_into_view_if_needed()
    shot("rerun-nested-with-reuse.png")
    return shots


CELL_FLOW = """\
import time
from datatailr_jupyter import task, workflow

@task()
def extract() -> list[int]:
    print("reading 3 partitions", flush=True)
    time.sleep(1)
    return [3, 1, 4]

@task()
def transform(rows: list[int]) -> list[int]:
    for i, row in enumerate(rows):
        print(f"partition {i}: {row * 10} rows", flush=True)
        time.sleep(1.5)
    return [r * 10 for r in rows]

@task()
def load(rows: list[int]) -> int:
    time.sleep(1)
    return sum(rows)

@workflow(name="Nightly Load")
def nightly() -> None:
    load(transform(extract()))

nightly(local_run=True)"""


def take_dashboard(page: Any, lab: JupyterServer, run_id: int, out: Path) -> list[Path]:
    from playwright.sync_api import expect

    shots: list[Path] = []

    def shot(name: str, target: Any = None) -> None:
        time.sleep(0.5)
        (target or page).screenshot(path=str(out / name))
        shots.append(out / name)

    def open_cell(notebook: str, code: str) -> Any:
        make_notebook(lab.root / notebook, [f"%load_ext datatailr_jupyter\n{code}", ""])
        page.goto(lab.url(f"lab/tree/{notebook}", reset=True))
        page.locator(CELLS).first.locator(".cm-content").wait_for(timeout=60_000)
        run_cell(page, 0)
        page.keyboard.press("Escape")
        page.keyboard.press("Control+b")  # the file browser closed: the explorer gets the window's width
        return page.get_by_test_id("dt-explorer").first

    explorer = open_cell("overview.ipynb", "%dt_runs --env prod")
    expect(page.get_by_test_id("dt-ov-row").first).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("dt-heat-cell")).to_have_count(168)
    shot("overview.png", explorer)

    explorer = open_cell("charts.ipynb", f"%dt_runs --run {run_id}")
    page.get_by_test_id("dt-view-charts").click()
    chart = page.get_by_test_id("dt-chart")
    expect(chart).to_have_attribute("data-drawn", "timeline", timeout=60_000)
    chart.scroll_into_view_if_needed()
    page.mouse.wheel(0, 200)  # the run's DAG above, the chart below
    shot("charts-timeline.png")

    explorer = open_cell("compare.ipynb", f'%dt_runs "{WORKFLOW}" --env prod')
    rows = page.get_by_test_id("dt-run-row")
    expect(rows.nth(1)).to_be_visible(timeout=60_000)
    rows.nth(0).get_by_test_id("dt-compare-pick").check()
    rows.nth(1).get_by_test_id("dt-compare-pick").check()
    page.get_by_test_id("dt-compare-go").click()
    expect(page.get_by_test_id("dt-compare-table")).to_be_visible(timeout=60_000)
    page.get_by_test_id("dt-views").scroll_into_view_if_needed()
    shot("compare.png", explorer)

    make_notebook(lab.root / "run.ipynb", [CELL_FLOW])
    page.goto(lab.url("lab/tree/run.ipynb", reset=True))
    page.locator(CELLS).first.locator(".cm-content").wait_for(timeout=60_000)
    run_cell(page, 0)
    view = page.get_by_test_id("dt-runview")
    expect(view).to_be_visible(timeout=30_000)
    running = view.locator('[data-testid="dt-dag-node"][data-state="running"]', has_text="transform")
    expect(running).to_have_count(1, timeout=30_000)
    running.click()
    expect(view.get_by_test_id("dt-log")).to_contain_text("partition 1", timeout=30_000)
    view.scroll_into_view_if_needed()
    shot("run-in-cell.png")
    expect(view.get_by_test_id("dt-progress-pill")).to_have_text("completed", timeout=60_000)
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent, help="where the PNGs go")
    parser.add_argument("--runs", type=int, default=0, help="demo size (default: the full demo, as make demo)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dt-screenshots-") as tmp:
        store = Path(tmp) / "demo-store"
        demo.main(["--store", str(store), "--runs", str(args.runs)])
        run_id = newest_failed_run(store)
        lab = JupyterServer("lab", Path(tmp), store)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                try:
                    shots = take(context.new_page(), lab, run_id, args.out)
                    shots += take_dashboard(context.new_page(), lab, run_id, args.out)
                finally:
                    context.close()
                    browser.close()
        finally:
            lab.stop()
    for path in shots:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
