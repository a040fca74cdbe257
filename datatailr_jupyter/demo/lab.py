"""Opens JupyterLab on a working copy of the tutorial notebook: ``python -m datatailr_jupyter.demo.lab --store DIR``.

The tracked notebook stays untouched: the first start copies it into ``--workdir`` and later starts reuse that
copy, so what a user runs, edits or loads into cells stays theirs. The notebook's own URL (with its token) is
printed last, once the server answers, and opened in a desktop browser when one is available.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import webbrowser
from pathlib import Path

REPO_NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "explore_runs.ipynb"


def free_port(preferred: int) -> int:
    """``preferred`` when it is free on 127.0.0.1, else any free port."""
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            chosen: int = sock.getsockname()[1]
            return chosen
    raise OSError("no free TCP port on 127.0.0.1")


def working_copy(source: Path, workdir: Path) -> tuple[Path, bool]:
    """The notebook in ``workdir``, copied from ``source`` the first time; returns (path, copied now)."""
    target = workdir / source.name
    if target.exists():
        return target, False
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target, True


def wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with code {proc.returncode} before it answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise RuntimeError(f"jupyter lab did not answer at {url} within {timeout:.0f} s")


def has_desktop_browser() -> bool:
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m datatailr_jupyter.demo.lab", description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="the run store the notebook explores (sets DT_RUNS_STORE)")
    parser.add_argument("--notebook", type=Path, default=REPO_NOTEBOOK, help="the notebook to copy")
    parser.add_argument("--workdir", type=Path, default=Path("demo-notebooks"), help="where the copy lives")
    parser.add_argument("--port", type=int, default=8888, help="preferred port (another free one if taken)")
    parser.add_argument("--no-browser", action="store_true", help="only print the URL")
    args = parser.parse_args(argv)

    root = Path.cwd()
    notebook, copied = working_copy(args.notebook, args.workdir.resolve())
    relative = notebook.relative_to(root) if notebook.is_relative_to(root) else None
    if relative is None:
        root = notebook.parent
        relative = Path(notebook.name)
    port = free_port(args.port)
    token = secrets.token_hex(24)
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.log_level=WARN",
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--ServerApp.allow_root=True")
    env = dict(os.environ, DT_RUNS_STORE=str(Path(args.store).resolve()))
    trusted = (env["DT_RUNS_STORE"], os.environ.get("DT_RUNS_TRUSTED_STORES"))  # the notebook loads its results
    env["DT_RUNS_TRUSTED_STORES"] = os.pathsep.join(p for p in trusted if p)
    proc = subprocess.Popen(command, env=env)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/api/status?token={token}", proc)
        url = f"http://127.0.0.1:{port}/lab/tree/{relative.as_posix()}?token={token}"
        opened = not args.no_browser and has_desktop_browser() and webbrowser.open_new_tab(url)
        print(
            ("\nyour copy of the tutorial: " if copied else "\nreusing your copy of the tutorial: ")
            + f"{relative} (delete it to start again from notebooks/{notebook.name})\n"
            + f"store: {env['DT_RUNS_STORE']}\n"
            + ("opened in your browser; " if opened else "")
            + "JupyterLab is ready on the notebook (Ctrl+C to stop):\n\n"
            + f"    {url}\n",
            flush=True,
        )
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    raise SystemExit(main())
