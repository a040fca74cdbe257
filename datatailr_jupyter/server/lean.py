"""The lean path of the hot reads: a GET whose JSON answer is in the answer cache is answered before FastAPI.

Explorers and scripts poll the same few pages (runs, workflows, envs, activity). Once the FastAPI route has
answered such a request, its encoded answer is kept (cache.AnswerCache) until the database changes; the next
identical request (same path, same query string) with a token that may read is answered here, on the event loop,
without routing, parameter validation, dependencies or the hop to a worker thread. Everything else goes to
FastAPI unchanged, including every request this path does not let through: a missing, malformed, unknown or
revoked token, or one without the read role, gets FastAPI's own 401/403 answer.

Only read routes fill the cache, and an answer is kept only after FastAPI validated the identical request, so
this path answers nothing FastAPI would refuse for any reason other than the token, which is checked here with
the same Authenticator (and the same database reading as the cache, so a revocation is seen at once).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI

from .cache import cache_key
from .context import ServerContext
from .tokens import has_role

__all__ = ["LeanApp", "lean_answer"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_JSON = b"application/json"


def lean_answer(ctx: ServerContext, scope: Scope) -> bytes | None:
    """The kept answer to this request if it may be sent without FastAPI, else None (FastAPI answers)."""
    if scope["method"] != "GET" or not scope["path"].startswith("/v1/"):
        return None
    authorization: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            if authorization is None:  # the first one, as Starlette's Headers.get reads it
                authorization = value
        elif (name == b"content-length" and value != b"0") or name == b"transfer-encoding":
            return None  # a GET with a body: FastAPI and the body limit deal with it
    version = ctx.cache.version()
    if version is None:
        return None
    answer = ctx.cache.peek(cache_key(scope), version)
    if answer is None:
        return None
    header = None if authorization is None else authorization.decode("latin-1")
    verdict = ctx.auth.check(header, version)
    if verdict.role is None or not has_role(verdict.role, "read"):
        return None
    return answer


class LeanApp(FastAPI):
    """The FastAPI application of ``dt serve``, with the lean path in front of it (``lean`` set by create_app)."""

    lean: ServerContext | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.lean is not None and scope["type"] == "http":
            try:
                answer = lean_answer(self.lean, scope)
            except Exception:  # FastAPI meets the same failure and answers it as JSON
                answer = None
            if answer is not None:
                headers = [(b"content-length", str(len(answer)).encode()), (b"content-type", _JSON)]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": answer})
                return
        await super().__call__(scope, receive, send)
