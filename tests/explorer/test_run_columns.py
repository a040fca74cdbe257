"""get-run's columnar tasks decode to exactly the records one-record-per-task carried, and stay small."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from datatailr_jupyter.client import Client
from datatailr_jupyter.explorer.columns import decode_columns, encode_column, encode_dicts, encode_times, task_records
from datatailr_jupyter.explorer.handlers import MAX_TRACEBACK, dispatch
from datatailr_jupyter.models import RunState, TaskError, TaskRun, to_wire_time
from datatailr_jupyter.store.codecs import encode
from datatailr_jupyter.store.protocols import NewRun, TaskSpec, TaskUpdate, VersionSpec
from datatailr_jupyter.store.registry import open_store
from datatailr_jupyter.store.tasktable import from_us

from .conftest import Built

T0 = datetime(2026, 11, 3, 9, 30, tzinfo=timezone.utc)
NAMES = ("lädt_daten", "計算", "write report", "emoji 🚀", "plain")


def record_form(task: TaskRun, arguments: dict[str, Any]) -> dict[str, Any]:
    """What the one-record-per-task answer carried for ``task`` (result preview and digest left to get-result)."""
    data = task.to_dict()
    if data.get("result"):
        data["result"]["preview"] = ""
        data["result"]["sha256"] = ""
    if data.get("error") and len(data["error"]["traceback"]) > MAX_TRACEBACK:
        data["error"]["traceback"] = "…" + data["error"]["traceback"][-MAX_TRACEBACK:]
    data["arguments"] = arguments
    return data


def answer(client: Client, run_id: int) -> dict[str, Any]:
    response = dispatch(client, "get-run", {"run_id": run_id}, 1)
    assert "error" not in response, response.get("error")
    payload: dict[str, Any] = json.loads(json.dumps(response["payload"]))  # as the browser receives it
    return payload


def mixed_run(tmp_path: Path) -> tuple[Client, int, dict[int, dict[str, Any]]]:
    """A rerun with unicode names, literal and upstream arguments, a reused task, a failure, results of shapes."""
    client = Client(open_store(f"sqlite://{tmp_path / 'store'}"))
    store = client.store
    specs = tuple(
        TaskSpec(i, name, f"flows:{name}", tuple(range(i)) if i < 3 else (0, 2), {"memory": "1g"} if i % 2 else {})
        for i, name in enumerate(NAMES)
    )
    arguments = {0: {"n": {"literal": 3}, "label": {"literal": "ä ü"}}, 2: {"rows": {"task": 1}}, 4: {}}
    tasks = [
        {"id": t.id, "name": t.name, "dependencies": list(t.dependencies), "arguments": arguments.get(t.id, {})}
        for t in specs
    ]
    store.register_version(VersionSpec(workflow="Ünïcode flow", definition={"tasks": tasks}, definition_hash="u1"))
    first = store.create_run(NewRun(workflow="Ünïcode flow", env="dev", job_version=1, tasks=specs))
    store.update_tasks(first.run_id, [TaskUpdate(0, state=RunState.COMPLETED, start_time=T0, end_time=T0,
                                                  result=encode(np.zeros((3, 4))))])  # fmt: skip
    run = store.create_run(
        NewRun(workflow="Ünïcode flow", env="dev", job_version=1, tasks=specs, rerun_of=first.run_id)
    )
    later = T0 + timedelta(minutes=1)
    long_traceback = "Traceback (most recent call last):\n" + "  frame\n" * 20_000 + "KeyError: 'ß'\n"
    store.update_tasks(
        run.run_id,
        [
            TaskUpdate(0, state=RunState.COMPLETED, reused_from_run=first.run_id),
            TaskUpdate(1, state=RunState.COMPLETED, start_time=T0, end_time=later, attempt=2, exit_code=0,
                       host="höst-1", result=encode({"k": [1, 2]})),
            TaskUpdate(2, state=RunState.FAILED, start_time=later, end_time=later, exit_code=1,
                       error=TaskError("KeyError", "'ß' is missing", long_traceback)),
            TaskUpdate(3, state=RunState.RUNNING, start_time=later),
        ],
    )  # fmt: skip
    return client, run.run_id, arguments


def test_columns_decode_to_the_records_of_a_rerun_with_reuse_literals_errors_and_unicode(tmp_path: Path) -> None:
    client, run_id, arguments = mixed_run(tmp_path)
    detail = client.run(run_id).detail
    got = task_records(answer(client, run_id))
    assert got == [record_form(t, arguments.get(t.id, {})) for t in detail.tasks]
    by_name = {t["name"]: t for t in got}
    assert by_name["lädt_daten"]["reused_from_run"] == detail.run.rerun_of
    assert by_name["lädt_daten"]["result"]["shape"] == [3, 4]
    assert by_name["計算"]["host"] == "höst-1" and by_name["計算"]["attempt"] == 2
    assert by_name["write report"]["error"]["traceback"].startswith("…")
    assert by_name["write report"]["dependencies"] == [0, 1]
    assert by_name["emoji 🚀"]["state"] == "running" and by_name["emoji 🚀"]["result"] is None
    assert by_name["plain"]["state"] == "created"
    client.close()


def test_columns_decode_to_the_records_of_every_run_of_the_shared_store(client: Client, built_store: Built) -> None:
    for run_id in built_store.runs.values():
        detail = client.run(run_id).detail
        definition = client.store.get_version(detail.run.workflow_key, detail.run.job_version).definition
        arguments = {t["id"]: t.get("arguments") or {} for t in definition["tasks"]}
        assert task_records(answer(client, run_id)) == [record_form(t, arguments.get(t.id, {})) for t in detail.tasks]


@pytest.mark.parametrize(
    "values",
    [
        [],
        [None],
        [1, True, 1.0, "1", None, 1, True],
        ["running"] * 5 + ["failed"],
        [[0, 1], [], [2], [0, 1]],
        [{"a": 1}, {"a": 1}, {}, {"a": 1}],
        [[1], None, [1], None],
        [0] * 4,
        [None] * 3,
        [{}] * 3,
        [[]] * 3,
        [3, 4, 5, 6],
        [3, 4, 5, 5],
        [True, True],
        [1.0, 2.0, 3.0],
        [{"a": [1]}] * 2,
    ],
)
def test_a_column_decodes_to_its_values_keeping_types_apart(values: list[Any]) -> None:
    column = json.loads(json.dumps(encode_column(values)))
    decoded = [r["v"] for r in decode_columns(len(values), {"v": column})]
    assert decoded == values
    assert [type(v) for v in decoded] == [type(v) for v in values]


def test_repeated_values_are_sent_once_and_dependencies_as_one_flat_list() -> None:
    states = encode_column(["completed"] * 1000 + ["failed"])
    assert states["dict"] == ["completed", "failed"] and set(states["codes"]) == {0, 1}
    deps = encode_column([[i - 1] if i else [] for i in range(100)])
    assert deps["lengths"] == {"dict": [0, 1], "codes": [0] + [1] * 99} and deps["lists"] == {"from": 0}
    assert encode_column(["a", "b", "c"]) == ["a", "b", "c"]


def test_a_value_every_row_has_is_sent_once_and_consecutive_ids_by_their_start() -> None:
    assert encode_column([0] * 10_000) == {"same": 0}
    assert encode_column([None] * 3) == {"same": None}
    assert encode_column([{}] * 3) == {"same": {}}
    assert encode_column([{"a": 1}] * 3) == {"same": {"a": 1}}
    assert encode_column([[]] * 3) == {"lists": [], "lengths": {"same": 0}}
    assert encode_column(list(range(7, 10_007))) == {"from": 7}
    assert encode_column([True, True]) == {"same": True} and encode_column([0, 1]) == {"from": 0}
    assert encode_column([True, False, True]) == [True, False, True]  # bools are not consecutive numbers
    assert encode_column([5]) == [5]  # one row: the list is no longer
    assert encode_times([1_764_000_000_000_000] * 3) == {"same": "2025-11-24T16:00:00Z"}
    assert encode_times([0, 1]) == ["1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000001Z"]


def test_records_in_every_row_leave_their_rows_out() -> None:
    column = encode_dicts([{"a": "x"}, {"a": "y"}], {"a": None})
    assert column == {"fields": {"a": ["x", "y"]}}
    assert decode_columns(2, {"r": column}) == [{"r": {"a": "x"}}, {"r": {"a": "y"}}]
    assert encode_dicts([None, {"a": 1}], {"a": None}) == {"rows": [1], "fields": {"a": [1]}}


def test_a_malformed_column_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="2 values for 3 rows"):
        decode_columns(3, {"v": [1, 2]})
    with pytest.raises(ValueError, match="unknown column form"):
        decode_columns(1, {"v": {"zip": [1]}})
    with pytest.raises(ValueError, match="must start at a whole number"):
        decode_columns(2, {"v": {"from": "a"}})


@pytest.mark.parametrize(
    "micros",
    [
        [0, 1, 999_999, 1_000_000, -1, None, 1_764_000_000_000_000, 1_764_000_000_123_456],
        [1_764_000_000_000_000] * 5 + [None, 1_764_000_000_500_000],  # dictionary-coded
        [253_402_300_799_999_999, -62_135_596_800_000_000],  # the last and the first microsecond datetime holds
    ],
)
def test_times_go_as_the_iso_text_of_their_microseconds(micros: list[int | None]) -> None:
    column = encode_times(micros)
    assert decode_columns(len(micros), {"t": column}) == [{"t": to_wire_time(from_us(us))} for us in micros]
