"""Tokens are shown once and stored as hashes; serve() refuses servers nobody could use safely; old stores migrate."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from datatailr_jupyter.errors import ConfigError, InvalidArgumentError, InvalidNameError
from datatailr_jupyter.models import RunQuery
from datatailr_jupyter.server import TokenNotFoundError, create_token, list_tokens, revoke_token
from datatailr_jupyter.server.serve import check_exposure, is_loopback
from datatailr_jupyter.server.state import MemoryServerState
from datatailr_jupyter.server.tokens import Authenticator, hash_token
from datatailr_jupyter.store import _schema
from datatailr_jupyter.store.sqlite import SqliteRunStore

from ..store.contract_data import new_run, register


def test_a_token_is_shown_once_and_only_its_hash_is_stored(tmp_path: Path) -> None:
    store = SqliteRunStore(tmp_path / "s")
    token = create_token(store, "ci", "execute")
    assert token.startswith("dtt_") and len(token) == 47
    store.close()
    blob = b"".join(p.read_bytes() for p in (tmp_path / "s").rglob("*") if p.is_file())
    assert token.encode() not in blob and hash_token(token).encode() in blob
    [info] = list_tokens("sqlite://" + str(tmp_path / "s"))
    assert (info.name, info.role, info.revoked) == ("ci", "execute", False) and token.startswith(info.prefix)


def test_names_are_unique_among_live_tokens_and_revoking_frees_them(tmp_path: Path) -> None:
    store = SqliteRunStore(tmp_path / "s")
    first = create_token(store, "ci")
    with pytest.raises(InvalidNameError, match="already named 'ci'"):
        create_token(store, "ci", "write")
    with pytest.raises(InvalidArgumentError, match="read, execute, write"):
        create_token(store, "admin", "admin")
    with pytest.raises(InvalidNameError):
        create_token(store, "two\nlines")
    assert revoke_token(store, "ci").revoked
    with pytest.raises(TokenNotFoundError, match="no live token is named 'ci'"):
        revoke_token(store, "ci")
    second = create_token(store, "ci", "write")
    auth = Authenticator(MemoryServerState())
    assert auth.check(f"Bearer {second}").role is None  # another state knows nothing of it
    from datatailr_jupyter.server.state import state_for

    live = Authenticator(state_for(store))
    assert live.check(f"Bearer {first}").problem == "the token was revoked"
    assert live.check(f"Bearer {second}").role == "write"
    assert [(t.name, t.revoked) for t in list_tokens(store)] == [("ci", True), ("ci", False)]
    store.close()


def test_serve_needs_tokens_and_allows_no_auth_only_on_loopback(tmp_path: Path) -> None:
    store = SqliteRunStore(tmp_path / "s")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3") and not is_loopback("example.com")
    assert check_exposure(store, "127.0.0.1", no_auth=True) is False
    with pytest.raises(ConfigError, match="loopback address only"):
        check_exposure(store, "0.0.0.0", no_auth=True)
    for host in ("127.0.0.1", "0.0.0.0"):
        with pytest.raises(ConfigError, match="dt token create"):
            check_exposure(store, host, no_auth=False)
    create_token(store, "reader")
    assert check_exposure(store, "0.0.0.0", no_auth=False) is True
    revoke_token(store, "reader")
    with pytest.raises(ConfigError, match="has no tokens"):
        check_exposure(store, "0.0.0.0", no_auth=False)
    store.close()


def test_a_store_of_schema_version_1_opens_migrated_with_its_runs(tmp_path: Path) -> None:
    root = tmp_path / "old"
    store = SqliteRunStore(root)
    register(store)
    run = new_run(store)
    store.close()
    conn = sqlite3.connect(root / "runs.db")  # back to v1, as an older datatailr_jupyter left it
    conn.executescript(
        "DROP INDEX runs_completed_times; DROP TABLE api_tokens; DROP TABLE idempotency_keys; PRAGMA user_version = 1;"
    )
    conn.close()
    reopened = SqliteRunStore(root)
    assert reopened.get_run(run.run_id).run == run and reopened.list_runs(RunQuery()).total == 1
    assert create_token(reopened, "after-upgrade")
    conn = sqlite3.connect(root / "runs.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == _schema.SCHEMA_VERSION == 3
    conn.close()
    reopened.close()


def test_idempotency_keys_are_forgotten_after_a_day_in_the_store_and_in_memory(tmp_path: Path) -> None:
    from datatailr_jupyter.server import state as server_state

    store = SqliteRunStore(tmp_path / "store")
    try:
        for state in (server_state.state_for(store), MemoryServerState()):
            assert state.begin("k1", "body-a").kind == "new"
            state.finish("k1", 200, '{"run_id": 1}')
            assert state.begin("k1", "body-b").kind == "mismatch"
            replay = state.begin("k1", "body-a")
            assert (replay.kind, replay.status) == ("replay", 200)
            if isinstance(state, MemoryServerState):
                h, status, response, _ = state._keys["k1"]
                state._keys["k1"] = (h, status, response, -server_state.KEY_TTL_SECONDS - 1)
            else:
                conn = sqlite3.connect(tmp_path / "store" / "runs.db")
                conn.execute("UPDATE idempotency_keys SET created_at = created_at - ?", (int(25 * 3600 * 1e6),))
                conn.commit()
                conn.close()
            assert state.begin("k1", "body-b").kind == "new"  # a day later the key is free again
        conn = sqlite3.connect(tmp_path / "store" / "runs.db")
        assert conn.execute("SELECT count(*) FROM idempotency_keys").fetchone()[0] == 1  # the expired row is gone
        conn.close()
    finally:
        store.close()
