"""A large upstream result reaches a worker process as the path of its file in the embedded store, also when a
rerun reuses it; small ones go as bytes."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from datatailr_jupyter.engine import ProcessExecutor, rerun, task, workflow
from datatailr_jupyter.engine.workers import Job
from datatailr_jupyter.store.protocols import RunStore


class RecordingExecutor(ProcessExecutor):
    """Process workers that note how each job's upstream values were sent: {task name: {upstream id: kind}}."""

    def __init__(self) -> None:
        super().__init__(2)
        self.kinds: dict[str, dict[int, str]] = {}

    def submit(self, job: Job) -> None:
        self.kinds[job.name] = {ref: value[0] for ref, value in job.inputs.items()}
        super().submit(job)


@pytest.fixture()
def recording() -> Iterator[RecordingExecutor]:
    ex = RecordingExecutor()
    yield ex
    ex.close()


@task()
def big():
    return np.arange(300_000, dtype=np.float64)  # 2.4 MB: a file of its own in the store


@task()
def small():
    return [1, 2, 3]


@task()
def total(x, y):
    return float(x.sum()) + sum(y)


@workflow(name="Result Files")
def result_files():
    total(big(), small())


def test_a_large_upstream_result_goes_to_a_worker_as_its_file_also_when_reused(
    store: RunStore, recording: RecordingExecutor
):
    first = result_files(local_run=True, store=store, executor=recording)
    expected = float(np.arange(300_000).sum()) + 6
    assert first.results["total"] == expected
    assert recording.kinds["total"] == {0: "file", 1: "encoded"}

    recording.kinds.clear()
    again = rerun(first.run_id, from_task="total", store=store, executor=recording)
    assert again.results["total"] == expected
    assert [t.reused_from_run for t in again.detail().tasks[:2]] == [first.run_id, first.run_id]
    assert recording.kinds == {"total": {0: "file", 1: "encoded"}}
