"""A rerun with another version reuses results by reference even when that version numbers tasks differently."""

from __future__ import annotations

from datatailr_jupyter.engine import rerun, task, workflow
from datatailr_jupyter.models import RunState
from datatailr_jupyter.store.protocols import RunStore

CALLS: list[str] = []


@task()
def extract() -> list[int]:
    CALLS.append("extract")
    return [1, 2, 3]


@task()
def audit() -> str:
    CALLS.append("audit")
    return "ok"


@task()
def summarise(values: list[int]) -> int:
    CALLS.append("summarise")
    if len(CALLS) < 3:
        raise RuntimeError("first attempt fails")
    return sum(values)


def test_rerun_with_a_version_that_renumbers_tasks_shares_the_result_by_reference(store: RunStore) -> None:
    @workflow(name="Renumbered")
    def v1() -> None:
        summarise(extract().alias("extract")).alias("summarise")

    first = v1(local_run=True, store=store, executor="thread")
    assert first.state is RunState.FAILED

    @workflow(name="Renumbered")
    def v2() -> None:  # a new first task shifts the ids of the others
        audit().alias("audit")
        summarise(extract().alias("extract")).alias("summarise")

    CALLS.clear()
    CALLS.extend(["extract", "summarise"])  # the first run's calls; the next summarise succeeds
    second = rerun(first.run_id, version=_register(v2, store), store=store, executor="thread")
    assert second.state is RunState.COMPLETED
    detail = second.detail()
    extract_task = detail.task("extract")
    assert extract_task.id != first.detail().task("extract").id
    assert extract_task.reused_from_run == first.run_id
    assert extract_task.result is not None
    assert second.results["summarise"] == 6
    assert "extract" not in CALLS[2:]  # reused, not executed again


def _register(wf: object, store: RunStore) -> int:
    """Register a version without running it by deploying to the store; returns the version number."""
    wf(store=store)  # type: ignore[operator]
    return max(v.version for v in store.list_versions("Renumbered"))
