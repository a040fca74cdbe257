"""Reruns reuse exactly the completed upstream results, re-execute the rest, and never change the original run."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

import pytest

from datatailr_jupyter.engine import plan_rerun, rerun, task, workflow
from datatailr_jupyter.errors import TaskNotFoundError, VersionNotFoundError
from datatailr_jupyter.models import RunState, Trigger


@task()
def node(counter_dir, fail_dir, tag, *ups):
    Path(counter_dir, f"{tag}.{uuid.uuid4().hex}").touch()
    if Path(fail_dir, str(tag)).exists():
        raise RuntimeError(f"injected failure in {tag}")
    return tag + sum(ups)


@task()
def node_v2(counter_dir, fail_dir, tag, *ups):
    Path(counter_dir, f"{tag}.{uuid.uuid4().hex}").touch()
    return 1000 + tag + sum(ups)


def shape(kind: str, n: int, rng: random.Random) -> list[list[int]]:
    if kind == "chain":
        return [[i - 1] if i else [] for i in range(n)]
    if kind == "diamond":
        return [[]] + [[0] for _ in range(n - 2)] + [list(range(1, n - 1))]
    if kind == "fan-out":
        return [[]] + [[0] for _ in range(n - 1)]
    if kind == "fan-in":
        return [[] for _ in range(n - 1)] + [list(range(n - 1))]
    return [sorted(rng.sample(range(i), min(i, rng.randint(0, 3)))) for i in range(n)]


def expected_values(deps: list[list[int]]) -> dict[int, int]:
    values: dict[int, int] = {}
    for i, ds in enumerate(deps):
        values[i] = i + sum(values[d] for d in ds)
    return values


def downstream(deps: list[list[int]], start: int) -> set[int]:
    out = {start}
    for i, ds in enumerate(deps):
        if any(d in out for d in ds):
            out.add(i)
    return out


def history(store, run_id: int) -> dict:
    """Everything recorded about a run except its rerun count (which a rerun is meant to increase)."""
    data = store.get_run(run_id).to_dict()
    data["run"].pop("n_reruns")
    return data


class Harness:
    def __init__(self, tmp_path: Path, name: str, deps: list[list[int]]) -> None:
        self.counters = tmp_path / f"counters-{uuid.uuid4().hex[:6]}"
        self.fails = tmp_path / f"fails-{uuid.uuid4().hex[:6]}"
        self.counters.mkdir()
        self.fails.mkdir()
        self.deps = deps
        counters, fails = str(self.counters), str(self.fails)

        @workflow(name=name)
        def wf():
            nodes: list = []
            for i, ds in enumerate(deps):
                nodes.append(node(counters, fails, i, *[nodes[d] for d in ds]).alias(f"n{i}"))

        self.wf = wf

    def count(self, i: int) -> int:
        return len(list(self.counters.glob(f"{i}.*")))

    def counts(self) -> dict[int, int]:
        return {i: self.count(i) for i in range(len(self.deps))}

    def fail(self, i: int, on: bool = True) -> None:
        marker = self.fails / str(i)
        if on:
            marker.touch()
        else:
            marker.unlink()


CASES = [(kind, seed) for kind in ("chain", "diamond", "fan-out", "fan-in", "random") for seed in (1, 2)]


@pytest.mark.parametrize(("kind", "seed"), CASES)
def test_partial_rerun_reuses_completed_upstream_and_reexecutes_the_rest(store, tmp_path, kind, seed):
    rng = random.Random(f"{kind}-{seed}")
    deps = shape(kind, rng.randint(6, 14), rng)
    h = Harness(tmp_path, f"T6 {kind} {seed}", deps)
    failing = rng.randrange(len(deps))
    h.fail(failing)
    first = h.wf(local_run=True, store=store, executor="thread")
    hit = downstream(deps, failing)
    assert h.counts() == {i: 0 if i in hit - {failing} else 1 for i in range(len(deps))}
    assert first.state is RunState.FAILED
    before = history(store, first.run_id)

    h.fail(failing, on=False)
    plan = plan_rerun(first.run_id, store=store)
    assert {t.task_id for t in plan.tasks if t.action == "execute"} == hit
    assert {t.task_id for t in plan.tasks if t.action == "reuse"} == set(range(len(deps))) - hit

    second = rerun(first.run_id, store=store, executor="thread")
    assert second.state is RunState.COMPLETED
    assert h.counts() == {i: 2 if i == failing else 1 for i in range(len(deps))}
    values = expected_values(deps)
    assert {i: second.results[f"n{i}"] for i in range(len(deps))} == values
    detail = second.detail()
    assert detail.run.trigger is Trigger.RERUN and detail.run.partial_rerun and detail.run.rerun_of == first.run_id
    assert detail.run.original_run_id == first.run_id
    for t in detail.tasks:
        assert t.reused_from_run == (None if t.id in hit else first.run_id)
    assert history(store, first.run_id) == before, "a rerun changed the original run"
    assert store.get_run(first.run_id).run.n_reruns == 1


def test_rerun_through_process_workers_reads_reused_results_from_the_store(store, tmp_path):
    deps = shape("diamond", 6, random.Random(0))
    h = Harness(tmp_path, "T6 process", deps)
    h.fail(5)
    first = h.wf(local_run=True, store=store, executor="process")
    h.fail(5, on=False)
    second = rerun(first.run_id, store=store, executor="process")
    assert second.results["n5"] == expected_values(deps)[5]
    assert h.counts() == {0: 1, 1: 1, 2: 1, 3: 1, 4: 1, 5: 2}


def test_full_and_from_task_reruns_and_reruns_of_reruns_point_at_the_root(store, tmp_path):
    deps = shape("chain", 5, random.Random(0))
    h = Harness(tmp_path, "Rerun Family", deps)
    root = h.wf(local_run=True, store=store, executor="inline")
    assert root.state is RunState.COMPLETED

    again = rerun(root.run_id, store=store, executor="inline")
    assert h.counts() == dict.fromkeys(range(5), 1), "a partial rerun of a completed run executes nothing"
    assert all(t.reused_from_run == root.run_id for t in again.detail().tasks)

    from_three = rerun(again.run_id, from_task="n3", store=store, executor="inline")
    assert h.counts() == {0: 1, 1: 1, 2: 1, 3: 2, 4: 2}
    detail = from_three.detail()
    assert detail.run.original_run_id == root.run_id and detail.run.rerun_of == again.run_id
    assert [t.reused_from_run for t in detail.tasks] == [root.run_id] * 3 + [None, None]

    full = rerun(from_three.run_id, full=True, store=store, executor="inline")
    assert h.counts() == {0: 2, 1: 2, 2: 2, 3: 3, 4: 3}
    assert not full.detail().run.partial_rerun and full.detail().run.original_run_id == root.run_id

    last = rerun(full.run_id, store=store, executor="inline")
    assert [t.reused_from_run for t in last.detail().tasks] == [full.run_id] * 5

    with pytest.raises(TaskNotFoundError, match="'n0', 'n1'"):
        plan_rerun(root.run_id, from_task="nope", store=store)


def test_from_task_skips_failed_branches_it_does_not_need(store, tmp_path):
    deps = [[], [0], [], [2]]  # two independent chains
    h = Harness(tmp_path, "Two Chains", deps)
    h.fail(2)
    first = h.wf(local_run=True, store=store, executor="thread")
    plan = plan_rerun(first.run_id, from_task="n1", store=store)
    assert [t.action for t in plan.tasks] == ["reuse", "execute", "skip", "skip"]
    assert "not downstream of 'n1'" in plan.tasks[2].reason
    second = rerun(first.run_id, from_task=1, store=store, executor="thread")
    assert second.state is RunState.COMPLETED
    assert [t.state for t in second.detail().tasks] == [RunState.COMPLETED] * 2 + [RunState.DID_NOT_RUN] * 2


def test_rerun_with_another_version_matches_tasks_by_name_and_reruns_changed_code(store, tmp_path):
    deps = [[], [0], [1], [0]]
    v1 = Harness(tmp_path, "Versioned", deps)
    first = v1.wf(local_run=True, store=store, executor="thread")
    counters, fails = str(v1.counters), str(v1.fails)  # version 2 keeps the same literal arguments

    @workflow(name="Versioned")
    def wf_v2():
        a = node(counters, fails, 0).alias("n0")
        b = node_v2(counters, fails, 1, a).alias("n1")
        node(counters, fails, 2, b).alias("n2")
        node(counters, fails, 3, a).alias("n3")

    assert wf_v2(local_run=True, store=store, executor="thread").detail().run.job_version == 2
    counts = v1.counts()
    plan = plan_rerun(first.run_id, version=2, store=store)
    assert [(t.name, t.action) for t in plan.tasks] == [
        ("n0", "reuse"), ("n1", "execute"), ("n2", "execute"), ("n3", "reuse"),
    ]  # fmt: skip
    assert "changed between v1 and v2" in plan.tasks[1].reason
    handle = rerun(first.run_id, version=2, store=store, executor="thread")
    assert handle.detail().run.job_version == 2
    assert handle.results["n2"] == 2 + 1000 + 1 + 0
    assert v1.counts() == {0: counts[0], 1: counts[1] + 1, 2: counts[2] + 1, 3: counts[3]}

    with pytest.raises(VersionNotFoundError, match=r"no version 99; its versions are '1', '2'"):
        rerun(first.run_id, version=99, store=store)


@task()
def blob(counter_dir, tag):
    Path(counter_dir, f"blob.{uuid.uuid4().hex}").touch()
    return bytes([tag]) * 100_000  # above the inline limit: kept in a result file


@task()
def size(counter_dir, data):
    Path(counter_dir, f"size.{uuid.uuid4().hex}").touch()
    return len(data)


def test_a_result_whose_file_is_gone_is_reexecuted_and_the_plan_says_why(store, tmp_path):
    counters = tmp_path / "counters"
    counters.mkdir()

    @workflow(name="Lost Bytes")
    def wf():
        size(str(counters), blob(str(counters), 7))

    first = wf(local_run=True, store=store, executor="inline")
    assert first.state is RunState.COMPLETED
    assert [t.action for t in plan_rerun(first.run_id, store=store).tasks] == ["reuse", "reuse"]
    for path in (store.path / "results" / str(first.run_id)).iterdir():
        path.unlink()  # the result file of 'blob' is lost

    plan = plan_rerun(first.run_id, store=store)
    assert [t.action for t in plan.tasks] == ["execute", "execute"]
    assert f"its result from run {first.run_id} is missing from the store" in plan.tasks[0].reason
    assert "downstream of 'blob'" in plan.tasks[1].reason
    from_size = plan_rerun(first.run_id, from_task="size", store=store)
    assert [t.action for t in from_size.tasks] == ["execute", "execute"]
    assert "needed by 'size'" in from_size.tasks[0].reason and "missing" in from_size.tasks[0].reason

    second = rerun(first.run_id, store=store, executor="inline")
    assert second.state is RunState.COMPLETED and second.results["blob"] == bytes([7]) * 100_000
    assert [t.reused_from_run for t in second.detail().tasks] == [None, None]
    assert len(list(counters.glob("blob.*"))) == 2
    assert [t.action for t in plan_rerun(second.run_id, store=store).tasks] == ["reuse", "reuse"]
