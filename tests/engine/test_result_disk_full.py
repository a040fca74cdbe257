"""A task whose result does not fit on the disk: no partial staging file stays behind, and its error says to free
disk space (not to return another value)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from datatailr_jupyter.engine import task, workflow
from datatailr_jupyter.engine.workers import encode_result
from datatailr_jupyter.models import RunState
from datatailr_jupyter.store.protocols import RunStore

BIG_LIST = list(range(300_000))  # over 1 MiB as JSON, but not an array: encoded in memory, then spilled to a file


def _no_room(fd: int) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_spilled_result_that_does_not_fit_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(os, "fsync", _no_room)
    with pytest.raises(OSError, match="No space left on device"):
        encode_result(BIG_LIST, str(tmp_path))
    assert list(tmp_path.iterdir()) == [], "the partial .part file was left in staging"


@task()
def big_list():
    return BIG_LIST


@workflow(name="Full Disk")
def full_disk():
    big_list()


def test_a_result_that_does_not_fit_on_the_disk_says_to_free_space(store: RunStore, monkeypatch: pytest.MonkeyPatch):
    staging = store.staging_dir()
    assert staging is not None
    monkeypatch.setattr(os, "fsync", _no_room)
    handle = full_disk(local_run=True, store=store, executor="inline")
    monkeypatch.undo()
    [t] = handle.detail().tasks
    assert t.state is RunState.FAILED and t.error is not None
    assert "No space left on device" in t.error.message and "free disk space" in t.error.message, t.error.message
    assert "return a value that can be stored" not in t.error.message
    assert list(staging.iterdir()) == []


def test_a_value_that_cannot_be_encoded_is_not_blamed_on_the_disk(store: RunStore):
    @task()
    def lock():
        import threading

        return threading.Lock()

    @workflow(name="Lock Result")
    def returns_a_lock():
        lock()

    [t] = returns_a_lock(local_run=True, store=store, executor="inline").detail().tasks
    assert t.state is RunState.FAILED and t.error is not None
    assert "cannot be stored" in t.error.message and "free disk space" not in t.error.message
