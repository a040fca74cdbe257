"""What is particular to the embedded store: SQLite settings, derived tables, files, recovery, threads, fork."""

from __future__ import annotations

import os
import random
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from datatailr_jupyter.errors import StoreError
from datatailr_jupyter.models import RunQuery, RunState
from datatailr_jupyter.store import _queries, _schema
from datatailr_jupyter.store._bulk import BulkRun
from datatailr_jupyter.store._files import owner_is_dead
from datatailr_jupyter.store._schema import write
from datatailr_jupyter.store._writes import rebuild_derived
from datatailr_jupyter.store.codecs import encode
from datatailr_jupyter.store.protocols import RunUpdate, TaskUpdate
from datatailr_jupyter.store.registry import open_store
from datatailr_jupyter.store.sqlite import INLINE_MAX, SqliteRunStore, open_sqlite_store

from .contract_data import ALIVE, OTHER, SALES, T0, TASKS, new_run, populate, register


def derived(db: Path) -> list[list[tuple[object, ...]]]:
    conn = sqlite3.connect(db)
    try:
        return [
            sorted(conn.execute("SELECT * FROM run_days WHERE n != 0")),
            sorted(conn.execute("SELECT * FROM run_hours WHERE n != 0")),
            sorted(conn.execute("SELECT * FROM wf_env")),
            sorted(r for r in conn.execute("SELECT * FROM activity_days") if any(r[3:])),
        ]
    finally:
        conn.close()


def test_the_database_runs_in_wal_mode_with_normal_sync_and_foreign_keys(sqlite_store: SqliteRunStore) -> None:
    conn = sqlite_store._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert conn.execute("PRAGMA user_version").fetchone()[0] == _schema.SCHEMA_VERSION
    assert conn.isolation_level is None
    assert {p.name for p in sqlite_store.path.iterdir()} >= {"logs", "results", "runs.db", "staging"}


def test_counts_and_summaries_kept_on_every_write_equal_a_full_rebuild(sqlite_store: SqliteRunStore) -> None:
    made = populate(sqlite_store, seed=3)
    rng = random.Random(5)
    for m in rng.sample(made, 25):  # more moves: restarts on other days, state changes
        sqlite_store.update_run(m.run_id, RunUpdate(state=rng.choice(list(RunState)),
                                                    start_time=T0 + timedelta(hours=rng.randrange(200))))  # fmt: skip
    sqlite_store.recover()
    db = sqlite_store.path / "runs.db"
    incremental = derived(db)
    with write(sqlite_store._conn()) as tx:
        rebuild_derived(tx)
    assert derived(db) == incremental
    assert incremental[0] and incremental[1] and incremental[2]


def test_small_results_live_in_the_row_and_large_ones_in_files_named_by_ids(sqlite_store: SqliteRunStore) -> None:
    register(sqlite_store)
    run = new_run(sqlite_store)
    small, large = encode(b"s" * (INLINE_MAX - 100)), encode(b"L" * (INLINE_MAX + 100))
    sqlite_store.update_tasks(run.run_id, [TaskUpdate(0, result=small), TaskUpdate(1, result=large)])
    files = sorted(p.name for p in (sqlite_store.path / "results" / str(run.run_id)).iterdir())
    assert files == ["1.pkl"]
    assert sqlite_store.read_result(run.run_id, 0)[1] == small.data
    assert sqlite_store.read_result(run.run_id, 1)[1] == large.data
    assert list((sqlite_store.path / "staging").iterdir()) == []


def test_opening_for_writing_recovers_dead_runs_and_removes_orphans_but_spares_live_work(store_dir: Path) -> None:
    with SqliteRunStore(store_dir) as store:
        register(store)
        dead = new_run(store, owner=f"{socket.gethostname()}:{_dead_pid()}:1")
        live = new_run(store, owner=ALIVE)
        elsewhere = new_run(store, owner="another-host:1:1")
        for run in (dead, live, elsewhere):
            store.update_run(run.run_id, RunUpdate(state=RunState.RUNNING, start_time=T0))
            store.update_tasks(run.run_id, [TaskUpdate(0, state=RunState.COMPLETED, result=encode(b"k" * 90_000)),
                                            TaskUpdate(1, state=RunState.RUNNING)])  # fmt: skip
    orphan = store_dir / "results" / str(dead.run_id) / "1.pkl"
    orphan.write_bytes(b"renamed but never committed")
    old_part = store_dir / "staging" / "old.part"
    old_part.write_bytes(b"x")
    os.utime(old_part, (time.time() - 3 * 86_400,) * 2)
    fresh_part = store_dir / "staging" / "fresh.part"
    fresh_part.write_bytes(b"y")
    with SqliteRunStore(store_dir) as store:
        assert store.get_run(dead.run_id).run.state is RunState.FAILED
        assert store.get_run(live.run_id).run.state is RunState.RUNNING
        assert store.get_run(elsewhere.run_id).run.state is RunState.RUNNING
        assert store.read_result(dead.run_id, 0)[1] == encode(b"k" * 90_000).data
        assert not orphan.exists() and (store_dir / "results" / str(dead.run_id) / "0.pkl").exists()
        assert not old_part.exists() and fresh_part.exists()  # a live run may still move fresh files in


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_owner_liveness_checks_host_pid_and_process_start() -> None:
    host = socket.gethostname()
    assert owner_is_dead(None) and owner_is_dead("") and owner_is_dead("garbage")
    assert not owner_is_dead(ALIVE)
    assert owner_is_dead(f"{host}:{_dead_pid()}:1")
    assert owner_is_dead(f"{host}:{os.getpid()}:1")  # same pid, another process start: pid reused
    assert not owner_is_dead("some-other-host:1:1")


