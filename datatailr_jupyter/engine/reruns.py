"""Reruns: a plan (per task: reuse, execute or skip, with the reason) and its execution as a new run.

A rerun never changes the run it starts from. Partial (the default) re-executes every task that did not complete
and everything downstream of it, and reuses the other results by reference. ``full=True`` re-executes all
tasks; ``from_task`` re-executes that task and its downstream (plus any upstream task without a usable result),
reuses what it can and skips the rest. ``version=N`` runs version N's code and graph; tasks are matched to the
original run's by name, and a task is reused only if its code, arguments and upstream names are unchanged.
A completed task whose result bytes are missing from the store (a deleted file) is never reused: the plan
re-executes it and says why.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from ..errors import (
    DatatailrJupyterError,
    NotFoundError,
    ResultDecodeError,
    TaskNotFoundError,
    UntrustedPickleError,
    VersionNotFoundError,
    known,
)
from ..models import RunDetail, RunState, TaskRun, Trigger, Version
from ..store.protocols import RunStore
from ..store.registry import distrust
from .clock import Clock, system_clock
from .executors import check_max_workers
from .graph import Blueprint
from .handle import RunHandle
from .launch import execute_run, open_run_store, start_run
from .versions import blueprint_for

__all__ = ["RerunPlan", "TaskPlan", "plan_rerun", "rerun"]

REUSE, EXECUTE, SKIP = "reuse", "execute", "skip"


@dataclass(frozen=True)
class TaskPlan:
    task_id: int
    name: str
    action: str  # "reuse" | "execute" | "skip"
    reason: str
    reuse_from_run: int | None = None
    reuse_task_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "name": self.name,
            "action": self.action,
            "reason": self.reason,
            "reuse_from_run": self.reuse_from_run,
        }


@dataclass(frozen=True)
class RerunPlan:
    """What a rerun of ``run_id`` would do, task by task, without running anything."""

    run_id: int
    workflow: str
    env: str
    version: int
    original_version: int
    full: bool
    from_task: int | None
    tasks: tuple[TaskPlan, ...]

    @property
    def counts(self) -> dict[str, int]:
        return {a: sum(1 for t in self.tasks if t.action == a) for a in (REUSE, EXECUTE, SKIP)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "workflow": self.workflow,
            "env": self.env,
            "version": self.version,
            "original_version": self.original_version,
            "full": self.full,
            "partial": not self.full,
            "from_task": self.from_task,
            "counts": self.counts,
            "tasks": [t.to_dict() for t in self.tasks],
        }


def _version(store: RunStore, workflow: str, version: int) -> Version:
    try:
        return store.get_version(workflow, version)
    except NotFoundError:
        try:
            versions = [v.version for v in store.list_versions(workflow)]
        except NotFoundError:
            versions = []
        raise VersionNotFoundError(
            f"workflow {workflow!r} has no version {version}; its versions are {known(versions)}"
        ) from None


def _reusable(t: TaskRun | None) -> bool:
    return t is not None and t.state is RunState.COMPLETED and (t.result is not None or t.reused_from_run is not None)


def _bytes_present(store: RunStore, run_id: int, task_id: int) -> bool:
    """Whether the bytes of a recorded result are still in the store (a deleted file cannot be reused)."""
    check = getattr(store, "result_available", None)
    if check is not None:
        return bool(check(run_id, task_id))
    try:
        store.read_result(run_id, task_id)
    except ResultDecodeError:
        return False
    return True


def _plan(
    store: RunStore, detail: RunDetail, version: int | None, full: bool, from_task: int | str | None
) -> RerunPlan:
    run = detail.run
    target = _version(store, run.workflow, run.job_version if version is None else version)
    tasks = target.definition.get("tasks", [])
    if not tasks:
        raise DatatailrJupyterError(
            f"version {target.version} of {run.workflow!r} records no tasks; it cannot be rerun"
        )
    same_version = target.version == run.job_version
    old_fps: dict[str, str] = {}
    old_deps: dict[str, list[str]] = {}
    if not same_version:
        try:
            old = _version(store, run.workflow, run.job_version).definition.get("tasks", [])
        except VersionNotFoundError:
            old = []
        old_names = {t["id"]: t["name"] for t in old}
        old_fps = {t["name"]: t.get("fingerprint", "") for t in old}
        old_deps = {t["name"]: sorted(old_names.get(d, "?") for d in t.get("dependencies", [])) for t in old}
    by_name = {t.name: t for t in detail.tasks}
    names = {t["id"]: t["name"] for t in tasks}
    deps = {t["id"]: list(t.get("dependencies", [])) for t in tasks}

    reusable: dict[int, TaskRun] = {}
    why_not: dict[int, str] = {}
    for t in tasks:
        counterpart = by_name.get(t["name"])
        if counterpart is None:
            why_not[t["id"]] = f"no task {t['name']!r} in run {run.run_id}"
        elif not _reusable(counterpart):
            why_not[t["id"]] = f"{counterpart.state.value} in run {run.run_id}"
        elif not _bytes_present(store, run.run_id, counterpart.id):
            origin = counterpart.reused_from_run or run.run_id
            why_not[t["id"]] = f"its result from run {origin} is missing from the store; it runs again to remake it"
        elif not same_version and (
            old_fps.get(t["name"]) != t.get("fingerprint")
            or old_deps.get(t["name"]) != sorted(names[d] for d in deps[t["id"]])
        ):
            why_not[t["id"]] = f"changed between v{run.job_version} and v{target.version}"
        else:
            reusable[t["id"]] = counterpart

    order = sorted(names)
    actions: dict[int, tuple[str, str]] = {}
    root_id: int | None = None
    if full:
        actions = {i: (EXECUTE, "full rerun") for i in order}
    else:
        if from_task is not None:
            root_id = _task_id(from_task, names, run.workflow, target.version)
            actions[root_id] = (EXECUTE, "rerun from this task")
        else:
            actions = {i: (EXECUTE, why_not[i]) for i in order if i not in reusable}
        for i in order:  # downstream of anything executed (ids are topological)
            if i not in actions:
                up = next((d for d in deps[i] if d in actions and actions[d][0] == EXECUTE), None)
                if up is not None:
                    actions[i] = (EXECUTE, f"downstream of {names[up]!r}")
        for i in reversed(order):  # upstream of an executed task without a usable result must run too
            if i in actions and actions[i][0] == EXECUTE:
                for d in deps[i]:
                    if d not in actions and d not in reusable:
                        actions[d] = (EXECUTE, f"needed by {names[i]!r}; {why_not[d]}")
        for i in order:
            if i not in actions:
                if i in reusable:
                    src = reusable[i]
                    actions[i] = (REUSE, f"completed in run {src.reused_from_run or run.run_id}")
                else:
                    actions[i] = (
                        SKIP,
                        f"not downstream of {names[root_id] if root_id is not None else '?'!r}; {why_not[i]}",
                    )
    plans = []
    for i in order:
        action, reason = actions[i]
        source = reusable.get(i) if action == REUSE else None
        plans.append(
            TaskPlan(
                task_id=i,
                name=names[i],
                action=action,
                reason=reason,
                reuse_from_run=(source.reused_from_run or run.run_id) if source else None,
                reuse_task_id=source.id if source else None,
            )
        )
    return RerunPlan(
        run_id=run.run_id,
        workflow=run.workflow,
        env=run.env,
        version=target.version,
        original_version=run.job_version,
        full=full,
        from_task=root_id,
        tasks=tuple(plans),
    )


def _task_id(ref: int | str, names: dict[int, str], workflow: str, version: int) -> int:
    for i, name in names.items():
        if name == ref or (isinstance(ref, int) and not isinstance(ref, bool) and i == ref):
            return i
    raise TaskNotFoundError(
        f"version {version} of {workflow!r} has no task {ref!r}; its tasks are {known(names.values())}"
    )


def plan_rerun(
    run_id: int,
    version: int | None = None,
    full: bool = False,
    from_task: int | str | None = None,
    store: RunStore | str | None = None,
) -> RerunPlan:
    """What ``rerun`` with these arguments would reuse, execute and skip (nothing is run)."""
    s = open_run_store(store)
    return _plan(s, s.get_run(int(run_id)), version, full, from_task)


def rerun(
    run_id: int,
    version: int | None = None,
    full: bool = False,
    from_task: int | str | None = None,
    store: RunStore | str | None = None,
    executor: object = None,
    max_workers: int | None = None,
    wait: bool = True,
    clock: Clock = system_clock,
) -> RunHandle:
    """Rerun ``run_id`` as a new run (partial by default; see the module docstring) and return its handle."""
    check_max_workers(max_workers)  # before a run is recorded that could not start
    s = open_run_store(store)
    refused = distrust(s)
    if refused is not None:  # the stored code and the results a rerun reuses are unpickled
        raise UntrustedPickleError(f"refused to rerun run {run_id}: {refused}")
    detail = s.get_run(int(run_id))
    plan = _plan(s, detail, version, full, from_task)
    blueprint: Blueprint = blueprint_for(s, plan.workflow, plan.version)
    reuse = {
        p.task_id: (p.reuse_from_run, p.reuse_task_id)
        for p in plan.tasks
        if p.action == REUSE and p.reuse_from_run is not None and p.reuse_task_id is not None
    }
    skip = {p.task_id for p in plan.tasks if p.action == SKIP}
    new_id = start_run(
        s, blueprint, plan.version, plan.env, params=detail.run.params, trigger=Trigger.RERUN, rerun_of=plan.run_id,
        partial_rerun=not full, clock=clock,
    )  # fmt: skip

    def go() -> None:
        execute_run(s, new_id, blueprint, executor, max_workers, clock=clock, reuse=reuse, skip=skip)

    if wait:
        go()
        return RunHandle(s, new_id)
    handle = RunHandle(s, new_id)

    def background() -> None:
        try:
            go()
        except BaseException as exc:
            handle.error = exc

    thread = threading.Thread(target=background, name=f"dt-rerun-{new_id}", daemon=True)
    handle._thread = thread
    thread.start()
    return handle
