"""Frozen records for workflows, versions, runs, tasks, results and logs, and their plain-JSON wire form."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any, TypeVar

from .errors import InvalidArgumentError, InvalidNameError

__all__ = [
    "ActivityGrid",
    "LogChunk",
    "LogMatch",
    "NAME_MAX",
    "ResultMeta",
    "RunDetail",
    "RunPage",
    "RunQuery",
    "RunState",
    "RunSummary",
    "STATE_COLOURS",
    "TaskError",
    "TaskRun",
    "Trigger",
    "Version",
    "WorkflowInfo",
    "check_env",
    "check_name",
    "from_wire_time",
    "hidden_character",
    "normalize_name",
    "to_wire_time",
    "utcnow",
]

NAME_MAX = 200
"""Longest accepted workflow or task name, in characters."""


class RunState(str, Enum):
    """States of runs and tasks, with the seed SDK's vocabulary."""

    CREATED = "created"
    SCHEDULED = "scheduled"
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    FAILED_AFTER = "failed_after"
    OUT_OF_MEMORY = "out_of_memory"
    STOPPED = "stopped"
    EXPIRED = "expired"
    DID_NOT_RUN = "did_not_run"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        return self not in _ACTIVE

    @property
    def is_failure(self) -> bool:
        return self in _FAILURES

    @classmethod
    def parse(cls, value: str | RunState) -> RunState:
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise InvalidArgumentError(f"unknown state {value!r}; known states: {names}") from None


_ACTIVE = frozenset({RunState.CREATED, RunState.SCHEDULED, RunState.PENDING, RunState.RUNNING})
_FAILURES = frozenset(
    {RunState.FAILED, RunState.FAILED_AFTER, RunState.OUT_OF_MEMORY, RunState.STOPPED, RunState.EXPIRED}
)

STATE_COLOURS: dict[str, tuple[str, bool]] = {
    # state: (background colour, label drawn in dark text)
    "created": ("#b3bcc8", True),
    "scheduled": ("#6ea8ff", True),
    "pending": ("#9b85ff", True),
    "running": ("#f0b04a", True),
    "completed": ("#3aceac", False),
    "failed": ("#ff4344", False),
    "failed_after": ("#ff7757", True),
    "out_of_memory": ("#d9534f", False),
    "stopped": ("#6f7785", False),
    "expired": ("#9098a3", True),
    "did_not_run": ("#aab1b8", True),
    "unknown": ("#4f5760", False),
}


class Trigger(str, Enum):
    """What started a run."""

    LOCAL = "local"
    MANUAL = "manual"
    SCHEDULE = "schedule"
    RERUN = "rerun"


# ---------------------------------------------------------------- names and times

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_HIDDEN = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))  # control, format (bidi, zero-width), surrogate, line breaks
_CONTROL_NAMES = {"\n": "LINE FEED", "\r": "CARRIAGE RETURN", "\t": "TAB", "\x1b": "ESCAPE", "\x00": "NUL"}


def normalize_name(name: str) -> str:
    """The internal key of a display name: NFKC, lowercase, non-alphanumerics to '-', stripped of '-'."""
    return _NON_ALNUM.sub("-", unicodedata.normalize("NFKC", name).lower()).strip("-")


def hidden_character(text: str) -> str | None:
    """How to name the first control or invisible formatting character of ``text`` (``U+202E RIGHT-TO-LEFT
    OVERRIDE``), or None when it has none: line breaks, tabs, escapes, bidi overrides and isolates, zero-width
    characters and byte-order marks make a name print differently from what it is."""
    for ch in text:
        if unicodedata.category(ch) in _HIDDEN:
            label = _CONTROL_NAMES.get(ch) or unicodedata.name(ch, "") or "control character"
            return f"U+{ord(ch):04X} {label}"
    return None


def check_name(name: object, what: str = "name") -> str:
    """Return ``name`` if it is an acceptable workflow/task display name, else raise InvalidNameError."""
    if not isinstance(name, str):
        raise InvalidNameError(f"{what} must be a string, not {type(name).__name__}")
    if not name.strip():
        raise InvalidNameError(f"{what} must not be empty")
    if len(name) > NAME_MAX:
        raise InvalidNameError(f"{what} is {len(name)} characters long; the limit is {NAME_MAX}")
    bad = hidden_character(name)
    if bad is not None:
        raise InvalidNameError(
            f"{what} {name[:60]!r} contains {bad}, a control or invisible formatting character; use a single "
            "line of visible characters"
        )
    return name


