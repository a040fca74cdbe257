"""The Charts tab loads plotly on demand in real browsers: the widget's bundle has no plotly, the first chart of a
page asks the kernel for it once, a second widget's chart reuses it, and Notebook 7 draws the same figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser import firstlook
from tests.browser.conftest import ARTIFACTS, CELLS, JupyterServer, make_notebook, run_cell

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("charts-store") / "store"
    return path, firstlook.fill(f"sqlite://{path}")


def _plotly_requests(page: Any) -> list[int]:
    """A counter of the messages the page sends to a kernel that ask for plotly's code."""
    seen: list[int] = []

    def frame(payload: Any) -> None:
        text = payload if isinstance(payload, str) else bytes(payload).decode("utf-8", "replace")
        if '"plotly-source"' in text:
            seen.append(1)

    page.on("websocket", lambda ws: ws.on("framesent", frame))
    return seen


def _chart(page: Any, explorer: Any) -> Any:
    from playwright.sync_api import expect

    explorer.get_by_test_id("dt-view-charts").click()
    chart = explorer.get_by_test_id("dt-chart")
    expect(chart).to_have_attribute("data-drawn", "timeline", timeout=60_000)
    expect(chart.locator("svg.main-svg").first).to_be_visible()
    expect(chart).to_contain_text("price_check")
    return chart


def test_plotly_is_fetched_once_per_page_and_a_second_widget_reuses_it(
    store: tuple[Path, dict[str, int]], tmp_path: Path, page: Any
) -> None:
    from playwright.sync_api import expect

    path, runs = store
    server = JupyterServer("lab", tmp_path, path)
    asked = _plotly_requests(page)
    try:
        magic = f"%dt_runs --run {runs['failed']}"
        make_notebook(server.root / "charts.ipynb", [f"%load_ext datatailr_jupyter\n{magic}", magic])
        page.goto(server.url("lab/tree/charts.ipynb", reset=True))
        page.locator(CELLS).first.locator(".cm-content").wait_for(timeout=60_000)
        run_cell(page, 0)
        run_cell(page, 1)
        explorers = page.get_by_test_id("dt-explorer")
        expect(explorers).to_have_count(2, timeout=60_000)
        first = _chart(page, explorers.nth(0))
        expect(first).to_have_attribute("data-plotly-fetches", "1")
        second = _chart(page, explorers.nth(1))
        expect(second).to_have_attribute("data-plotly-fetches", "1")
        assert len(asked) == 1
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "lab_charts_two_widgets.png"))
    finally:
        server.stop()


def test_notebook7_draws_the_timeline_chart(store: tuple[Path, dict[str, int]], tmp_path: Path, page: Any) -> None:
    path, runs = store
    server = JupyterServer("notebook", tmp_path, path)
    try:
        make_notebook(server.root / "nb7.ipynb", [f"%load_ext datatailr_jupyter\n%dt_runs --run {runs['failed']}", ""])
        page.goto(server.url("notebooks/nb7.ipynb"))
        page.locator(CELLS).first.locator(".cm-content").wait_for(timeout=60_000)
        run_cell(page, 0)
        page.get_by_test_id("dt-explorer").wait_for(timeout=60_000)
        _chart(page, page.get_by_test_id("dt-explorer"))
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "nb7_charts_timeline.png"))
    finally:
        server.stop()
