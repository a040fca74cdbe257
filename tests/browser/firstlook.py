"""Runs for the first-impression browser test: a small run that fails with a traceback next to a task that returned
None, and completed runs of 3, 100 and 2,000 tasks laid out in layers (each task depends on the layer before)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from datatailr_jupyter import task, workflow
from datatailr_jupyter.models import RunState
from datatailr_jupyter.store.codecs import encode
from datatailr_jupyter.store.protocols import NewRun, RunUpdate, TaskSpec, TaskUpdate, VersionSpec
from datatailr_jupyter.store.registry import open_store


@task()
def fetch_prices() -> list[float]:
    print("fetched 3 prices")
    return [101.5, 99.0, 100.25]


@task()
def notify(prices: list[float]) -> None:
    print(f"notified the desk about {len(prices)} prices")


@task()
def price_check(prices: list[float]) -> float:
    raise ZeroDivisionError(f"no reference price among {len(prices)} prices")


def layered_run(store_url: str, n: int, width: int) -> int:
    """A completed run of ``n`` tasks in layers of ``width``; each depends on one or two tasks of the layer above."""
    rng = random.Random(n)
    tasks = []
    for i in range(n):
        layer, slot = divmod(i, width)
        above = list(range(max(0, (layer - 1) * width), layer * width))
        deps = tuple(sorted(rng.sample(above, min(len(above), rng.choice((1, 2)))))) if above else ()
        tasks.append(TaskSpec(i, f"load_part_{layer}_{slot}", "flows:load_part", deps))
    name = f"Layered {n}"
    definition = {"tasks": [{"id": t.id, "name": t.name, "dependencies": list(t.dependencies)} for t in tasks]}
    store = open_store(store_url)
    try:
        store.register_version(VersionSpec(name, definition, f"layered-{n}"))
        run = store.create_run(NewRun(workflow=name, env="prod", job_version=1, tasks=tuple(tasks)))
        t0 = datetime.now(timezone.utc) - timedelta(hours=2)
        end = t0 + timedelta(seconds=2)
        updates = [
            TaskUpdate(i, state=RunState.COMPLETED, start_time=t0, end_time=end, attempt=1, result=encode(i))
            for i in range(n)
        ]
        store.update_tasks(run.run_id, updates)
        store.update_run(run.run_id, RunUpdate(state=RunState.COMPLETED, start_time=t0, end_time=end))
        return run.run_id
    finally:
        store.close()


def fill(store_url: str) -> dict[str, int]:
    """Run ids by label: ``failed`` (3 tasks: one returns None, one fails) and ``dag3``, ``dag100``, ``dag2000``."""

    @workflow(name="Price Check")
    def price_flow() -> None:
        prices = fetch_prices()
        notify(prices)
        price_check(prices)

    store = open_store(store_url)
    try:
        failed = int(price_flow(local_run=True, env="prod", store=store, executor="thread").run_id)
    finally:
        store.close()
    return {
        "failed": failed,
        "dag3": layered_run(store_url, 3, 1),
        "dag100": layered_run(store_url, 100, 17),
        "dag2000": layered_run(store_url, 2000, 45),
    }
