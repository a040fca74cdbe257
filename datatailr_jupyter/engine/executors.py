"""The Executor seam the run loop drives, with thread and inline implementations (processes: procpool.py).

An executor accepts jobs (``submit``), reports what happened (``wait`` returns :class:`Started` events and
:class:`~.workers.Outcome` results), stops everything on request (``cancel`` returns the ids of the tasks that
were running) and releases its workers (``close``). Only the loop thread calls these methods. Executors whose
``in_process`` is true receive task functions and upstream values as Python objects; the others receive pickled
functions (``Job.function_bytes``) and encoded upstream results.

Executors are made by name or URL (``make_executor``): the built-ins (process, thread, inline, and dask, whose
module imports ``distributed`` only when used) and any a package adds through the ``datatailr_jupyter.executors``
entry-point group. An executor may also have ``prefetch``: how many jobs the run loop keeps submitted ahead, and
``submit_after(job, task_id) -> bool``: run a job whose only upstream task is still running right after it, on
its worker, with its value (true if it took the job; the job then starts only if that task completes, else no
event is reported for it, or a :class:`Released` event gives it back).
"""

from __future__ import annotations

import os
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from .capture import install_thread_router, uninstall_thread_router
from .workers import HOST, Job, Outcome, execute

__all__ = [
    "ENTRY_POINT_GROUP",
    "EXECUTORS",
    "MAX_WORKERS",
    "Event",
    "Executor",
    "ExecutorFactory",
    "InlineExecutor",
    "Released",
    "Started",
    "ThreadExecutor",
    "check_max_workers",
    "executor_factory",
    "known_executors",
    "make_executor",
    "register_executor",
]

MAX_WORKERS = 1024
"""The most workers an executor may be asked for."""


def check_max_workers(max_workers: object) -> int | None:
    """``max_workers`` if it is None (the executor's default: one per CPU) or a whole number from 1 to
    :data:`MAX_WORKERS`; anything else raises InvalidArgumentError."""
    from ..errors import InvalidArgumentError

    if max_workers is None:
        return None
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or not 1 <= max_workers <= MAX_WORKERS:
        raise InvalidArgumentError(
            f"max_workers must be a whole number from 1 to {MAX_WORKERS}, or None for the default (one per CPU); "
            f"got {max_workers!r}"
        )
    return max_workers


@dataclass(frozen=True)
class Started:
    """A worker began a task."""

    task_id: int
    time: datetime
    host: str
    pid: int


@dataclass(frozen=True)
class Released:
    """A job submitted with ``submit_after`` was given back unstarted (the task it follows failed, or its result
    went to a file): the run loop submits it again, as any job, once it is ready."""

    task_id: int


Event = Started | Outcome | Released


@runtime_checkable
class Executor(Protocol):
    name: str
    in_process: bool
    max_workers: int

    def submit(self, job: Job) -> None:
        """Queue a job; it starts when a worker is free."""
        ...

    def wait(self, timeout: float | None) -> list[Event]:
        """Block until something happens (or ``timeout`` seconds pass): started tasks and outcomes."""
        ...

    def cancel(self) -> set[int]:
        """Stop running tasks and drop queued ones; returns the ids of the tasks that were running."""
        ...

    def close(self) -> None: ...


class InlineExecutor:
    """Runs each task in the calling thread, one at a time (for debugging: breakpoints and pdb work)."""

    name = "inline"
    in_process = True

    def __init__(self, max_workers: int | None = None) -> None:
        check_max_workers(max_workers)
        self.max_workers = 1
        self.queue: deque[Job] = deque()
        self.current: int | None = None

    def submit(self, job: Job) -> None:
        self.queue.append(job)

    def wait(self, timeout: float | None) -> list[Event]:
        if not self.queue:
            return []
        job = self.queue.popleft()
        assert job.function is not None, "inline jobs carry their function"
        started = Started(job.task_id, job.clock.now(), HOST, os.getpid())
        self.current = job.task_id
        outcome = execute(job, job.function, "fd+sys", keep_value=True)
        self.current = None
        return [started, outcome]

    def cancel(self) -> set[int]:
        self.queue.clear()
        running = {self.current} if self.current is not None else set()
        self.current = None
        return running

    def close(self) -> None:
        self.queue.clear()


