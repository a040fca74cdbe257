"""The Explorer widget over a recording comm: traits on the wire, and requests answered with the same id."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm

from datatailr_jupyter.explorer import Explorer
from datatailr_jupyter.explorer.handlers import HANDLERS

from .conftest import Built


class RecordingComm(BaseComm):
    """A comm that keeps every message the widget publishes, with the thread that sent it."""

    def __init__(self, **kwargs: Any) -> None:
        self.published: list[tuple[str, dict[str, Any], str]] = []
        self.buffers: list[list[bytes]] = []  # the binary buffers of each published message
        super().__init__(**kwargs)

    def publish_msg(
        self, msg_type: str, data: Any = None, metadata: Any = None, buffers: Any = None, **keys: Any
    ) -> None:
        self.published.append((msg_type, data or {}, threading.current_thread().name))
        self.buffers.append([bytes(b) for b in buffers or ()])

    def custom(self) -> list[dict[str, Any]]:
        return [d["content"] for t, d, _ in self.published if t == "comm_msg" and d.get("method") == "custom"]


@pytest.fixture()
def recording(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(comm, "create_comm", lambda **kwargs: RecordingComm(**kwargs))


@pytest.fixture()
def explorer(recording: None, built_store: Built) -> Iterator[Explorer]:
    widget = Explorer("Daily Sales Report", env="prod", store=built_store.url)
    yield widget
    widget.close()


def send(widget: Explorer, content: Any) -> None:
    """Deliver ``content`` the way the kernel does when the view calls ``model.send(content)``."""
    widget.comm.handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def answer(widget: Explorer, request_id: int, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in widget.comm.custom():
            if message.get("id") == request_id:
                return message
        time.sleep(0.01)
    raise AssertionError(f"no answer to request {request_id}; sent: {widget.comm.custom()}")


def test_the_traits_of_the_protocol_are_sent_when_the_widget_opens(explorer: Explorer) -> None:
    msg_type, data, _ = explorer.comm.published[0]
    assert msg_type == "comm_open"
    state = data["state"]
    for name in ("store_label", "envs", "env", "workflow", "start", "end", "states", "selected_run",
                 "selected_task", "page_size", "message"):  # fmt: skip
        assert name in state, name
    assert state["workflow"] == "daily-sales-report" and state["env"] == "prod"
    assert state["selected_task"] == -1 and state["page_size"] == 25
    assert {"dev", "pre", "prod"} <= set(state["envs"])


def test_a_trait_set_by_the_view_reaches_python(explorer: Explorer) -> None:
    explorer.comm.handle_msg({"content": {"data": {"method": "update", "state": {"selected_run": 5}}}, "buffers": []})
    assert explorer.selected_run == 5


def test_a_request_gets_a_response_with_the_same_id(explorer: Explorer, built_store: Built) -> None:
    send(explorer, {"kind": "get-run", "id": 41, "payload": {"run_id": built_store.runs["ok"]}})
    response = answer(explorer, 41)
    assert response["kind"] == "get-run-response"
    assert response["payload"]["run"]["run_id"] == built_store.runs["ok"]


def test_a_failing_request_gets_an_error_response(explorer: Explorer) -> None:
    send(explorer, {"kind": "get-run", "id": 42, "payload": {"run_id": 99_999}})
    response = answer(explorer, 42)
    assert response["error"]["type"] == "RunNotFoundError" and "payload" not in response


def test_an_unknown_kind_gets_an_unknown_kind_error(explorer: Explorer) -> None:
    send(explorer, {"kind": "drop-tables", "id": 43, "payload": {}})
    response = answer(explorer, 43)
    assert set(response) == {"kind", "id", "error"}
    assert response["kind"] == "drop-tables-response" and response["error"]["type"] == "UnknownKind"


def test_a_message_without_an_id_is_logged_not_answered(explorer: Explorer, caplog: pytest.LogCaptureFixture) -> None:
    before = len(explorer.comm.custom())
    send(explorer, {"kind": "get-run", "payload": {"run_id": 1}})
    assert len(explorer.comm.custom()) == before
    assert "without kind and id" in caplog.text


def test_slow_requests_are_answered_from_a_worker_without_blocking_the_kernel(
    explorer: Explorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    def slow_search(*_args: object) -> dict[str, Any]:
        assert release.wait(10)
        return {"matches": [], "truncated": False}

    monkeypatch.setitem(HANDLERS, "search-log", slow_search)
    send(explorer, {"kind": "search-log", "id": 44, "payload": {}})
    assert not any(m.get("id") == 44 for m in explorer.comm.custom())  # handle_msg returned before the answer
    send(explorer, {"kind": "get-run", "id": 45, "payload": {"run_id": 99_999}})
    assert answer(explorer, 45, timeout=1)["error"]["type"] == "RunNotFoundError"  # quick kinds still answer
    release.set()
    assert answer(explorer, 44)["payload"] == {"matches": [], "truncated": False}
    senders = {m["id"]: name for _, d, name in explorer.comm.published if d.get("method") == "custom"
               for m in [d["content"]] if "id" in m}  # fmt: skip
    assert senders[44].startswith("datatailr-explorer") and senders[45] == threading.current_thread().name


def test_refresh_tells_the_view_to_fetch_again(explorer: Explorer) -> None:
    explorer.refresh()
    assert explorer.comm.custom()[-1] == {"kind": "refresh"}


def test_the_plain_text_repr_says_what_the_widget_is(explorer: Explorer) -> None:
    bundle = explorer._repr_mimebundle_()
    assert bundle is not None
    text = bundle[0]["text/plain"]
    assert "datatailr_jupyter.Explorer" in text and "daily-sales-report" in text and "'prod'" in text
    assert "application/vnd.jupyter.widget-view+json" in bundle[0]


def test_the_view_module_is_the_built_front_end(explorer: Explorer) -> None:
    state = explorer.comm.published[0][1]["state"]
    assert state["_esm"].strip() and "not built" not in state["_esm"]
