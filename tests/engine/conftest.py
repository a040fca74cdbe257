"""Fixtures of the engine tests: a real embedded store in a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from datatailr_jupyter.store.protocols import RunStore
from datatailr_jupyter.store.registry import open_store
from tests.engine.dask_clusters import dask_cli_client, dask_cli_cluster, dask_local_client  # noqa: F401


@pytest.fixture()
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture()
def store(store_dir: Path) -> Iterator[RunStore]:
    s = open_store(f"sqlite://{store_dir}", trust=True)
    yield s
    s.close()


@pytest.fixture(params=["process", "thread", "inline"])
def executor_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)
