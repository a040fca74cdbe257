"""The dashboard's request kinds: overview, compare, definition, debug-code and chart."""

from __future__ import annotations

import json
from typing import Any

from datatailr_jupyter import Client
from datatailr_jupyter.explorer.columns import task_records
from datatailr_jupyter.explorer.handlers import Context, dispatch

from .conftest import SALES, Built


def ok(client: Client, kind: str, payload: dict[str, Any], context: Context | None = None) -> dict[str, Any]:
    response = dispatch(client, kind, payload, 3, context)
    assert response["kind"] == f"{kind}-response" and response["id"] == 3
    assert "error" not in response, response.get("error")
    json.dumps(response, allow_nan=False)
    result: dict[str, Any] = response["payload"]
    return result


def err(client: Client, kind: str, payload: Any) -> str:
    response = dispatch(client, kind, payload, 4)
    assert "payload" not in response
    kind_of_error: str = response["error"]["type"]
    return kind_of_error


def test_overview_pages_the_workflows_of_an_env(client: Client) -> None:
    page = ok(client, "overview", {"env": "prod", "sort": "name", "limit": 10, "days": 3650})
    names = [w["name"] for w in page["workflows"]]
    assert names == [SALES] and page["total"] == 1
    row = page["workflows"][0]
    assert row["n_tasks"] >= 3 and row["latest_version"] == 2
    assert 1 <= len(row["recent"]) <= 10 and {"run_id", "state"} <= set(row["recent"][0])
    assert row["success_rate"] is not None and row["heatmap"]
    assert all(len(cell) == 5 for cell in row["heatmap"])


def test_overview_filter_sort_and_cursor(client: Client) -> None:
    first = ok(client, "overview", {"env": "dev", "limit": 1, "sort": "name"})
    assert len(first["workflows"]) == 1 and first["total"] == 2 and first["next_cursor"]
    second = ok(client, "overview", {"env": "dev", "limit": 1, "sort": "name", "cursor": first["next_cursor"]})
    assert second["workflows"][0]["name"] != first["workflows"][0]["name"]
    only = ok(client, "overview", {"env": "dev", "filter": "other"})
    assert [w["name"] for w in only["workflows"]] == ["Other Flow"]
    assert err(client, "overview", {"env": "dev", "sort": "colour"}) == "InvalidArgumentError"
    assert err(client, "overview", {"limit": "ten"}) == "InvalidArgumentError"


def test_compare_two_runs_task_by_task(client: Client, built_store: Built) -> None:
    res = ok(client, "compare", {"a": built_store.runs["ok"], "b": built_store.runs["failed"]})
    assert res["a"]["run_id"] == built_store.runs["ok"] and res["b"]["run_id"] == built_store.runs["failed"]
    by_task = {t["task"]: t for t in res["tasks"]}
    assert by_task["calculate_total"]["state_a"] == "completed"
    assert by_task["calculate_total"]["state_b"] == "failed"
    assert by_task["fetch_data"]["result_change"]
    assert err(client, "compare", {"a": built_store.runs["ok"]}) == "InvalidArgumentError"
    assert err(client, "compare", {"a": 1, "b": 999_999}) == "RunNotFoundError"


def test_definition_and_its_diff(client: Client) -> None:
    res = ok(client, "definition", {"workflow": SALES})
    assert res["definition"]["version"] == 2 and res["previous"] == 1
    assert [t["name"] for t in res["definition"]["tasks"]][-1] == "archive"
    assert "archive" in res["diff"]
    first = ok(client, "definition", {"workflow": SALES, "version": 1})
    assert first["diff"] == "" and first["previous"] is None
    assert err(client, "definition", {}) == "InvalidArgumentError"


def test_debug_code_is_a_cell_for_the_task(client: Client, built_store: Built) -> None:
    res = ok(client, "debug-code", {"run_id": built_store.runs["failed"], "task_id": 1})
    assert "calculate_total" in res["code"]
    compile(res["code"], "<cell>", "exec")
    assert err(client, "debug-code", {"run_id": built_store.runs["failed"], "task_id": 99}) == "TaskNotFoundError"


def test_charts_are_plotly_json(client: Client, built_store: Built) -> None:
    timeline = ok(client, "chart", {"chart": "timeline", "run_id": built_store.runs["failed"]})
    assert timeline["chart"] == "timeline" and timeline["figure"]["data"] and "layout" in timeline["figure"]
    durations = ok(client, "chart", {"chart": "durations", "workflow": SALES, "env": "prod"})
    assert "layout" in durations["figure"]
    heat = ok(client, "chart", {"chart": "heatmap", "env": "prod"})
    assert heat["figure"]["data"]
    assert err(client, "chart", {"chart": "pie"}) == "InvalidArgumentError"
    assert err(client, "chart", {"chart": "durations"}) == "InvalidArgumentError"


def test_get_run_carries_each_tasks_recorded_arguments(client: Client, built_store: Built) -> None:
    res = ok(client, "get-run", {"run_id": built_store.runs["ok"]})
    assert all("arguments" in t and isinstance(t["arguments"], dict) for t in task_records(res))
