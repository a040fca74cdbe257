"""Starting runs: the store and environment to use, the run record (with its owner), and running it to its end."""

from __future__ import annotations

import os
import socket
import sys
import time
from datetime import datetime
from typing import Any

from ..models import RunState, Trigger, check_env
from ..store.protocols import NewRun, RunStore, TaskSpec
from .clock import Clock, system_clock
from .executors import make_executor
from .graph import Blueprint
from .runner import RunLoop

__all__ = ["engine_owner", "execute_run", "open_run_store", "resolve_env", "run_blueprint", "start_run"]


def _process_start() -> str:
    try:
        with open(f"/proc/{os.getpid()}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return str(int(time.time()))


_OWNER = f"{socket.gethostname()}:{os.getpid()}:{_process_start()}"


def engine_owner() -> str:
    """``host:pid:process-start`` of this process, recorded on runs so a store can recover a dead engine's runs."""
    return (
        _OWNER
        if _OWNER.split(":")[1] == str(os.getpid())
        else f"{socket.gethostname()}:{os.getpid()}:{_process_start()}"
    )


def open_run_store(store: RunStore | str | None) -> RunStore:
    """A store object as given, a store URL or directory opened (created if need be: the engine writes), or the
    configured store. Opening the same store again in a process shares its connections."""
    from ..settings import resolve, store_url_from
    from ..store.registry import open_store

    if store is None:
        settings = resolve()
        return open_store(settings.store_url, token=settings.token, create=True)
    if isinstance(store, str):
        return open_store(store_url_from(store), create=True)
    return store


def resolve_env(env: str | None) -> str:
    if env is not None:
        return check_env(env)
    from ..settings import resolve

    return resolve().env


def start_run(
    store: RunStore,
    blueprint: Blueprint,
    job_version: int,
    env: str,
    *,
    params: dict[str, Any] | None = None,
    trigger: Trigger = Trigger.LOCAL,
    rerun_of: int | None = None,
    partial_rerun: bool = False,
    scheduled_time: datetime | None = None,
    clock: Clock = system_clock,
) -> int:
    """Create the run and its tasks (state pending); returns the run id."""
    tasks = tuple(TaskSpec(t.id, t.name, t.entrypoint, t.dependencies, t.resources) for t in blueprint.tasks)
    summary = store.create_run(
        NewRun(
            workflow=blueprint.workflow,
            env=env,
            job_version=job_version,
            tasks=tasks,
            trigger=trigger,
            params=params or {},
            rerun_of=rerun_of,
            partial_rerun=partial_rerun,
            scheduled_time=scheduled_time,
            submit_time=clock.now(),
            owner=engine_owner(),
        )
    )
    return summary.run_id


def run_blueprint(
    blueprint: Blueprint,
    options: Any,
    *,
    env: str | None = None,
    store: RunStore | str | None = None,
    executor: object = None,
    max_workers: int | None = None,
    params: dict[str, Any] | None = None,
    trigger: Trigger = Trigger.LOCAL,
    clock: Clock = system_clock,
    scheduled_time: datetime | None = None,
    job_version: int | None = None,
) -> Any:
    """Register the version if it changed, create the run, execute it, and return its RunHandle. The executor
    (``executor``: a name, URL, object, or None for the configured one) is made first, so a cluster that cannot be
    reached is reported before a run is recorded."""
    from .executors import check_max_workers
    from .handle import RunHandle
    from .versions import register

    check_max_workers(max_workers)  # before a run is recorded that could not start
    run_store = open_run_store(store)
    env_name = resolve_env(env)
    ex, release = make_executor(executor, max_workers)
    try:
        if job_version is None:
            job_version = register(run_store, blueprint, options).version
        run_id = start_run(
            run_store, blueprint, job_version, env_name, params=params, trigger=trigger,
            scheduled_time=scheduled_time, clock=clock,
        )  # fmt: skip
        shown = _show_in_notebook(run_store, run_id)
        try:
            execute_run(run_store, run_id, blueprint, ex, max_workers, clock=clock, scheduled_time=scheduled_time)
        finally:
            if shown is not None:
                shown.finish()  # the view says how the run ended when the cell does
    finally:
        release()
    return RunHandle(run_store, run_id, shown=shown)


def _show_in_notebook(store: RunStore, run_id: int) -> Any:
    """Show the run in the running cell's output, following it, when a notebook's kernel runs this cell (the
    explorer's RunMonitor); None elsewhere -- scripts, ``dt``, workers -- where nothing of the explorer is imported."""
    if "ipykernel" not in sys.modules:
        return None
    from importlib import import_module

    return import_module("datatailr_jupyter.explorer.runmonitor").display_run(store, run_id)


def execute_run(
    store: RunStore,
    run_id: int,
    blueprint: Blueprint,
    executor: object,
    max_workers: int | None,
    **loop_options: Any,
) -> RunState:
    """Run a created run to its end with an executor made from ``executor`` (closed or released afterwards)."""
    ex, release = make_executor(executor, max_workers)
    try:
        state = RunLoop(store, run_id, blueprint, ex, **loop_options).run()
    finally:
        release()
    if state is not RunState.COMPLETED:
        detail = store.get_run(run_id).run
        from ..terminal import clean  # the error is run data: no control sequence reaches the terminal

        reason = clean(detail.error_message or "").replace("\n", " ")
        print(
            f"run {run_id} of {blueprint.workflow!r} {state.value}: {reason} "
            f'(see its logs with %dt_runs "{blueprint.workflow}")',
            file=sys.stderr,
        )
    return state
