"""The explorer in a real ipykernel: the magic's widget answers requests over the comm, from worker threads too."""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel

from .conftest import Built

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kernel(built_store: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlockingKernelClient]:
    env = {**os.environ, "DT_RUNS_STORE": built_store.url, "DT_RUNS_CONFIG": str(tmp_path_factory.mktemp("cfg") / "x")}
    manager: KernelManager
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    try:
        execute(client, "%load_ext datatailr_jupyter")
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def execute(client: BlockingKernelClient, code: str) -> list[dict[str, Any]]:
    """Run ``code``; return its iopub messages up to idle."""
    msg_id = client.execute(code)
    messages = []
    while True:
        msg = client.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return messages


def request(client: BlockingKernelClient, model_id: str, content: dict[str, Any]) -> dict[str, Any]:
    """Send a custom message as the view does and wait for the widget's answer with the same id."""
    msg = client.session.msg("comm_msg", {"comm_id": model_id, "data": {"method": "custom", "content": content}})
    client.shell_channel.send(msg)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            reply = client.get_iopub_msg(timeout=5)
        except queue.Empty:
            continue
        data = reply["content"].get("data", {})
        if reply["msg_type"] == "comm_msg" and data.get("content", {}).get("id") == content["id"]:
            answer: dict[str, Any] = data["content"]
            return answer
    raise AssertionError(f"no answer to {content}")


def test_the_magic_shows_a_widget_that_answers_inline_and_threaded_requests(
    kernel: BlockingKernelClient, built_store: Built
) -> None:
    out = execute(kernel, "w = %dt_runs daily-sales-report --env prod\nw")
    bundles = [m["content"]["data"] for m in out if m["msg_type"] == "execute_result"]
    assert bundles and "datatailr_jupyter.Explorer" in bundles[0]["text/plain"]
    model_id = bundles[0]["application/vnd.jupyter.widget-view+json"]["model_id"]
    assert not [m for m in out if m["msg_type"] in ("error", "stream")]

    run = built_store.runs["ok"]
    inline = request(kernel, model_id, {"kind": "get-run", "id": 1, "payload": {"run_id": run}})
    assert inline["payload"]["run"]["run_id"] == run
    threaded = request(kernel, model_id, {"kind": "get-result", "id": 2, "payload": {"run_id": run, "task_id": 0}})
    assert threaded["payload"]["preview"]["total_rows"] == 120
    missing = request(kernel, model_id, {"kind": "search-log", "id": 3, "payload": {"run_id": 99_999, "task_id": 0,
                                                                                  "pattern": "x"}})  # fmt: skip
    assert missing["error"]["type"] == "RunNotFoundError"


def test_a_bad_argument_in_a_kernel_is_one_stderr_line_and_no_error(kernel: BlockingKernelClient) -> None:
    out = execute(kernel, "%dt_runs --env staging")
    streams = [m["content"] for m in out if m["msg_type"] == "stream"]
    assert [s["name"] for s in streams] == ["stderr"]
    assert streams[0]["text"].count("\n") == 1 and "known envs" in streams[0]["text"]
    assert not [m for m in out if m["msg_type"] in ("error", "execute_result")]
