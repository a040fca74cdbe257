"""The tutorial notebook runs top to bottom in a real kernel on a demo store made by the engine."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from datatailr_jupyter import demo

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.slow
def test_explore_runs_notebook_executes_without_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "demo-store"
    assert demo.main(["--store", str(store), "--runs", "60", "--seed", "5"]) == 0
    monkeypatch.setenv("DT_RUNS_STORE", str(store))
    monkeypatch.setenv("DT_RUNS_CONFIG", str(tmp_path / "no-config.toml"))
    notebook = nbformat.read(NOTEBOOKS / "explore_runs.ipynb", as_version=4)
    resources = {"metadata": {"path": str(tmp_path)}}
    NotebookClient(notebook, timeout=180, kernel_name="python3", resources=resources).execute()

    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    texts = json.dumps([o.get("data", {}).get("text/plain", "") for o in outputs])
    assert "242.5" in texts  # load_result of the notebook's own run
    assert "{'north': 162.0, 'south': 80.5}" in texts  # run.results of a DataFrame-consuming task
    widgets = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    shown = sorted(o["data"]["text/plain"].split(":")[0] for o in widgets)
    # the three %dt_runs cells each show an explorer; the notebook's own run shows itself as it runs
    assert shown == ["<datatailr_jupyter.Explorer"] * 3 + ["<datatailr_jupyter.RunMonitor"]
