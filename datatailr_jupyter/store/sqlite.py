"""The embedded run store: a directory holding runs.db (SQLite, WAL) plus results/, logs/ and staging/ files."""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from ..errors import ResultNotFoundError, StoreError, StoreUnavailableError
from ..models import (
    ActivityGrid,
    LogChunk,
    LogMatch,
    ResultMeta,
    RunDetail,
    RunPage,
    RunQuery,
    RunState,
    RunSummary,
    TaskRun,
    Version,
    WorkflowInfo,
)
from . import _bulk, _logs, _overview, _writes
from . import _queries as q
from ._database import DATABASES, Database
from ._errors import sql_errors as _sql_errors
from ._files import INLINE_MAX, Moved, owner_is_dead
from ._schema import Tx, snapshot, write
from .overview import OverviewPage
from .protocols import DEFAULT_LOG_LIMIT, NewRun, RunUpdate, TaskUpdate, VersionSpec
from .registry import ownership_problem
from .tasktable import TaskTable

__all__ = ["INLINE_MAX", "SqliteRunStore", "open_sqlite_store"]

R = TypeVar("R")


_ACTIVE_OWNERS = "SELECT owner FROM runs WHERE state IN ('created', 'scheduled', 'pending', 'running')"
RECOVER_EVERY = 10.0  # seconds: how often a long-lived reader that sees active runs looks for dead engines' runs


def _inline(result: Any) -> bool:
    """Whether a result will be stored in its row (no file to move before the commit)."""
    return result.data is not None and result.path is None and len(result.data) <= INLINE_MAX


