"""EngineActions: the RunActions of a store this process can run code for -- plans, reruns and triggers by the engine.

The local Client acts through it, and ``dt serve`` answers its rerun and trigger routes with it, so both run the
same code. A rerun or a trigger returns the new run's id as soon as the run exists; the run executes in a
background thread of this process with ``executor`` (None: the configured one). A ``request_key`` makes a repeated
request answer with the first one's run instead of starting another (kept in memory, for this object's life).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import InvalidArgumentError
from .models import RunState, Trigger, check_env
from .store.protocols import RunStore

__all__ = ["EngineActions", "Started"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Started:
    """A run that exists in the store, and the work that executes it (call it once, in any thread)."""

    run_id: int
    execute: Callable[[], object]


class EngineActions:
    """Plans, reruns and triggers of runs in ``store``, executed by this process's engine with ``executor``."""

    executes_here = True
    """The runs these actions start execute in this process: it must live until they end."""

    def __init__(self, store: RunStore, executor: object = None, max_workers: int | None = None) -> None:
        self.store = store
        self.executor = executor
        self.max_workers = max_workers
        self._keys: dict[str, int] = {}
        self._keys_lock = threading.Lock()
        self._threads: dict[int, threading.Thread] = {}
        self._threads_lock = threading.Lock()

    # ------------------------------------------------------------ starting runs (the work not yet executed)

    def plan_rerun(
        self, run_id: int, version: int | None = None, full: bool = False, from_task: int | str | None = None
    ) -> dict[str, Any]:
        """What a rerun would reuse, execute and skip, task by task (``RerunPlan.to_dict()``); nothing runs."""
        from .engine.reruns import plan_rerun

        plan: dict[str, Any] = plan_rerun(
            run_id, version=version, full=full, from_task=from_task, store=self.store
        ).to_dict()
        return plan

    def start_rerun(
        self, run_id: int, version: int | None = None, full: bool = False, from_task: int | str | None = None
    ) -> Started:
        """Record the rerun of ``run_id`` (checked and planned first) and return it with the work that executes it."""
        from .engine.reruns import rerun

        handle = rerun(
            run_id, version=version, full=full, from_task=from_task, store=self.store, executor=self.executor,
            max_workers=self.max_workers, wait=False,
        )  # fmt: skip
        return Started(handle.run_id, lambda: _join(handle))

    def start_trigger(self, workflow: str, env: str | None = None, version: int | None = None) -> Started:
        """Record a run of a deployed version of ``workflow`` (default: its latest) in ``env`` (default: the env it
        was deployed to, else dev), from the version's stored code, and return it with the work that executes it."""
        from .engine.launch import execute_run, start_run
        from .engine.versions import blueprint_for

        if version is None:
            versions = self.store.list_versions(workflow)
            if not versions:
                raise InvalidArgumentError(f"workflow {workflow!r} has no versions to run; deploy it first")
            target = versions[-1]
        else:
            target = self.store.get_version(workflow, version)
        deployment = target.definition.get("deployment")
        deployed_env = deployment.get("env") if isinstance(deployment, dict) else None
        env_name = check_env(env or (deployed_env if isinstance(deployed_env, str) else "dev"))
        blueprint = blueprint_for(self.store, workflow, target.version)  # refuses an untrusted store's code
        run_id = start_run(self.store, blueprint, target.version, env_name, trigger=Trigger.MANUAL)
        store, executor, max_workers = self.store, self.executor, self.max_workers
        return Started(run_id, lambda: execute_run(store, run_id, blueprint, executor, max_workers))

    # ------------------------------------------------------------ RunActions

    def rerun(
        self,
        run_id: int,
        version: int | None = None,
        full: bool = False,
        from_task: int | str | None = None,
        request_key: str | None = None,
    ) -> int:
        """Start a rerun of ``run_id``; the new run's id as soon as it exists (it executes in this process)."""
        return self._once(request_key, lambda: self.start_rerun(run_id, version, full, from_task))

    def trigger(
        self, workflow: str, env: str | None = None, version: int | None = None, request_key: str | None = None
    ) -> int:
        """Start a run of a deployed workflow now; the new run's id (it executes in this process)."""
        return self._once(request_key, lambda: self.start_trigger(workflow, env, version))

    def wait(self, run_id: int, timeout: float | None = None) -> bool:
        """Wait for a run these actions started to end; whether it ended (True for runs started elsewhere)."""
        with self._threads_lock:
            thread = self._threads.get(run_id)
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _once(self, key: str | None, start: Callable[[], Started]) -> int:
        with self._keys_lock:  # one start at a time per key: a repeat sees the first one's run
            if key is not None and key in self._keys:
                return self._keys[key]
            started = start()
            if key is not None:
                self._keys[key] = started.run_id
        self._execute_in_background(started)
        return started.run_id

    def _execute_in_background(self, started: Started) -> None:
        def body() -> None:
            try:
                started.execute()
            except BaseException:
                log.exception("run %s failed in the engine", started.run_id)

        thread = threading.Thread(target=body, name=f"dt-run-{started.run_id}", daemon=True)
        with self._threads_lock:
            self._threads = {k: t for k, t in self._threads.items() if t.is_alive()}
            self._threads[started.run_id] = thread
        thread.start()


def _join(handle: Any) -> RunState:
    handle.wait()
    if getattr(handle, "error", None) is not None:
        raise handle.error
    state: RunState = handle.state
    return state
