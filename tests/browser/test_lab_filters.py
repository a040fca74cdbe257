"""Paging, the environment picker and the date range of %dt_runs in JupyterLab, over an engine-made demo history."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from datatailr_jupyter import demo
from tests.browser.conftest import CELLS, JupyterServer, make_notebook, run_cell

pytestmark = pytest.mark.browser
RANGE = re.compile(r"(\d[\d,]*)–(\d[\d,]*) of (\d[\d,]*)")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    tmp = tmp_path_factory.mktemp("lab-filters")
    assert demo.main(["--store", str(tmp / "store"), "--runs", "400", "--seed", "11"]) == 0
    server = JupyterServer("lab", tmp, tmp / "store")
    yield server
    server.stop()


def _range(page: Any) -> tuple[int, int, int]:
    from playwright.sync_api import expect

    expect(page.get_by_test_id("dt-page-range")).to_have_text(RANGE, timeout=30_000)
    match = RANGE.search(page.get_by_test_id("dt-page-range").inner_text())
    assert match is not None
    first, last, total = (int(g.replace(",", "")) for g in match.groups())
    return first, last, total


def test_page_through_runs_switch_env_and_narrow_the_date_range(lab: JupyterServer, page: Any) -> None:
    from playwright.sync_api import expect

    magic = '%load_ext datatailr_jupyter\n%dt_runs "Stock Lake Hourly Compaction" --env prod'
    make_notebook(lab.root / "filters.ipynb", [magic])
    page.goto(lab.url("lab/tree/filters.ipynb", reset=True))
    page.locator(CELLS).first.locator(".cm-content").wait_for(timeout=60_000)
    run_cell(page, 0)

    rows = page.get_by_test_id("dt-run-row")
    expect(rows).to_have_count(25, timeout=60_000)
    first, last, prod_total = _range(page)
    assert (first, last) == (1, 25) and prod_total > 25
    newest = rows.first.get_attribute("data-run-id")
    page.get_by_test_id("dt-page-next").click()
    expect(page.get_by_test_id("dt-page-range")).to_contain_text("26–")
    assert rows.first.get_attribute("data-run-id") != newest
    assert int(rows.first.get_attribute("data-run-id") or 0) < int(newest or 0)  # older runs on page 2
    page.get_by_test_id("dt-page-prev").click()
    expect(rows.first).to_have_attribute("data-run-id", newest or "")

    page.get_by_test_id("dt-env").select_option("dev")
    expect(page.get_by_test_id("dt-page-range")).not_to_have_text(re.compile(rf"of {prod_total:,}$"))
    _, _, dev_total = _range(page)
    assert dev_total != prod_total
    page.get_by_test_id("dt-env").select_option("prod")
    expect(page.get_by_test_id("dt-page-range")).to_have_text(re.compile(rf"of {prod_total:,}$"))

    since = (datetime.now() - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    page.get_by_test_id("dt-start").fill(since.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_test_id("dt-start").dispatch_event("change")
    expect(page.get_by_test_id("dt-page-range")).not_to_have_text(re.compile(rf"of {prod_total:,}$"))
    _, _, recent_total = _range(page)
    assert 0 < recent_total < prod_total
    starts = [r.locator('td[data-col="start"]').inner_text() for r in rows.all()]
    assert starts and all(s >= since.strftime("%Y-%m-%d") for s in starts), starts