class SqliteRunStore:
    """RunReader and RunWriter over one store directory. Safe to share between threads (one SQLite connection
    per thread) and across fork (a child opens its own connections).

    Every SqliteRunStore on a directory in one process is a handle on the same Database (its connections);
    closing a handle closes the connections only when no other handle uses them. Opening and reading never
    write: a new store gets its schema when it is created, and dead engines' runs are recovered when the
    store can be written: at open, or else at the next run created, and in a process that keeps the store open (an
    explorer, ``dt scheduler``) when list_runs or get_run shows an active run, at most every RECOVER_EVERY s."""

    def __init__(self, path: Path | str, *, trusted: bool = False, create: bool = True) -> None:
        self._root = Path(path).expanduser().absolute()
        self._key = os.path.realpath(self._root)
        self._trusted = trusted
        self._closed = False
        self._log_tasks: dict[int, frozenset[int]] = {}  # task ids of runs whose log directory exists
        fresh: list[Database] = []

        def make() -> Database:
            fresh.append(Database(self._root, create))
            return fresh[0]

        self._db = DATABASES.acquire(self._key, make, stale=lambda db: db.is_stale() or db.closed)
        self._files = self._db.files
        if fresh and not self._db.readonly:
            self._recover_if_possible()

    # ------------------------------------------------------------ opening

    @property
    def _readonly(self) -> bool:
        return self._db.readonly

    @property
    def _conns(self) -> dict[int, tuple[threading.Thread, sqlite3.Connection]]:
        return self._db.conns

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"the run store {self.label} is closed; open it again")
        return self._db.conn()

    def _recover_now_and_then(self, runs: Sequence[RunSummary]) -> bool:
        """Recover dead engines' runs if ``runs`` (just read) has an active one, the store can be written and
        RECOVER_EVERY s have passed since the last look; whether a run was recovered (then read again)."""
        if self._readonly or all(r.state.is_terminal for r in runs) or not self._db.recovery_due(RECOVER_EVERY):
            return False
        try:
            return bool(self.recover())
        except StoreError:
            return False  # a full disk, a lock held too long: the next look tries again

    def _recover_if_possible(self) -> None:
        """Recover dead engines' runs now if the store can be written; else a later write will."""
        try:
            self.recover()
        except StoreError:
            pass

    def _read_only_message(self) -> str:
        return (
            f"the run store {self._root} is read-only for this process; runs can be read but not recorded. "
            "Ask for write access or use another store"
        )

    @contextmanager
    def _write(self) -> Iterator[Tx]:
        if self._readonly:
            raise StoreError(self._read_only_message())
        conn = self._conn()
        if self._db.is_snapshot(conn):
            raise StoreError(self._db.full_message())
        with write(conn) as tx:
            yield tx

    # ------------------------------------------------------------ RunReader

    @property
    def label(self) -> str:
        return str(self._root)

    @property
    def trusted(self) -> bool:
        """Whether pickles from this store may be loaded: this handle was opened trusted, and no other user owns or
        can write to the directory (checked now: a chmod after opening counts). Each handle has its own trust."""
        return self._trusted and ownership_problem(self._root) is None

    @property
    def path(self) -> Path:
        return self._root

    def __repr__(self) -> str:
        return f"SqliteRunStore({str(self._root)!r})"

    @_sql_errors
    def list_envs(self) -> list[str]:
        return [e for (e,) in self._conn().execute("SELECT DISTINCT env FROM wf_env ORDER BY env")]

    @_sql_errors
    def list_workflows(self, env: str | None = None) -> list[WorkflowInfo]:
        with snapshot(self._conn()) as conn:
            return q.list_workflows(conn, env)

    @_sql_errors
    def list_versions(self, workflow: str) -> list[Version]:
        conn = self._conn()
        wf_id, key, _ = q.workflow(conn, workflow)
        rows = conn.execute(
            "SELECT version, created_at, definition_hash, definition, schedule FROM versions "
            "WHERE workflow_id = ? ORDER BY version",
            (wf_id,),
        )
        return [q.version_record(key, r) for r in rows]

    @_sql_errors
    def get_version(self, workflow: str, version: int) -> Version:
        row, key = q.version(self._conn(), workflow, version)
        return q.version_record(key, row)

    @_sql_errors
    def get_code(self, workflow: str, version: int) -> bytes | None:
        row, _ = q.version(self._conn(), workflow, version)
        return None if row[5] is None else bytes(row[5])

    @_sql_errors
    def list_runs(self, query: RunQuery) -> RunPage:
        with snapshot(self._conn()) as conn:
            page = q.list_runs(conn, query)
        if self._recover_now_and_then(page.runs):
            with snapshot(self._conn()) as conn:
                page = q.list_runs(conn, query)
        return page

    @_sql_errors
    def rerun_family(self, run_id: int) -> list[RunSummary]:
        family = q.rerun_family(self._conn(), run_id, self.label)
        if self._recover_now_and_then(family):  # a run of a dead engine is seen ended, as by get_run
            family = q.rerun_family(self._conn(), run_id, self.label)
        return family

    @_sql_errors
    def get_run(self, run_id: int) -> RunDetail:
        return self._read_run(run_id, q.run_detail)

    @_sql_errors
    def get_task_table(self, run_id: int) -> TaskTable:
        """The run's tasks as columns, read with one query (RunReader's optional method; see ``store.tasktable``)."""
        return self._read_run(run_id, q.task_table)

    @_sql_errors
    def get_task(self, run_id: int, task_id: int) -> TaskRun:
        """One task of a run, its row alone (RunReader's optional method; see ``store.tasktable.task_of``)."""
        return self._read_run(run_id, functools.partial(q.one_task, task_id=task_id, label=self.label), task_id)

    def _read_run(
        self, run_id: int, read: Callable[[sqlite3.Connection, RunSummary, dict[str, int]], R], task: int | None = None
    ) -> R:
        for _ in range(2):  # once more after recovering a dead engine's run
            with snapshot(self._conn()) as conn:
                run = q.summary(q.run_row(conn, run_id, self.label))
                answer = read(conn, run, self._files.log_sizes(run_id, task))
            if not self._recover_now_and_then([run]):
                break
        return answer

    @_sql_errors
    def activity(
        self, workflow: str | None, env: str | None, start: datetime | None = None, end: datetime | None = None
    ) -> ActivityGrid:
        with snapshot(self._conn()) as conn:
            return q.activity(conn, workflow, env, start, end)

    @_sql_errors
    def workflow_overview(
        self,
        env: str,
        name_filter: str | None = None,
        sort: str = "name",
        limit: int = 50,
        cursor: str | None = None,
        days: int = 30,
        now: datetime | None = None,
    ) -> OverviewPage:
        """One page of the workflows overview of ``env`` (RunReader's optional method; see ``store.overview``)."""
        with snapshot(self._conn()) as conn:
            return _overview.workflow_overview(conn, env, name_filter, sort, limit, cursor, days, now)

    def _log_file(self, run_id: int, task_id: int, stream: str) -> tuple[Path, bool]:
        """The log's path (ids and stream checked) and whether its task has ended."""
        path = self._files.log_path(run_id, task_id, stream)
        (state,) = q.task_row(self._conn(), int(run_id), int(task_id), self.label, "state")
        return path, RunState(state).is_terminal

    @_sql_errors
    def read_log(
        self,
        run_id: int,
        task_id: int,
        stream: str,
        offset: int = 0,
        limit: int = DEFAULT_LOG_LIMIT,
        tail: int | None = None,
    ) -> LogChunk:
        path, ended = self._log_file(run_id, task_id, stream)
        start, after, size, text = _logs.read_range(path, offset, limit, tail, ended)
        return LogChunk(run_id, task_id, stream, start, after, size, text, complete=ended)

    @_sql_errors
    def search_log(
        self, run_id: int, task_id: int, stream: str, pattern: str, regex: bool = False, max_matches: int = 1000
    ) -> list[LogMatch]:
        path, _ = self._log_file(run_id, task_id, stream)
        return _logs.search(path, pattern, regex, max_matches)

    @_sql_errors
    def read_result(self, run_id: int, task_id: int) -> tuple[ResultMeta, bytes]:
        conn = self._conn()
        meta_json, state, owner, owner_task, inline = q.task_row(
            conn, run_id, task_id, self.label, "result_meta, state, result_run, result_task, result_inline"
        )
        if meta_json is None:
            raise ResultNotFoundError(
                f"task {task_id} of run {run_id} has no result (it is {state}); only completed tasks have results"
            )
        meta = ResultMeta.from_dict(json.loads(meta_json))
        if inline:
            row = conn.execute(
                "SELECT data FROM result_blobs WHERE run_id = ? AND task_id = ?", (owner, owner_task)
            ).fetchone()
            data = None if row is None else bytes(row[0])
        else:
            data = self._files.read_result(meta, owner, owner_task)
        return meta, self._files.verify(meta, data, f"task {task_id} of run {run_id}", self.label)

    @_sql_errors
    def result_file(self, run_id: int, task_id: int) -> tuple[ResultMeta, Path] | None:
        """Where the bytes of a result are on this machine: (meta, file) to read or map it without copying it
        through this process, or None when it is kept inline in the database row. The file is the one of the run
        that produced the result (a reused result is shared by reference); its size is checked, not its sha256."""
        meta_json, state, owner, owner_task, inline = q.task_row(
            self._conn(), run_id, task_id, self.label, "result_meta, state, result_run, result_task, result_inline"
        )
        if meta_json is None:
            raise ResultNotFoundError(
                f"task {task_id} of run {run_id} has no result (it is {state}); only completed tasks have results"
            )
        if inline:
            return None
        meta = ResultMeta.from_dict(json.loads(meta_json))
        return meta, self._files.result_file(meta, owner, owner_task, f"task {task_id} of run {run_id}", self.label)

    @_sql_errors
    def result_available(self, run_id: int, task_id: int) -> bool:
        """Whether the bytes of a task's result are present at their recorded size, without reading them."""
        meta_json, owner, owner_task, inline = q.task_row(
            self._conn(), run_id, task_id, self.label, "result_meta, result_run, result_task, result_inline"
        )
        if meta_json is None:
            return False
        meta = ResultMeta.from_dict(json.loads(meta_json))
        if inline:
            sql = "SELECT length(data) FROM result_blobs WHERE run_id = ? AND task_id = ?"
            row = self._conn().execute(sql, (owner, owner_task)).fetchone()
            return row is not None and int(row[0]) == meta.bytes
        try:
            return self._files.result_path(owner, owner_task, meta.codec).stat().st_size == meta.bytes
        except OSError:
            return False

    def close(self) -> None:
        """Let go of the store; its connections close with the last handle of this process using them."""
        if self._closed:
            return
        self._closed = True
        DATABASES.release(self._key, self._db)

    def __enter__(self) -> SqliteRunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ RunWriter

    @_sql_errors
    def register_version(self, spec: VersionSpec) -> Version:
        with self._write() as tx:
            return _writes.register_version(tx, spec, q.to_us(spec.created_at) or _now())

    @_sql_errors
    def create_run(self, run: NewRun) -> RunSummary:
        self._recover_if_possible()
        with self._write() as tx:
            summary = _writes.create_run(tx, run, _now(), self.label)
        self._files.clear_run_files(summary.run_id)
        self._db.ensure_reserve()
        return summary

    @_sql_errors
    def update_run(self, run_id: int, update: RunUpdate) -> None:
        with self._write() as tx:
            _writes.update_run(tx, run_id, update, self.label)

    @_sql_errors
    def update_tasks(self, run_id: int, updates: Sequence[TaskUpdate]) -> None:
        updates = list(updates)
        conn = self._conn()
        # Checked before any file moves (the transaction checks every task again): one query per 500 tasks. Inline
        # results and reuses move no file: the transaction's own check is enough for them.
        ids = sorted({u.task_id for u in updates if u.result is not None and not _inline(u.result)})
        metas: dict[int, Any] = {}
        for at in range(0, len(ids), 500):
            chunk = ids[at : at + 500]
            marks = ",".join("?" * len(chunk))
            metas.update(
                conn.execute(
                    f"SELECT task_id, result_meta FROM tasks WHERE run_id = ? AND task_id IN ({marks})",  # noqa: S608
                    (run_id, *chunk),
                ).fetchall()
            )
        for tid in ids:
            meta = metas[tid] if tid in metas else q.task_row(conn, run_id, tid, self.label, "result_meta")[0]
            if meta is not None:
                raise StoreError(f"task {tid} of run {run_id} already has a result; results are never overwritten")
        if self._readonly:
            raise StoreError(self._read_only_message())
        moved: Moved = []
        try:
            placed = {
                i: self._files.place(run_id, u.task_id, u.result, moved)
                for i, u in enumerate(updates)
                if u.result is not None
            }
            with self._write() as tx:
                _writes.update_tasks(tx, run_id, updates, placed, self.label)
        except BaseException:
            self._files.undo(moved)
            raise

    @_sql_errors
    def append_log(self, run_id: int, task_id: int, stream: str, data: bytes) -> None:
        path = self.log_path(run_id, task_id, stream)
        with open(path, "ab") as fh:
            fh.write(data)

    @_sql_errors
    def log_path(self, run_id: int, task_id: int, stream: str) -> Path:
        if self._readonly:
            raise StoreError(self._read_only_message())
        run_id, task_id = int(run_id), int(task_id)
        known = self._log_tasks.get(run_id)
        if known is None or task_id not in known:  # checked once per run, not once per task (engine hot path)
            path, _ = self._log_file(run_id, task_id, stream)
            path.parent.mkdir(exist_ok=True)
            ids = frozenset(t for (t,) in self._conn().execute("SELECT task_id FROM tasks WHERE run_id = ?", (run_id,)))
            if len(self._log_tasks) > 64:
                self._log_tasks.clear()
            self._log_tasks[run_id] = ids
            return path
        return self._files.log_path(run_id, task_id, stream)

    def staging_dir(self) -> Path | None:
        return None if self._readonly else self._files.staging

    @_sql_errors
    def claim_schedule(self, workflow: str, env: str, scheduled_time: datetime) -> bool:
        with self._write() as tx:
            return _writes.claim_schedule(tx, workflow, env, q.to_us(scheduled_time) or 0, _now())

    @_sql_errors
    def recover(self) -> list[int]:
        """End the active runs of engines that are gone (their running tasks fail with EngineLost) and delete
        what they left in staging. Writes only when there is something to recover."""
        if self._readonly:
            return []
        self._db.recovered_at = time.monotonic()
        started = time.time()
        conn = self._conn()
        owners = [o for (o,) in conn.execute(_ACTIVE_OWNERS)]
        dead = [owner_is_dead(o) for o in owners]
        # staging first: on a full disk, a dead engine's staging files are what frees the space to recover
        self._files.clean_staging(started if all(dead) else started - 86_400)
        recovered: list[int] = []
        if any(dead):  # only then take the write lock
            with self._write() as tx:
                recovered = _writes.recover(tx, owner_is_dead, _now())
        for run_id in recovered:
            rows = conn.execute(
                "SELECT task_id, result_meta FROM tasks WHERE run_id = ? AND result_run = run_id AND result_inline = 0",
                (run_id,),
            )
            kept = {self._files.result_path(run_id, t, json.loads(meta)["codec"]).name for t, meta in rows}
            self._files.remove_orphans(run_id, kept)
        return recovered

    def _bulk_load(self, runs: Sequence[_bulk.BulkRun], *, rebuild: bool = True) -> list[int]:
        """Insert many finished runs as they are, in one transaction, for benchmarks and imports.

        Much faster than create_run per run: rows go in with executemany and the count and summary tables
        are rebuilt once from the runs table at the end. For a load made of several batches pass
        ``rebuild=False`` to all but the last. ``BulkRun.rerun_of`` is an index into the same batch."""
        with self._write() as tx:
            return _bulk.bulk_load(tx, runs, rebuild)


def _now() -> int:
    return time.time_ns() // 1000


def open_sqlite_store(url: str, token: str | None = None, create: bool = True, trusted: bool = False) -> SqliteRunStore:
    """Open ``sqlite:///absolute/path/to/store-directory`` (the token is ignored: a local store has no auth).
    With ``create=False`` a directory that holds no store is an error ("no run store at ..."). ``trusted`` is
    what ``open_store`` decided from the user's trust settings."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
        raise StoreUnavailableError(f"{url!r} is not a SQLite store URL; use sqlite:///absolute/path/to/store")
    return SqliteRunStore(Path(unquote(parts.path)), trusted=trusted, create=create)
