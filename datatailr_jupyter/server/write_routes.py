"""Write routes (role ``write``): the RunWriter calls, for an engine on another machine recording into this store.

Results arrive as base64 bytes and are checked against their meta (size, sha256) before the store places them;
a result is never taken as a path on the server. Logs arrive as raw bytes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from .bodies import MAX_ID, ClaimBody, NewRunBody, RunUpdateBody, TaskUpdatesBody, VersionBody
from .context import ServerContext, json_response, requirement

__all__ = ["write_router"]

RunId = Annotated[int, Path(ge=0, le=MAX_ID)]
TaskId = Annotated[int, Path(ge=0, le=MAX_ID)]


def write_router(ctx: ServerContext) -> APIRouter:
    store = ctx.store
    router = APIRouter(prefix="/v1", dependencies=[Depends(requirement(ctx, "write"))], tags=["write"])

    @router.post("/versions", summary="Register a version (the latest one unchanged if its hash is the same)")
    def register_version(body: VersionBody) -> Response:
        return json_response(store.register_version(body.spec()).to_dict())

    @router.post("/runs", status_code=201, summary="Create a run and its tasks")
    def create_run(body: NewRunBody) -> Response:
        return json_response(store.create_run(body.record()).to_dict(), 201)

    @router.patch("/runs/{run_id}", status_code=204, summary="Change a run's state, times or error message")
    def update_run(run_id: RunId, body: RunUpdateBody) -> Response:
        store.update_run(run_id, body.record())
        return Response(status_code=204)

    @router.post("/runs/{run_id}/task-updates", status_code=204, summary="Apply task updates in one transaction")
    def update_tasks(run_id: RunId, body: TaskUpdatesBody) -> Response:
        store.update_tasks(run_id, [u.record() for u in body.updates])
        return Response(status_code=204)

    @router.post(
        "/runs/{run_id}/tasks/{task_id}/log",
        status_code=204,
        summary="Append bytes to a task log",
        openapi_extra={
            "requestBody": {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
        },
    )
    async def append_log(
        run_id: RunId,
        task_id: TaskId,
        request: Request,
        stream: Annotated[str, Query(max_length=20, description="stdout or stderr")] = "stdout",
    ) -> Response:
        data = await request.body()
        await run_in_threadpool(store.append_log, run_id, task_id, stream, data)
        return Response(status_code=204)

    @router.post("/schedule-claims", summary="Claim one schedule tick (true exactly once per tick)")
    def claim_schedule(body: ClaimBody) -> Response:
        return json_response({"claimed": store.claim_schedule(body.workflow, body.env, body.scheduled_time)})

    @router.post("/recover", summary="End the active runs of engines that are gone")
    def recover() -> Response:
        return json_response({"run_ids": store.recover()})

    return router
