"""The explorer sends the answers to the view's first requests with its state: no round trip for the first screen."""

from __future__ import annotations

import json

import pytest

from datatailr_jupyter import Client
from datatailr_jupyter.explorer.columns import task_records
from datatailr_jupyter.explorer.handlers import Context, dispatch, dispatch_json
from datatailr_jupyter.explorer.widget import Explorer, pack_answers, unpack_answers

from .conftest import SALES, Built, CountingStore
from .test_protocol import recording  # noqa: F401  (the fixture)


def test_a_run_opened_by_id_comes_with_its_table_page_and_its_tasks(client: Client, built_store: Built) -> None:
    run_id = built_store.runs["failed"]
    explorer = Explorer(client=client, run=run_id, page_size=10)
    try:
        answers = {a["kind"]: a for a in unpack_answers(explorer.initial_answers)}
        assert set(answers) == {"list-workflows", "list-runs", "get-run"}
        query = answers["list-runs"]["payload"]  # exactly what js/runs/runtable.ts sends first
        assert query == {"workflow": explorer.workflow, "env": "prod", "start": explorer.start, "end": explorer.end,
                         "states": [], "cursor": None, "limit": 10}  # fmt: skip
        assert run_id in [r["run_id"] for r in answers["list-runs"]["answer"]["runs"]]
        assert answers["get-run"]["payload"] == {"run_id": run_id}
        asked = dispatch(client, "get-run", {"run_id": run_id}, 1)["payload"]
        assert task_records(answers["get-run"]["answer"]) == task_records(asked)
        assert answers["list-workflows"]["payload"] == {"env": "prod"}
    finally:
        explorer.close()


def test_no_workflow_selected_sends_only_the_workflow_list(client: Client) -> None:
    explorer = Explorer(client=client, env="prod")
    try:
        first = unpack_answers(explorer.initial_answers)
        assert [a["kind"] for a in first] == ["list-workflows"]
        assert SALES in [w["name"] for w in first[0]["answer"]["workflows"]]
    finally:
        explorer.close()


@pytest.mark.usefixtures("recording")
def test_the_first_answers_travel_in_the_widgets_first_message(built_store: Built) -> None:
    explorer = Explorer(SALES, env="prod", store=built_store.url, run=built_store.runs["ok"])
    try:
        _, opened, _ = explorer.comm.published[0]
        assert opened["buffer_paths"] == [["initial_answers"]]  # one binary buffer, not JSON in the state
        assert "initial_answers" not in opened["state"]
        (packed,) = explorer.comm.buffers[0]
        first = unpack_answers(packed)
        assert [a["kind"] for a in first] == ["list-workflows", "list-runs", "get-run"]
        assert first == unpack_answers(explorer.initial_answers)
        assert not [t for t, d, _ in explorer.comm.published if t == "comm_msg" and "initial_answers" in str(d)]
    finally:
        explorer.close()


def test_the_first_answers_are_dropped_once_the_view_subscribes(client: Client) -> None:
    explorer = Explorer(SALES, client=client, env="prod")
    try:
        assert explorer.initial_answers
        explorer._on_custom_message(explorer, {"kind": "live-subscribe", "payload": {"visible": False}}, None)
        assert explorer.initial_answers == b""  # a notebook saved with widget state does not keep them
        assert explorer.get_state()["initial_answers"] == b""
    finally:
        explorer.close()


def test_a_run_opened_by_id_has_its_tasks_read_once(built_store: Built) -> None:
    store = CountingStore(built_store)
    explorer = Explorer(client=Client(store), run=built_store.runs["failed"])
    try:
        assert [a["kind"] for a in unpack_answers(explorer.initial_answers)][-1] == "get-run"
        assert store.reads == ["get_task_table", "get_version"]  # the selection reads the run's summary only
    finally:
        explorer.close()
        store.close()


def test_a_version_is_read_once_per_explorer_for_all_its_runs(built_store: Built) -> None:
    store = CountingStore(built_store)
    try:
        client, context = Client(store), Context()
        runs = [built_store.runs[r] for r in ("ok", "failed", "day2")]  # runs of one version
        answers = [dispatch(client, "get-run", {"run_id": r}, None, context)["payload"] for r in runs * 2]
        assert store.reads.count("get_version") == 1 and store.reads.count("get_task_table") == 6
        assert answers[:3] == answers[3:] == [dispatch(client, "get-run", {"run_id": r})["payload"] for r in runs]
    finally:
        store.close()


def test_the_first_answers_go_as_the_json_text_the_kernel_made_once(client: Client, built_store: Built) -> None:
    context = Context()
    answers = []
    for kind, payload in [("list-workflows", {"env": "prod"}), ("get-run", {"run_id": built_store.runs["failed"]})]:
        response, text = dispatch_json(client, kind, payload, None, context)
        answers.append(({"kind": kind, "payload": payload, "answer": response["payload"]}, text))
    packed = pack_answers(answers)
    assert all(text.encode() in packed for _, text in answers)  # pasted in, not encoded again
    assert unpack_answers(packed) == [json.loads(json.dumps(answer)) for answer, _ in answers]
    assert unpack_answers(b"") == [] and pack_answers([]) == b"[]"
