"""Live updates in a real JupyterLab: a run started by another process appears behind the new-runs marker and completes
in the table without Refresh; and while a cell of the same notebook runs a workflow (the kernel busy for its whole
run), the explorer above it follows that run: the row, its DAG and the running task's log, from the kernel's pushes."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, CELLS, JupyterServer, make_notebook, run_cell

pytestmark = pytest.mark.browser

FLOW = """
import time
from datatailr_jupyter import task, workflow

@task()
def warm_up() -> int:
    print("warming up", flush=True)
    time.sleep(STEP)
    return 1

@task()
def crunch(x: int) -> int:
    for i in range(TICKS):
        print(f"crunching {i}", flush=True)
        time.sleep(STEP)
    return x + TICKS

@workflow(name="Live Flow")
def live_flow() -> None:
    crunch(warm_up())
"""


def _flow(ticks: int, step: float, call: str) -> str:
    return f"TICKS = {ticks}\nSTEP = {step}\n{FLOW}\n{call}\n"


def _run_elsewhere(store: Path, ticks: int, step: float) -> subprocess.Popen[bytes]:
    """Run the flow in another process against the same store (threads: no worker start-up to wait for)."""
    code = _flow(ticks, step, f'live_flow(local_run=True, env="dev", store={str(store)!r}, executor="thread")')
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[JupyterServer, Path]]:
    tmp = tmp_path_factory.mktemp("lab-live")
    store = tmp / "store"
    first = _run_elsewhere(store, 1, 0.01)  # the workflow and one finished run exist before the explorer opens
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err.decode()
    server = JupyterServer("lab", tmp, store)
    yield server, store
    server.stop()


def _open(page: Any, server: JupyterServer, name: str, cells: list[str]) -> Any:
    make_notebook(server.root / name, cells)
    page.goto(server.url(f"lab/tree/{name}", reset=True))
    page.locator(CELLS).first.locator(".cm-content").wait_for(timeout=60_000)
    run_cell(page, 0)
    explorer = page.locator(CELLS).first.get_by_test_id("dt-explorer")
    explorer.get_by_test_id("dt-run-row").first.wait_for(timeout=60_000)
    return explorer


def _shot(target: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    target.screenshot(path=str(ARTIFACTS / name))


def _row_ids(explorer: Any) -> list[int]:
    return [int(i) for i in explorer.locator("tr[data-run-id]").evaluate_all("rs => rs.map(r => r.dataset.runId)")]


def test_a_run_started_elsewhere_appears_behind_the_marker_and_completes_without_refresh(
    lab: tuple[JupyterServer, Path], page: Any
) -> None:
    from playwright.sync_api import expect

    server, store = lab
    explorer = _open(page, server, "elsewhere.ipynb", ['%load_ext datatailr_jupyter\n%dt_runs "Live Flow" --env dev'])
    before = _row_ids(explorer)
    proc = _run_elsewhere(store, 4, 0.5)
    try:
        marker = explorer.get_by_test_id("dt-new-runs")
        expect(marker).to_be_visible(timeout=20_000)
        expect(marker).to_contain_text("1 new run")
        assert _row_ids(explorer) == before  # the rows under the pointer did not move
        _shot(page, "live_marker.png")
        marker.click()
        expect(marker).to_be_hidden()
        new_row = explorer.locator("tr[data-run-id]").first
        new_id = int(new_row.get_attribute("data-run-id") or 0)
        assert new_id > max(before)
        expect(new_row.locator('[data-col="state"]')).to_have_text("completed", timeout=30_000)
        _shot(explorer, "live_elsewhere_completed.png")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_explorer_follows_a_run_of_a_cell_below_while_the_kernel_is_busy(
    lab: tuple[JupyterServer, Path], page: Any
) -> None:
    from playwright.sync_api import expect

    server, _ = lab
    cells = [
        '%load_ext datatailr_jupyter\n%dt_runs "Live Flow" --env dev',
        _flow(13, 1.0, 'handle = live_flow(local_run=True, env="dev")'),
    ]
    explorer = _open(page, server, "busy.ipynb", cells)
    before = _row_ids(explorer)
    run_cell(page, 1)
    busy = page.locator(CELLS).nth(1).locator(".jp-InputPrompt")
    expect(busy).to_have_text("[*]:")

    marker = explorer.get_by_test_id("dt-new-runs")
    expect(marker).to_be_visible(timeout=20_000)
    marker.click()
    row = explorer.locator("tr[data-run-id]").first
    assert int(row.get_attribute("data-run-id") or 0) > max(before)
    expect(row.locator('[data-col="state"]')).to_have_text("running", timeout=15_000)
    row.click()

    node = explorer.locator('[data-testid="dt-dag-node"][data-state="running"]', has_text="crunch")
    expect(node).to_be_visible(timeout=15_000)
    node.click()
    log = explorer.get_by_test_id("dt-logview-stdout").get_by_test_id("dt-log")
    expect(log).to_contain_text("crunching", timeout=10_000)
    lines = log.locator(".dt-line").count()
    expect(log.locator(".dt-line")).not_to_have_count(lines, timeout=6_000)  # it grows while we look
    expect(explorer.get_by_test_id("dt-log-follow")).to_be_checked()
    assert busy.inner_text().strip() == "[*]:", "the cell ended before the explorer was seen following it"
    _shot(page, "live_busy_kernel.png")

    # an older run was never pushed: its request waits for the kernel, and the view says why
    explorer.locator(f'tr[data-run-id="{min(before)}"]').click()
    note = explorer.get_by_test_id("dt-busy-note")
    expect(note).to_have_text("the kernel is busy; this loads when the running cell finishes", timeout=5_000)
    _shot(explorer, "live_busy_note.png")
    row.click()  # back to the running run: from the pushed answers at once, and the note goes
    expect(note).to_be_hidden()
    expect(node).to_be_visible(timeout=5_000)

    expect(busy).to_have_text(re.compile(r"\[\d+\]:"), timeout=40_000)
    expect(row.locator('[data-col="state"]')).to_have_text("completed", timeout=15_000)
    explorer.locator('[data-testid="dt-dag-node"]', has_text="crunch").click()
    expect(log).to_contain_text("crunching 12", timeout=10_000)
    _shot(explorer, "live_busy_done.png")
