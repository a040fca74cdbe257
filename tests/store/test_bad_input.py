"""Bad input to the embedded store: each case is a clear error, and nothing on disk changes."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from datatailr_jupyter.errors import (
    InvalidArgumentError,
    InvalidNameError,
    ResultDecodeError,
    RunNotFoundError,
    StoreError,
    StoreUnavailableError,
    StoreVersionError,
    TaskNotFoundError,
    VersionNotFoundError,
    WorkflowNotFoundError,
)
from datatailr_jupyter.models import RunQuery, RunState
from datatailr_jupyter.store import _files
from datatailr_jupyter.store.codecs import encode
from datatailr_jupyter.store.protocols import EncodedResult, TaskSpec, TaskUpdate
from datatailr_jupyter.store.sqlite import SqliteRunStore, open_sqlite_store

from .contract_data import SALES, T0, new_run, register

NOBODY = 65534


def snapshot(root: Path) -> tuple[list[tuple[str, int, str]], str]:
    """Every file under the store (but SQLite's own -wal/-shm) with its hash, and a hash of the database content."""
    files = sorted(
        (str(p.relative_to(root)), p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in root.rglob("*")
        if p.is_file() and p.name not in ("runs.db", "runs.db-wal", "runs.db-shm")
    )
    conn = sqlite3.connect(f"file:{root / 'runs.db'}?mode=ro", uri=True)
    try:
        content = hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
    finally:
        conn.close()
    return files, content


@pytest.fixture()
def filled(sqlite_store: SqliteRunStore) -> Iterator[tuple[SqliteRunStore, int]]:
    register(sqlite_store)
    run = new_run(sqlite_store)
    sqlite_store.update_tasks(
        run.run_id,
        [TaskUpdate(0, state=RunState.COMPLETED, result=encode(list(range(100_000)))),
         TaskUpdate(1, state=RunState.COMPLETED, result=encode({"small": True}))],
    )  # fmt: skip
    sqlite_store.append_log(run.run_id, 0, "stdout", b"hello\n")
    yield sqlite_store, run.run_id


def unchanged(store: SqliteRunStore, call: Callable[[], Any], error: type[Exception], match: str) -> Exception:
    before = snapshot(store.path)
    with pytest.raises(error, match=match) as info:
        call()
    assert snapshot(store.path) == before
    return info.value


# ---------------------------------------------------------------- unknown things


def test_unknown_run_task_workflow_and_version_change_nothing(filled: tuple[SqliteRunStore, int]) -> None:
    store, run_id = filled
    unchanged(store, lambda: store.get_run(run_id + 100), RunNotFoundError, rf"run {run_id + 100} does not exist")
    unchanged(store, lambda: store.update_tasks(run_id, [TaskUpdate(9, state=RunState.FAILED)]), TaskNotFoundError,
              "fetch_data")  # fmt: skip
    unchanged(store, lambda: store.append_log(run_id, 9, "stdout", b"x"), TaskNotFoundError, "9")
    unchanged(store, lambda: store.list_versions("Nope"), WorkflowNotFoundError, "Daily Sales Report")
    unchanged(store, lambda: store.get_version(SALES, 3), VersionNotFoundError, "versions are 1")
    unchanged(store, lambda: new_run(store, version=2), VersionNotFoundError, "register the version")
    unchanged(store, lambda: store.update_tasks(run_id, [TaskUpdate(2, state=RunState.COMPLETED, result=encode(
        list(range(50_000)))), TaskUpdate(8)]), TaskNotFoundError, "its tasks are")  # fmt: skip
    assert not list((store.path / "staging").iterdir())


def test_bad_arguments_are_refused_before_anything_is_written(filled: tuple[SqliteRunStore, int]) -> None:
    store, run_id = filled
    unchanged(store, lambda: store.list_runs(RunQuery(cursor="%%%")), InvalidArgumentError, "cursor")
    unchanged(store, lambda: store.read_log(run_id, 0, "../../runs.db"), InvalidArgumentError, "stream")
    unchanged(store, lambda: store.log_path(run_id, 0, "stdin"), InvalidArgumentError, "stdout, stderr")
    unchanged(store, lambda: store.read_log(run_id, 0, "stdout", offset=-1), InvalidArgumentError, ">= 0")
    unchanged(store, lambda: store.search_log(run_id, 0, "stdout", "(", regex=True), InvalidArgumentError, "regular")
    unchanged(store, lambda: store.search_log(run_id, 0, "stdout", ""), InvalidArgumentError, "empty")
    unchanged(store, lambda: new_run(store, params={"when": datetime.now()}), InvalidArgumentError, "JSON")
    unchanged(store, lambda: new_run(store, submit=datetime(2026, 1, 1)), InvalidArgumentError, "time zone")
    unchanged(store, lambda: new_run(store, tasks=(TaskSpec(0, "a"), TaskSpec(0, "b"))), InvalidArgumentError, "ids")
    unchanged(store, lambda: new_run(store, tasks=(TaskSpec(0, "a", "", (5,)),)), InvalidArgumentError, "unknown")
    unchanged(store, lambda: store.update_tasks(run_id, [TaskUpdate(2, state="exploded")]),  # type: ignore[arg-type]
              InvalidArgumentError, "unknown state")  # fmt: skip
    with pytest.raises(InvalidArgumentError, match="not after start"):
        RunQuery(start=T0, end=T0 - timedelta(days=1))


def test_a_result_file_outside_the_staging_dir_is_refused_and_left_alone(
    filled: tuple[SqliteRunStore, int], tmp_path: Path
) -> None:
    store, run_id = filled
    outside = tmp_path / "elsewhere.bin"
    outside.write_bytes(b"x" * 10)
    meta = encode(b"x" * 10).meta
    for path in (outside, store.path / "staging" / ".." / "runs.db", store.path / "staging"):
        update = [TaskUpdate(2, result=EncodedResult(meta=meta, path=str(path)))]
        unchanged(store, functools.partial(store.update_tasks, run_id, update), InvalidArgumentError, "staging dir")
    link = store.path / "staging" / "link.part"
    link.symlink_to(outside)
    result = EncodedResult(meta=meta, path=str(link))
    unchanged(store, lambda: store.update_tasks(run_id, [TaskUpdate(2, result=result)]), InvalidArgumentError,
              "staging directory")  # fmt: skip
    assert outside.read_bytes() == b"x" * 10


@pytest.mark.parametrize("name", ["\"quoted\" 'name'", "a/b\\c", "../../../tmp/escape", "..", "x" * 1000, "two\nlines"])
def test_names_are_accepted_or_refused_and_never_become_paths(
    sqlite_store: SqliteRunStore, tmp_path: Path, name: str
) -> None:
    store = sqlite_store
    register(store)
    outside_before = sorted(p.name for p in tmp_path.iterdir())
    task_ok = "\n" not in name and len(name) <= 200
    workflow_ok = task_ok and any(c.isalnum() for c in name)
    tasks = (TaskSpec(0, name, "m:f"),)
    if workflow_ok:
        assert register(store, name, tasks=tasks).version == 1
        run = new_run(store, workflow=name, tasks=tasks)
        assert run.workflow == name and store.list_runs(RunQuery(workflow=name)).total == 1
    else:
        unchanged(store, lambda: register(store, name, tasks=tasks, digest="n"), InvalidNameError, "name")
    if task_ok:
        run = new_run(store, tasks=tasks)
        store.append_log(run.run_id, 0, "stderr", b"kept inside\n")
        store.update_tasks(run.run_id, [TaskUpdate(0, state=RunState.COMPLETED, result=encode(b"z" * 100_000))])
        assert store.get_run(run.run_id).tasks[0].name == name
        assert store.log_path(run.run_id, 0, "stderr").resolve().is_relative_to(store.path)
    else:
        unchanged(store, lambda: new_run(store, tasks=tasks), InvalidNameError, "task name")
    assert sorted(p.name for p in tmp_path.iterdir()) == outside_before
    fixed = {"runs.db", "runs.db-wal", "runs.db-shm", "results", "logs", "staging", ".space-reserve"}
    for path in store.path.rglob("*"):  # every other name is made of run and task ids
        assert path.name in fixed or path.name.split(".")[0].isdigit(), path


# ---------------------------------------------------------------- damaged results


def test_a_flipped_byte_a_truncation_or_a_missing_file_is_a_result_decode_error(
    filled: tuple[SqliteRunStore, int],
) -> None:
    store, run_id = filled
    (path,) = (store.path / "results" / str(run_id)).iterdir()
    good = path.read_bytes()
    store.read_result(run_id, 0)
    path.write_bytes(good[:100] + bytes([good[100] ^ 1]) + good[101:])
    unchanged(store, lambda: store.read_result(run_id, 0), ResultDecodeError, "truncated/corrupt.*rerun the task")
    path.write_bytes(good[:-10])
    unchanged(store, lambda: store.read_result(run_id, 0), ResultDecodeError, "truncated/corrupt")
    path.unlink()
    unchanged(store, lambda: store.read_result(run_id, 0), ResultDecodeError, "missing")
    assert store.read_result(run_id, 1)[1] == encode({"small": True}).data


def test_a_corrupt_inline_result_is_a_result_decode_error(filled: tuple[SqliteRunStore, int]) -> None:
    store, run_id = filled
    conn = sqlite3.connect(store.path / "runs.db")
    with conn:
        conn.execute("UPDATE result_blobs SET data = ? WHERE run_id = ? AND task_id = 1", (b'{"small":false}', run_id))
    conn.close()
    with pytest.raises(ResultDecodeError, match="truncated/corrupt"):
        store.read_result(run_id, 1)


# ---------------------------------------------------------------- damaged or foreign stores


def test_a_store_from_a_newer_version_is_refused_and_left_byte_for_byte(store_dir: Path) -> None:
    SqliteRunStore(store_dir).close()
    conn = sqlite3.connect(store_dir / "runs.db")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    db = store_dir / "runs.db"
    before = (db.read_bytes(), db.stat().st_mtime_ns, sorted(p.name for p in store_dir.iterdir()))
    for opener in (lambda: SqliteRunStore(store_dir), lambda: open_sqlite_store(f"sqlite://{store_dir}")):
        with pytest.raises(StoreVersionError, match="upgrade datatailr_jupyter") as info:
            opener()
        assert str(store_dir) in str(info.value) and "99" in str(info.value)
    assert (db.read_bytes(), db.stat().st_mtime_ns, sorted(p.name for p in store_dir.iterdir())) == before


def test_paths_that_are_not_stores_are_refused_and_nothing_is_created(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("not a store")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "runs.db").write_bytes(b"this is not sqlite" * 10)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    cases = [
        (a_file, StoreUnavailableError, "is a file"),
        (foreign, StoreError, "not a SQLite database"),
        (busy, StoreUnavailableError, "not empty"),
        (tmp_path / "missing", StoreUnavailableError, "no run store"),
    ]
    for path, error, match in cases:  # fmt: skip
        with pytest.raises(error, match=match) as info:
            SqliteRunStore(path, create=False) if path.name == "missing" else SqliteRunStore(path)
        assert str(path) in str(info.value)
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
    with pytest.raises(StoreUnavailableError, match="sqlite:///absolute"):
        open_sqlite_store("sqlite://relative/path")


def _as_other_user(script: str, *args: str) -> dict[str, Any]:
    """Run ``script`` in a fresh interpreter that, once its imports are done, drops to an unprivileged user
    when started as root (root ignores file modes; the interpreter itself is only readable by root)."""
    result = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


PROBE = f"""
import json, os, sys
from datetime import datetime, timezone
from datatailr_jupyter.models import RunQuery
from datatailr_jupyter.store.sqlite import SqliteRunStore
if os.geteuid() == 0:
    os.setgid({NOBODY})
    os.setuid({NOBODY})
out = {{}}
try:
    store = SqliteRunStore(sys.argv[1])
    out["runs"] = store.list_runs(RunQuery()).total
    out["result"] = len(store.read_result(1, 1)[1])
    try:
        store.claim_schedule("Daily Sales Report", "dev", datetime(2026, 1, 1, tzinfo=timezone.utc))
    except Exception as exc:
        out["write"] = [type(exc).__name__, str(exc)]
    out["staging"] = store.staging_dir()
except Exception as exc:
    out["open"] = [type(exc).__name__, str(exc)]
print(json.dumps(out, default=str))
"""


@pytest.fixture()
def shared_dir() -> Iterator[Path]:
    """A directory another user can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="dt-store-"))
    path.chmod(0o755)
    yield path
    subprocess.run(["chmod", "-R", "u+rwX", str(path)], check=False)
    subprocess.run(["rm", "-rf", str(path)], check=False)


def test_a_read_only_store_can_be_read_but_not_written(shared_dir: Path) -> None:
    store_dir = shared_dir / "store"
    with SqliteRunStore(store_dir) as store:
        register(store)
        run = new_run(store)
        store.update_tasks(run.run_id, [TaskUpdate(1, state=RunState.COMPLETED, result=encode("ok"))])
    before = snapshot(store_dir)
    for path in [store_dir, *store_dir.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    answer = _as_other_user(PROBE, str(store_dir))
    assert "open" not in answer, answer
    assert answer["runs"] == 1 and answer["result"] == len(encode("ok").data or b"") and answer["staging"] is None
    assert (
        answer["write"][0] == "StoreError"
        and "read-only" in answer["write"][1]
        and str(store_dir) in answer["write"][1]
    )
    assert snapshot(store_dir) == before


def test_an_unreadable_store_directory_is_store_unavailable(shared_dir: Path) -> None:
    store_dir = shared_dir / "store"
    SqliteRunStore(store_dir).close()
    store_dir.chmod(0o700 if os.geteuid() == 0 else 0o000)
    answer = _as_other_user(PROBE, str(store_dir))
    assert answer["open"][0] == "StoreUnavailableError"
    assert str(store_dir) in answer["open"][1] and "permission denied" in answer["open"][1]


def test_naive_times_in_activity_and_claims_are_refused(sqlite_store: SqliteRunStore) -> None:
    register(sqlite_store)
    with pytest.raises(InvalidArgumentError, match="time zone"):
        sqlite_store.claim_schedule(SALES, "dev", datetime(2026, 1, 1))
    with pytest.raises(InvalidArgumentError, match="time zone"):
        sqlite_store.activity(None, None, datetime(2026, 1, 1), datetime(2026, 1, 2, tzinfo=timezone.utc))


def test_a_store_on_a_network_filesystem_is_refused_before_anything_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/vda / ext4 rw 0 0\nserver:/export {tmp_path / 'shared'} nfs4 rw 0 0\n")
    monkeypatch.setattr(_files, "filesystem_of", functools.partial(_files.filesystem_of, mounts=str(mounts)))
    with pytest.raises(StoreUnavailableError, match=r"network filesystem \(nfs4\).*dt serve"):
        SqliteRunStore(tmp_path / "shared" / "store")
    assert not (tmp_path / "shared").exists()
    SqliteRunStore(tmp_path / "local").close()
    spaced = tmp_path / "with space"
    mounts.write_text(f"server:/x {str(spaced).replace(' ', chr(92) + '040')} cifs rw 0 0\n")
    assert _files.filesystem_of(spaced / "store") == "cifs" and _files.filesystem_of(tmp_path / "other") is None


@pytest.mark.parametrize("env", ["prod\n", "no/slashes", ""])
def test_client_workflows_refuse_a_bad_env_instead_of_showing_none(sqlite_store: SqliteRunStore, env: str) -> None:
    from datatailr_jupyter.client import Client

    register(sqlite_store)
    new_run(sqlite_store, env="prod")
    client = Client(sqlite_store)
    assert [w.name for w in client.workflow_infos("prod")] == [SALES]
    for call in (client.workflow_infos, client.workflows):
        with pytest.raises(InvalidNameError, match="environment .* is not valid"):
            call(env)