_ENV = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_env(env: object) -> str:
    """Return ``env`` if it is an acceptable environment name (``dev``, ``pre``, ``prod``, ...)."""
    if not isinstance(env, str) or not _ENV.fullmatch(env):
        bad = hidden_character(env) if isinstance(env, str) else None
        why = f" (it contains {bad})" if bad else ""
        raise InvalidNameError(
            f"environment {env!r} is not valid{why}: use 1-64 letters, digits, '.', '_' or '-', e.g. 'dev' or 'prod'"
        )
    return env


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def to_wire_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise InvalidArgumentError(f"datetime {value.isoformat()} has no time zone; pass an aware (UTC) datetime")
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def from_wire_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


# ---------------------------------------------------------------- wire (de)serialisation

R = TypeVar("R", bound="_Record")


class _Record:
    """Mixin: to_dict()/from_dict() between a frozen dataclass and plain JSON values."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            out[f.name] = _to_wire(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls: type[R], data: Mapping[str, Any]) -> R:
        kwargs: dict[str, Any] = {}
        hints = _field_kinds(cls)
        for name, kind in hints.items():
            if name in data:
                kwargs[name] = _from_wire(kind, data[name])
        return cls(**kwargs)


def _to_wire(value: Any) -> Any:
    if isinstance(value, _Record):
        return value.to_dict()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return to_wire_time(value)
    if isinstance(value, tuple | list):
        return [_to_wire(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _to_wire(v) for k, v in value.items()}
    return value


_KINDS: dict[type, dict[str, str]] = {}


def _field_kinds(cls: type) -> dict[str, str]:
    """Map each field to how it is decoded: 'time', 'state', 'states', a record class name, or 'plain'."""
    if cls not in _KINDS:
        kinds = {}
        for f in dataclasses.fields(cls):
            kinds[f.name] = str(f.metadata.get("wire", "plain"))
        _KINDS[cls] = kinds
    return _KINDS[cls]


def _from_wire(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "time":
        return from_wire_time(value)
    if kind == "state":
        return RunState.parse(value)
    if kind == "states":
        return tuple(RunState.parse(v) for v in value)
    if kind == "trigger":
        return Trigger(value)
    if kind == "tuple":
        return tuple(value)
    if kind == "grid":
        return tuple(tuple(int(c) for c in row) for row in value)
    if kind == "shape":
        return tuple(int(v) for v in value)
    if kind == "counts":
        return {str(k): int(v) for k, v in value.items()}
    if kind.startswith("record:"):
        rec = _RECORDS[kind[7:]]
        return rec.from_dict(value)
    if kind.startswith("records:"):
        rec = _RECORDS[kind[8:]]
        return tuple(rec.from_dict(v) for v in value)
    return value


def _wire(kind: str, default: Any = None, **kw: Any) -> Any:
    if "default_factory" in kw:
        return field(metadata={"wire": kind}, **kw)
    return field(default=default, metadata={"wire": kind}, **kw)


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class ResultMeta(_Record):
    """What is known about a stored task result without loading it."""

    codec: str  # "arrow" | "parquet" (tables stored before arrow) | "npy" | "json" | "pickle"
    bytes: int
    python_type: str  # e.g. "pandas.core.frame.DataFrame"
    shape: tuple[int, ...] | None = _wire("shape")
    length: int | None = None
    preview: str = ""
    sha256: str = ""


@dataclass(frozen=True)
class TaskError(_Record):
    type: str
    message: str
    traceback: str = ""


@dataclass(frozen=True)
class Version(_Record):
    """One integer version of a workflow's definition (graph + code)."""

    workflow_key: str
    version: int
    created_at: datetime = _wire("time")
    definition_hash: str = ""
    definition: dict[str, Any] = field(default_factory=dict)
    schedule: str | None = None


@dataclass(frozen=True)
class WorkflowInfo(_Record):
    """A workflow as the workflow picker shows it, for one environment."""

    key: str
    name: str
    env: str
    n_tasks: int = 0
    schedule: str | None = None
    latest_version: int = 0
    n_runs: int = 0
    last_run_id: int | None = None
    last_state: RunState | None = _wire("state")
    last_start_time: datetime | None = _wire("time")
    recent_states: tuple[RunState, ...] = _wire("states", default=())


