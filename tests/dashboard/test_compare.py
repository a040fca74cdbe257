"""Comparing two runs: tasks matched by name, durations and their change, executed or reused, and result diffs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datatailr_jupyter.client import Client
from datatailr_jupyter.compare import UNTRUSTED, diff_values
from datatailr_jupyter.engine import rerun
from datatailr_jupyter.store.sqlite import SqliteRunStore
from tests.dashboard.flows import arithmetic


def test_numbers_differ_by_their_delta() -> None:
    diff = diff_values(10, 12.5)
    assert diff.equal is False and diff.details == {"delta": 2.5} and "+2.5" in diff.text and "+25.00%" in diff.text
    assert diff_values(3, 3).equal is True
    assert diff_values(float("nan"), float("nan")).equal is True


def test_frames_report_shape_columns_and_changed_cells() -> None:
    a = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    b = pd.DataFrame({"x": [1, 20, 30, 4], "z": [0.0, 0.0, 0.0, 0.0]})
    diff = diff_values(a, b)
    assert diff.equal is False and diff.details is not None
    assert diff.details["shape_a"] == (3, 2) and diff.details["shape_b"] == (4, 2)
    assert diff.details["columns_added"] == ["z"] and diff.details["columns_removed"] == ["y"]
    assert diff.details["changed_cells"] == 2 and diff.details["first_changes"] == ["x[1]: 2 → 20", "x[2]: 3 → 30"]
    assert diff.details["rows_added"] == 1
    assert diff_values(a, a.copy()).equal is True


def test_arrays_report_shape_and_max_abs_difference() -> None:
    diff = diff_values(np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(2, 3) + [[0, 0, 0.25], [0, -1.5, 0]])
    assert diff.equal is False and diff.details is not None
    assert diff.details["max_abs_diff"] == 1.5 and diff.details["changed"] == 2 and "max abs diff 1.5" in diff.text
    assert "shape (3,) → (4,)" in diff_values(np.zeros(3), np.zeros(4)).text
    assert diff_values(np.array([np.nan, 1.0]), np.array([np.nan, 1.0])).equal is True


def test_other_values_are_equal_or_not() -> None:
    assert diff_values({"a": [1, 2]}, {"a": [1, 2]}).equal is True
    assert diff_values("x", "y").text == "not equal"
    assert diff_values(1, "1").text == "not equal: int → str"


@pytest.fixture()
def pair(store: SqliteRunStore) -> tuple[int, int, int]:
    a = arithmetic(b=0, k=1, local_run=True, store=store, executor="inline").run_id
    b = arithmetic(b=4, k=2, local_run=True, store=store, executor="inline").run_id
    c = rerun(a, store=store, executor="inline").run_id
    return a, b, c


def test_compare_two_runs_of_different_versions(client: Client, pair: tuple[int, int, int]) -> None:
    a, b, _ = pair
    frame = client.compare(a, b)
    assert list(frame.index) == ["numbers", "total", "div", "frame", "array"]
    assert frame.loc["div", "state_a"] == "failed" and frame.loc["div", "state_b"] == "completed"
    assert frame.loc["div", "result_change"] == "result only in b"
    assert frame.loc["total", "result_change"] == "equal (same bytes)"
    assert frame.loc["frame", "result_equal"] == False  # noqa: E712 - a numpy/pandas bool
    assert "3 cells changed" in frame.loc["frame", "result_change"]
    assert "max abs diff 1" in frame.loc["array", "result_change"]
    duration = frame.loc["numbers"]
    assert duration["duration_change_s"] == pytest.approx(duration["duration_b_s"] - duration["duration_a_s"])
    assert set(frame["executed_a"]) == {"executed"}


def test_compare_with_a_rerun_shows_reused_tasks(client: Client, pair: tuple[int, int, int]) -> None:
    a, _, c = pair
    frame = client.compare(a, c)
    assert frame.loc["numbers", "executed_b"] == f"reused from #{a}"
    assert frame.loc["numbers", "result_change"] == "equal (same bytes)"
    assert frame.loc["div", "executed_b"] == "executed"


def test_untrusted_pickles_are_not_compared(store: SqliteRunStore, tmp_path: object) -> None:
    from datatailr_jupyter.engine import task, workflow

    @task()
    def opaque(n):
        return type("Box", (), {"n": n})

    @workflow(name="Opaque")
    def flow(n=1):
        opaque(n)

    a = flow(n=1, local_run=True, store=store, executor="inline").run_id
    b = flow(n=2, local_run=True, store=store, executor="inline").run_id
    assert store.get_run(a).tasks[0].result.codec == "pickle"
    untrusted = SqliteRunStore(store.path, trusted=False)
    try:
        frame = Client(untrusted).compare(a, b)
        assert frame.loc["opaque", "result_change"] == UNTRUSTED and frame.loc["opaque", "result_equal"] is None
    finally:
        untrusted.close()
    assert Client(store).compare(a, b).loc["opaque", "result_change"] == "not equal"
