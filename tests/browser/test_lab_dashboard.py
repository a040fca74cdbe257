"""The dashboard views of %dt_runs in a real JupyterLab: the workflows overview (a strip cell opens its run, a brush
over the heatmap sets the date range), two runs compared, the Charts tab drawing a plotly figure, the Definition
tab, and Debug in cell on a failed task inserting a cell that raises the same exception when run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from datatailr_jupyter import task, workflow
from tests.browser import firstlook, flows
from tests.browser.conftest import ARTIFACTS, CELLS, JupyterServer, make_notebook, run_cell

pytestmark = pytest.mark.browser


@task()
def add(a: int, b: int) -> int:
    return a + b


def _literal_run(store_url: str) -> int:
    """A run whose tasks take literal arguments (drawn as small nodes beside them)."""
    from datatailr_jupyter.store.registry import open_store

    @workflow(name="Literal Sums")
    def sums() -> None:
        first = add(13, 29)
        add(first, 100)

    store = open_store(store_url)
    try:
        return int(sums(local_run=True, env="prod", store=store, executor="thread").run_id)  # type: ignore[operator]
    finally:
        store.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[JupyterServer, dict[str, int]]]:
    tmp = tmp_path_factory.mktemp("lab-dashboard")
    store = tmp / "store"
    runs = firstlook.fill(f"sqlite://{store}")
    flows.fill(f"sqlite://{store}", str(tmp / "never.flag"))
    runs["literals"] = _literal_run(f"sqlite://{store}")
    server = JupyterServer("lab", tmp, store)
    yield server, runs
    server.stop()


def _open(page: Any, server: JupyterServer, name: str, magic: str, ready: str = "dt-run-row") -> Any:
    make_notebook(server.root / name, [f"%load_ext datatailr_jupyter\n{magic}", ""])
    page.goto(server.url(f"lab/tree/{name}", reset=True))
    page.locator(CELLS).first.locator(".cm-content").wait_for(timeout=60_000)
    run_cell(page, 0)
    page.get_by_test_id(ready).first.wait_for(timeout=60_000)
    dialog = page.locator(".jp-Dialog")
    if dialog.count():  # a Lab notice (seen once over a compare run) would intercept the clicks: note it, close it
        (ARTIFACTS / f"dialog_{name}.txt").write_text("\n".join(dialog.all_inner_texts()))
        page.keyboard.press("Escape")
        dialog.wait_for(state="detached", timeout=10_000)
    return page.get_by_test_id("dt-explorer")


def _shot(page: Any, name: str, target: Any = None) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    (target or page).screenshot(path=str(path))
    return path


def test_overview_lists_workflows_and_a_strip_cell_opens_that_run(
    lab: tuple[JupyterServer, dict[str, int]], page: Any
) -> None:
    from playwright.sync_api import expect

    server, runs = lab
    explorer = _open(page, server, "overview.ipynb", "%dt_runs --env prod", ready="dt-ov-row")
    expect(page.get_by_test_id("dt-runs")).to_be_hidden()
    row = page.locator('[data-testid="dt-ov-row"][data-workflow="price-check"]')
    expect(row).to_contain_text("Price Check")
    expect(page.locator('[data-testid="dt-ov-row"][data-workflow="orders-report"]')).to_contain_text("Orders Report")
    expect(page.get_by_test_id("dt-heat-cell")).to_have_count(168)
    _shot(page, "dashboard_overview.png", explorer)

    row.locator(f'[data-testid="dt-ov-run"][data-run-id="{runs["failed"]}"]').click()
    expect(page.get_by_test_id("dt-dag")).to_have_attribute("data-run-id", str(runs["failed"]), timeout=30_000)
    expect(page.get_by_test_id("dt-overview")).to_be_hidden()
    expect(page.get_by_test_id("dt-runs")).to_be_visible()
    expect(page.get_by_test_id("dt-workflow-input")).to_have_value("Price Check")
    _shot(page, "dashboard_strip_opened_run.png", explorer)


def test_a_brush_over_the_heatmap_sets_the_date_range(lab: tuple[JupyterServer, dict[str, int]], page: Any) -> None:
    from playwright.sync_api import expect

    server, _ = lab
    explorer = _open(page, server, "brush.ipynb", "%dt_runs --env prod", ready="dt-ov-row")
    expect(page.get_by_test_id("dt-start")).to_have_value("")
    cells = page.get_by_test_id("dt-heat-cell")
    first = cells.nth(24 + 8).bounding_box()  # Tuesday 08:00
    last = cells.nth(24 + 11).bounding_box()  # Tuesday 11:00
    assert first and last
    page.mouse.move(first["x"] + 4, first["y"] + 4)
    page.mouse.down()
    page.mouse.move(last["x"] + 4, last["y"] + 4, steps=6)
    page.mouse.up()
    expect(page.get_by_test_id("dt-ov-brush-note")).to_contain_text("Tue 08:00")
    expect(page.get_by_test_id("dt-start")).not_to_have_value("")
    expect(page.get_by_test_id("dt-end")).not_to_have_value("")
    expect(page.locator(".dt-heat-brushed")).to_have_count(4)
    _shot(page, "dashboard_heatmap_brush.png", explorer)


def test_two_runs_compared_task_by_task(lab: tuple[JupyterServer, dict[str, int]], page: Any) -> None:
    from playwright.sync_api import expect

    server, _ = lab
    explorer = _open(page, server, "compare.ipynb", '%dt_runs "Orders Report" --env prod')
    rows = page.get_by_test_id("dt-run-row")
    expect(rows.nth(1)).to_be_visible()
    rows.nth(0).get_by_test_id("dt-compare-pick").check()
    rows.nth(1).get_by_test_id("dt-compare-pick").check()
    page.get_by_test_id("dt-compare-go").click()
    table = page.get_by_test_id("dt-compare-table")
    expect(table).to_be_visible(timeout=60_000)
    assert page.get_by_test_id("dt-compare-row").count() >= 2
    expect(page.get_by_test_id("dt-compare-summary")).to_contain_text(re.compile(r"\d+ tasks, \d+ differ"))
    page.get_by_test_id("dt-views").scroll_into_view_if_needed()
    _shot(page, "dashboard_compare.png", explorer)


def test_the_charts_tab_draws_the_run_timeline_and_the_definition_tab_its_code(
    lab: tuple[JupyterServer, dict[str, int]], page: Any
) -> None:
    from playwright.sync_api import expect

    server, runs = lab
    explorer = _open(page, server, "charts.ipynb", f"%dt_runs --run {runs['failed']}")
    page.get_by_test_id("dt-view-charts").click()
    chart = page.get_by_test_id("dt-chart")
    expect(chart).to_have_attribute("data-drawn", "timeline", timeout=60_000)
    expect(chart.locator("svg.main-svg").first).to_be_visible()
    expect(chart).to_contain_text("price_check")
    page.get_by_test_id("dt-views").scroll_into_view_if_needed()
    _shot(page, "dashboard_charts_timeline.png", explorer)
    page.get_by_test_id("dt-chart-durations").click()
    expect(chart).to_have_attribute("data-drawn", "durations", timeout=60_000)
    _shot(page, "dashboard_charts_durations.png", explorer)

    page.get_by_test_id("dt-view-definition").click()
    task = page.locator('[data-testid="dt-definition-task"][data-task="price_check"]')
    expect(task).to_be_visible(timeout=60_000)
    task.locator("summary").click()
    expect(task.get_by_test_id("dt-definition-code")).to_contain_text("raise ZeroDivisionError")
    _shot(page, "dashboard_definition.png", explorer)


def test_debug_in_cell_on_a_failed_task_reproduces_its_exception(
    lab: tuple[JupyterServer, dict[str, int]], page: Any
) -> None:
    from playwright.sync_api import expect

    server, runs = lab
    _open(page, server, "debug.ipynb", f"%dt_runs --run {runs['failed']}")
    name = page.locator("text.dt-node-name", has_text="price_check")
    node = page.locator('[data-testid="dt-dag-node"]').filter(has=name)
    node.click()
    expect(page.get_by_test_id("dt-task-title")).to_have_text("price_check")
    page.get_by_test_id("dt-debug-cell").click()
    expect(page.get_by_test_id("dt-debug-status")).to_contain_text("Inserted a debug cell", timeout=60_000)
    inserted = page.locator(CELLS).nth(1)
    expect(inserted.locator(".cm-content")).to_contain_text("Debug task 'price_check'")
    _shot(page, "dashboard_debug_cell_inserted.png")
    run_cell(page, 1)
    expect(inserted.locator(".jp-OutputArea")).to_contain_text(
        "ZeroDivisionError: no reference price among 3 prices", timeout=60_000
    )
    inserted.scroll_into_view_if_needed()
    _shot(page, "dashboard_debug_cell_raised.png")


def test_literal_arguments_are_small_nodes_and_listed_in_details(
    lab: tuple[JupyterServer, dict[str, int]], page: Any
) -> None:
    from playwright.sync_api import expect

    server, runs = lab
    explorer = _open(page, server, "literals.ipynb", f"%dt_runs --run {runs['literals']}")
    literals = page.get_by_test_id("dt-dag-literal")
    expect(literals).to_have_count(3, timeout=30_000)
    expect(literals.first).to_contain_text("13")
    page.get_by_test_id("dt-dag-node").first.click()
    page.get_by_test_id("dt-tab-details").click()
    args = page.get_by_test_id("dt-task-arguments")
    expect(args).to_contain_text("a = 13")
    expect(args).to_contain_text("b = 29")
    # every label sits on the line of its value, in one column, on one line
    rows = (
        page.get_by_test_id("dt-details")
        .locator("dl.dt-kv")
        .evaluate(
            """dl => [...dl.querySelectorAll(':scope > dt')].map(dt => {
            const a = dt.getBoundingClientRect(), b = dt.nextElementSibling.getBoundingClientRect();
            return [dt.textContent, Math.round(a.top), Math.round(b.top), Math.round(a.left),
                    Math.round(a.height), Math.round(b.left)];
        })"""
        )
    )
    assert [r[0] for r in rows][-4:] == ["Depends on", "Arguments", "Logs", "Result"], rows
    assert all(abs(top - dd_top) <= 2 for _, top, dd_top, *_ in rows), rows
    assert len({left for *_, left, _, _ in rows}) == 1 and len({r[5] for r in rows}) == 1, rows
    assert max(r[4] for r in rows) < 2 * min(r[4] for r in rows), rows
    _shot(page, "dashboard_literal_nodes.png", explorer)
