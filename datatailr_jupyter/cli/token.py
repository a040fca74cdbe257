"""``dt token create|ls|revoke``: the access tokens of ``dt serve``, kept (hashed) in the store they open."""

from __future__ import annotations

import argparse
from typing import Any

from ..client import Client
from ..errors import ConfigError
from .args import add_common
from .output import Output
from .table import Table

__all__ = ["add_token"]

ROLES = ("read", "execute", "write")

Sub = Any


def add_token(sub: Sub) -> None:
    group = sub.add_parser("token", help="access tokens of dt serve: create, ls, revoke")
    add_common(group)
    tokens = group.add_subparsers(
        dest="token_command", required=True, metavar="TOKEN_COMMAND", parser_class=type(group)
    )

    p = tokens.add_parser("create", help="make a token and print it (once: only its hash is kept)")
    p.add_argument("name", help="who or what uses it, e.g. alice or ci")
    p.add_argument(
        "--role", choices=ROLES, default="read",
        help="read: look; execute: also rerun and run workflows; write: also record runs (an engine elsewhere)",
    )  # fmt: skip
    add_common(p)
    p.set_defaults(handler=create)

    p = tokens.add_parser("ls", help="list tokens (names, roles, prefixes; never the tokens)")
    add_common(p)
    p.set_defaults(handler=ls)

    p = tokens.add_parser("revoke", help="revoke a token by name")
    p.add_argument("name")
    add_common(p)
    p.set_defaults(handler=revoke)


def _tokens_module(client: Client) -> Any:
    if getattr(client.store, "path", None) is None:
        raise ConfigError(
            f"tokens are kept in the store itself, and {client.label} is not a store directory: run dt token on "
            "the server's machine with --store DIR (the directory dt serve serves)"
        )
    try:
        from ..server import tokens
    except ImportError as exc:
        raise ConfigError(
            f"dt token needs the server extra ({exc.name or exc}): pip install 'datatailr_jupyter[server]'"
        ) from None
    return tokens


def create(args: argparse.Namespace, client: Client, out: Output) -> int:
    token = _tokens_module(client).create_token(client.store, args.name, args.role)
    if out.as_json:
        out.json({"name": args.name, "role": args.role, "token": token})
        return 0
    print(token)  # the secret itself: printed exactly, once
    print(f"dt: token {args.name!r} ({args.role}) created for {client.label}; it is shown only now", flush=True)
    return 0


def ls(args: argparse.Namespace, client: Client, out: Output) -> int:
    found = _tokens_module(client).list_tokens(client.store)
    rows = [{k: getattr(t, k, None) for k in ("name", "role", "prefix", "created_at", "revoked_at")} for t in found]
    out.table(Table.of(rows, ["name", "role", "prefix", "created_at", "revoked_at"]))
    return 0


def revoke(args: argparse.Namespace, client: Client, out: Output) -> int:
    info = _tokens_module(client).revoke_token(client.store, args.name)
    out.text(f"token {info.name!r} ({info.role}) revoked")
    return 0
