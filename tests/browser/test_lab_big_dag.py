"""A 10,000-task run in a real JupyterLab: drawn on a canvas with every node inside the view after Fit, coloured by
state, and a task found by name and clicked on the canvas opens in the task panel."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from datatailr_jupyter.models import RunState
from datatailr_jupyter.store.codecs import encode
from datatailr_jupyter.store.protocols import NewRun, RunUpdate, TaskSpec, TaskUpdate, VersionSpec
from datatailr_jupyter.store.registry import open_store
from tests.browser.conftest import ARTIFACTS, CELLS, JupyterServer, make_notebook, run_cell

pytestmark = pytest.mark.browser
N = 10_000
WIDTH = 100
FAILED_EVERY = 997
COMPLETED_RGB = (0x3A, 0xCE, 0xAC)
FAILED_RGB = (0xFF, 0x43, 0x44)


def big_run(store_url: str) -> int:
    """A run of N tasks in layers of WIDTH, each depending on one or two tasks of the layer above; every
    FAILED_EVERY-th task failed, the others completed."""
    rng = random.Random(N)
    tasks = []
    for i in range(N):
        layer, slot = divmod(i, WIDTH)
        above = list(range(max(0, (layer - 1) * WIDTH), layer * WIDTH))
        deps = tuple(sorted(rng.sample(above, rng.choice((1, 2))))) if above else ()
        tasks.append(TaskSpec(i, f"part_{layer}_{slot}", "flows:part", deps))
    definition = {"tasks": [{"id": t.id, "name": t.name, "dependencies": list(t.dependencies)} for t in tasks]}
    store = open_store(store_url)
    try:
        store.register_version(VersionSpec("Big Graph", definition, "big-graph"))
        run = store.create_run(NewRun(workflow="Big Graph", env="prod", job_version=1, tasks=tuple(tasks)))
        t0 = datetime.now(timezone.utc) - timedelta(hours=1)
        end = t0 + timedelta(seconds=3)
        updates = [
            TaskUpdate(
                i,
                state=RunState.FAILED if i % FAILED_EVERY == 5 else RunState.COMPLETED,
                start_time=t0,
                end_time=end,
                attempt=1,
                result=encode(i),
            )
            for i in range(N)
        ]
        store.update_tasks(run.run_id, updates)
        store.update_run(run.run_id, RunUpdate(state=RunState.FAILED, start_time=t0, end_time=end))
        return run.run_id
    finally:
        store.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[JupyterServer, int]]:
    tmp = tmp_path_factory.mktemp("lab-big-dag")
    run_id = big_run(f"sqlite://{tmp / 'store'}")
    server = JupyterServer("lab", tmp, tmp / "store")
    yield server, run_id
    server.stop()


def _pixels(page: Any) -> dict[str, int]:
    """How many canvas pixels have the completed and the failed colour."""
    counts = page.get_by_test_id("dt-dag-canvas").evaluate(
        """(c, colours) => {
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          const out = {completed: 0, failed: 0};
          for (let i = 0; i < d.length; i += 4) {
            for (const [name, [r, g, b]] of Object.entries(colours)) {
              if (d[i] === r && d[i + 1] === g && d[i + 2] === b && d[i + 3] === 255) out[name]++;
            }
          }
          return out;
        }""",
        {"completed": COMPLETED_RGB, "failed": FAILED_RGB},
    )
    return {str(k): int(v) for k, v in counts.items()}


def test_a_10000_task_run_is_drawn_whole_in_colour_and_a_clicked_task_opens(
    lab: tuple[JupyterServer, int], page: Any
) -> None:
    from playwright.sync_api import expect

    server, run_id = lab
    make_notebook(server.root / "big.ipynb", [f"%load_ext datatailr_jupyter\n%dt_runs --run {run_id}", ""])
    page.goto(server.url("lab/tree/big.ipynb", reset=True))
    page.locator(CELLS).first.locator(".cm-content").wait_for(timeout=60_000)
    run_cell(page, 0)
    dag = page.get_by_test_id("dt-dag")
    expect(dag).to_have_attribute("data-renderer", "canvas", timeout=120_000)
    expect(dag).to_have_attribute("data-engine", "layered")
    view = page.get_by_test_id("dt-dag-view")
    page.get_by_test_id("dt-dag-fit").click()
    expect(view).to_have_attribute("data-detail", "overview")
    dag.scroll_into_view_if_needed()
    page.wait_for_timeout(200)  # the canvas repaints on the next frame
    box = view.bounding_box()
    left, top, right, bottom = (float(v) for v in (view.get_attribute("data-node-bounds") or "").split(","))
    assert box and left >= -0.5 and top >= -0.5 and right <= box["width"] + 0.5 and bottom <= box["height"] + 0.5
    ARTIFACTS.mkdir(exist_ok=True)
    dag.screenshot(path=str(ARTIFACTS / "big_dag_10000_fit.png"))
    colours = _pixels(page)
    # 10 failed tasks of 10,000: at least the 2-pixel minimum node each; the completed ones fill most of the graph
    assert colours["failed"] >= 10 * 4 and colours["completed"] > 50 * colours["failed"], colours

    failed = f"part_{(5 + 3 * FAILED_EVERY) // WIDTH}_{(5 + 3 * FAILED_EVERY) % WIDTH}"
    find = page.get_by_test_id("dt-dag-find")
    find.fill(failed)
    find.press("Enter")
    expect(page.get_by_test_id("dt-dag-find-count")).to_have_text("1 of 1")
    expect(view).not_to_have_attribute("data-detail", "overview")
    page.wait_for_timeout(200)
    box = view.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # the found task is centred
    expect(page.get_by_test_id("dt-task-title")).to_have_text(failed)
    expect(page.get_by_test_id("dt-task-state")).to_contain_text("failed")
    dag.screenshot(path=str(ARTIFACTS / "big_dag_10000_found.png"))
