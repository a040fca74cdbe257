"""A small workflow for the rerun tests, importable by worker processes; a marker file makes ``transform`` fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from datatailr_jupyter import task, workflow


@task()
def extract(n: int) -> list[int]:
    return list(range(n))


@task()
def transform(rows: list[int], fail_marker: str) -> int:
    if Path(fail_marker).exists():
        raise ValueError("transform was told to fail")
    return sum(rows)


@task()
def load(total: int) -> str:
    return f"loaded {total}"


def make_pipeline(fail_marker: Path) -> Any:
    @workflow(name="Rerun Pipeline")
    def pipeline() -> None:
        load(transform(extract(10), str(fail_marker)))

    return pipeline
