"""A small workflow the server tests run locally into the served store, then rerun and trigger over HTTP."""

from __future__ import annotations

from typing import Any

from datatailr_jupyter import task, workflow
from datatailr_jupyter.store.protocols import RunStore

NAME = "Server Flow"


@task()
def numbers() -> list[int]:
    print("numbers ready")
    return list(range(5))


@task()
def total(xs: list[int]) -> int:
    print(f"total of {xs}")
    return sum(xs)


@workflow(NAME)
def server_flow() -> None:
    total(numbers())


def run_once(store: RunStore, env: str = "dev") -> int:
    """Run the flow in this process into ``store`` (threads); its run id."""
    handle: Any = server_flow(local_run=True, store=store, executor="thread", env=env)
    return int(handle.run_id)
