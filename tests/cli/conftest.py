"""Fixtures of the CLI tests: a store made by a script, the installed `dt`, and a `dt serve` subprocess over it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.server.live import free_port

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent
DT = BIN / "dt"


@dataclass
class Done:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


@dataclass
class Where:
    """How to reach the store: the options every dt call gets, and the environment it runs in."""

    name: str
    options: list[str]
    env: dict[str, str]
    store_dir: Path
    first_run: int
    consumer_run: int
    url: str = ""
    token: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def dt(self, *argv: str, timeout: float = 120, options: bool = True) -> Done:
        command = [str(DT), *(self.options if options else []), *argv]
        done = subprocess.run(command, capture_output=True, text=True, env=self.env, timeout=timeout)
        assert "Traceback" not in done.stderr, done.stderr
        return Done(done.returncode, done.stdout, done.stderr)


def _env(store_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DT_RUNS_")}
    env.update(
        NO_COLOR="1", DT_RUNS_STORE=str(store_dir), DT_RUNS_TRUSTED_STORES=str(store_dir),
        DT_RUNS_CONFIG=str(store_dir.parent / "no-config.toml"), DT_EXECUTOR="thread",
    )  # fmt: skip
    return env


@pytest.fixture(scope="session")
def made_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, int]:
    assert DT.exists(), f"no dt next to {sys.executable}: install the package (make install)"
    store_dir = tmp_path_factory.mktemp("cli") / "store"
    done = subprocess.run(
        [sys.executable, str(HERE / "make_store.py"), str(store_dir)], capture_output=True, text=True,
        env=_env(store_dir), timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    first, used = (int(x) for x in done.stdout.strip().splitlines()[-1].split())
    return store_dir, first, used


@pytest.fixture(scope="session")
def local(made_store: tuple[Path, int, int]) -> Where:
    store_dir, first, used = made_store
    return Where("local", ["--store", str(store_dir)], _env(store_dir), store_dir, first, used)


@pytest.fixture(scope="session")
def remote(local: Where) -> Iterator[Where]:
    """`dt serve` in a subprocess on 127.0.0.1 over the same store, with an execute token."""
    made = local.dt("token", "create", "cli-tests", "--role", "execute")
    assert made.code == 0, made.err
    token = made.out.splitlines()[0].strip()
    port = free_port()
    env = dict(local.env)
    server = subprocess.Popen(
        [str(DT), "serve", "--store", str(local.store_dir), "--port", str(port), "--trust", "--executor", "thread",
         "--log-level", "warning"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{url}/health", timeout=1).ok:
                break
        except requests.RequestException:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            out, err = server.communicate()
            raise RuntimeError(f"dt serve did not start: {out}\n{err}")
        time.sleep(0.1)
    client_env = {k: v for k, v in env.items() if k not in ("DT_RUNS_STORE", "DT_RUNS_TRUSTED_STORES")}
    yield Where(
        "remote", ["--store", url, "--token", token], client_env, local.store_dir, local.first_run,
        local.consumer_run, url=url, token=token,
    )  # fmt: skip
    server.send_signal(signal.SIGINT)
    try:
        server.wait(15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@pytest.fixture(params=["local", "remote"])
def where(request: pytest.FixtureRequest) -> Where:
    found: Where = request.getfixturevalue(request.param)
    return found
