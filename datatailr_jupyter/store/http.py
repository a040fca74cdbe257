"""HttpRunStore: a RunReader, RunWriter and RunActions over a ``dt serve`` server (``http(s)://host:port``).

It passes the same contract suite as the embedded store, raising the same exceptions (the server names them).
It speaks HTTP through http_wire.Transport (urllib3 keep-alive connections) and decodes run pages with msgspec. Every
call has a timeout. Idempotent calls (GET) are retried with exponential backoff on connection failures and on
502/503/504/429 answers, honouring Retry-After; writes are retried only when they never reached the server.
Reruns and triggers carry an Idempotency-Key (a uuid4, the same across their own retries), so they are retried
too and start at most one run. Results arrive as their encoded bytes, checked against size and sha256; pickles
among them are decoded only when the store is trusted (``connect(url, trust=True)``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .. import errors as _errors
from ..errors import (
    AuthenticationError,
    DatatailrJupyterError,
    NotFoundError,
    PermissionDeniedError,
    ResultDecodeError,
    StoreError,
    StoreUnavailableError,
)
from ..models import (
    ActivityGrid,
    LogChunk,
    LogMatch,
    ResultMeta,
    RunDetail,
    RunPage,
    RunQuery,
    RunSummary,
    Version,
    WorkflowInfo,
    to_wire_time,
)
from .http_wire import Answer, Transport, decode_list, decode_page
from .overview import OverviewPage
from .protocols import DEFAULT_LOG_LIMIT, EncodedResult, NewRun, RunUpdate, TaskUpdate, VersionSpec
from .tasktable import COLUMNS, TaskTable, table_of

__all__ = ["DEFAULT_TIMEOUT", "HttpRunStore", "open_http_store"]

DEFAULT_TIMEOUT = (5.0, 60.0)
"""Seconds to connect, and to wait for each read of an answer."""

RESULT_META_HEADER = "X-Result-Meta"
_SUMMARIES = decode_list(RunSummary)
_WORKFLOWS = decode_list(WorkflowInfo)


def _public_url(url: str) -> str:
    """The URL without credentials or query, as shown in labels and messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


