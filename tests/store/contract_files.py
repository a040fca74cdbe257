"""The results and logs half of the run-store contract, through the protocol methods only."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
import pytest

from datatailr_jupyter.errors import (
    InvalidArgumentError,
    ResultDecodeError,
    ResultNotFoundError,
    RunNotFoundError,
    TaskNotFoundError,
)
from datatailr_jupyter.models import RunState
from datatailr_jupyter.store.codecs import decode, encode, encode_to_file
from datatailr_jupyter.store.protocols import (
    RunStore,
    TaskUpdate,
)

from .contract_data import (
    Marker,
    new_run,
    register,
)


class ResultsAndLogsContract:
    """Subclasses provide ``store``: a fresh, empty, writable RunStore."""

    @pytest.fixture()
    def store(self) -> RunStore:  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    # ------------------------------------------------------------ results

    @pytest.mark.parametrize(
        "value",
        [
            {"rows": 3, "names": ["a", "b"], "ratio": 0.5, "none": None},
            pd.DataFrame({"region": ["north", "south"] * 50, "amount": np.arange(100) * 1.5}),
            np.arange(60_000, dtype=np.float64).reshape(300, 200),
            ("a", "tuple", 3),
            Marker("x" * 100_000),
            "é" * 200_000,
        ],
        ids=["json", "parquet", "npy-large", "pickle-tuple", "pickle-large", "json-large"],
    )
    def test_results_round_trip_byte_for_byte_with_their_meta(self, store: RunStore, value: Any) -> None:
        register(store)
        run = new_run(store)
        encoded = encode(value)
        store.update_tasks(run.run_id, [TaskUpdate(0, state=RunState.COMPLETED, result=encoded)])
        meta, data = store.read_result(run.run_id, 0)
        assert data == encoded.data and meta.sha256 == encoded.meta.sha256 and meta.bytes == len(data)
        assert meta.codec == encoded.meta.codec and store.get_run(run.run_id).tasks[0].result == meta
        back: Any = decode(meta, data, trusted=True)
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(back, value)
        elif isinstance(value, np.ndarray):
            np.testing.assert_array_equal(back, value)
        else:
            assert back == value

    def test_a_result_written_to_the_staging_dir_is_moved_into_the_store(self, store: RunStore) -> None:
        staging = store.staging_dir()
        if staging is None:
            pytest.skip("this store takes results as bytes only")
        register(store)
        run = new_run(store)
        frame = pd.DataFrame({"x": np.arange(200_000)})
        encoded = encode_to_file(frame, staging)
        assert encoded.path is not None and os.path.exists(encoded.path)
        store.update_tasks(run.run_id, [TaskUpdate(0, state=RunState.COMPLETED, result=encoded)])
        assert not os.path.exists(encoded.path)
        meta, data = store.read_result(run.run_id, 0)
        assert meta.sha256 == encoded.meta.sha256
        back: Any = decode(meta, data, trusted=False)
        pd.testing.assert_frame_equal(back, frame)

    def test_results_are_never_overwritten(self, store: RunStore) -> None:
        register(store)
        run = new_run(store)
        store.update_tasks(run.run_id, [TaskUpdate(0, state=RunState.COMPLETED, result=encode(1))])
        with pytest.raises(Exception, match="never overwritten"):
            store.update_tasks(run.run_id, [TaskUpdate(0, result=encode(2))])
        assert decode(*store.read_result(run.run_id, 0), trusted=True) == 1

    def test_reuse_points_at_the_run_that_owns_the_bytes(self, store: RunStore) -> None:
        register(store)
        root = new_run(store)
        big = encode(np.arange(100_000))
        store.update_tasks(root.run_id, [TaskUpdate(0, state=RunState.COMPLETED, result=big),
                                         TaskUpdate(1, state=RunState.COMPLETED, result=encode("small"))])  # fmt: skip
        first = new_run(store, rerun_of=root.run_id)
        reuse = [TaskUpdate(i, state=RunState.COMPLETED, reused_from_run=root.run_id) for i in (0, 1)]
        store.update_tasks(first.run_id, reuse)
        second = new_run(store, rerun_of=first.run_id)
        reuse = [TaskUpdate(i, state=RunState.COMPLETED, reused_from_run=first.run_id) for i in (0, 1)]
        store.update_tasks(second.run_id, reuse)
        for task_id in (0, 1):
            original = store.read_result(root.run_id, task_id)
            for run in (first, second):
                task = store.get_run(run.run_id).tasks[task_id]
                assert task.reused_from_run == root.run_id and task.result == original[0]
                assert store.read_result(run.run_id, task_id) == original
        assert store.get_run(root.run_id).tasks[0].reused_from_run is None
        with pytest.raises(RunNotFoundError):
            store.update_tasks(second.run_id, [TaskUpdate(2, reused_from_run=424242)])

    def test_result_file_locates_the_bytes_of_file_results_including_reused_ones(self, store: RunStore) -> None:
        locate = getattr(store, "result_file", None)
        if locate is None:
            pytest.skip("this store does not offer result_file (optional)")
        register(store)
        root = new_run(store)
        big = encode(np.arange(100_000))
        store.update_tasks(root.run_id, [TaskUpdate(0, state=RunState.COMPLETED, result=big),
                                         TaskUpdate(1, state=RunState.COMPLETED, result=encode("small"))])  # fmt: skip
        rerun = new_run(store, rerun_of=root.run_id)
        store.update_tasks(rerun.run_id, [TaskUpdate(0, state=RunState.COMPLETED, reused_from_run=root.run_id)])
        again = new_run(store, rerun_of=rerun.run_id)
        store.update_tasks(again.run_id, [TaskUpdate(0, state=RunState.COMPLETED, reused_from_run=rerun.run_id)])
        meta, data = store.read_result(root.run_id, 0)
        found = locate(root.run_id, 0)
        assert found is not None and found[0] == meta and found[1].read_bytes() == data
        assert locate(rerun.run_id, 0) == found and locate(again.run_id, 0) == found, "reused: the owner's file"
        assert locate(root.run_id, 1) is None, "a small result kept in the database row has no file"
        with pytest.raises(ResultNotFoundError, match="has no result"):
            locate(rerun.run_id, 1)
        with pytest.raises(RunNotFoundError):
            locate(424242, 0)
        with pytest.raises(TaskNotFoundError):
            locate(root.run_id, 99)
        found[1].unlink()
        with pytest.raises(ResultDecodeError, match="missing"):
            locate(again.run_id, 0)

    # ------------------------------------------------------------ logs

    def test_log_ranges_cover_the_log_exactly_and_end_on_lines(self, store: RunStore) -> None:
        register(store)
        run = new_run(store)
        lines = [f"line {i} {'é' * (i % 5)} {'x' * (i % 37)}\n" for i in range(3000)]
        blob = "".join(lines).encode()
        for i in range(0, len(blob), 7001):
            store.append_log(run.run_id, 0, "stdout", blob[i : i + 7001])
        offset, parts = 0, []
        while True:
            chunk = store.read_log(run.run_id, 0, "stdout", offset=offset, limit=999)
            assert chunk.offset == offset and chunk.size == len(blob)
            if chunk.next_offset == offset:
                break
            assert chunk.text.endswith("\n")
            parts.append(chunk.text)
            offset = chunk.next_offset
        assert "".join(parts) == "".join(lines)
        tail = store.read_log(run.run_id, 0, "stdout", tail=100)
        assert tail.text == lines[-1] or "".join(lines).endswith(tail.text)
        assert tail.text.endswith(lines[-1]) and tail.next_offset == len(blob)
        assert tail.text.startswith("line ") and "\ufffd" not in tail.text
        assert store.get_run(run.run_id).tasks[0].stdout_bytes == len(blob)
        assert store.read_log(run.run_id, 0, "stderr").text == ""

    def test_a_range_never_splits_a_utf8_character(self, store: RunStore) -> None:
        register(store)
        run = new_run(store)
        store.append_log(run.run_id, 1, "stderr", ("€" * 1000).encode())  # no newline: cut on characters
        seen, offset = [], 0
        while True:
            chunk = store.read_log(run.run_id, 1, "stderr", offset=offset, limit=100)
            if chunk.next_offset == offset:
                break
            assert "\ufffd" not in chunk.text
            seen.append(chunk.text)
            offset = chunk.next_offset
        assert "".join(seen) == "€" * 1000
        assert "\ufffd" not in store.read_log(run.run_id, 1, "stderr", offset=1, limit=10).text

    def test_a_growing_log_is_read_incrementally_and_complete_when_the_task_ends(self, store: RunStore) -> None:
        register(store)
        run = new_run(store)
        store.update_tasks(run.run_id, [TaskUpdate(0, state=RunState.RUNNING)])
        store.append_log(run.run_id, 0, "stdout", b"first line\nsecond li")
        chunk = store.read_log(run.run_id, 0, "stdout")
        assert chunk.text == "first line\n" and chunk.complete is False and chunk.size == 20
        store.append_log(run.run_id, 0, "stdout", b"ne\nthird\n")
        more = store.read_log(run.run_id, 0, "stdout", offset=chunk.next_offset)
        assert more.text == "second line\nthird\n"
        store.update_tasks(run.run_id, [TaskUpdate(0, state=RunState.COMPLETED)])
        assert store.read_log(run.run_id, 0, "stdout", offset=more.next_offset).complete is True

    def test_search_finds_lines_by_substring_ignoring_case_or_by_regex(self, store: RunStore) -> None:
        register(store)
        run = new_run(store)
        text = "".join(f"row {i} {'NEEDLE' if i % 250 == 0 else 'hay'} é\n" for i in range(2000))
        store.append_log(run.run_id, 0, "stdout", text.encode())
        found = store.search_log(run.run_id, 0, "stdout", "needle")
        assert [m.line for m in found] == list(range(0, 2000, 250))
        data = text.encode()
        for m in found:
            assert data[m.offset :].startswith(m.text.encode()) and m.text.startswith(f"row {m.line} NEEDLE")
        assert [m.line for m in store.search_log(run.run_id, 0, "stdout", r"^row 1\d{3} NEEDLE", regex=True)] == [
            1000, 1250, 1500, 1750]  # fmt: skip
        assert len(store.search_log(run.run_id, 0, "stdout", "hay", max_matches=5)) == 5
        assert store.search_log(run.run_id, 0, "stdout", "absent") == []
        with pytest.raises(InvalidArgumentError, match="regular expression"):
            store.search_log(run.run_id, 0, "stdout", "([unclosed", regex=True)

    def test_only_stdout_and_stderr_are_streams(self, store: RunStore) -> None:
        register(store)
        run = new_run(store)
        for call in (lambda: store.read_log(run.run_id, 0, "../runs.db"),
                     lambda: store.append_log(run.run_id, 0, "stdin", b"x"),
                     lambda: store.search_log(run.run_id, 0, "STDOUT", "x")):  # fmt: skip
            with pytest.raises(InvalidArgumentError, match="stdout, stderr"):
                call()
