"""Workflows, runs and expected answers that the run-store contract builds through the protocol methods."""

from __future__ import annotations

import os
import random
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from datatailr_jupyter.models import RunQuery, RunState, RunSummary, Trigger, Version
from datatailr_jupyter.store.protocols import (
    NewRun,
    RunReader,
    RunStore,
    RunUpdate,
    RunWriter,
    TaskSpec,
    VersionSpec,
)

T0 = datetime(2026, 3, 2, tzinfo=timezone.utc)  # a Monday, 00:00 UTC
SALES = "Daily Sales Report"
OTHER = 'Other/Flow "quoted" ..'
TASKS = (
    TaskSpec(0, "fetch_data", "flows:fetch_data", (), {"cpu": 1}),
    TaskSpec(1, "calculate_total", "flows:calculate_total", (0,)),
    TaskSpec(2, "write report", "flows:write_report", (1,)),
)


def _alive_owner() -> str:
    with open(f"/proc/{os.getpid()}/stat", encoding="ascii") as fh:
        started = fh.read().rsplit(")", 1)[1].split()[19]
    return f"{socket.gethostname()}:{os.getpid()}:{started}"


ALIVE = _alive_owner()  # this test process: a store must never recover its runs


def definition(tasks: tuple[TaskSpec, ...]) -> dict[str, Any]:
    return {"tasks": [{"id": t.id, "name": t.name, "function": t.function, "dependencies": list(t.dependencies)}
                      for t in tasks]}  # fmt: skip


def register(
    store: RunWriter, name: str = SALES, tasks: tuple[TaskSpec, ...] = TASKS, digest: str = "h1", **kw: Any
) -> Version:
    return store.register_version(
        VersionSpec(workflow=name, definition=definition(tasks), definition_hash=digest, **kw)
    )


def new_run(
    store: RunWriter,
    *,
    workflow: str = SALES,
    env: str = "dev",
    submit: datetime = T0,
    tasks: tuple[TaskSpec, ...] = TASKS,
    rerun_of: int | None = None,
    version: int = 1,
    **kw: Any,
) -> RunSummary:
    return store.create_run(
        NewRun(workflow=workflow, env=env, job_version=version, tasks=tasks, submit_time=submit, rerun_of=rerun_of,
               trigger=Trigger.RERUN if rerun_of else Trigger.LOCAL, owner=kw.pop("owner", ALIVE), **kw)
    )  # fmt: skip


def finish(store: RunWriter, run_id: int, state: RunState, start: datetime, error: str | None = None) -> None:
    store.update_run(run_id, RunUpdate(state=state, start_time=start, end_time=start + timedelta(minutes=5),
                                       error_message=error))  # fmt: skip


@dataclass(frozen=True)
class Made:
    run_id: int
    key: str
    env: str
    t: datetime
    state: RunState
    root: bool


def populate(store: RunStore, seed: int = 7) -> list[Made]:
    """60 runs of two workflows in three envs over four days, some started, some failed, some reruns."""
    register(store)
    register(store, OTHER, digest="o1")
    rng = random.Random(seed)
    made: list[Made] = []
    for i in range(60):
        name = SALES if i % 3 else OTHER
        env = ("dev", "pre", "prod")[i % 3 if i % 2 else (i // 2) % 3]
        submit = T0 + timedelta(minutes=rng.randrange(0, 4 * 24 * 60), seconds=rng.randrange(60))
        same = [m for m in made if m.key == made_key(name) and m.env == env]
        rerun_of = same[-1].run_id if same and rng.random() < 0.25 else None
        run = new_run(store, workflow=name, env=env, submit=submit, rerun_of=rerun_of)
        state, t = RunState.PENDING, submit
        if i % 4:
            t = submit + timedelta(minutes=rng.randrange(0, 180))
            state = rng.choice([RunState.COMPLETED, RunState.COMPLETED, RunState.FAILED, RunState.RUNNING])
            store.update_run(run.run_id, RunUpdate(state=state, start_time=t))
        made.append(Made(run.run_id, made_key(name), env, t, state, rerun_of is None))
    return made


def made_key(name: str) -> str:
    return {SALES: "daily-sales-report", OTHER: "other-flow-quoted"}[name]


def all_pages(store: RunReader, query: RunQuery) -> tuple[list[int], set[int]]:
    ids: list[int] = []
    totals: set[int] = set()
    page = store.list_runs(query)
    while True:
        ids += [r.run_id for r in page.runs]
        totals.add(page.total)
        if page.next_cursor is None:
            return ids, totals
        assert len(page.runs) == query.limit
        page = store.list_runs(RunQuery(**{**query.__dict__, "cursor": page.next_cursor}))


def expected(made: list[Made], query: RunQuery) -> list[int]:
    keep = [
        m for m in made
        if (query.workflow is None or m.key == query.workflow or made_key_of(query.workflow) == m.key)
        and (query.env is None or m.env == query.env)
        and (query.start is None or m.t >= query.start)
        and (query.end is None or m.t < query.end)
        and (not query.states or m.state in query.states)
        and (not query.roots_only or m.root)
    ]  # fmt: skip
    return [m.run_id for m in sorted(keep, key=lambda m: (m.t, m.run_id), reverse=True)]


def made_key_of(name: str) -> str:
    return {SALES: "daily-sales-report", OTHER: "other-flow-quoted"}.get(name, name)


class Marker:
    """A value only pickle can store."""

    def __init__(self, payload: str) -> None:
        self.payload = payload

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Marker) and other.payload == self.payload
