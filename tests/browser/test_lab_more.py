"""More of %dt_runs in real browsers: text from runs never becomes HTML, Notebook 7 shows the explorer, and without
the labextension "load into cell" binds the value in the kernel and says so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import evil, flows
from tests.browser.conftest import ARTIFACTS, CELLS, JupyterServer, make_notebook, run_cell

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("more-store")
    path = tmp / "store"
    evil.fill(f"sqlite://{path}")
    flows.fill(f"sqlite://{path}", str(tmp / "flag"))
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, store: Path) -> Iterator[JupyterServer]:
    server = JupyterServer("lab", tmp_path_factory.mktemp("lab-more"), store)
    yield server
    server.stop()


def _open(page: Any, server: JupyterServer, name: str, source: str, path: str = "lab/tree") -> None:
    make_notebook(server.root / name, [source, ""])
    page.goto(server.url(f"{path}/{name}", reset=path.startswith("lab")))
    page.locator(CELLS).first.locator(".cm-content").wait_for(timeout=60_000)
    run_cell(page, 0)


def test_names_logs_errors_and_results_with_html_render_as_text(lab: JupyterServer, page: Any) -> None:
    from playwright.sync_api import expect

    _open(page, lab, "xss.ipynb", '%load_ext datatailr_jupyter\n%dt_runs "Evil <b>Flow</b>" --env dev')
    row = page.get_by_test_id("dt-run-row").first
    expect(row).to_contain_text(evil.IMG, timeout=60_000)  # the error excerpt, as text
    row.click()
    expect(page.get_by_test_id("dt-dag-node")).to_have_count(2)
    expect(page.get_by_test_id("dt-run-error")).to_contain_text(evil.SCRIPT)
    page.locator('[data-testid="dt-dag-node"][data-state="completed"]').click()
    log = page.get_by_test_id("dt-logview-stdout")
    expect(log).to_contain_text(f"plain {evil.SCRIPT} and {evil.IMG}", timeout=30_000)
    expect(log).to_contain_text("click me")
    page.get_by_test_id("dt-tab-result").click()
    expect(page.get_by_test_id("dt-result-table")).to_contain_text(evil.LINK)
    expect(page.get_by_test_id("dt-result-table")).to_contain_text(evil.SCRIPT)
    page.locator('[data-testid="dt-dag-node"][data-state="failed"]').click()
    page.get_by_test_id("dt-tab-details").click()
    expect(page.get_by_test_id("dt-task-error")).to_contain_text(f"bad {evil.IMG}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "lab_xss.png"))

    widget = page.get_by_test_id("dt-explorer")
    assert page.evaluate("window.__xss") is None
    assert widget.locator("img, script, iframe, object, embed").count() == 0
    assert widget.locator('a[href^="javascript"], [onerror], [onclick]').count() == 0


def test_notebook7_shows_the_explorer_and_a_run_dag(store: Path, tmp_path: Path, page: Any) -> None:
    from playwright.sync_api import expect

    server = JupyterServer("notebook", tmp_path, store)
    try:
        _open(
            page, server, "nb7.ipynb", '%load_ext datatailr_jupyter\n%dt_runs "Orders Report" --env prod', "notebooks"
        )
        rows = page.get_by_test_id("dt-run-row")
        expect(rows).to_have_count(4, timeout=60_000)
        rows.first.click()
        expect(page.get_by_test_id("dt-dag-node")).to_have_count(3)
        expect(page.locator('[data-testid="dt-dag-node"][data-state="failed"]')).to_have_count(1)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "nb7_explorer.png"))
    finally:
        server.stop()


def test_without_the_labextension_load_binds_the_variable_and_says_so(
    store: Path, tmp_path: Path, browser: Any
) -> None:
    from playwright.sync_api import expect

    server = JupyterServer("lab", tmp_path, store, disabled=("datatailr-jupyter-labext",))
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base)
    page = context.new_page()
    try:
        _open(page, server, "noext.ipynb", '%load_ext datatailr_jupyter\n%dt_runs "Orders Report" --env prod')
        page.get_by_test_id("dt-run-row").first.click()
        page.locator('[data-testid="dt-dag-node"][data-state="completed"]').first.click()
        page.get_by_test_id("dt-tab-result").click()
        expect(page.get_by_test_id("dt-load-cell")).to_have_text("Load into variable", timeout=30_000)
        page.get_by_test_id("dt-load-cell").click()
        expect(page.get_by_test_id("dt-load-status")).to_contain_text("load_orders", timeout=30_000)
        expect(page.locator(CELLS)).to_have_count(2)  # nothing inserted
        second = page.locator(CELLS).nth(1)
        second.locator(".cm-content").click()
        page.keyboard.type("load_orders.shape")
        run_cell(page, 1)
        expect(second.locator(".jp-OutputArea-output")).to_contain_text("(3, 2)", timeout=30_000)
        assert "load_result" in page.evaluate("navigator.clipboard.readText()")
    finally:
        context.close()
        server.stop()