@dataclass(frozen=True)
class RunSummary(_Record):
    """One run, as a row of the run table."""

    run_id: int
    workflow: str
    workflow_key: str
    env: str
    job_version: int
    state: RunState = _wire("state", default=RunState.CREATED)
    trigger: Trigger = _wire("trigger", default=Trigger.LOCAL)
    original_run_id: int | None = None
    rerun_of: int | None = None
    partial_rerun: bool = False
    submit_time: datetime | None = _wire("time")
    start_time: datetime | None = _wire("time")
    end_time: datetime | None = _wire("time")
    scheduled_time: datetime | None = _wire("time")
    params: dict[str, Any] = field(default_factory=dict)
    n_tasks: int = 0
    task_counts: dict[str, int] = _wire("counts", default_factory=dict)
    error_message: str | None = None
    n_reruns: int = 0

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (or None while not both known)."""
        if self.start_time is None or self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()


@dataclass(frozen=True)
class TaskRun(_Record):
    """One task within one run."""

    run_id: int
    id: int
    name: str
    function: str = ""
    dependencies: tuple[int, ...] = _wire("tuple", default=())
    state: RunState = _wire("state", default=RunState.CREATED)
    start_time: datetime | None = _wire("time")
    end_time: datetime | None = _wire("time")
    attempt: int = 0
    exit_code: int | None = None
    error: TaskError | None = _wire("record:TaskError")
    resources: dict[str, Any] = field(default_factory=dict)
    result: ResultMeta | None = _wire("record:ResultMeta")
    reused_from_run: int | None = None
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    host: str | None = None


@dataclass(frozen=True)
class RunDetail(_Record):
    """A run with all its tasks (the DAG of the version that produced it)."""

    run: RunSummary = _wire("record:RunSummary")
    tasks: tuple[TaskRun, ...] = _wire("records:TaskRun", default=())

    def task(self, ref: int | str) -> TaskRun:
        """A task by id or by name; raises TaskNotFoundError listing the task names."""
        from .errors import TaskNotFoundError, known

        for t in self.tasks:
            if (isinstance(ref, int) and t.id == ref) or (isinstance(ref, str) and t.name == ref):
                return t
        raise TaskNotFoundError(
            f"run {self.run.run_id} has no task {ref!r}; its tasks are {known(t.name for t in self.tasks)}"
        )


@dataclass(frozen=True)
class RunQuery(_Record):
    """Filter and page of a run listing. Dates bound the run's start (or submit, before it starts)."""

    workflow: str | None = None  # key or display name
    env: str | None = None
    start: datetime | None = _wire("time")  # inclusive
    end: datetime | None = _wire("time")  # exclusive
    states: tuple[RunState, ...] = _wire("states", default=())
    limit: int = 50
    cursor: str | None = None  # opaque, from RunPage.next_cursor
    roots_only: bool = False  # only runs that are not reruns (their reruns via rerun_family)

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= 1000:
            raise InvalidArgumentError(f"limit must be between 1 and 1000, got {self.limit}")
        if self.env is not None:
            check_env(self.env)
        for t, what in ((self.start, "start"), (self.end, "end")):
            if t is not None and t.tzinfo is None:
                raise InvalidArgumentError(f"{what} {t.isoformat()} has no time zone; pass an aware (UTC) datetime")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise InvalidArgumentError(
                f"end {to_wire_time(self.end)} is not after start {to_wire_time(self.start)}; swap them"
            )


@dataclass(frozen=True)
class RunPage(_Record):
    runs: tuple[RunSummary, ...] = _wire("records:RunSummary", default=())
    total: int = 0
    next_cursor: str | None = None


@dataclass(frozen=True)
class LogChunk(_Record):
    """A byte range of one task log, decoded as UTF-8 (invalid bytes replaced)."""

    run_id: int
    task_id: int
    stream: str  # "stdout" | "stderr"
    offset: int  # byte offset of the first byte of `text`
    next_offset: int  # byte offset just after the last byte of `text`
    size: int  # size of the whole log now
    text: str
    complete: bool = False  # the task has ended: the log will not grow


@dataclass(frozen=True)
class LogMatch(_Record):
    line: int  # 0-based line number in the whole log
    offset: int  # byte offset of the line start
    text: str  # the line (cut to a few hundred characters)


@dataclass(frozen=True)
class ActivityGrid(_Record):
    """Run counts per weekday (0 = Monday) x hour (0-23, UTC)."""

    counts: tuple[tuple[int, ...], ...] = _wire("grid", default=())
    total: int = 0


_RECORDS: dict[str, type[_Record]] = {
    "ResultMeta": ResultMeta,
    "TaskError": TaskError,
    "RunSummary": RunSummary,
    "TaskRun": TaskRun,
}