class HttpRunStore:
    """A run store on a ``dt serve`` server. ``token``: a ``dtt_...`` token (read, execute or write role);
    ``trust``: whether pickled results and code from this server may be loaded here."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        trust: bool = False,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        attempts: int = 4,
        backoff: float = 0.25,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StoreUnavailableError(f"{url!r} is not a run store server URL; use http(s)://host:port")
        self._url = _public_url(url)
        self._trust = trust
        self._wire = Transport(self._url, token, timeout, attempts, backoff)

    # ------------------------------------------------------------ transport

    def _call(self, method: str, path: str, **kw: Any) -> Answer:
        """The answer to a request (Transport.send's arguments), or the error the server's answer names."""
        answer = self._wire.send(method, path, **kw)
        if answer.status >= 400:
            raise self._error(answer)
        return answer

    def _json(self, method: str, path: str, decode: Callable[[bytes], Any] = json.loads, **kw: Any) -> Any:
        answer = self._call(method, path, **kw)
        try:
            return decode(answer.data)
        except ValueError:
            raise StoreError(
                f"the run store server at {self._url} sent an answer that is not JSON ({answer.status}): "
                f"{answer.data[:100]!r}"
            ) from None

    def _error(self, response: Answer) -> DatatailrJupyterError:
        status = response.status
        try:
            error = response.json()["error"]
            name, message = str(error["type"]), str(error["message"])
        except (ValueError, KeyError, TypeError):
            name, message = "", response.data[:300].decode("utf-8", "replace") or response.reason
        if status == 401:
            return AuthenticationError(
                f"the run store server at {self._url} refused the request: the token is missing, unknown or revoked: "
                f"pass --token / set DT_RUNS_TOKEN ({message})"
            )
        if status == 403:
            return PermissionDeniedError(f"the run store server at {self._url} refused the request: {message}")
        cls = getattr(_errors, name, None)
        if isinstance(cls, type) and issubclass(cls, DatatailrJupyterError) and cls is not DatatailrJupyterError:
            return cls(message)
        if status == 404:
            return NotFoundError(message)
        if status == 503:
            return StoreUnavailableError(f"the run store server at {self._url} is unavailable: {message}")
        if status in (400, 422):
            return _errors.InvalidArgumentError(message)
        return StoreError(f"the run store server at {self._url} failed ({status}): {message}")

    # ------------------------------------------------------------ RunReader

    @property
    def label(self) -> str:
        return self._url

    @property
    def trusted(self) -> bool:
        return self._trust

    @property
    def url(self) -> str:
        return self._url

    @property
    def actions(self) -> HttpRunStore:
        """The RunActions of this store: the server runs reruns and triggers."""
        return self

    def __repr__(self) -> str:
        return f"HttpRunStore({self._url!r})"

    def health(self) -> dict[str, Any]:
        """The server's /health answer (no token needed)."""
        answer: dict[str, Any] = self._json("GET", "/health")
        return answer

    def whoami(self) -> str:
        """The role of this store's token on the server (AuthenticationError when it has none)."""
        return str(self._json("GET", "/v1/whoami")["role"])

    def list_envs(self) -> list[str]:
        return [str(e) for e in self._json("GET", "/v1/envs")]

    def list_workflows(self, env: str | None = None) -> list[WorkflowInfo]:
        found: list[WorkflowInfo] = self._json("GET", "/v1/workflows", _WORKFLOWS, params={"env": env})
        return found

    def list_versions(self, workflow: str) -> list[Version]:
        return [Version.from_dict(v) for v in self._json("GET", "/v1/versions", params={"workflow": workflow})]

    def get_version(self, workflow: str, version: int) -> Version:
        return Version.from_dict(self._json("GET", f"/v1/versions/{int(version)}", params={"workflow": workflow}))

    def get_code(self, workflow: str, version: int) -> bytes | None:
        response = self._call("GET", f"/v1/versions/{int(version)}/code", params={"workflow": workflow})
        return None if response.status == 204 else response.data

    def list_runs(self, query: RunQuery) -> RunPage:
        params = {
            "workflow": query.workflow, "env": query.env, "start": to_wire_time(query.start),
            "end": to_wire_time(query.end), "state": [s.value for s in query.states] or None, "limit": query.limit,
            "cursor": query.cursor, "roots_only": "true" if query.roots_only else None,
        }  # fmt: skip
        page: RunPage = self._json("GET", "/v1/runs", decode_page, params=params)
        return page

    def rerun_family(self, run_id: int) -> list[RunSummary]:
        runs: list[RunSummary] = self._json("GET", f"/v1/runs/{int(run_id)}/family", _SUMMARIES)
        return runs

    def get_run(self, run_id: int) -> RunDetail:
        return RunDetail.from_dict(self._json("GET", f"/v1/runs/{int(run_id)}"))

    def get_task_table(self, run_id: int) -> TaskTable:
        """The run's tasks as columns, as the server's store reads them (from get_run if the server has no such
        route: an older one)."""
        try:
            data = self._json("GET", f"/v1/runs/{int(run_id)}/tasks")
        except NotFoundError as exc:
            if type(exc) is not NotFoundError:  # RunNotFoundError: the run is missing, not the route
                raise
            return table_of(self.get_run(run_id))
        tasks = data["tasks"]
        return TaskTable(RunSummary.from_dict(data["run"]), **{name: tasks[name] for name in COLUMNS})

    def activity(
        self, workflow: str | None, env: str | None, start: datetime | None = None, end: datetime | None = None
    ) -> ActivityGrid:
        params = {"workflow": workflow, "env": env, "start": to_wire_time(start), "end": to_wire_time(end)}
        return ActivityGrid.from_dict(self._json("GET", "/v1/activity", params=params))

    def workflow_overview(
        self,
        env: str,
        name_filter: str | None = None,
        sort: str = "name",
        limit: int = 50,
        cursor: str | None = None,
        days: int = 30,
        now: datetime | None = None,
    ) -> OverviewPage:
        """One page of the workflows overview, computed by the server's store."""
        params = {
            "env": env, "name_filter": name_filter, "sort": sort, "limit": limit, "cursor": cursor, "days": days,
            "now": to_wire_time(now),
        }  # fmt: skip
        return OverviewPage.from_dict(self._json("GET", "/v1/overview", params=params))

    def read_log(
        self,
        run_id: int,
        task_id: int,
        stream: str,
        offset: int = 0,
        limit: int = DEFAULT_LOG_LIMIT,
        tail: int | None = None,
    ) -> LogChunk:
        params = {"stream": stream, "offset": offset, "limit": limit, "tail": tail}
        return LogChunk.from_dict(self._json("GET", f"/v1/runs/{int(run_id)}/tasks/{int(task_id)}/log", params=params))

    def search_log(
        self, run_id: int, task_id: int, stream: str, pattern: str, regex: bool = False, max_matches: int = 1000
    ) -> list[LogMatch]:
        params = {
            "stream": stream,
            "pattern": pattern,
            "regex": "true" if regex else "false",
            "max_matches": max_matches,
        }
        found = self._json("GET", f"/v1/runs/{int(run_id)}/tasks/{int(task_id)}/log/search", params=params)
        return [LogMatch.from_dict(m) for m in found]

    def result_meta(self, run_id: int, task_id: int) -> ResultMeta:
        """What is known about a result, without its bytes."""
        return ResultMeta.from_dict(self._json("GET", f"/v1/runs/{int(run_id)}/tasks/{int(task_id)}/result/meta"))

    def read_result(self, run_id: int, task_id: int) -> tuple[ResultMeta, bytes]:
        response = self._call("GET", f"/v1/runs/{int(run_id)}/tasks/{int(task_id)}/result")
        try:
            meta = ResultMeta.from_dict(json.loads(response.headers[RESULT_META_HEADER]))
        except (KeyError, ValueError, TypeError):
            raise StoreError(f"the run store server at {self._url} sent a result without its meta") from None
        data = response.data
        if len(data) != meta.bytes or (meta.sha256 and hashlib.sha256(data).hexdigest() != meta.sha256):
            raise ResultDecodeError(
                f"the result of task {task_id} of run {run_id} arrived with {len(data)} bytes that do not match "
                f"its recorded size ({meta.bytes}) or sha256; try again"
            )
        return meta, data

    def close(self) -> None:
        self._wire.close()

    def __enter__(self) -> HttpRunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ RunWriter

    def register_version(self, spec: VersionSpec) -> Version:
        body = {
            "workflow": spec.workflow, "definition": spec.definition, "definition_hash": spec.definition_hash,
            "schedule": spec.schedule, "code": None if spec.code is None else _b64(spec.code),
            "created_at": to_wire_time(spec.created_at),
        }  # fmt: skip
        return Version.from_dict(self._json("POST", "/v1/versions", body=body))

    def create_run(self, run: NewRun) -> RunSummary:
        body = {
            "workflow": run.workflow, "env": run.env, "job_version": run.job_version,
            "tasks": [{"id": t.id, "name": t.name, "function": t.function, "dependencies": list(t.dependencies),
                       "resources": t.resources} for t in run.tasks],
            "trigger": run.trigger.value, "params": run.params, "rerun_of": run.rerun_of,
            "partial_rerun": run.partial_rerun, "scheduled_time": to_wire_time(run.scheduled_time),
            "submit_time": to_wire_time(run.submit_time), "state": run.state.value, "owner": run.owner,
        }  # fmt: skip
        return RunSummary.from_dict(self._json("POST", "/v1/runs", body=body))

    def update_run(self, run_id: int, update: RunUpdate) -> None:
        body = {
            "state": None if update.state is None else update.state.value,
            "start_time": to_wire_time(update.start_time), "end_time": to_wire_time(update.end_time),
            "error_message": update.error_message,
        }  # fmt: skip
        self._call("PATCH", f"/v1/runs/{int(run_id)}", body=_clean(body))

    def update_tasks(self, run_id: int, updates: Sequence[TaskUpdate]) -> None:
        body = {"updates": [_task_update(u) for u in updates]}
        self._call("POST", f"/v1/runs/{int(run_id)}/task-updates", body=body)

    def append_log(self, run_id: int, task_id: int, stream: str, data: bytes) -> None:
        self._call(
            "POST", f"/v1/runs/{int(run_id)}/tasks/{int(task_id)}/log", params={"stream": stream}, data=bytes(data),
            headers={"Content-Type": "application/octet-stream"},
        )  # fmt: skip

    def log_path(self, run_id: int, task_id: int, stream: str) -> Path | None:
        return None

    def staging_dir(self) -> Path | None:
        return None

    def claim_schedule(self, workflow: str, env: str, scheduled_time: datetime) -> bool:
        body = {"workflow": workflow, "env": env, "scheduled_time": to_wire_time(scheduled_time)}
        return bool(self._json("POST", "/v1/schedule-claims", body=body)["claimed"])

    def recover(self) -> list[int]:
        return [int(r) for r in self._json("POST", "/v1/recover")["run_ids"]]

    # ------------------------------------------------------------ RunActions

    def plan_rerun(
        self, run_id: int, version: int | None = None, full: bool = False, from_task: int | str | None = None
    ) -> dict[str, Any]:
        """What a rerun with these arguments would reuse, execute and skip (RerunPlan.to_dict())."""
        body = {"version": version, "full": full, "from_task": from_task}
        plan: dict[str, Any] = self._json("POST", f"/v1/runs/{int(run_id)}/rerun-plan", body=body)
        return plan

    def rerun(
        self,
        run_id: int,
        version: int | None = None,
        full: bool = False,
        from_task: int | str | None = None,
        request_key: str | None = None,
    ) -> int:
        """Have the server rerun ``run_id``; the new run's id (the run executes on the server)."""
        body = {"version": version, "full": full, "from_task": from_task}
        return self._act(f"/v1/runs/{int(run_id)}/rerun", body, request_key)

    def trigger(
        self, workflow: str, env: str | None = None, version: int | None = None, request_key: str | None = None
    ) -> int:
        """Have the server run a deployed workflow now (version: its latest); the new run's id."""
        return self._act("/v1/trigger", {"workflow": workflow, "env": env, "version": version}, request_key)

    def _act(self, path: str, body: dict[str, Any], request_key: str | None) -> int:
        key = request_key or str(uuid.uuid4())
        answer = self._json("POST", path, body=body, headers={"Idempotency-Key": key}, keyed=True)
        return int(answer["run_id"])


def _task_update(u: TaskUpdate) -> dict[str, Any]:
    out: dict[str, Any] = {
        "task_id": u.task_id, "state": None if u.state is None else u.state.value,
        "start_time": to_wire_time(u.start_time), "end_time": to_wire_time(u.end_time), "attempt": u.attempt,
        "exit_code": u.exit_code, "error": None if u.error is None else u.error.to_dict(), "host": u.host,
        "reused_from_run": u.reused_from_run, "reused_from_task": u.reused_from_task,
    }  # fmt: skip
    if u.result is not None:
        out["result"] = _result(u.result)
    return _clean(out)


def _result(result: EncodedResult) -> dict[str, Any]:
    data = result.data if result.data is not None else Path(str(result.path)).read_bytes()
    return {"meta": _clean(result.meta.to_dict()), "data": _b64(bytes(data))}


def open_http_store(
    url: str, token: str | None = None, trusted: bool = False, *, trust: bool = False, create: bool = True
) -> HttpRunStore:
    """Open ``http(s)://host:port`` (a ``dt serve`` server). ``trusted`` (what ``open_store(url, trust=True)``
    passes) or ``trust``: load pickled results and code from it; off by default. ``create`` is ignored: the server
    decides what exists."""
    return HttpRunStore(url, token, trust=trusted or trust)
