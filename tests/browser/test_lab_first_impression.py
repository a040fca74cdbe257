"""What a new user sees first in %dt_runs, in a real JupyterLab: a failed task opens on its traceback, Fit shows the
whole graph with readable labels (or an overview), the explorer fits a laptop screen, the date range is in one
ISO form with its preset lit, the rerun dialog offers the run's own version, and a None result says so."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import firstlook, flows
from tests.browser.conftest import ARTIFACTS, CELLS, JupyterServer, make_notebook, run_cell

pytestmark = pytest.mark.browser
MIN_LABEL_PX = 11


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[JupyterServer, dict[str, int]]]:
    tmp = tmp_path_factory.mktemp("lab-first")
    store = tmp / "store"
    runs = firstlook.fill(f"sqlite://{store}")
    flows.fill(f"sqlite://{store}", str(tmp / "never.flag"))
    server = JupyterServer("lab", tmp, store)
    yield server, runs
    server.stop()


def _open(page: Any, server: JupyterServer, name: str, magic: str) -> Any:
    make_notebook(server.root / name, [f"%load_ext datatailr_jupyter\n{magic}", ""])
    page.goto(server.url(f"lab/tree/{name}", reset=True))
    page.locator(CELLS).first.locator(".cm-content").wait_for(timeout=60_000)
    try:
        run_cell(page, 0)
    except Exception:
        dialog = page.locator(".jp-Dialog")
        _shot(page, f"first_open_failed_{name}.png")
        raise AssertionError(f"could not run the cell; dialog: {dialog.all_inner_texts()}") from None
    page.get_by_test_id("dt-run-row").first.wait_for(timeout=60_000)
    return page.get_by_test_id("dt-explorer")


def _shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    return path


def _node(page: Any, name: str) -> Any:
    return page.locator('[data-testid="dt-dag-node"]').filter(has=page.locator("text.dt-node-name", has_text=name))


def test_a_failed_task_opens_on_its_traceback_and_the_next_task_on_its_stdout(
    lab: tuple[JupyterServer, dict[str, int]], page: Any
) -> None:
    from playwright.sync_api import expect

    server, runs = lab
    _open(page, server, "failed.ipynb", '%dt_runs "Price Check" --env prod --since 7d')
    page.locator(f'[data-testid="dt-run-row"][data-run-id="{runs["failed"]}"]').click()
    expect(page.get_by_test_id("dt-dag-node")).to_have_count(3)

    _node(page, "price_check").click()
    expect(page.get_by_test_id("dt-tab-stderr")).to_have_attribute("aria-selected", "true")
    stderr = page.get_by_test_id("dt-logview-stderr")
    expect(stderr).to_contain_text("ZeroDivisionError: no reference price among 3 prices", timeout=30_000)
    expect(stderr).to_contain_text("Traceback")
    _shot(page, "first_failed_task.png")

    _node(page, "fetch_prices").click()  # another task: its own default, not the failed task's tab
    expect(page.get_by_test_id("dt-task-title")).to_have_text("fetch_prices")
    expect(page.get_by_test_id("dt-tab-stdout")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_test_id("dt-tab-stderr")).to_have_attribute("aria-selected", "false")
    expect(page.get_by_test_id("dt-logview-stdout")).to_contain_text("fetched 3 prices", timeout=30_000)

    page.get_by_test_id("dt-tab-details").click()  # a tab chosen by hand applies to this task only
    _node(page, "notify").click()
    expect(page.get_by_test_id("dt-task-title")).to_have_text("notify")
    expect(page.get_by_test_id("dt-tab-stdout")).to_have_attribute("aria-selected", "true")
    page.get_by_test_id("dt-tab-result").click()
    expect(page.get_by_test_id("dt-result-none")).to_have_text("The task returned None.", timeout=30_000)
    expect(page.get_by_test_id("dt-result")).not_to_contain_text("No result stored")
    expect(page.get_by_test_id("dt-load-cell")).to_have_count(0)
    _shot(page, "first_returned_none.png")


def test_since_7d_lights_its_preset_and_dates_read_and_parse_as_iso_24_hour(
    lab: tuple[JupyterServer, dict[str, int]], page: Any
) -> None:
    from playwright.sync_api import expect

    server, _ = lab
    _open(page, server, "range.ipynb", '%dt_runs "Price Check" --env prod --since 7d')
    seven = page.get_by_test_id("dt-preset-7d")
    expect(seven).to_have_attribute("aria-pressed", "true")
    for other in ("24h", "30d", "all"):
        expect(page.get_by_test_id(f"dt-preset-{other}")).to_have_attribute("aria-pressed", "false")
    style = "e => getComputedStyle(e).backgroundColor + ' ' + getComputedStyle(e).borderColor"
    assert seven.evaluate(style) != page.get_by_test_id("dt-preset-24h").evaluate(style)  # it looks active

    start = page.get_by_test_id("dt-start")
    assert start.get_attribute("type") == "text"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", start.input_value()), start.input_value()
    zone = re.compile(r"^times in (UTC|\S+ \(UTC[+-]\d\d:\d\d\)|UTC[+-]\d\d:\d\d)$")
    expect(page.get_by_test_id("dt-time-zone")).to_have_text(zone)
    row_start = page.get_by_test_id("dt-run-row").first.locator('td[data-col="start"]').inner_text()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", row_start), row_start

    start.fill("2026-13-40 25:00")
    start.press("Enter")
    error = page.get_by_test_id("dt-range-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("not a real date")
    expect(start).to_have_attribute("aria-invalid", "true")
    expect(seven).to_have_attribute("aria-pressed", "true")  # nothing was applied
    _shot(page, "first_bad_date.png")

    start.fill("2020-01-01 00:00")
    start.press("Enter")
    expect(error).to_be_hidden()
    expect(seven).to_have_attribute("aria-pressed", "false")
    page.get_by_test_id("dt-preset-30d").click()
    expect(page.get_by_test_id("dt-preset-30d")).to_have_attribute("aria-pressed", "true")


def test_the_rerun_dialog_offers_the_runs_own_version(lab: tuple[JupyterServer, dict[str, int]], page: Any) -> None:
    from playwright.sync_api import expect

    server, _ = lab
    _open(page, server, "rerun.ipynb", '%dt_runs "Orders Report" --env prod')
    row = page.locator('[data-testid="dt-run-row"]').filter(has_text="v1").first
    row.get_by_test_id("dt-rerun-button").click()
    version = page.get_by_test_id("dt-rerun-version")
    expect(version).to_be_enabled(timeout=30_000)
    expect(version).to_have_value("1")  # version 2 exists, but the run is version 1
    expect(version.locator("option:checked")).to_contain_text("this run")
    _shot(page, "first_rerun_dialog.png")
    page.get_by_test_id("dt-rerun-cancel").click()


def _labels_on_screen(page: Any) -> list[float]:
    """Screen font size (CSS px) of every task name drawn in the SVG graph."""
    sizes: list[float] = page.get_by_test_id("dt-dag-svg").evaluate(
        """svg => [...svg.querySelectorAll('text.dt-node-name')]
            .filter(t => getComputedStyle(t).display !== 'none')
            .map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)"""
    )
    return sizes


@pytest.mark.parametrize(("label", "n"), [("dag3", 3), ("dag100", 100), ("dag2000", 2000)])
def test_fit_shows_the_whole_graph_with_readable_labels_or_an_overview(
    lab: tuple[JupyterServer, dict[str, int]], page: Any, label: str, n: int
) -> None:
    from playwright.sync_api import expect

    server, runs = lab
    _open(page, server, f"fit{n}.ipynb", f"%dt_runs --run {runs[label]}")
    view = page.get_by_test_id("dt-dag-view")
    expect(view).to_have_attribute("data-detail", re.compile("."), timeout=60_000)
    for _ in range(4):  # zoom away from the fitted view, then Fit again
        page.get_by_test_id("dt-dag-zoom-in").click()
    page.get_by_test_id("dt-dag-fit").click()
    page.get_by_test_id("dt-dag").scroll_into_view_if_needed()
    box = view.bounding_box()
    assert box is not None
    if n <= 1500:
        nodes = page.get_by_test_id("dt-dag-node")
        expect(nodes).to_have_count(n)
        rects = nodes.evaluate_all(
            "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })"
        )
    else:
        bounds = [float(v) for v in (view.get_attribute("data-node-bounds") or "").split(",")]
        rects = [[box["x"] + bounds[0], box["y"] + bounds[1], box["x"] + bounds[2], box["y"] + bounds[3]]]
    left, top, right, bottom = box["x"], box["y"], box["x"] + box["width"], box["y"] + box["height"]
    outside = [r for r in rects if r[0] < left - 0.5 or r[1] < top - 0.5 or r[2] > right + 0.5 or r[3] > bottom + 0.5]
    assert not outside, f"{len(outside)} of {len(rects)} nodes outside the view {box}: {outside[:3]}"
    detail = view.get_attribute("data-detail")
    _shot(page, f"first_fit_{n}.png")
    if n <= 100:
        assert detail in ("full", "names"), detail
        sizes = _labels_on_screen(page)
        assert len(sizes) == n and min(sizes) >= MIN_LABEL_PX, (min(sizes), view.get_attribute("data-zoom"))
        expect(page.get_by_test_id("dt-dag-overview-hint")).to_be_hidden()
    else:
        assert detail == "overview"
        expect(page.get_by_test_id("dt-dag-overview-hint")).to_be_visible()
        expect(page.get_by_test_id("dt-dag-overview-hint")).to_contain_text("zoom in")
        hint, graph = page.get_by_test_id("dt-dag-overview-hint").bounding_box(), view.bounding_box()
        assert hint and graph and hint["y"] + hint["height"] <= graph["y"]  # above the graph, covering no node
    expect(page.get_by_test_id("dt-dag-status")).to_have_text("")  # no developer footer
    assert page.get_by_test_id("dt-dag").get_attribute("data-draw-ms")  # timings stay for the benchmark


@pytest.mark.parametrize("label", ["failed", "dag100"])
def test_the_explorer_fits_a_1366x768_screen_with_its_run_table(
    lab: tuple[JupyterServer, dict[str, int]], browser: Any, label: str
) -> None:
    from playwright.sync_api import expect

    server, runs = lab
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        magic = '%dt_runs "Price Check" --env prod' if label == "failed" else f"%dt_runs --run {runs[label]}"
        widget = _open(page, server, f"small-{label}.ipynb", magic)
        page.locator(f'[data-testid="dt-run-row"][data-run-id="{runs[label]}"]').click()
        expect(page.get_by_test_id("dt-dag-view")).to_have_attribute("data-detail", re.compile("."), timeout=60_000)
        if label == "failed":
            _node(page, "price_check").click()
            expect(page.get_by_test_id("dt-logview-stderr")).to_contain_text("ZeroDivisionError", timeout=30_000)
        widget.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(300)
        box = widget.bounding_box()
        assert box is not None and box["height"] <= 768, box
        # and it fits the notebook's own scrolling area (the window less JupyterLab's bars)
        area = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer").first.bounding_box()
        assert area is not None and box["height"] <= area["height"], (box, area)
        table = page.get_by_test_id("dt-runs-table")
        expect(table).to_be_visible()
        table_box = table.bounding_box()
        assert table_box is not None and 0 <= table_box["y"] and table_box["y"] + 20 <= 768, table_box
        _shot(page, f"first_1366x768_{label}.png")
    finally:
        context.close()
