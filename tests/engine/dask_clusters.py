"""Real Dask clusters on loopback for the engine tests: a LocalCluster of worker processes, and a scheduler plus
workers started with the ``dask scheduler`` / ``dask worker`` commands (free ports, shut down at the end)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dask(*args: str) -> list[str]:
    """The ``dask`` command of this Python (``dask scheduler ...``, ``dask worker ...``)."""
    command = Path(sys.executable).with_name("dask")
    return [str(command), *args] if command.exists() else [sys.executable, "-m", "dask", *args]


@dataclass
class CliCluster:
    """``dask scheduler`` and ``dask worker`` processes on 127.0.0.1."""

    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @classmethod
    def start(cls, n_workers: int = 2, resources: str | None = None, nanny: bool = True) -> CliCluster:
        port = free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path)}
        env["DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION"] = SATURATION
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
        scheduler = subprocess.Popen(
            _dask("scheduler", "--host", "127.0.0.1", "--port", str(port), "--dashboard-address", "127.0.0.1:0"),
            **quiet,  # type: ignore[arg-type]
        )
        cluster = cls(f"tcp://127.0.0.1:{port}", scheduler)
        for i in range(n_workers):
            args = ["worker", cluster.address, "--host", "127.0.0.1", "--nthreads", "1", "--name", f"w{i}"]
            args += ["--no-dashboard"] + ([] if nanny else ["--no-nanny"])
            if resources:
                args += ["--resources", resources]
            cluster.workers.append(subprocess.Popen(_dask(*args), **quiet))  # type: ignore[call-overload]
        cluster.wait_for_workers(n_workers)
        return cluster

    def client(self) -> Any:
        from distributed import Client

        return Client(self.address, timeout=5, set_as_default=False)

    def wait_for_workers(self, n: int, timeout: float = 60) -> None:
        from distributed import Client

        deadline = time.monotonic() + timeout
        while True:
            try:
                with Client(self.address, timeout=5, set_as_default=False) as client:
                    client.wait_for_workers(n, timeout=max(1, deadline - time.monotonic()))
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*self.workers, self.scheduler]:
            try:
                proc.wait(5 if self.scheduler.poll() is None else 1)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


SATURATION = "1.0"
"""Root tasks a 1-thread worker is given at once: one, so two independent tasks always start on two idle workers
(Dask's default of 1.1 lets a worker take a second one while the other worker waits, which the timing tests of the
executor contract would read as no parallelism on a loaded machine)."""


def wait_until_idle(client: Any, timeout: float = 60) -> None:
    """Until no worker thread runs anything: a task stopped by an earlier test (Ctrl+C, a time limit) keeps its
    thread until its function returns, and the scheduler places new tasks around that busy worker."""

    def executing(dask_worker) -> int:  # type: ignore[no-untyped-def]
        return int(dask_worker.state.executing_count)

    deadline = time.monotonic() + timeout
    while any(client.run(executing).values()) and time.monotonic() < deadline:
        time.sleep(0.1)


def _require_distributed() -> None:
    pytest.importorskip("distributed", reason="the Dask tests need distributed: pip install -e '.[dask]'")


@pytest.fixture(scope="session")
def dask_local_client() -> Iterator[Any]:
    """A LocalCluster of 2 worker processes (1 thread each)."""
    _require_distributed()
    import dask
    from distributed import Client, LocalCluster

    with (
        dask.config.set({"distributed.scheduler.worker-saturation": float(SATURATION)}),
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0", host="127.0.0.1"
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client


@pytest.fixture(scope="session")
def dask_cli_cluster() -> Iterator[CliCluster]:
    """A scheduler and 2 workers started with the dask commands; the workers declare cpu=2 and memory=2 GiB."""
    _require_distributed()
    cluster = CliCluster.start(2, resources="cpu=2,memory=2147483648")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def dask_cli_client(dask_cli_cluster: CliCluster) -> Iterator[Any]:
    client = dask_cli_cluster.client()
    yield client
    client.close()
