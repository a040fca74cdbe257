"""``dt serve``: any run store over HTTP (FastAPI on uvicorn), with hashed tokens and the server's own engine.

Needs the ``server`` extra (``pip install 'datatailr_jupyter[server]'``). See docs/server.md for the routes.
"""

from .app import create_app
from .serve import DEFAULT_PORT, serve
from .state import TokenInfo, TokenNotFoundError
from .tokens import ROLES, create_token, list_tokens, revoke_token

__all__ = [
    "DEFAULT_PORT",
    "ROLES",
    "TokenInfo",
    "TokenNotFoundError",
    "create_app",
    "create_token",
    "list_tokens",
    "revoke_token",
    "serve",
]
