"""The server's own engine: rerun plans, reruns and triggers of deployed versions, each run in a background thread.

The plans and the runs are :class:`datatailr_jupyter.actions.EngineActions`' (what a local Client runs too); this
module adds idempotency keys kept in the store and the threads that execute the runs.

A rerun or trigger answers as soon as its run exists (``202`` with the new run id); the run executes in this
process with the configured executor. Requests carrying an Idempotency-Key run at most once: the first answer is
kept in the store (``ServerState``) and replayed for the same key and body, and a different body under a used key
is refused. Keyed requests are serialised by one lock, so concurrent duplicates wait for the first and replay it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from ..actions import EngineActions
from ..errors import InvalidArgumentError, StoreError
from ..store.protocols import RunStore
from .state import ServerState

__all__ = ["ActionAnswer", "Actions", "request_hash"]

log = logging.getLogger("datatailr_jupyter.server")

ActionAnswer = tuple[int, dict[str, Any], bool]
"""(HTTP status, JSON body, whether it is a replay of an earlier answer)."""


def request_hash(route: str, body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps([route, body], sort_keys=True, default=str).encode()).hexdigest()


class Actions:
    """Plans, reruns and triggers against ``store`` with ``executor`` (a name or URL; None: the configured one)."""

    def __init__(self, store: RunStore, state: ServerState, executor: str | None = None) -> None:
        self.store = store
        self.state = state
        self.executor = executor
        self.engine = EngineActions(store, executor)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._threads_lock = threading.Lock()

    # ------------------------------------------------------------ the three actions

    def plan(self, run_id: int, version: int | None, full: bool, from_task: int | str | None) -> dict[str, Any]:
        return self.engine.plan_rerun(run_id, version, full, from_task)

    def rerun(self, run_id: int, version: int | None, full: bool, from_task: int | str | None) -> int:
        started = self.engine.start_rerun(run_id, version, full, from_task)
        self._watch(f"rerun {started.run_id}", started.execute)
        return started.run_id

    def trigger(self, workflow: str, env: str | None, version: int | None) -> int:
        started = self.engine.start_trigger(workflow, env, version)
        self._watch(f"run {started.run_id}", started.execute)
        return started.run_id

    # ------------------------------------------------------------ idempotency

    def once(self, key: str | None, route: str, body: dict[str, Any], act: Callable[[], int]) -> ActionAnswer:
        """Run ``act`` (which returns a new run id) unless ``key`` was used before: then replay that answer."""
        if key is None:
            return 202, {"run_id": act()}, False
        digest = request_hash(route, body)
        with self._lock:
            claim = self.state.begin(key, digest)
            if claim.kind == "replay":
                return claim.status, json.loads(claim.response), True
            if claim.kind == "mismatch":
                raise InvalidArgumentError(
                    f"Idempotency-Key {key!r} was already used for a different request; use a new key for a new request"
                )
            if claim.kind == "pending":
                raise StoreError(
                    f"a request with Idempotency-Key {key!r} is still being handled by another server process; "
                    "send it again in a moment"
                )
            try:
                answer = {"run_id": act()}
            except BaseException:
                self.state.abandon(key)
                raise
            self.state.finish(key, 202, json.dumps(answer))
        return 202, answer, False

    # ------------------------------------------------------------ background runs

    def _watch(self, what: str, work: Callable[[], object]) -> None:
        def body() -> None:
            try:
                work()
            except BaseException:
                log.exception("%s failed in the server's engine", what)

        thread = threading.Thread(target=body, name=f"dt-serve-{what}", daemon=True)
        with self._threads_lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait for the runs this server started to end; whether they all did within ``timeout``."""
        with self._threads_lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)
        return not any(t.is_alive() for t in threads)
