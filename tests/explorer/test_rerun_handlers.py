"""plan-rerun and rerun over real runs of the engine: checked arguments, one run per request key."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import comm
import pytest

from datatailr_jupyter import Client
from datatailr_jupyter.explorer import Explorer
from datatailr_jupyter.explorer.handlers import Context, dispatch
from datatailr_jupyter.models import RunState
from datatailr_jupyter.store.registry import open_store

from .flows import make_pipeline
from .test_protocol import RecordingComm, answer, send


@pytest.fixture()
def failed_run(tmp_path: Path) -> Iterator[tuple[Client, int, Path]]:
    """A client on a fresh store holding one failed run of the pipeline (its marker removed afterwards)."""
    client = Client(open_store(f"sqlite://{tmp_path / 'store'}", trust=True))
    marker = tmp_path / "fail"
    marker.touch()
    handle: Any = make_pipeline(marker)(local_run=True, env="prod", store=client.store, executor="thread")
    assert handle.state is RunState.FAILED
    marker.unlink()
    yield client, handle.run_id, marker
    client.close()


def wait_until_ended(client: Client, run_id: int, timeout: float = 60.0) -> RunState:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.run(run_id).summary.state
        if state.is_terminal:
            return state
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end within {timeout} s")


def test_plan_rerun_reuses_what_completed_and_executes_the_rest(failed_run: tuple[Client, int, Path]) -> None:
    client, run_id, _ = failed_run
    response = dispatch(client, "plan-rerun", {"run_id": run_id}, 1)
    actions = {t["name"]: t["action"] for t in response["payload"]["tasks"]}
    assert actions == {"extract": "reuse", "transform": "execute", "load": "execute"}
    assert all(t["reason"] for t in response["payload"]["tasks"])


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ({"run_id": 99_999}, "RunNotFoundError"),
        ({"version": 9}, "VersionNotFoundError"),
        ({"from_task": "nope"}, "TaskNotFoundError"),
        ({"full": True, "from_task": "transform"}, "InvalidArgumentError"),
    ],
)
def test_plan_rerun_checks_its_arguments(
    failed_run: tuple[Client, int, Path], payload: dict[str, Any], kind: str
) -> None:
    client, run_id, _ = failed_run
    response = dispatch(client, "plan-rerun", {"run_id": run_id, **payload}, 1)
    assert response["error"]["type"] == kind


def test_rerun_answers_with_the_new_run_and_a_repeated_key_makes_no_second_run(
    failed_run: tuple[Client, int, Path],
) -> None:
    client, run_id, _ = failed_run
    context = Context()
    first = dispatch(client, "rerun", {"run_id": run_id, "request_key": "click-1"}, 1, context)["payload"]["run"]
    again = dispatch(client, "rerun", {"run_id": run_id, "request_key": "click-1"}, 2, context)["payload"]["run"]
    assert first["run_id"] == again["run_id"] != run_id
    assert first["rerun_of"] == run_id and first["trigger"] == "rerun"
    assert wait_until_ended(client, first["run_id"]) is RunState.COMPLETED
    assert [r.run_id for r in client.rerun_family(run_id)] == [run_id, first["run_id"]]
    assert client.result(first["run_id"], "load") == "loaded 45"


def test_rerun_of_a_version_that_does_not_exist_starts_nothing(failed_run: tuple[Client, int, Path]) -> None:
    client, run_id, _ = failed_run
    response = dispatch(client, "rerun", {"run_id": run_id, "version": 7, "request_key": "k"}, 1, Context())
    assert response["error"]["type"] == "VersionNotFoundError" and "versions are 1" in response["error"]["message"]
    assert [r.run_id for r in client.rerun_family(run_id)] == [run_id]


def test_rerun_needs_a_request_key(failed_run: tuple[Client, int, Path]) -> None:
    client, run_id, _ = failed_run
    assert dispatch(client, "rerun", {"run_id": run_id}, 1)["error"]["type"] == "InvalidArgumentError"


def test_two_identical_clicks_through_the_widget_make_one_run(
    failed_run: tuple[Client, int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, run_id, _ = failed_run
    monkeypatch.setattr(comm, "create_comm", lambda **kwargs: RecordingComm(**kwargs))
    widget = Explorer(run=run_id, client=client)
    try:
        for request_id in (1, 2):
            send(widget, {"kind": "rerun", "id": request_id, "payload": {"run_id": run_id, "request_key": "same"}})
        runs = {answer(widget, i, timeout=60)["payload"]["run"]["run_id"] for i in (1, 2)}
        assert len(runs) == 1
        new_run = runs.pop()
        assert wait_until_ended(client, new_run) is RunState.COMPLETED
        assert len(client.rerun_family(run_id)) == 2
    finally:
        widget.close()
