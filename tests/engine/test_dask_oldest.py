"""The Dask executor on the oldest ``distributed`` the ``[dask]`` extra allows: the executor contract suite (on a
LocalCluster and on a cluster started with the dask commands) and the streamed logs of workers apart from the
store, run in a child pytest whose ``distributed`` and ``dask`` are that release."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="the Dask tests need distributed: pip install -e '.[dask]'")

OLDEST_DISTRIBUTED = "2022.12.1"
OLDEST_DASK_DIR = Path(sys.prefix) / "dask-oldest"
"""Where ``make install-test`` puts distributed and dask 2022.12.1 (``pip install --target``), ahead of the venv's
on sys.path."""

ROOT = Path(__file__).resolve().parents[2]
SELECTION = [
    "tests/engine/test_executors.py",
    "tests/engine/test_dask.py",
    "-k",
    "dask-local or dask-cli or apart_from_the_store",
]


def oldest_env() -> dict[str, str]:
    if not OLDEST_DASK_DIR.is_dir():
        message = (
            f"distributed {OLDEST_DISTRIBUTED} is not installed in {OLDEST_DASK_DIR}; `make install-test` puts it "
            f'there (pip install --no-deps --target {OLDEST_DASK_DIR} "distributed=={OLDEST_DISTRIBUTED}" '
            f'"dask=={OLDEST_DISTRIBUTED}")'
        )
        if os.environ.get("MAKELEVEL"):  # under make (CI), the oldest release must be tested
            pytest.fail(message)
        pytest.skip(message)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST") and k != "PYTEST_CURRENT_TEST"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(OLDEST_DASK_DIR), str(ROOT), env.get("PYTHONPATH")) if p)
    env.pop("DT_EXECUTOR", None)
    return env


def test_the_dask_contract_suite_passes_on_the_oldest_distributed_allowed() -> None:
    env = oldest_env()
    probe = "import dask, distributed; print(distributed.__version__, dask.__version__)"
    versions = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert versions.stdout.split() == [OLDEST_DISTRIBUTED, OLDEST_DISTRIBUTED], versions.stderr
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-p", "no:xdist", *SELECTION],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert " passed" in summary and "skipped" not in summary and "deselected" in summary, summary
