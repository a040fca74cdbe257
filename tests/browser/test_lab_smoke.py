"""%dt_runs in a real JupyterLab: table, DAG, a failed task's stderr and search, a DataFrame result loaded into a
new cell, and a rerun from the dialog with a chosen version that shows up nested with its reused tasks marked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, CELLS, JupyterServer, make_notebook, run_cell
from tests.browser.flows import fill

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[JupyterServer, int, Path]]:
    tmp = tmp_path_factory.mktemp("lab-smoke")
    store, flag = tmp / "store", tmp / "reconciled.flag"
    failed_run = fill(f"sqlite://{store}", str(flag))
    server = JupyterServer("lab", tmp, store)
    yield server, failed_run, flag
    server.stop()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def test_explore_a_failed_run_load_a_result_and_rerun_it_with_another_version(
    lab: tuple[JupyterServer, int, Path], page: Any
) -> None:
    from playwright.sync_api import expect

    server, failed_run, flag = lab
    make_notebook(server.root / "smoke.ipynb", ['%load_ext datatailr_jupyter\n%dt_runs "Orders Report" --env prod', ""])
    page.goto(server.url("lab/tree/smoke.ipynb", reset=True))
    page.locator(CELLS).first.locator(".cm-content").wait_for(timeout=60_000)
    run_cell(page, 0)

    rows = page.get_by_test_id("dt-run-row")
    expect(rows).to_have_count(4, timeout=60_000)  # the four prod runs of the workflow
    expect(page.get_by_test_id("dt-page-range")).to_contain_text("of 4")
    row = page.locator(f'[data-testid="dt-run-row"][data-run-id="{failed_run}"]')
    expect(row.get_by_test_id("dt-state-pill")).to_have_text("failed")
    expect(row).to_contain_text("totals not reconciled")

    row.click()
    nodes = page.get_by_test_id("dt-dag-node")
    expect(nodes).to_have_count(3)
    failed_node = page.locator('[data-testid="dt-dag-node"][data-state="failed"]')
    expect(failed_node).to_have_count(1)
    expect(page.locator('[data-testid="dt-dag-node"][data-state="did_not_run"]')).to_have_count(1)
    _shot(page, "lab_smoke_dag.png")

    failed_node.click()
    page.get_by_test_id("dt-tab-stderr").click()
    stderr = page.get_by_test_id("dt-logview-stderr")
    expect(stderr).to_contain_text("ValueError: totals not reconciled", timeout=30_000)
    page.get_by_test_id("dt-log-search").fill("flag file")
    page.get_by_test_id("dt-log-search").press("Enter")
    expect(page.get_by_test_id("dt-log-match").first).to_contain_text("flag file")
    _shot(page, "lab_smoke_logs.png")

    page.locator('[data-testid="dt-dag-node"][data-state="completed"]').first.click()
    page.get_by_test_id("dt-tab-result").click()
    expect(page.get_by_test_id("dt-result-table")).to_contain_text("north")
    expect(page.get_by_test_id("dt-result-meta")).to_contain_text("DataFrame")
    page.get_by_test_id("dt-load-cell").click()
    expect(page.locator(CELLS)).to_have_count(3)
    inserted = page.locator(CELLS).nth(1).locator(".cm-content").inner_text()
    assert "from datatailr_jupyter import load_result" in inserted
    assert re.search(
        r"load_orders = load_result\(['\"]Orders Report['\"], run=\d+, task=['\"]load_orders['\"]", inserted
    )
    run_cell(page, 1)
    cell2 = page.locator(CELLS).nth(2)
    cell2.locator(".cm-content").click()
    page.keyboard.type("float(load_orders['amount'].sum())")
    run_cell(page, 2)
    expect(cell2.locator(".jp-OutputArea-output")).to_contain_text("242.5", timeout=30_000)

    flag.write_text("ok")  # fix the failure, then rerun the failed run with version 2
    row.get_by_test_id("dt-rerun-button").click()
    dialog = page.get_by_test_id("dt-rerun-dialog")
    expect(dialog).to_be_visible()
    page.get_by_test_id("dt-rerun-version").select_option("2")
    expect(page.get_by_test_id("dt-plan-reuse")).to_contain_text("1")
    _shot(page, "lab_smoke_rerun_dialog.png")
    page.get_by_test_id("dt-rerun-confirm").click()
    expect(dialog).to_be_hidden(timeout=30_000)
    nested = page.locator(".dt-rerun-row[data-run-id]")
    expect(nested).to_have_count(1, timeout=30_000)
    expect(nested).to_contain_text("v2")
    expect(page.locator('[data-testid="dt-dag-node"].dt-reused')).to_have_count(1, timeout=30_000)
    expect(page.locator('[data-testid="dt-dag-node"][data-state="completed"]')).to_have_count(3, timeout=60_000)
    expect(nested.get_by_test_id("dt-state-pill")).to_have_text("completed", timeout=10_000)  # the row follows
    _shot(page, "lab_smoke_rerun.png")
