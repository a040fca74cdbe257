"""Read routes (role ``read``): workflows, versions and their code, runs, run detail, logs, results, activity.

Workflow names travel in query strings (they may hold '/', '..' or quotes); ids are integers bounded here; every
name reaches the store through its API only, which checks it. Result bytes are streamed in their codec, from the
store's file when it has one; they are never decoded here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response, StreamingResponse

from ..errors import InvalidArgumentError, ResultDecodeError, ResultNotFoundError
from ..models import NAME_MAX, ResultMeta, RunQuery, RunState, from_wire_time
from ..store.overview import workflow_overview
from ..store.tasktable import COLUMNS, task_table_of
from .bodies import MAX_ID
from .cache import cache_key
from .context import ServerContext, json_bytes, json_response, requirement

__all__ = ["MAX_LOG_LIMIT", "RESULT_META_HEADER", "read_router"]

MAX_LOG_LIMIT = 16 << 20
RESULT_META_HEADER = "X-Result-Meta"
_CHUNK = 1 << 20

RunId = Annotated[int, Path(ge=0, le=MAX_ID, description="a run id")]
TaskId = Annotated[int, Path(ge=0, le=MAX_ID, description="a task id within its run")]
Workflow = Annotated[str, Query(max_length=4 * NAME_MAX, description="display name or internal key")]
OptWorkflow = Annotated[str | None, Query(max_length=4 * NAME_MAX, description="display name or internal key")]
Env = Annotated[str | None, Query(max_length=100)]
Stream = Annotated[str, Query(max_length=20, description="stdout or stderr")]


def _file_chunks(fh: Any) -> Iterator[bytes]:
    try:
        while chunk := fh.read(_CHUNK):
            yield chunk
    finally:
        fh.close()


def read_router(ctx: ServerContext) -> APIRouter:
    store = ctx.store
    router = APIRouter(prefix="/v1", dependencies=[Depends(requirement(ctx, "read"))], tags=["read"])

    @router.get("/whoami", summary="The role of the token sent")
    def whoami(role: str = Depends(requirement(ctx, "read"))) -> Response:
        return json_response({"role": role, "auth": ctx.auth.enabled})

    def cached(request: Request, compute: Callable[[], Any]) -> Response:
        """The JSON answer of a pure database read, computed once per state of the database."""
        body = ctx.cache.get(cache_key(request.scope), lambda: json_bytes(compute()))
        return Response(body, media_type="application/json")

    @router.get("/envs", summary="Environments with runs or deployments")
    def list_envs(request: Request) -> Response:
        return cached(request, store.list_envs)

    @router.get("/workflows", summary="Workflows (in one environment if given)")
    def list_workflows(request: Request, env: Env = None) -> Response:
        return cached(request, lambda: [w.to_dict() for w in store.list_workflows(env)])

    @router.get("/versions", summary="Versions of a workflow")
    def list_versions(request: Request, workflow: Workflow) -> Response:
        return cached(request, lambda: [v.to_dict() for v in store.list_versions(workflow)])

    @router.get("/versions/{version}", summary="One version of a workflow")
    def get_version(request: Request, version: Annotated[int, Path(ge=0, le=MAX_ID)], workflow: Workflow) -> Response:
        return cached(request, lambda: store.get_version(workflow, version).to_dict())

    @router.get(
        "/versions/{version}/code",
        summary="A version's stored code, as the opaque bytes the engine stored (204: it has none)",
        responses={200: {"content": {"application/octet-stream": {}}}, 204: {"description": "no stored code"}},
    )
    def get_code(version: Annotated[int, Path(ge=0, le=MAX_ID)], workflow: Workflow) -> Response:
        code = store.get_code(workflow, version)
        if code is None:
            return Response(status_code=204)
        return Response(code, media_type="application/octet-stream")

    @router.get("/runs", summary="One page of runs, newest first, with the count of every match")
    def list_runs(
        request: Request,
        workflow: OptWorkflow = None,
        env: Env = None,
        start: Annotated[str | None, Query(max_length=40, description="ISO time, inclusive")] = None,
        end: Annotated[str | None, Query(max_length=40, description="ISO time, exclusive")] = None,
        state: Annotated[list[RunState], Query()] = [],  # noqa: B006 - FastAPI copies defaults
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        cursor: Annotated[str | None, Query(max_length=1000)] = None,
        roots_only: bool = False,
    ) -> Response:
        query = RunQuery(
            workflow=workflow, env=env, start=_when(start, "start"), end=_when(end, "end"), states=tuple(state),
            limit=limit, cursor=cursor, roots_only=roots_only,
        )  # fmt: skip
        return cached(request, lambda: store.list_runs(query).to_dict())

    @router.get("/runs/{run_id}", summary="A run with all its tasks")
    def get_run(run_id: RunId) -> Response:
        return json_response(store.get_run(run_id).to_dict())

    @router.get("/runs/{run_id}/tasks", summary="A run with its tasks as columns (times: microseconds since 1970)")
    def get_task_table(run_id: RunId) -> Response:
        table = task_table_of(store, run_id)
        return json_response({"run": table.run.to_dict(), "tasks": {name: getattr(table, name) for name in COLUMNS}})

    @router.get("/runs/{run_id}/family", summary="The run's rerun family, root first")
    def rerun_family(run_id: RunId) -> Response:
        return json_response([r.to_dict() for r in store.rerun_family(run_id)])

    @router.get("/activity", summary="Run counts per weekday and UTC hour")
    def activity(
        request: Request,
        workflow: OptWorkflow = None,
        env: Env = None,
        start: Annotated[str | None, Query(max_length=40)] = None,
        end: Annotated[str | None, Query(max_length=40)] = None,
    ) -> Response:
        window = RunQuery(start=_when(start, "start"), end=_when(end, "end"))
        return cached(request, lambda: store.activity(workflow, env, window.start, window.end).to_dict())

    @router.get("/overview", summary="One page of the workflows overview of an environment")
    def overview(
        env: Annotated[str, Query(max_length=100)],
        name_filter: Annotated[str | None, Query(max_length=4 * NAME_MAX)] = None,
        sort: Annotated[str, Query(max_length=40)] = "name",
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=1000)] = None,
        days: Annotated[int, Query(ge=1, le=366)] = 30,
        now: Annotated[str | None, Query(max_length=40, description="ISO time the window ends on")] = None,
    ) -> Response:
        # not cached: the window and the next scheduled runs move with the clock, not only with the database
        page = workflow_overview(store, env, name_filter, sort, limit, cursor, days, _when(now, "now"))
        return json_response(page.to_dict())

    @router.get("/runs/{run_id}/tasks/{task_id}/log", summary="A byte range of a task log, or its tail")
    def read_log(
        run_id: RunId,
        task_id: TaskId,
        stream: Stream = "stdout",
        offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
        limit: Annotated[int, Query(ge=0, le=MAX_LOG_LIMIT)] = 256 * 1024,
        tail: Annotated[int | None, Query(ge=0, le=MAX_LOG_LIMIT)] = None,
    ) -> Response:
        return json_response(store.read_log(run_id, task_id, stream, offset=offset, limit=limit, tail=tail).to_dict())

    @router.get("/runs/{run_id}/tasks/{task_id}/log/search", summary="Lines of a task log matching a pattern")
    def search_log(
        run_id: RunId,
        task_id: TaskId,
        pattern: Annotated[str, Query(max_length=1000)],
        stream: Stream = "stdout",
        regex: bool = False,
        max_matches: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> Response:
        found = store.search_log(run_id, task_id, stream, pattern, regex=regex, max_matches=max_matches)
        return json_response([m.to_dict() for m in found])

    @router.get("/runs/{run_id}/tasks/{task_id}/result/meta", summary="What is known about a result without its bytes")
    def result_meta(run_id: RunId, task_id: TaskId) -> Response:
        task = store.get_run(run_id).task(task_id)
        if task.result is None:
            raise ResultNotFoundError(
                f"task {task_id} of run {run_id} has no result (it is {task.state.value}); only completed tasks "
                "have results"
            )
        return json_response(task.result.to_dict())

    @router.get(
        "/runs/{run_id}/tasks/{task_id}/result",
        summary="A result's encoded bytes, in their codec; its meta is in the X-Result-Meta header (JSON)",
        responses={200: {"content": {"application/octet-stream": {}}}},
    )
    def read_result(run_id: RunId, task_id: TaskId) -> Response:
        locate = getattr(store, "result_file", None)
        located = locate(run_id, task_id) if locate is not None else None
        if located is None:
            meta, data = store.read_result(run_id, task_id)
            return Response(data, media_type="application/octet-stream", headers=_meta_headers(meta))
        meta, path = located
        try:
            fh = open(path, "rb")  # closed by _file_chunks
        except OSError as exc:
            raise ResultDecodeError(
                f"the result of task {task_id} of run {run_id} is missing from the store ({exc.strerror})"
            ) from None
        headers = {**_meta_headers(meta), "Content-Length": str(meta.bytes)}
        return StreamingResponse(_file_chunks(fh), media_type="application/octet-stream", headers=headers)

    return router


def _when(value: str | None, what: str) -> datetime | None:
    try:
        return from_wire_time(value)
    except ValueError:
        raise InvalidArgumentError(f"{what} {value!r} is not an ISO time like 2026-03-02T06:00:00Z") from None


def _meta_headers(meta: ResultMeta) -> dict[str, str]:
    return {RESULT_META_HEADER: json.dumps(meta.to_dict(), ensure_ascii=True, separators=(",", ":"))}
