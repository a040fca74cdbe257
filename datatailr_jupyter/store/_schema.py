"""SQLite schema of the embedded run store: tables, migrations, connection settings and the one way to write."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NewType

from ..errors import StoreError, StoreVersionError

__all__ = [
    "ALL_ENVS",
    "ALL_WORKFLOWS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Tx",
    "connect",
    "migrate",
    "snapshot",
    "write",
]

Tx = NewType("Tx", sqlite3.Connection)
"""A connection inside a ``BEGIN IMMEDIATE`` transaction: the only kind of connection write SQL may run on."""

BUSY_TIMEOUT = 30.0
ALL_WORKFLOWS = 0  # workflow_id of the "every workflow" rows of the count tables
ALL_ENVS = "*"  # env of the "every environment" rows (check_env never accepts '*')

_V1 = (
    """CREATE TABLE workflows (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL
    )""",
    """CREATE TABLE versions (
        workflow_id INTEGER NOT NULL REFERENCES workflows(id),
        version INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        definition_hash TEXT NOT NULL,
        definition TEXT NOT NULL,
        schedule TEXT,
        n_tasks INTEGER NOT NULL,
        code BLOB,
        PRIMARY KEY (workflow_id, version)
    )""",
    # t is the one sort column: the start time, or the submit time until the run starts (microseconds, UTC)
    """CREATE TABLE runs (
        run_id INTEGER PRIMARY KEY AUTOINCREMENT,
        workflow_id INTEGER NOT NULL REFERENCES workflows(id),
        env TEXT NOT NULL,
        job_version INTEGER NOT NULL,
        state TEXT NOT NULL,
        trigger TEXT NOT NULL,
        original_run_id INTEGER REFERENCES runs(run_id),
        rerun_of INTEGER REFERENCES runs(run_id),
        partial_rerun INTEGER NOT NULL,
        is_root INTEGER NOT NULL,
        submit_time INTEGER NOT NULL,
        start_time INTEGER,
        end_time INTEGER,
        scheduled_time INTEGER,
        t INTEGER NOT NULL,
        params TEXT NOT NULL,
        n_tasks INTEGER NOT NULL,
        task_counts TEXT NOT NULL,
        error_message TEXT,
        n_reruns INTEGER NOT NULL DEFAULT 0,
        owner TEXT
    )""",
    "CREATE INDEX runs_wf_env_t ON runs (workflow_id, env, t)",
    "CREATE INDEX runs_wf_t ON runs (workflow_id, t)",
    "CREATE INDEX runs_env_t ON runs (env, t)",
    "CREATE INDEX runs_t ON runs (t)",
    "CREATE INDEX runs_family ON runs (original_run_id) WHERE original_run_id IS NOT NULL",
    "CREATE INDEX runs_active ON runs (state) WHERE state IN ('created', 'scheduled', 'pending', 'running')",
    # result_run/result_task: the task whose bytes this task's result is (itself, or the one it reuses)
    """CREATE TABLE tasks (
        run_id INTEGER NOT NULL REFERENCES runs(run_id),
        task_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        function TEXT NOT NULL,
        dependencies TEXT NOT NULL,
        resources TEXT NOT NULL,
        state TEXT NOT NULL,
        start_time INTEGER,
        end_time INTEGER,
        attempt INTEGER NOT NULL DEFAULT 0,
        exit_code INTEGER,
        error TEXT,
        host TEXT,
        result_meta TEXT,
        result_run INTEGER,
        result_task INTEGER,
        result_inline INTEGER,
        reused_from_run INTEGER,
        PRIMARY KEY (run_id, task_id)
    ) WITHOUT ROWID""",
    """CREATE TABLE result_blobs (
        run_id INTEGER NOT NULL,
        task_id INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (run_id, task_id)
    )""",
    # run counts per day and per hour of t, by state and rootness; workflow_id 0 / env '*' rows sum all
    """CREATE TABLE run_days (
        workflow_id INTEGER NOT NULL,
        env TEXT NOT NULL,
        day INTEGER NOT NULL,
        state TEXT NOT NULL,
        is_root INTEGER NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (workflow_id, env, day, state, is_root)
    ) WITHOUT ROWID""",
    """CREATE TABLE run_hours (
        workflow_id INTEGER NOT NULL,
        env TEXT NOT NULL,
        hour INTEGER NOT NULL,
        state TEXT NOT NULL,
        is_root INTEGER NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (workflow_id, env, hour, state, is_root)
    ) WITHOUT ROWID""",
    # runs per day of t with one column per UTC hour (h0..h23), for the activity heatmap; 0 / '*' roll-ups
    "CREATE TABLE activity_days (workflow_id INTEGER NOT NULL, env TEXT NOT NULL, day INTEGER NOT NULL, "
    + ", ".join(f"h{h} INTEGER NOT NULL DEFAULT 0" for h in range(24))
    + ", PRIMARY KEY (workflow_id, env, day)) WITHOUT ROWID",
    # per workflow and env: number of runs and the 10 newest as JSON [[run_id, state, start, t], ...]
    """CREATE TABLE wf_env (
        workflow_id INTEGER NOT NULL,
        env TEXT NOT NULL,
        n_runs INTEGER NOT NULL,
        recent TEXT NOT NULL,
        PRIMARY KEY (workflow_id, env)
    ) WITHOUT ROWID""",
    """CREATE TABLE schedule_claims (
        workflow_key TEXT NOT NULL,
        env TEXT NOT NULL,
        scheduled_time INTEGER NOT NULL,
        claimed_at INTEGER NOT NULL,
        PRIMARY KEY (workflow_key, env, scheduled_time)
    ) WITHOUT ROWID""",
)

# v2: what `dt serve` keeps beside the runs -- API tokens (only their sha256; a name is unique among the tokens not
# revoked) and the first answer to each Idempotency-Key of a rerun/trigger request (response NULL while it runs)
_V2 = (
    """CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
    )""",
    "CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL",
    """CREATE TABLE idempotency_keys (
        key TEXT PRIMARY KEY,
        request_hash TEXT NOT NULL,
        status INTEGER,
        response TEXT,
        created_at INTEGER NOT NULL
    ) WITHOUT ROWID""",
)

# v3: the completed runs' times, so the overview's median durations of every workflow of an env are read from this
# index alone (no table row per run); partial, so it costs nothing for runs that did not complete
_V3 = (
    "CREATE INDEX runs_completed_times ON runs (workflow_id, env, t, state, start_time, end_time) "
    "WHERE state = 'completed'",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3)
"""MIGRATIONS[i] takes a store from schema version i to i + 1 (PRAGMA user_version)."""

SCHEMA_VERSION = len(MIGRATIONS)


def _too_new(db: Path, found: int) -> StoreVersionError:
    return StoreVersionError(
        f"the run store {db.parent} has schema version {found}, made by a newer datatailr_jupyter "
        f"(this one knows versions up to {SCHEMA_VERSION}); upgrade datatailr_jupyter: pip install -U datatailr_jupyter"
    )


def _not_a_database(db: Path) -> StoreError:
    return StoreError(
        f"{db} is not a SQLite database, so {db.parent} is not a run store; "
        "move that file away or choose another store directory"
    )


def connect(db: Path, readonly: bool, immutable: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (explicit transactions only), WAL, synchronous=NORMAL, foreign keys on.

    The header checks (a SQLite file, a schema this code knows) go through SQLite itself: nothing in this
    package opens runs.db or its -wal / -shm files any other way (closing such a descriptor would drop the
    locks of this process's other connections)."""
    if readonly:
        flags = "mode=ro&immutable=1" if immutable else "mode=ro"
        conn = sqlite3.connect(
            f"{db.resolve().as_uri()}?{flags}", uri=True, timeout=BUSY_TIMEOUT, isolation_level=None,
            check_same_thread=False,
        )  # fmt: skip
    else:
        conn = sqlite3.connect(db, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
    try:
        found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        conn.close()
        if "not a database" in str(exc):
            raise _not_a_database(db) from None
        raise
    if found > SCHEMA_VERSION:
        conn.close()
        raise _too_new(db, found)
    if not readonly:
        if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn


@contextmanager
def write(conn: sqlite3.Connection) -> Iterator[Tx]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception: the single way to write."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield Tx(conn)
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


@contextmanager
def snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A read transaction, so the several queries of one call see one consistent state."""
    conn.execute("BEGIN DEFERRED")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to SCHEMA_VERSION, one migration per transaction."""
    while True:
        with write(conn) as tx:
            found = int(tx.execute("PRAGMA user_version").fetchone()[0])
            if found >= SCHEMA_VERSION:
                if found > SCHEMA_VERSION:
                    raise _too_new(Path(str(conn.execute("PRAGMA database_list").fetchone()[2])), found)
                return
            for statement in MIGRATIONS[found]:
                tx.execute(statement)
            tx.execute(f"PRAGMA user_version = {found + 1}")
