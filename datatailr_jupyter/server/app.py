"""``create_app(store, auth)``: the FastAPI application of ``dt serve`` over any run store (OpenAPI at /openapi.json).

Routes live in modules by concern: read_routes (role read), action_routes (rerun plan, rerun, trigger), and
write_routes (role write); lean.py answers repeated reads from the answer cache before FastAPI. ``GET /health``
needs no token. Bodies are capped (``max_body`` bytes; the write routes,
which carry results and logs, ``max_write_body``), and every error is JSON without a traceback (errors.py).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI
from starlette.responses import Response

from .. import __version__
from ..store.protocols import RunStore
from .action_routes import action_router
from .actions import Actions
from .cache import AnswerCache
from .context import ServerContext, json_response
from .errors import error_response, install_error_handlers
from .lean import LeanApp
from .read_routes import read_router
from .state import MemoryServerState, ServerState, SqliteServerState, state_for
from .tokens import Authenticator
from .write_routes import write_router

__all__ = ["DEFAULT_MAX_BODY", "DEFAULT_MAX_WRITE_BODY", "create_app"]

DEFAULT_MAX_BODY = 1 << 20
DEFAULT_MAX_WRITE_BODY = 256 << 20

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_WRITE_PATHS = re.compile(r"/v1/(versions|runs|runs/\d+|runs/\d+/task-updates|runs/\d+/tasks/\d+/log)")


class BodyLimit:
    """Refuses request bodies over the limit with 413, before the application reads them."""

    def __init__(self, app: ASGIApp, max_body: int, max_write_body: int) -> None:
        self.app, self.max_body, self.max_write_body = app, max_body, max_write_body

    def _limit(self, scope: Scope) -> int:
        writes = scope.get("method") in ("POST", "PATCH") and _WRITE_PATHS.fullmatch(scope.get("path", ""))
        return self.max_write_body if writes else self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        length = next((v for k, v in scope.get("headers", ()) if k == b"content-length"), None)
        if length is not None:
            if not length.isdigit() or int(length) > limit:
                await self._refuse(limit, scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        # no Content-Length (chunked): read the body here, up to the limit, and hand it on
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > limit:
                await self._refuse(limit, scope, receive, send)
                return
            if message["type"] != "http.request" or not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, "RequestTooLargeError", f"the request body is over this server's limit of {limit} bytes"
        )
        await response(scope, receive, send)


def create_app(
    store: RunStore,
    auth: Authenticator | bool = True,
    *,
    state: ServerState | None = None,
    executor: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    max_write_body: int = DEFAULT_MAX_WRITE_BODY,
) -> FastAPI:
    """The application serving ``store``. ``auth``: True checks tokens kept in the store (False: no auth, for
    loopback only; or an Authenticator). ``state`` keeps tokens and idempotency answers (default: the store's own
    tables for a SQLite store; in memory for other stores served without auth). ``executor`` runs reruns and
    triggers ("process", "thread" or "inline")."""
    if state is None:
        state = state_for(store) if auth is True or _is_sqlite(store) else MemoryServerState()
    if isinstance(auth, bool):
        auth = Authenticator(state if auth else None)
    cache = AnswerCache(store)
    if auth.generation is None and _same_database(auth.state, cache):
        auth.generation = cache.version  # token verdicts are remembered until the database changes
    ctx = ServerContext(store=store, auth=auth, actions=Actions(store, state, executor), cache=cache)
    app = LeanApp(
        title="datatailr_jupyter run store",
        version=__version__,
        summary="Workflows, versions, runs, task logs and results of a run store; reruns and triggers.",
        description="Send `Authorization: Bearer dtt_...` (made by `dt token create`). Roles: read < execute < write.",
    )
    app.state.ctx = ctx
    app.lean = ctx
    install_error_handlers(app)

    @app.get("/health", tags=["health"], summary="Whether the server is up (no token needed)")
    def health() -> Response:
        return json_response({"status": "ok", "version": __version__, "auth": auth.enabled})

    app.include_router(read_router(ctx))
    app.include_router(action_router(ctx))
    app.include_router(write_router(ctx))
    app.add_middleware(BodyLimit, max_body=max_body, max_write_body=max_write_body)
    return app


def _same_database(state: ServerState | None, cache: AnswerCache) -> bool:
    """Whether the tokens of ``state`` live in the database whose changes ``cache`` watches."""
    return isinstance(state, SqliteServerState) and cache.database is not None and state.database == cache.database


def _is_sqlite(store: object) -> bool:
    from ..store.sqlite import SqliteRunStore

    return isinstance(store, SqliteRunStore)
