"""``serve()``: the HTTP server over a store on uvicorn (one process); tokens required unless loopback + no_auth."""

from __future__ import annotations

import ipaddress
from typing import Any

from ..errors import ConfigError
from ..store.protocols import RunStore
from .app import create_app
from .state import state_for

__all__ = ["DEFAULT_PORT", "check_exposure", "is_loopback", "serve", "uvicorn_config"]

DEFAULT_PORT = 8787


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(store: RunStore, host: str, no_auth: bool) -> bool:
    """Whether tokens are checked; refuses a server nobody could use safely (ConfigError saying what to do)."""
    if no_auth:
        if not is_loopback(host):
            raise ConfigError(
                f"--no-auth serves the store to anyone who can reach {host}; it is allowed on a loopback address "
                "only (127.0.0.1, ::1, localhost). Create tokens with `dt token create NAME --role read` instead"
            )
        return False
    if not state_for(store).has_live_tokens():
        where = "" if is_loopback(host) else f" on {host}"
        raise ConfigError(
            f"the run store {store.label} has no tokens, so no request{where} could be let in: create one with "
            "`dt token create NAME --role read` (or execute/write), or serve on 127.0.0.1 with --no-auth"
        )
    return True


def uvicorn_config(app: Any, host: str, port: int, log_level: str = "info") -> Any:
    """The uvicorn settings of ``dt serve``: one process, httptools/uvloop when installed, no Server header, and
    no access log below ``debug`` (a line per request costs more than answering a cached page)."""
    import uvicorn

    return uvicorn.Config(
        app, host=host, port=port, log_level=log_level, access_log=log_level in ("debug", "trace"),
        proxy_headers=False, server_header=False, timeout_keep_alive=30, timeout_graceful_shutdown=5,
    )  # fmt: skip


def serve(
    store_url: str,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    no_auth: bool = False,
    *,
    executor: str | None = None,
    log_level: str = "info",
    create: bool = False,
    trust: bool = False,
) -> None:
    """Serve the store at ``store_url`` (a URL or a directory) on ``host:port`` until interrupted.

    Tokens are required (``dt token create``) unless ``no_auth`` on a loopback host; a server with no live token is
    refused. ``executor`` runs the reruns and triggers the server starts; they load the versions' pickled code, so
    the store must be trusted (``trust=True``, or a store trusted by configuration). ``create`` makes an empty store
    where there is none."""
    import uvicorn

    from ..settings import store_url_from
    from ..store.registry import open_store

    options: dict[str, Any] = {"trust": True} if trust else {}
    store = open_store(store_url_from(store_url), create=create, **options)
    try:
        auth = check_exposure(store, host, no_auth)
        app = create_app(store, auth, executor=executor)
        uvicorn.Server(uvicorn_config(app, host, port, log_level)).run()
    finally:
        store.close()