class ThreadExecutor:
    """Runs tasks in a pool of threads of this process (Python-level output is captured; C-level is not)."""

    name = "thread"
    in_process = True

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = check_max_workers(max_workers) or max(4, os.cpu_count() or 1)
        self.jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self.running: set[int] = set()
        self._mutex = threading.Lock()
        self.generation = 0
        self.threads: list[threading.Thread] = []
        install_thread_router()
        self.closed = False

    def _ensure_threads(self) -> None:
        self.threads = [t for t in self.threads if t.is_alive()]
        while len(self.threads) < self.max_workers:
            t = threading.Thread(target=self._work, name=f"dt-task-{len(self.threads)}", daemon=True)
            t.start()
            self.threads.append(t)

    def _work(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            with self._mutex:
                generation = self.generation
                self.running.add(job.task_id)
            assert job.function is not None, "thread jobs carry their function"
            self.events.put(Started(job.task_id, job.clock.now(), HOST, os.getpid()))
            outcome = execute(job, job.function, "thread", keep_value=True)
            with self._mutex:
                self.running.discard(job.task_id)
                if generation == self.generation:  # not cancelled meanwhile
                    self.events.put(outcome)

    def submit(self, job: Job) -> None:
        self._ensure_threads()
        self.jobs.put(job)

    def wait(self, timeout: float | None) -> list[Event]:
        out: list[Event] = []
        try:
            out.append(self.events.get(timeout=timeout))
        except queue.Empty:
            return out
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def cancel(self) -> set[int]:
        """Threads cannot be killed: running tasks are abandoned (they finish in the background, unrecorded)."""
        with self._mutex:
            self.generation += 1
            running = set(self.running)
        while True:
            try:
                self.jobs.get_nowait()
            except queue.Empty:
                break
        while True:
            try:
                self.events.get_nowait()
            except queue.Empty:
                break
        return running

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for _ in self.threads:
            self.jobs.put(None)
        uninstall_thread_router()


# ---------------------------------------------------------------- registry: names and entry points

ENTRY_POINT_GROUP = "datatailr_jupyter.executors"

ExecutorFactory = Callable[[Any, "int | None"], "tuple[Executor, Callable[[], None]]"]
"""factory(target, max_workers) -> (executor, release). ``target`` is what the user gave: a name such as
"thread", a URL such as "dask://host:8786", or an object of the library the factory adapts (a distributed.Client)."""

_BUILTIN: dict[str, str] = {
    "process": "datatailr_jupyter.engine.executors:open_process_executor",
    "thread": "datatailr_jupyter.engine.executors:open_thread_executor",
    "inline": "datatailr_jupyter.engine.executors:open_inline_executor",
    "dask": "datatailr_jupyter.engine.dask_executor:open_dask_executor",
}
_OBJECT_KINDS = {"distributed": "dask"}  # executor objects of other libraries: top-level package -> entry name
EXECUTORS = tuple(_BUILTIN)
_registered: dict[str, ExecutorFactory] = {}


def register_executor(name: str, factory: ExecutorFactory, object_package: str | None = None) -> None:
    """Add (or replace) an executor kind in this process; ``object_package`` routes objects of that top-level
    package (e.g. "ray") to it too. Packages do the same with the ``datatailr_jupyter.executors`` entry points."""
    _registered[name.lower()] = factory
    if object_package:
        _OBJECT_KINDS[object_package] = name.lower()


def _entry_points() -> dict[str, Any]:
    from importlib.metadata import entry_points

    return {ep.name.lower(): ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_executors() -> list[str]:
    return sorted(set(_BUILTIN) | set(_registered) | set(_entry_points()))


def executor_factory(name: str) -> ExecutorFactory:
    """The factory of an executor kind: registered in this process, a built-in, or from an entry point."""
    from ..errors import ExecutorError

    name = name.lower()
    if name in _registered:
        return _registered[name]
    target = _BUILTIN.get(name)
    if target is None:
        eps = _entry_points()
        if name not in eps:
            raise ExecutorError(
                f"unknown executor {name!r}; known executors: {', '.join(known_executors())} (or an Executor "
                f"object; packages add kinds through the {ENTRY_POINT_GROUP!r} entry points)"
            )
        factory: ExecutorFactory = eps[name].load()
        return factory
    module_name, _, attr = target.partition(":")
    module = __import__(module_name, fromlist=[attr])
    loaded: ExecutorFactory = getattr(module, attr)
    return loaded


def _keep() -> None:
    return None


def open_process_executor(target: object, max_workers: int | None) -> tuple[Executor, Callable[[], None]]:
    from .procpool import shared_process_executor

    return shared_process_executor(max_workers)


def open_thread_executor(target: object, max_workers: int | None) -> tuple[Executor, Callable[[], None]]:
    ex = ThreadExecutor(max_workers)
    return ex, ex.close


def open_inline_executor(target: object, max_workers: int | None) -> tuple[Executor, Callable[[], None]]:
    ex = InlineExecutor(max_workers)
    return ex, ex.close


def make_executor(kind: object = None, max_workers: int | None = None) -> tuple[Executor, Callable[[], None]]:
    """An executor for ``kind`` and what to call when done with it. ``kind`` is a name ("process", "thread",
    "inline"), a URL ("dask://host:8786"), an Executor, an object a registered kind adapts (a distributed.Client),
    or None: the configured executor ($DT_EXECUTOR, ``executor`` in the config file, else "process")."""
    from ..errors import InvalidArgumentError

    check_max_workers(max_workers)
    if kind is None:
        from ..settings import resolve_executor

        kind, _ = resolve_executor()
    if isinstance(kind, str):
        text = kind.strip()
        name = text.split("://", 1)[0] if "://" in text else text
        return executor_factory(name)(text, max_workers)
    if isinstance(kind, Executor):
        return kind, _keep
    package = type(kind).__module__.split(".")[0]
    if package in _OBJECT_KINDS:
        return executor_factory(_OBJECT_KINDS[package])(kind, max_workers)
    raise InvalidArgumentError(
        f"executor must be one of {', '.join(known_executors())}, a URL like dask://host:8786, a distributed.Client "
        f"or an Executor, not {kind!r}"
    )