def test_list_queries_use_indexes_and_never_sort(sqlite_store: SqliteRunStore) -> None:
    conn = sqlite_store._conn()
    params = {"wf": 1, "env": "dev", "lo": 0, "hi": 1, "root": 0, "states": None, "ct": 5, "cr": 5, "n": 51}
    for (has_wf, has_env), sql in _queries._PAGE.items():
        plan = " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params))
        assert "USING INDEX" in plan and "TEMP B-TREE" not in plan, plan
        assert ("workflow_id=?" in plan) == has_wf and ("env=?" in plan) == has_env, plan
    plan = " ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN SELECT run_id FROM runs WHERE state IN "
                                               "('created', 'scheduled', 'pending', 'running')"))  # fmt: skip
    assert "runs_active" in plan


def test_one_store_object_serves_many_threads(sqlite_store: SqliteRunStore) -> None:
    register(sqlite_store)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                run = new_run(sqlite_store, env=("dev", "prod")[n % 2], submit=T0 + timedelta(minutes=i))
                sqlite_store.update_tasks(run.run_id, [TaskUpdate(0, state=RunState.COMPLETED, result=encode(i))])
                sqlite_store.list_runs(RunQuery(workflow=SALES, limit=5))
                sqlite_store.get_run(run.run_id)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sqlite_store.list_runs(RunQuery()).total == 120
    assert len(sqlite_store._conns) <= 7


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_opens_its_own_connection_and_the_parent_keeps_working(sqlite_store: SqliteRunStore) -> None:
    register(sqlite_store)
    parent_conn = sqlite_store._conn()
    new_run(sqlite_store)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            new_run(sqlite_store, env="prod")
            code = 0 if sqlite_store._conn() is not parent_conn else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert sqlite_store._conn() is parent_conn
    assert sqlite_store.list_runs(RunQuery()).total == 2 and sqlite_store.list_envs() == ["dev", "prod"]
    assert parent_conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_closed_store_says_so_and_urls_open_the_directory(store_dir: Path) -> None:
    store = open_sqlite_store(f"sqlite://{store_dir}")
    assert isinstance(store, SqliteRunStore) and store.label == str(store_dir)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.list_envs()
    via_registry = open_store(f"sqlite://{store_dir}", trust=True)
    assert isinstance(via_registry, SqliteRunStore) and via_registry.trusted
    via_registry.close()
    spaced = store_dir.parent / "with space"
    open_sqlite_store(f"sqlite://{str(spaced).replace(' ', '%20')}").close()
    assert (spaced / "runs.db").exists()


def test_a_workflow_is_found_by_display_name_key_or_its_normalised_form(sqlite_store: SqliteRunStore) -> None:
    register(sqlite_store, OTHER)
    new_run(sqlite_store, workflow=OTHER)
    for ref in (OTHER, "other-flow-quoted", "OTHER flow quoted"):
        assert sqlite_store.list_runs(RunQuery(workflow=ref)).total == 1


def test_bulk_load_inserts_runs_as_given_and_later_writes_stay_consistent(sqlite_store: SqliteRunStore) -> None:
    register(sqlite_store)
    ok, failed = (RunState.COMPLETED,) * 3, (RunState.COMPLETED, RunState.FAILED, RunState.DID_NOT_RUN)
    runs = [
        BulkRun(
            workflow=SALES,
            env=("dev", "prod")[i % 2],
            job_version=1,
            state=RunState.FAILED if i % 10 == 0 else RunState.COMPLETED,
            submit_time=T0 + timedelta(hours=i),
            start_time=T0 + timedelta(hours=i, minutes=1),
            end_time=T0 + timedelta(hours=i, minutes=9),
            tasks=TASKS,
            task_states=failed if i % 10 == 0 else ok,
            rerun_of=i % 150 - 2 if i % 10 == 2 else None,
        )
        for i in range(300)
    ]  # fmt: skip  (rerun_of: an index in the same batch of 150)
    ids = sqlite_store._bulk_load(runs[:150], rebuild=False)
    ids += sqlite_store._bulk_load(runs[150:])
    assert ids == list(range(1, 301))
    assert sqlite_store.list_runs(RunQuery()).total == 300
    assert sqlite_store.list_runs(RunQuery(roots_only=True)).total == 270
    assert sqlite_store.list_runs(RunQuery(states=(RunState.FAILED,), env="dev")).total == 30
    assert [r.run_id for r in sqlite_store.rerun_family(3)] == [1, 3]
    assert sqlite_store.get_run(11).run.task_counts == {"completed": 1, "did_not_run": 1, "failed": 1}
    assert sqlite_store.activity(SALES, None).total == 300 and sqlite_store.list_workflows()[0].n_runs == 300
    new_run(sqlite_store, submit=T0 + timedelta(days=40))
    db = sqlite_store.path / "runs.db"
    incremental = derived(db)
    with write(sqlite_store._conn()) as tx:
        rebuild_derived(tx)
    assert derived(db) == incremental
