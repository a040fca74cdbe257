"""Fixtures for browser tests: a real `jupyter lab` / `jupyter notebook` on 127.0.0.1 and Debian chromium."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# the visible notebook only: JupyterLab keeps restored tabs in the DOM with lm-mod-hidden
CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not Path(CHROMIUM).exists():
        skip = pytest.mark.skip(reason=f"chromium not found at {CHROMIUM}; `make test` installs it with apt")
        for item in items:
            if "tests/browser" in str(item.fspath):
                item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_notebook(path: Path, cells: list[str]) -> None:
    notebook = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [], "source": src}
            for i, src in enumerate(cells)
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook))


class JupyterServer:
    """A `jupyter lab` or `jupyter notebook` process with isolated settings, serving ``root``."""

    def __init__(self, app: str, tmp: Path, store: Path, disabled: tuple[str, ...] = ()) -> None:
        self.app = app
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.root = tmp / "root"
        self.root.mkdir(parents=True)
        home = tmp / "home"
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(home / "config"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(home / "lab-settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(home / "lab-workspaces"),
            JUPYTER_PLATFORM_DIRS="1",
            PYDEVD_DISABLE_FILE_VALIDATION="1",
            DT_RUNS_STORE=str(store),
            DT_RUNS_CONFIG=str(home / "dt-config.toml"),
            DT_RUNS_TRUSTED_STORES=str(store),  # the store the tests' own runs wrote, as a user's own store is
            # kernels and their worker processes import the test workflows (tests.browser.flows)
            PYTHONPATH=os.pathsep.join(
                p for p in (str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH")) if p
            ),
        )
        labconfig = home / "config" / "labconfig"
        labconfig.mkdir(parents=True)
        disabled_map = {"@jupyterlab/apputils-extension:announcements": True, **{name: True for name in disabled}}
        (labconfig / "page_config.json").write_text(json.dumps({"disabledExtensions": disabled_map}))
        self.log_path = tmp / f"{app}.log"
        self._log = self.log_path.open("w")
        cmd = [
            sys.executable,
            "-m",
            "jupyter",
            app,
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.allow_root=True",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
        ]
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 90
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter {app} exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                raise TimeoutError(f"jupyter {app} did not start within 90 s; see {self.log_path}")
            time.sleep(0.1)

    def url(self, path: str, reset: bool = False) -> str:
        return f"{self.base}/{path.lstrip('/')}?token={self.token}" + ("&reset" if reset else "")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    logs: list[str] = []
    pg.on("console", lambda m: logs.append(f"{m.type}: {m.text}"))
    pg.on("pageerror", lambda e: logs.append(f"pageerror: {e}"))
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^\w.-]", "_", request.node.name)
    try:
        pg.screenshot(path=str(ARTIFACTS / f"{name}.final.png"))
    except Exception:  # best effort: the page may already be gone after a failure
        pass
    (ARTIFACTS / f"{name}.console.log").write_text("\n".join(logs))
    context.close()


def accept_kernel_dialog(page: Any) -> None:
    """Accept JupyterLab's "Select Kernel" dialog (its default is the notebook's own python3 kernel).

    Lab asks when a notebook's session is slow to start, as on a loaded machine; the dialog would swallow clicks."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count() and "Select Kernel" in " ".join(dialog.all_inner_texts()):
        dialog.locator(".jp-mod-accept").click()
        dialog.wait_for(state="detached", timeout=10_000)


def run_cell(page: Any, index: int, timeout_s: float = 60) -> None:
    """Ctrl+Enter on cell ``index`` until the kernel accepts it (the prompt shows [*] or [n]).

    Right after a notebook opens the kernel indicator says idle before the session exists, and a Ctrl+Enter in
    that window is dropped, so this retries until the prompt changes.
    """
    from playwright.sync_api import expect

    cell = page.locator(CELLS).nth(index)
    deadline = time.time() + timeout_s
    while True:
        accept_kernel_dialog(page)
        cell.locator(".cm-content").click()
        page.keyboard.press("Control+Enter")
        try:
            expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[(\*|\d+)\]"), timeout=1500)
            return
        except AssertionError:
            if time.time() > deadline:
                raise
