"""What every route shares: the served store, the authenticator, the actions runner, JSON answers and role checks."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import Response

from ..errors import AuthenticationError, PermissionDeniedError
from ..store.protocols import RunStore
from .actions import Actions
from .cache import AnswerCache
from .tokens import Authenticator, has_role

__all__ = ["ServerContext", "json_bytes", "json_response", "requirement"]

_bearer = HTTPBearer(auto_error=False, description="a token made with `dt token create` (dtt_...)")


@dataclass
class ServerContext:
    store: RunStore
    auth: Authenticator
    actions: Actions
    cache: AnswerCache


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(value), status, headers, media_type="application/json")


def requirement(ctx: ServerContext, needed: str) -> Callable[..., Awaitable[str]]:
    """A FastAPI dependency that lets the request through when its token has the ``needed`` role (else 401/403);
    it returns the token's role."""

    async def check(request: Request, _: HTTPAuthorizationCredentials | None = Security(_bearer)) -> str:
        verdict = ctx.auth.check(request.headers.get("authorization"))
        if verdict.role is None:
            raise AuthenticationError(
                f"{verdict.problem}: the token is missing, unknown or revoked; send 'Authorization: Bearer dtt_...' "
                "with a token made by `dt token create`"
            )
        if not has_role(verdict.role, needed):
            raise PermissionDeniedError(
                f"this needs a token with the {needed!r} role; this token has the {verdict.role!r} role "
                f"(make one with `dt token create NAME --role {needed}`)"
            )
        return verdict.role

    return check
