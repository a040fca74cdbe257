"""A workflow run in a JupyterLab cell shows its run view in the cell's output while the cell runs: the progress
line counting up, the DAG with the running task, that task's log growing, and at the end the result."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, CELLS, JupyterServer, make_notebook, run_cell

pytestmark = pytest.mark.browser

FLOW = """\
import time
from datatailr_jupyter import task, workflow

@task()
def prepare() -> int:
    for i in range(3):
        print(f"preparing part {i}", flush=True)
        time.sleep(0.5)
    return 3

@task()
def crunch(parts: int) -> float:
    total = 0.0
    for i in range(1, 9):
        print(f"chunk {i} of 8", flush=True)
        total += i * parts
        time.sleep(0.8)
    return total

@task()
def summarise(total: float) -> dict:
    time.sleep(1)
    return {"total": total, "parts": 3}

@workflow(name="Live Cell Flow")
def live_flow() -> None:
    summarise(crunch(prepare()))
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    tmp = tmp_path_factory.mktemp("lab-runview")
    server = JupyterServer("lab", tmp, tmp / "store")
    yield server
    server.stop()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def test_a_running_cell_shows_its_run_live_and_the_result_at_the_end(lab: JupyterServer, page: Any) -> None:
    from playwright.sync_api import expect

    make_notebook(lab.root / "live.ipynb", [FLOW, "live_flow(local_run=True)"])
    page.goto(lab.url("lab/tree/live.ipynb", reset=True))
    page.locator(CELLS).first.locator(".cm-content").wait_for(timeout=60_000)
    run_cell(page, 0)
    expect(page.locator(CELLS).first.locator(".jp-InputPrompt")).to_have_text("[1]:", timeout=30_000)
    cell = page.locator(CELLS).nth(1)
    run_cell(page, 1)

    view = cell.get_by_test_id("dt-runview")
    expect(view).to_be_visible(timeout=20_000)
    progress = view.get_by_test_id("dt-progress-text")
    expect(progress).to_contain_text("of 3 tasks done")
    running = view.locator('[data-testid="dt-dag-node"][data-state="running"]')
    expect(running).to_have_count(1, timeout=15_000)
    first = progress.inner_text()
    time.sleep(1.2)
    assert progress.inner_text() != first  # the time run counts up while the kernel is busy
    assert cell.locator(".jp-InputPrompt").inner_text() == "[*]:"
    _shot(page, "lab_runview_running.png")

    crunch = view.locator('[data-testid="dt-dag-node"][data-state="running"]', has_text="crunch")
    expect(crunch).to_have_count(1, timeout=10_000)
    crunch.click()
    log = view.get_by_test_id("dt-logview-stdout").get_by_test_id("dt-log")
    expect(log).to_contain_text("chunk", timeout=10_000)
    seen = len(re.findall(r"chunk \d", log.inner_text()))
    expect(log).to_contain_text(f"chunk {seen + 1} of 8", timeout=10_000)  # the log grows while the cell runs
    assert cell.locator(".jp-InputPrompt").inner_text() == "[*]:"
    _shot(page, "lab_runview_log.png")

    expect(view.get_by_test_id("dt-progress-pill")).to_have_text("completed", timeout=30_000)
    expect(progress).to_contain_text("3 of 3 tasks done · 0 running · 0 failed")
    expect(view.locator('[data-testid="dt-dag-node"][data-state="completed"]')).to_have_count(3, timeout=10_000)
    expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]:"))
    view.locator('[data-testid="dt-dag-node"]', has_text="summarise").click()
    view.get_by_test_id("dt-tab-result").click()
    expect(view.get_by_test_id("dt-task-body")).to_contain_text("total", timeout=20_000)
    expect(view.get_by_test_id("dt-task-body")).to_contain_text("108")
    _shot(page, "lab_runview_done.png")
    assert not cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count()
