"""``dt serve``: the run-store server (FastAPI on uvicorn) over a store, with tokens unless loopback + --no-auth."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import ConfigError
from .args import add_common, bounded_int

__all__ = ["DEFAULT_PORT", "add_serve"]

DEFAULT_PORT = 8787
EXECUTORS = ("process", "thread", "inline")

Sub = Any


def add_serve(sub: Sub) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the store over HTTP for a team (reruns and triggers run on this machine)",
        description="Serve the store over HTTP (see docs/server.md). Requests need a token (dt token create) "
        "unless --no-auth on a loopback host. Reruns and triggers run here from the versions' stored code, so "
        "the store must be trusted (--trust, or trusted_stores).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=bounded_int("--port", 1, 65535), default=DEFAULT_PORT, help="default 8787")
    p.add_argument("--no-auth", action="store_true", help="no tokens (allowed on a loopback host only)")
    p.add_argument("--create", action="store_true", help="make an empty store where there is none")
    p.add_argument(
        "--executor",
        help="what runs reruns and triggers: process, thread, inline or dask://host:port "
        "(default: $DT_EXECUTOR, the config file, else process)",
    )
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info")
    add_common(p)
    p.set_defaults(handler=serve, needs_client=False)


def serve(args: argparse.Namespace, client: object, out: object) -> int:
    from ..settings import resolve

    try:
        from ..server import serve as run_server
    except ImportError as exc:
        raise ConfigError(
            f"dt serve needs the server extra ({exc.name or exc}): pip install 'datatailr_jupyter[server]'"
        ) from None
    store_url = resolve(args.store).store_url
    print(f"dt serve: serving {store_url} on http://{args.host}:{args.port} (Ctrl+C to stop)", flush=True)
    try:
        run_server(
            store_url, host=args.host, port=args.port, no_auth=args.no_auth, executor=args.executor,
            log_level=args.log_level, create=args.create, trust=args.trust,
        )  # fmt: skip
    except KeyboardInterrupt:
        pass
    print("dt serve: stopped", flush=True)
    return 0
