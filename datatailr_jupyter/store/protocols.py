"""The two seams of every run store: RunReader (what explorers read) and RunWriter (what the engine writes).

Every implementation (the embedded SqliteRunStore, the HttpRunStore client, third-party stores) passes the
same contract suite, tests/store/contract.py. Arguments and results are the records of ``models`` or the
small input records below, so every call can cross a process or HTTP boundary unchanged.

Guarantees every implementation keeps:
- run ids are assigned by the store and increase;
- a task is never visible as completed with a result whose bytes are missing or truncated;
- history is never overwritten: a rerun is a new run; reused results are shared by reference;
- every write is atomic: a failed call changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..models import (
    ActivityGrid,
    LogChunk,
    LogMatch,
    ResultMeta,
    RunDetail,
    RunPage,
    RunQuery,
    RunState,
    RunSummary,
    TaskError,
    Trigger,
    Version,
    WorkflowInfo,
)

STREAMS = ("stdout", "stderr")
DEFAULT_LOG_LIMIT = 256 * 1024


# ---------------------------------------------------------------- writer inputs


@dataclass(frozen=True)
class VersionSpec:
    """A workflow definition to register. ``definition`` is JSON: {"tasks": [{"id", "name", "function",
    "dependencies", "resources", ...}], ...}; ``code`` is opaque bytes (the pickled task functions) that
    reruns with this version load back."""

    workflow: str  # display name
    definition: dict[str, Any]
    definition_hash: str
    schedule: str | None = None
    code: bytes | None = None
    created_at: datetime | None = None  # when it was made; None: the store's clock at registration


@dataclass(frozen=True)
class TaskSpec:
    id: int
    name: str
    function: str = ""
    dependencies: tuple[int, ...] = ()
    resources: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewRun:
    """A run to create. The store assigns its run_id; tasks start in ``created`` state."""

    workflow: str  # display name
    env: str
    job_version: int
    tasks: tuple[TaskSpec, ...]
    trigger: Trigger = Trigger.LOCAL
    params: dict[str, Any] = field(default_factory=dict)
    rerun_of: int | None = None  # direct parent; the store derives original_run_id (the family root)
    partial_rerun: bool = False
    scheduled_time: datetime | None = None
    submit_time: datetime | None = None  # default: now
    state: RunState = RunState.PENDING
    owner: str | None = None  # "host:pid:process-start" of the engine; recover() checks it is alive


@dataclass(frozen=True)
class EncodedResult:
    """A result already encoded by a codec: either in memory (``data``) or in a file written under the
    store's ``staging_dir()`` (``path``), fsynced by the writer. The store renames it into place."""

    meta: ResultMeta  # bytes and sha256 filled in
    data: bytes | None = None
    path: str | None = None


@dataclass(frozen=True)
class TaskUpdate:
    """A change to one task. Only the fields that are set change. ``result`` is made durable before the
    update is committed; ``reused_from_run`` makes the task share that run's result by reference (the result of
    task ``reused_from_task`` there, default the same task id: versions may number a task differently)."""

    task_id: int
    state: RunState | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    attempt: int | None = None
    exit_code: int | None = None
    error: TaskError | None = None
    host: str | None = None
    result: EncodedResult | None = None
    reused_from_run: int | None = None
    reused_from_task: int | None = None


@dataclass(frozen=True)
class RunUpdate:
    state: RunState | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    error_message: str | None = None


# ---------------------------------------------------------------- protocols


@runtime_checkable
class RunReader(Protocol):
    """Read side of a run store. Workflow arguments accept the display name or the internal key."""

    @property
    def label(self) -> str:
        """Short human label of the store (path or URL without secrets) for the explorer header."""
        ...

    @property
    def trusted(self) -> bool:
        """Whether pickled results from this store may be loaded."""
        ...

    def list_envs(self) -> list[str]: ...

    def list_workflows(self, env: str | None = None) -> list[WorkflowInfo]:
        """Every workflow with runs or versions (in ``env`` if given), sorted by display name."""
        ...

    def list_versions(self, workflow: str) -> list[Version]: ...

    def get_version(self, workflow: str, version: int) -> Version: ...

    def get_code(self, workflow: str, version: int) -> bytes | None: ...

    def list_runs(self, query: RunQuery) -> RunPage: ...

    def rerun_family(self, run_id: int) -> list[RunSummary]:
        """The root of ``run_id``'s rerun family followed by all its reruns, oldest first."""
        ...

    def get_run(self, run_id: int) -> RunDetail: ...

    def activity(
        self, workflow: str | None, env: str | None, start: datetime | None = None, end: datetime | None = None
    ) -> ActivityGrid: ...

    def read_log(
        self,
        run_id: int,
        task_id: int,
        stream: str,
        offset: int = 0,
        limit: int = DEFAULT_LOG_LIMIT,
        tail: int | None = None,
    ) -> LogChunk:
        """Bytes [offset, offset+limit) of a log, or its last ``tail`` bytes, cut at line boundaries."""
        ...

    def search_log(
        self, run_id: int, task_id: int, stream: str, pattern: str, regex: bool = False, max_matches: int = 1000
    ) -> list[LogMatch]: ...

    def read_result(self, run_id: int, task_id: int) -> tuple[ResultMeta, bytes]:
        """The encoded bytes of a result (verified against the stored size/sha256)."""
        ...

    # Optional, not part of the checked protocol: a store whose results are files on this machine may offer
    #
    #     def result_file(self, run_id: int, task_id: int) -> tuple[ResultMeta, Path] | None
    #
    # the result's meta and the file holding its encoded bytes (that of the run that produced it, for a reused
    # result), checked for its size but not read; None when the result is not in a file of its own (kept inline,
    # or a remote store); ResultNotFoundError like read_result. The engine then hands a worker the path instead
    # of the bytes (see ``result_file_of``).
    #
    #     def workflow_overview(self, env: str, name_filter: str | None = None, sort: str = "name", limit: int = 50,
    #                           cursor: str | None = None, days: int = 30, now: datetime | None = None) -> OverviewPage
    #
    # one page of the workflows overview of ``env`` computed by the store (the SQLite store reads its count tables;
    # the HttpRunStore asks the server). ``store.overview.workflow_overview`` calls it where a store has it and builds
    # the same page from the methods above otherwise.
    #
    #     def get_task_table(self, run_id: int) -> TaskTable
    #
    # the run and its tasks as columns, times as stored integers (``store.tasktable``): what the explorer draws a big
    # DAG from without a record per task. ``task_table_of`` calls it where a store has it and builds the same table
    # from ``get_run`` otherwise; the contract checks that both give the same values.
    #
    #     def get_task(self, run_id: int, task_id: int) -> TaskRun
    #
    # one task of a run, as ``get_run(run_id).task(task_id)`` gives it, without reading the others (opening a task
    # of a 10,000-task run); ``task_of`` falls back to ``get_run``.

    def close(self) -> None: ...


