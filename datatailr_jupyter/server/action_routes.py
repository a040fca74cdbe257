"""Action routes: the rerun plan (role ``read``), rerun and trigger (role ``execute``), run by the server's engine.

Rerun and trigger answer ``202 {"run_id": N}`` as soon as the run exists. Send an ``Idempotency-Key`` header
(any 1-255 visible ASCII characters; a uuid4 is usual): the same key with the same body replays the first answer
(with ``Idempotent-Replayed: true``) and starts nothing; the same key with another body is refused (422).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path
from starlette.responses import Response

from .bodies import MAX_ID, RerunBody, TriggerBody
from .context import ServerContext, json_response, requirement

__all__ = ["action_router"]

RunId = Annotated[int, Path(ge=0, le=MAX_ID)]
Key = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[!-~]{1,255}$",
        description="makes a repeated request replay the first answer instead of starting another run",
    ),
]


def _answer(status: int, body: dict[str, object], replayed: bool) -> Response:
    return json_response(body, status, {"Idempotent-Replayed": "true"} if replayed else None)


def action_router(ctx: ServerContext) -> APIRouter:
    actions = ctx.actions
    router = APIRouter(prefix="/v1", tags=["actions"])

    @router.post(
        "/runs/{run_id}/rerun-plan",
        dependencies=[Depends(requirement(ctx, "read"))],
        summary="What a rerun would reuse, execute and skip, task by task (nothing runs)",
    )
    def plan_rerun(run_id: RunId, body: RerunBody) -> Response:
        return json_response(actions.plan(run_id, body.version, body.full, body.from_task))

    @router.post(
        "/runs/{run_id}/rerun",
        status_code=202,
        dependencies=[Depends(requirement(ctx, "execute"))],
        summary="Rerun a run as a new run, executed by the server; answers with the new run id",
    )
    def rerun(run_id: RunId, body: RerunBody, idempotency_key: Key = None) -> Response:
        return _answer(*actions.once(
            idempotency_key, f"rerun:{run_id}", body.model_dump(mode="json"),
            lambda: actions.rerun(run_id, body.version, body.full, body.from_task),
        ))  # fmt: skip

    @router.post(
        "/trigger",
        status_code=202,
        dependencies=[Depends(requirement(ctx, "execute"))],
        summary="Run a deployed workflow now, executed by the server; answers with the new run id",
    )
    def trigger(body: TriggerBody, idempotency_key: Key = None) -> Response:
        return _answer(*actions.once(
            idempotency_key, "trigger", body.model_dump(mode="json"),
            lambda: actions.trigger(body.workflow, body.env, body.version),
        ))  # fmt: skip

    return router
