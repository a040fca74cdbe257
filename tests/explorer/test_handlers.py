"""Every request kind of docs/protocol.md, answered by the pure handlers over a real SQLite store."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from datatailr_jupyter import Client
from datatailr_jupyter.explorer.columns import task_records
from datatailr_jupyter.explorer.handlers import HANDLERS, MAX_RESPONSE, Context, dispatch
from datatailr_jupyter.models import RunState, to_wire_time
from datatailr_jupyter.store.codecs import encode
from datatailr_jupyter.store.protocols import NewRun, TaskSpec, TaskUpdate, VersionSpec

from .conftest import OTHER, SALES, T0, Built, CountingStore


def ok(client: Client, kind: str, payload: dict[str, Any], context: Context | None = None) -> dict[str, Any]:
    response = dispatch(client, kind, payload, 7, context)
    assert response["kind"] == f"{kind}-response" and response["id"] == 7
    assert "error" not in response, response.get("error")
    json.dumps(response, allow_nan=False)
    result: dict[str, Any] = response["payload"]
    return result


def err(client: Client, kind: str, payload: Any, context: Context | None = None) -> dict[str, str]:
    response = dispatch(client, kind, payload, 8, context)
    assert response["kind"] == f"{kind}-response" and response["id"] == 8
    assert "payload" not in response
    assert set(response["error"]) == {"type", "message"} and response["error"]["message"]
    error: dict[str, str] = response["error"]
    return error


def test_every_kind_of_the_protocol_has_a_handler() -> None:
    documented = {
        "list-workflows", "list-runs", "rerun-family", "get-run", "read-log", "search-log", "get-result",
        "load-code", "bind-result", "list-versions", "plan-rerun", "rerun", "activity", "overview", "compare",
        "definition", "debug-code", "chart",
    }  # fmt: skip
    assert set(HANDLERS) == documented


# ---------------------------------------------------------------- workflows and runs


def test_list_workflows_of_an_env_sorted_by_name(client: Client) -> None:
    names = [w["name"] for w in ok(client, "list-workflows", {"env": "dev"})["workflows"]]
    assert names == sorted(names, key=str.lower) and {SALES, OTHER} <= set(names)
    prod = ok(client, "list-workflows", {"env": "prod"})["workflows"]
    assert [w["key"] for w in prod] == ["daily-sales-report"]


def test_list_workflows_rejects_a_non_string_env(client: Client) -> None:
    assert err(client, "list-workflows", {"env": 3})["type"] == "InvalidArgumentError"


def test_list_runs_gives_root_runs_newest_first_with_their_rerun_counts(client: Client, built_store: Built) -> None:
    page = ok(client, "list-runs", {"workflow": "daily-sales-report", "env": "prod", "limit": 25})
    ids = [r["run_id"] for r in page["runs"]]
    assert built_store.runs["rerun"] not in ids
    assert page["total"] == len(ids) == 6
    failed = next(r for r in page["runs"] if r["run_id"] == built_store.runs["failed"])
    assert failed["n_reruns"] == 1 and failed["error_message"].startswith("ValueError")
    starts = [r["start_time"] for r in page["runs"]]
    assert starts == sorted(starts, reverse=True)


def test_list_runs_pages_with_a_cursor_and_filters_dates_and_states(client: Client, built_store: Built) -> None:
    first = ok(client, "list-runs", {"workflow": "daily-sales-report", "env": "prod", "limit": 4})
    assert len(first["runs"]) == 4 and first["next_cursor"]
    second = ok(client, "list-runs", {"workflow": "daily-sales-report", "env": "prod", "cursor": first["next_cursor"]})
    assert {r["run_id"] for r in first["runs"]}.isdisjoint(r["run_id"] for r in second["runs"])
    window = {"start": to_wire_time(T0 + timedelta(days=2)), "end": to_wire_time(T0 + timedelta(days=4))}
    dated = ok(client, "list-runs", {"workflow": "daily-sales-report", "env": "prod", **window})
    assert [r["run_id"] for r in dated["runs"]] == [built_store.runs["day3"], built_store.runs["day2"]]
    failed = ok(client, "list-runs", {"workflow": "", "env": "prod", "states": ["failed"]})
    assert {r["state"] for r in failed["runs"]} == {"failed"}


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ({"states": ["exploded"]}, "InvalidArgumentError"),
        ({"start": "yesterday-ish"}, "InvalidArgumentError"),
        ({"start": "2026-11-05T00:00:00Z", "end": "2026-11-01T00:00:00Z"}, "InvalidArgumentError"),
        ({"limit": "ten"}, "InvalidArgumentError"),
        ({"limit": True}, "InvalidArgumentError"),
    ],
)
def test_list_runs_rejects_bad_filters(client: Client, payload: dict[str, Any], kind: str) -> None:
    assert err(client, "list-runs", payload)["type"] == kind


def test_rerun_family_is_the_root_then_its_reruns(client: Client, built_store: Built) -> None:
    runs = ok(client, "rerun-family", {"run_id": built_store.runs["rerun"]})["runs"]
    assert [r["run_id"] for r in runs] == [built_store.runs["failed"], built_store.runs["rerun"]]


def test_rerun_family_of_an_unknown_run_is_a_run_not_found_error(client: Client) -> None:
    assert err(client, "rerun-family", {"run_id": 99_999})["type"] == "RunNotFoundError"


def test_get_run_gives_the_run_and_its_tasks_with_dependencies(client: Client, built_store: Built) -> None:
    answer = ok(client, "get-run", {"run_id": built_store.runs["failed"]})
    assert answer["run"]["state"] == "failed"
    tasks = {t["name"]: t for t in task_records(answer)}
    assert tasks["calculate_total"]["dependencies"] == [0]
    assert tasks["calculate_total"]["error"]["type"] == "ValueError"
    assert tasks["write report"]["state"] == "did_not_run"


@pytest.mark.parametrize(("payload", "kind"), [({"run_id": 99_999}, "RunNotFoundError"), ({}, "InvalidArgumentError")])
def test_get_run_errors(client: Client, payload: dict[str, Any], kind: str) -> None:
    assert err(client, "get-run", payload)["type"] == kind


# ---------------------------------------------------------------- logs


def test_read_log_pages_and_tails(client: Client, built_store: Built) -> None:
    other = built_store.runs["other"]
    first = ok(client, "read-log", {"run_id": other, "task_id": 0, "stream": "stdout", "limit": 1000})
    assert first["offset"] == 0 and first["text"].startswith("line 0 needle\n")
    assert 0 < first["next_offset"] <= 1000 and first["size"] > 1_000_000
    tail = ok(client, "read-log", {"run_id": other, "task_id": 0, "stream": "stdout", "tail": 30})
    assert tail["text"].endswith("line 199999 hay\n")


def test_read_log_never_answers_more_than_a_mebibyte(client: Client, built_store: Built) -> None:
    payload = {"run_id": built_store.runs["other"], "task_id": 0, "stream": "stdout", "limit": 50_000_000}
    chunk = ok(client, "read-log", payload)
    assert len(chunk["text"].encode()) <= 1 << 20


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ({"run_id": 99_999, "task_id": 0}, "RunNotFoundError"),
        ({"task_id": 42}, "TaskNotFoundError"),
        ({"task_id": 0, "stream": "stdlog"}, "InvalidArgumentError"),
    ],
)
def test_read_log_errors(client: Client, built_store: Built, payload: dict[str, Any], kind: str) -> None:
    assert err(client, "read-log", {"run_id": built_store.runs["other"], **payload})["type"] == kind


def test_search_log_finds_matching_lines(client: Client, built_store: Built) -> None:
    payload = {"run_id": built_store.runs["other"], "task_id": 0, "stream": "stdout", "pattern": "needle"}
    answer = ok(client, "search-log", payload)
    assert len(answer["matches"]) == 200 and not answer["truncated"]
    assert answer["matches"][1]["line"] == 1000 and "line 1000 needle" in answer["matches"][1]["text"]


def test_search_log_stops_at_a_thousand_matches_and_says_so(client: Client, built_store: Built) -> None:
    payload = {"run_id": built_store.runs["other"], "task_id": 0, "stream": "stdout", "pattern": r"hay$"}
    answer = ok(client, "search-log", {**payload, "regex": True})
    assert len(answer["matches"]) == 1000 and answer["truncated"]


@pytest.mark.parametrize(("pattern", "regex"), [("(", True), ("", False)])
def test_search_log_rejects_a_bad_pattern(client: Client, built_store: Built, pattern: str, regex: bool) -> None:
    payload = {
        "run_id": built_store.runs["other"],
        "task_id": 0,
        "stream": "stdout",
        "pattern": pattern,
        "regex": regex,
    }
    assert err(client, "search-log", payload)["type"] == "InvalidArgumentError"


# ---------------------------------------------------------------- results


def test_get_result_previews_a_table(client: Client, built_store: Built) -> None:
    answer = ok(client, "get-result", {"run_id": built_store.runs["ok"], "task_id": 0})
    assert answer["meta"]["codec"] == "arrow"
    assert answer["preview"]["kind"] == "table" and answer["preview"]["total_rows"] == 120
    assert len(answer["preview"]["rows"]) == 50


def test_get_result_of_a_task_without_result_is_none(client: Client, built_store: Built) -> None:
    answer = ok(client, "get-result", {"run_id": built_store.runs["failed"], "task_id": 1})
    assert answer == {"meta": None, "preview": {"kind": "none", "text": "No result stored for this task."}}


def test_get_result_of_a_task_that_returned_none_says_so(tmp_path: Path) -> None:
    from datatailr_jupyter import connect
    from datatailr_jupyter.store.registry import open_store

    url = f"sqlite://{tmp_path / 'store'}"
    store = open_store(url)
    try:
        store.register_version(VersionSpec("Quiet", {"tasks": [{"id": 0, "name": "notify"}]}, "quiet"))
        run = store.create_run(NewRun("Quiet", "dev", 1, (TaskSpec(0, "notify", "flows:notify"),)))
        store.update_tasks(run.run_id, [TaskUpdate(0, state=RunState.COMPLETED, result=encode(None))])
    finally:
        store.close()
    client = connect(url)
    try:
        answer = ok(client, "get-result", {"run_id": run.run_id, "task_id": 0})
    finally:
        client.close()
    assert answer["meta"]["python_type"] == "builtins.NoneType"
    assert answer["preview"] == {"kind": "none", "text": "The task returned None."}


def test_get_result_of_an_unknown_task_is_a_task_not_found_error(client: Client, built_store: Built) -> None:
    assert err(client, "get-result", {"run_id": built_store.runs["ok"], "task_id": 9})["type"] == "TaskNotFoundError"


def test_get_result_never_loads_a_pickle_from_an_untrusted_store(built_store: Built) -> None:
    from datatailr_jupyter import connect

    trusting = connect(built_store.url, trust=True)
    wary = Client(trusting.store, allow_pickle=False)
    payload = {"run_id": built_store.runs["ok"], "task_id": 2}
    try:
        trusted_text = ok(trusting, "get-result", payload)["preview"]["text"]
        assert trusted_text.startswith("Opaque('report')\n") and "recorded when the task ran" in trusted_text
        shown = ok(wary, "get-result", payload)
        assert shown["meta"]["codec"] == "pickle"
        assert "not trusted" in shown["preview"]["text"]
    finally:
        trusting.close()


def test_bind_result_never_loads_a_pickle_from_an_untrusted_store(built_store: Built) -> None:
    from datatailr_jupyter import connect

    trusting = connect(built_store.url)
    namespace: dict[str, Any] = {}
    payload = {"run_id": built_store.runs["ok"], "task_id": 2, "variable": "report"}
    try:
        error = err(Client(trusting.store, allow_pickle=False), "bind-result", payload, Context(namespace=namespace))
        assert error["type"] == "UntrustedPickleError" and namespace == {}
    finally:
        trusting.close()


def test_get_result_of_a_huge_string_stays_small(client: Client, built_store: Built) -> None:
    response = dispatch(client, "get-result", {"run_id": built_store.runs["other"], "task_id": 0}, 1)
    assert len(json.dumps(response)) < 20_000
    assert "5,000,000 characters" in response["payload"]["preview"]["text"]


def test_load_code_names_the_run_task_and_env(client: Client, built_store: Built) -> None:
    answer = ok(client, "load-code", {"run_id": built_store.runs["ok"], "task_id": 2})
    assert answer["variable"] == "write_report"
    assert answer["code"].splitlines()[1] == (
        f"write_report = load_result('{SALES}', run={built_store.runs['ok']}, task='write report', env='prod')"
    )


def test_load_code_names_the_store_when_it_is_not_the_default(client: Client, built_store: Built) -> None:
    context = Context(store_url=built_store.url)
    answer = ok(client, "load-code", {"run_id": built_store.runs["ok"], "task_id": 1}, context)
    assert answer["code"].endswith(f"env='prod', store={built_store.url!r})")


def test_load_code_of_an_unknown_run_is_a_run_not_found_error(client: Client) -> None:
    assert err(client, "load-code", {"run_id": 99_999, "task_id": 0})["type"] == "RunNotFoundError"


def test_bind_result_puts_the_value_in_the_namespace(client: Client, built_store: Built) -> None:
    namespace: dict[str, Any] = {}
    payload = {"run_id": built_store.runs["ok"], "task_id": 0, "variable": "fetch_data"}
    answer = ok(client, "bind-result", payload, Context(namespace=namespace))
    assert answer["variable"] == "fetch_data" and answer["python_type"].endswith("DataFrame")
    assert isinstance(namespace["fetch_data"], pd.DataFrame) and len(namespace["fetch_data"]) == 120


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ({"task_id": 0, "variable": "not valid"}, "InvalidArgumentError"),
        ({"task_id": 0, "variable": "class"}, "InvalidArgumentError"),
        ({"task_id": 0, "variable": "x = __import__('os')"}, "InvalidArgumentError"),
    ],
)
def test_bind_result_refuses_a_bad_variable(
    client: Client, built_store: Built, payload: dict[str, Any], kind: str
) -> None:
    namespace: dict[str, Any] = {}
    error = err(client, "bind-result", {"run_id": built_store.runs["ok"], **payload}, Context(namespace=namespace))
    assert error["type"] == kind and namespace == {}


def test_bind_result_of_a_task_without_result_says_so(client: Client, built_store: Built) -> None:
    payload = {"run_id": built_store.runs["failed"], "task_id": 1, "variable": "total"}
    assert err(client, "bind-result", payload, Context(namespace={}))["type"] == "ResultNotFoundError"


# ---------------------------------------------------------------- versions and activity


def test_list_versions_oldest_first_with_task_counts(client: Client) -> None:
    answer = ok(client, "list-versions", {"workflow": "daily-sales-report"})
    assert [(v["version"], v["n_tasks"]) for v in answer["versions"]] == [(1, 3), (2, 4)]
    assert answer["latest"] == 2 and answer["versions"][0]["created_at"].endswith("Z")


def test_list_versions_of_an_unknown_workflow_is_an_error(client: Client) -> None:
    assert err(client, "list-versions", {"workflow": "no-such-flow"})["type"] == "WorkflowNotFoundError"
    assert err(client, "list-versions", {})["type"] == "InvalidArgumentError"


def test_activity_counts_runs_per_weekday_and_hour(client: Client) -> None:
    grid = ok(client, "activity", {"workflow": "daily-sales-report", "env": "prod", "start": "", "end": ""})
    assert grid["total"] == 7
    assert grid["counts"][0][8] == 1  # the Monday 08:00 UTC run
    assert sum(map(sum, grid["counts"])) == 7


def test_activity_rejects_an_unreadable_date(client: Client) -> None:
    assert err(client, "activity", {"workflow": "", "env": "prod", "start": "soon"})["type"] == "InvalidArgumentError"


# ---------------------------------------------------------------- dispatch


def test_an_unknown_kind_gets_an_unknown_kind_error(client: Client) -> None:
    error = err(client, "delete-everything", {})
    assert error["type"] == "UnknownKind" and "list-runs" in error["message"]


def test_a_payload_that_is_not_an_object_is_an_invalid_argument(client: Client) -> None:
    assert err(client, "get-run", ["run_id", 1])["type"] == "InvalidArgumentError"


def test_an_unexpected_exception_becomes_a_short_error_and_is_logged(
    client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*_args: object) -> dict[str, Any]:
        raise ZeroDivisionError("division by zero " + "x" * 10_000)

    monkeypatch.setitem(HANDLERS, "get-run", explode)
    error = err(client, "get-run", {"run_id": 1})
    assert error["type"] == "ZeroDivisionError" and len(error["message"]) <= 2_000
    assert "Traceback" in caplog.text or any(r.exc_info for r in caplog.records)


def test_an_answer_over_four_megabytes_becomes_a_response_too_large_error(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(HANDLERS, "get-run", lambda *_args: {"blob": "x" * (MAX_RESPONSE + 1)})
    assert err(client, "get-run", {"run_id": 1})["type"] == "ResponseTooLarge"


def test_a_log_is_read_and_searched_without_reading_every_task_of_its_run(built_store: Built) -> None:
    store = CountingStore(built_store)
    try:
        client = Client(store)
        log = {"run_id": built_store.runs["other"], "task_id": 0, "stream": "stdout"}
        assert ok(client, "read-log", {**log, "tail": 100})["text"].endswith("\n")
        assert ok(client, "search-log", {**log, "pattern": "needle"})["matches"]
        assert store.reads == []  # a 10,000-task run is not read for one task's log
    finally:
        store.close()