@runtime_checkable
class RunWriter(Protocol):
    """Write side of a run store: what the engine and the scheduler call."""

    def register_version(self, spec: VersionSpec) -> Version:
        """The next integer version, or the latest one unchanged if its definition_hash is the same."""
        ...

    def create_run(self, run: NewRun) -> RunSummary: ...

    def update_run(self, run_id: int, update: RunUpdate) -> None: ...

    def update_tasks(self, run_id: int, updates: Sequence[TaskUpdate]) -> None:
        """Apply several task updates in one transaction (task counts on the run follow)."""
        ...

    def append_log(self, run_id: int, task_id: int, stream: str, data: bytes) -> None: ...

    def log_path(self, run_id: int, task_id: int, stream: str) -> Path | None:
        """A local file the engine may append to directly (fd-level capture), or None (remote stores)."""
        ...

    def staging_dir(self) -> Path | None:
        """A local directory for EncodedResult.path files, or None (then send EncodedResult.data)."""
        ...

    def claim_schedule(self, workflow: str, env: str, scheduled_time: datetime) -> bool:
        """Atomically claim one schedule tick; True exactly once per (workflow, env, scheduled_time)."""
        ...

    def recover(self) -> list[int]:
        """Mark runs and tasks left active by a dead engine as ended, with a reason; return their run ids."""
        ...


class RunStore(RunReader, RunWriter, Protocol):
    """A store that can be both read and written."""


@runtime_checkable
class RunActions(Protocol):
    """Optional third seam: acting on runs where the store decides how (a store exposes it as ``store.actions``).

    The HttpRunStore's actions are the server's: its engine computes plans and executes reruns and triggers, and
    each rerun/trigger carries ``request_key`` as its Idempotency-Key (a new uuid4 when None), so sending it again
    starts nothing new. A local implementation calls the engine (``engine.reruns``, ``engine.launch``) in-process.
    Callers (the Client) use ``store.actions`` when the store has it, and the local engine otherwise.
    """

    def plan_rerun(
        self, run_id: int, version: int | None = None, full: bool = False, from_task: int | str | None = None
    ) -> dict[str, Any]:
        """What a rerun would reuse, execute and skip, task by task (``RerunPlan.to_dict()``); nothing runs."""
        ...

    def rerun(
        self,
        run_id: int,
        version: int | None = None,
        full: bool = False,
        from_task: int | str | None = None,
        request_key: str | None = None,
    ) -> int:
        """Start a rerun of ``run_id`` and return the new run's id as soon as the run exists (it executes on)."""
        ...

    def trigger(
        self, workflow: str, env: str | None = None, version: int | None = None, request_key: str | None = None
    ) -> int:
        """Start a run of a deployed workflow now (``version`` default: its latest; ``env`` default: the env it
        was deployed to); the new run's id."""
        ...


def result_file_of(reader: RunReader, run_id: int, task_id: int) -> tuple[ResultMeta, Path] | None:
    """``reader.result_file(run_id, task_id)`` where the store offers it, else None (read the bytes instead)."""
    locate = getattr(reader, "result_file", None)
    if locate is None:
        return None
    found: tuple[ResultMeta, Path] | None = locate(run_id, task_id)
    return found


def read_whole_log(reader: RunReader, run_id: int, task_id: int, stream: str) -> str:
    """A task's whole log as text, read through any RunReader in 4 MB pages."""
    parts: list[str] = []
    offset = 0
    while True:
        chunk = reader.read_log(run_id, task_id, stream, offset=offset, limit=4 << 20)
        parts.append(chunk.text)
        if chunk.next_offset <= offset or chunk.next_offset >= chunk.size:
            return "".join(parts)
        offset = chunk.next_offset
