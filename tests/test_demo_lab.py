"""`make demo` opens JupyterLab on a working copy of the tutorial and prints its URL last; the tracked file stays."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from datatailr_jupyter.demo.lab import REPO_NOTEBOOK, working_copy


def test_working_copy_is_made_once_and_then_kept(tmp_path: Path) -> None:
    source = tmp_path / "tutorial.ipynb"
    source.write_text('{"cells": []}')
    copy, copied = working_copy(source, tmp_path / "work")
    assert copied and copy.read_text() == source.read_text()
    copy.write_text('{"cells": ["mine"]}')
    again, copied_again = working_copy(source, tmp_path / "work")
    assert again == copy and not copied_again
    assert again.read_text() == '{"cells": ["mine"]}'  # the user's edits survive a second `make demo`


@pytest.mark.slow
def test_lab_serves_the_copy_and_prints_its_notebook_url_last(tmp_path: Path) -> None:
    tracked = REPO_NOTEBOOK.read_bytes()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"), JUPYTER_DATA_DIR=str(tmp_path / "data"))
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    command = [sys.executable, "-m", "datatailr_jupyter.demo.lab", "--store", str(tmp_path / "store")]
    command += ["--workdir", "demo-notebooks", "--no-browser", "--port", "0"]
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
            if line.strip().startswith("http://"):
                break
        url = lines[-1]
        assert url.startswith("http://127.0.0.1:") and "/lab/tree/demo-notebooks/explore_runs.ipynb?token=" in url
        assert any("Ctrl+C" in line for line in lines)
        base, token = url.split("/lab/tree/")[0], url.split("token=")[1]
        api = f"{base}/api/contents/demo-notebooks/explore_runs.ipynb?token={token}"
        with urllib.request.urlopen(api, timeout=10) as answer:
            model = json.load(answer)
        assert model["type"] == "notebook" and model["content"]["cells"]
        with urllib.request.urlopen(url, timeout=10) as page:
            assert page.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert (tmp_path / "demo-notebooks" / "explore_runs.ipynb").exists()
    assert REPO_NOTEBOOK.read_bytes() == tracked
