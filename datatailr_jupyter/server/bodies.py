"""Request bodies of the HTTP API as pydantic models (so /openapi.json describes them), and their protocol records.

Bounds here keep hostile input from reaching the store as something it cannot hold (ids beyond SQLite's 64-bit
integers, file paths, unknown codecs, graphs whose dependencies point nowhere); names and environments are
checked by the store itself. Bytes (stored code, results) travel as base64 and are never unpickled here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from ..errors import InvalidArgumentError
from ..models import ResultMeta, RunState, TaskError, Trigger
from ..store.protocols import EncodedResult, NewRun, RunUpdate, TaskSpec, TaskUpdate, VersionSpec

__all__ = [
    "MAX_ID",
    "ClaimBody",
    "NewRunBody",
    "RerunBody",
    "RunUpdateBody",
    "TaskUpdatesBody",
    "TriggerBody",
    "VersionBody",
]

MAX_ID = 2**62
"""Largest run, task or version number accepted (SQLite integers are 64-bit)."""

Id = Annotated[int, Field(ge=0, le=MAX_ID)]
Text = Annotated[str, Field(max_length=10_000)]
LongText = Annotated[str, Field(max_length=1_000_000)]
Base64 = Annotated[str, Field(description="bytes, base64-encoded", json_schema_extra={"contentEncoding": "base64"})]
Codec = Literal["arrow", "parquet", "npy", "json", "pickle"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _bytes(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgumentError(f"{what} is not valid base64") from None


# ---------------------------------------------------------------- versions


class DefinitionTask(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: Id
    name: Text
    function: Text = ""
    dependencies: list[Id] = Field(default_factory=list, max_length=100_000)


class Definition(BaseModel):
    """A workflow definition: its tasks (ids, names, dependencies among them) and whatever else the engine keeps."""

    model_config = ConfigDict(extra="allow")

    tasks: list[DefinitionTask] = Field(default_factory=list, max_length=100_000)

    @model_validator(mode="after")
    def _graph(self) -> Definition:
        ids = [t.id for t in self.tasks]
        if len(set(ids)) != len(ids):
            raise ValueError("task ids must be unique")
        known = set(ids)
        for t in self.tasks:
            missing = [d for d in t.dependencies if d not in known]
            if missing:
                raise ValueError(f"task {t.id} depends on unknown task ids {missing[:5]}")
        return self


class VersionBody(_Body):
    workflow: Text
    definition: Definition
    definition_hash: Text
    schedule: Text | None = None
    code: Base64 | None = None
    created_at: AwareDatetime | None = None

    def spec(self) -> VersionSpec:
        code = None if self.code is None else _bytes(self.code, "code")
        return VersionSpec(
            workflow=self.workflow, definition=self.definition.model_dump(exclude_unset=True),
            definition_hash=self.definition_hash, schedule=self.schedule, code=code, created_at=self.created_at,
        )  # fmt: skip


# ---------------------------------------------------------------- runs


class TaskSpecBody(_Body):
    id: Id
    name: Text
    function: Text = ""
    dependencies: list[Id] = Field(default_factory=list, max_length=100_000)
    resources: dict[str, Any] = Field(default_factory=dict)

    def spec(self) -> TaskSpec:
        return TaskSpec(self.id, self.name, self.function, tuple(self.dependencies), dict(self.resources))


class NewRunBody(_Body):
    workflow: Text
    env: Text
    job_version: Id
    tasks: list[TaskSpecBody] = Field(max_length=100_000)
    trigger: Trigger = Trigger.LOCAL
    params: dict[str, Any] = Field(default_factory=dict)
    rerun_of: Id | None = None
    partial_rerun: bool = False
    scheduled_time: AwareDatetime | None = None
    submit_time: AwareDatetime | None = None
    state: RunState = RunState.PENDING
    owner: Text | None = None

    def record(self) -> NewRun:
        return NewRun(
            workflow=self.workflow, env=self.env, job_version=self.job_version,
            tasks=tuple(t.spec() for t in self.tasks), trigger=self.trigger, params=dict(self.params),
            rerun_of=self.rerun_of, partial_rerun=self.partial_rerun, scheduled_time=self.scheduled_time,
            submit_time=self.submit_time, state=self.state, owner=self.owner,
        )  # fmt: skip


class RunUpdateBody(_Body):
    state: RunState | None = None
    start_time: AwareDatetime | None = None
    end_time: AwareDatetime | None = None
    error_message: LongText | None = None

    def record(self) -> RunUpdate:
        return RunUpdate(self.state, self.start_time, self.end_time, self.error_message)


class TaskErrorBody(_Body):
    type: Text
    message: LongText
    traceback: LongText = ""


class ResultMetaBody(_Body):
    codec: Codec
    bytes: Id
    python_type: Text
    shape: list[Id] | None = Field(default=None, max_length=64)
    length: Id | None = None
    preview: LongText = ""
    sha256: Text = ""


class ResultBody(_Body):
    meta: ResultMetaBody
    data: Base64

    def encoded(self, task_id: int) -> EncodedResult:
        data = _bytes(self.data, f"the result of task {task_id}")
        meta = ResultMeta(
            codec=self.meta.codec, bytes=self.meta.bytes, python_type=self.meta.python_type,
            shape=None if self.meta.shape is None else tuple(self.meta.shape), length=self.meta.length,
            preview=self.meta.preview, sha256=self.meta.sha256,
        )  # fmt: skip
        if meta.bytes != len(data) or (meta.sha256 and meta.sha256 != hashlib.sha256(data).hexdigest()):
            raise InvalidArgumentError(
                f"the result of task {task_id} does not match its meta (size or sha256); it was damaged in transit"
            )
        return EncodedResult(meta=meta, data=data)


class TaskUpdateBody(_Body):
    task_id: Id
    state: RunState | None = None
    start_time: AwareDatetime | None = None
    end_time: AwareDatetime | None = None
    attempt: Annotated[int, Field(ge=0, le=2**31)] | None = None
    exit_code: Annotated[int, Field(ge=-(2**31), le=2**31)] | None = None
    error: TaskErrorBody | None = None
    host: Text | None = None
    result: ResultBody | None = None
    reused_from_run: Id | None = None
    reused_from_task: Id | None = None

    def record(self) -> TaskUpdate:
        error = None if self.error is None else TaskError(self.error.type, self.error.message, self.error.traceback)
        return TaskUpdate(
            task_id=self.task_id, state=self.state, start_time=self.start_time, end_time=self.end_time,
            attempt=self.attempt, exit_code=self.exit_code, error=error, host=self.host,
            result=None if self.result is None else self.result.encoded(self.task_id),
            reused_from_run=self.reused_from_run, reused_from_task=self.reused_from_task,
        )  # fmt: skip


class TaskUpdatesBody(_Body):
    updates: list[TaskUpdateBody] = Field(max_length=100_000)


class ClaimBody(_Body):
    workflow: Text
    env: Text
    scheduled_time: AwareDatetime


# ---------------------------------------------------------------- actions


class RerunBody(_Body):
    """A rerun of a run: partial by default; ``full`` re-executes every task; ``from_task`` (id or name) that task
    and its downstream; ``version`` runs that version's code instead of the run's own."""

    version: Id | None = None
    full: bool = False
    from_task: Id | Text | None = None


class TriggerBody(_Body):
    """Run a deployed workflow now: ``version`` (default its latest) in ``env`` (default the env it was deployed
    to, else dev)."""

    workflow: Text
    env: Text | None = None
    version: Id | None = None
