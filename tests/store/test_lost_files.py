"""Lost files: an empty or missing runs.db beside the files of earlier runs is refused, not taken for a new store,
and a new run never appends to (or shows) files an earlier store left under its run id."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from datatailr_jupyter.errors import StoreError
from datatailr_jupyter.models import RunState
from datatailr_jupyter.store.codecs import encode
from datatailr_jupyter.store.protocols import TaskUpdate
from datatailr_jupyter.store.sqlite import SqliteRunStore

from .contract_data import new_run, register


def _populated(store_dir: Path) -> int:
    with SqliteRunStore(store_dir) as store:
        register(store)
        run = new_run(store)
        store.update_tasks(run.run_id, [TaskUpdate(0, state=RunState.COMPLETED, result=encode(b"k" * 90_000))])
        path = store.log_path(run.run_id, 0, "stdout")
        path.write_text("old run 1\n")
        return run.run_id


def _tree(root: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("damage", ["truncated", "deleted"])
def test_an_empty_or_missing_index_beside_earlier_runs_is_refused_and_nothing_changes(
    store_dir: Path, damage: str
) -> None:
    _populated(store_dir)
    db = store_dir / "runs.db"
    if damage == "truncated":
        os.truncate(db, 0)
    else:
        db.unlink()
    before = _tree(store_dir)
    for create in (True, False):
        with pytest.raises(StoreError) as info:
            SqliteRunStore(store_dir, create=create)
        message = str(info.value)
        assert "holds the results or logs of earlier runs" in message and "Restore runs.db from a backup" in message
        assert str(store_dir) in message
    assert _tree(store_dir) == before


def test_an_empty_store_directory_still_becomes_a_store(store_dir: Path) -> None:
    for name in ("results", "logs", "staging"):
        (store_dir / name).mkdir(parents=True)
    (store_dir / "runs.db").touch()
    with SqliteRunStore(store_dir) as store:
        register(store)
        assert new_run(store).run_id == 1


def test_a_new_run_never_appends_to_files_left_under_its_id(store_dir: Path) -> None:
    with SqliteRunStore(store_dir) as store:
        register(store)
    stale_log = store_dir / "logs" / "1" / "0.stdout"
    stale_log.parent.mkdir(parents=True)
    stale_log.write_text("a run of an earlier store\n")
    stale_result = store_dir / "results" / "1" / "3.pkl"
    stale_result.parent.mkdir(parents=True)
    stale_result.write_bytes(b"old")
    with SqliteRunStore(store_dir) as store:
        run = new_run(store)
        assert run.run_id == 1
        assert not stale_log.exists() and not stale_result.exists()
        path = store.log_path(run.run_id, 0, "stdout")
        with open(path, "ab") as fh:
            fh.write(b"new run 1\n")
        assert store.read_log(run.run_id, 0, "stdout").text == "new run 1\n"
