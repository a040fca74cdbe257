"""Every error the server answers is JSON ``{"error": {"type": ..., "message": ...}}``, never a traceback.

``type`` is the name of the package's exception class (``RunNotFoundError``, ``InvalidArgumentError``, ...), so
HttpRunStore raises the same exception a local store would; the HTTP status follows from it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from ..errors import (
    AuthenticationError,
    DatatailrJupyterError,
    NotFoundError,
    PermissionDeniedError,
    StoreError,
    StoreUnavailableError,
)

__all__ = ["error_response", "install_error_handlers", "status_of"]

_BY_STATUS = {
    400: "InvalidArgumentError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    405: "MethodNotAllowedError",
    413: "RequestTooLargeError",
    422: "InvalidArgumentError",
}


def status_of(exc: DatatailrJupyterError) -> int:
    if isinstance(exc, AuthenticationError):
        return 401
    if isinstance(exc, PermissionDeniedError):
        return 403
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, StoreUnavailableError):
        return 503
    if isinstance(exc, StoreError):
        return 409  # the store refused the request as it stands (a result already there, a read-only store)
    return 422


def error_response(status: int, type_: str, message: str, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps({"error": {"type": type_, "message": message}}).encode()
    extra = dict(headers or {})
    if status == 401:
        extra["WWW-Authenticate"] = "Bearer"
    return Response(body, status, extra, media_type="application/json")


def _validation_message(errors: Any) -> str:
    parts = []
    for e in list(errors)[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "request"
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is not valid"


def install_error_handlers(app: FastAPI) -> None:
    async def known(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DatatailrJupyterError)
        message = str(exc)
        label = getattr(getattr(app.state, "ctx", None), "store", None)
        if label is not None and label.label:  # the store's own path means nothing to a client: name the server
            message = message.replace(label.label, str(request.base_url).rstrip("/"))
        return error_response(status_of(exc), type(exc).__name__, message)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, "InvalidArgumentError", _validation_message(exc.errors()))

    async def http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = exc.detail if isinstance(exc.detail, str) else "the request failed"
        if exc.status_code == 404:
            message = f"no such route: {request.method} {request.url.path}; see /openapi.json"
        return error_response(exc.status_code, _BY_STATUS.get(exc.status_code, "HTTPError"), message, exc.headers)

    async def too_deep(request: Request, exc: Exception) -> Response:
        return error_response(422, "InvalidArgumentError", "the request body is nested too deeply")

    async def unexpected(request: Request, exc: Exception) -> Response:
        # Starlette re-raises the exception after this answer, so the server log gets its traceback
        return error_response(500, "InternalError", "the server failed on this request; its log says why")

    app.add_exception_handler(DatatailrJupyterError, known)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http)
    app.add_exception_handler(RecursionError, too_deep)
    app.add_exception_handler(Exception, unexpected)
