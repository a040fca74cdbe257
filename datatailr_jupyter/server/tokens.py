"""API tokens of ``dt serve``: made once and shown once, kept as a sha256 hash, checked in constant time.

Roles, each including the ones before it:

- ``read``: every read (workflows, versions and their code, runs, logs, results, activity, rerun plans);
- ``execute``: also rerun and trigger runs, which the server executes with its own engine;
- ``write``: also the RunWriter calls (register versions, create and update runs, append logs, claim schedule
  ticks, recover), for an engine on another machine that records its runs in this store. A write token can store
  code that an execute token then runs, so it is the strongest role.

A token is ``dtt_`` followed by 43 URL-safe characters (32 random bytes). Only its sha256 is stored: for a random
secret that long a slow hash adds nothing. The token is never logged and never put in a URL.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ..errors import InvalidArgumentError
from ..store.protocols import RunReader
from .state import ServerState, TokenInfo, state_for

__all__ = [
    "PREFIX",
    "ROLES",
    "Authenticator",
    "Verdict",
    "create_token",
    "has_role",
    "hash_token",
    "list_tokens",
    "revoke_token",
]

PREFIX = "dtt_"
ROLES = ("read", "execute", "write")
T = TypeVar("T")
_SHAPE = re.compile(r"dtt_[A-Za-z0-9_-]{43}")


def has_role(role: str, needed: str) -> bool:
    """Whether a token of ``role`` may do what needs ``needed`` (roles include the ones before them)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _check_role(role: object) -> str:
    if role not in ROLES:
        raise InvalidArgumentError(f"role {role!r} is not one of {', '.join(ROLES)}")
    return str(role)


def _with_state(store: RunReader | ServerState | str, act: Callable[[ServerState], T]) -> T:
    """``act`` on the ServerState of a store, a ServerState, or a store URL/directory (opened and closed here)."""
    if isinstance(store, str):
        from ..settings import store_url_from
        from ..store.registry import open_store

        opened = open_store(store_url_from(store), create=False)
        try:
            return act(state_for(opened))
        finally:
            opened.close()
    if isinstance(store, RunReader):
        return act(state_for(store))
    return act(store)


def create_token(store: RunReader | ServerState | str, name: str, role: str = "read") -> str:
    """Make a token named ``name`` with ``role`` in ``store`` (a store, its URL or directory) and return it.

    This is the only time the token exists in clear: show it once; the store keeps its hash."""
    _check_role(role)
    token = PREFIX + secrets.token_urlsafe(32)
    _with_state(store, lambda state: state.add_token(name, role, hash_token(token), token[: len(PREFIX) + 4]))
    return token


def list_tokens(store: RunReader | ServerState | str) -> list[TokenInfo]:
    """Every token made in ``store``, oldest first, revoked ones included (never the tokens themselves)."""
    return _with_state(store, lambda state: state.list_tokens())


def revoke_token(store: RunReader | ServerState | str, name: str) -> TokenInfo:
    """Revoke the live token named ``name``; requests with it are refused from now on (TokenNotFoundError if none)."""
    return _with_state(store, lambda state: state.revoke_token(name))


@dataclass(frozen=True)
class Verdict:
    """What an Authorization header is worth: a role, or why not (``problem`` for the 401 answer)."""

    role: str | None
    problem: str = ""


class Authenticator:
    """Checks ``Authorization: Bearer <token>`` headers against a ServerState; ``None`` state: no auth (loopback).

    ``generation``, when set, returns a number that changes whenever the state's tables may have changed (the
    served database's ``data_version``): verdicts on known tokens are then remembered per token hash while it
    stays the same, so a revocation, which commits, is seen by the very next request."""

    MEMO_SIZE = 1024

    def __init__(self, state: ServerState | None, generation: Callable[[], int | None] | None = None) -> None:
        self.state = state
        self.generation = generation
        self._memo: dict[str, tuple[int, Verdict]] = {}

    @property
    def enabled(self) -> bool:
        return self.state is not None

    def check(self, header: str | None, generation: int | None = None) -> Verdict:
        """The verdict on ``header``. ``generation``: the caller's reading of ``self.generation()``, taken before
        this call (read here when not given)."""
        if self.state is None:
            return Verdict("write")
        if not header:
            return Verdict(None, "no token was sent")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not _SHAPE.fullmatch(token):
            return Verdict(None, "the Authorization header is not 'Bearer dtt_...'")
        digest = hash_token(token)
        if self.generation is None:
            generation = None  # the state's changes cannot be seen: ask it every time
        elif generation is None:
            generation = self.generation()  # read before the lookup: a revocation after it changes it
        if generation is not None:
            kept = self._memo.get(digest)
            if kept is not None and kept[0] == generation:
                return kept[1]
        found = self.state.find_token(digest)
        if found is None or not hmac.compare_digest(found[1], digest):
            return Verdict(None, "the token is unknown")  # not remembered: unknown tokens cannot fill the memo
        info = found[0]
        verdict = Verdict(None, "the token was revoked") if info.revoked else Verdict(info.role)
        if generation is not None:
            if len(self._memo) >= self.MEMO_SIZE:
                self._memo.clear()
            self._memo[digest] = (generation, verdict)
        return verdict
