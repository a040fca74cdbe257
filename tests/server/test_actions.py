"""Rerun plans, reruns and triggers run by the server's engine; Idempotency-Key makes repeats start nothing."""

from __future__ import annotations

import threading
import uuid

import pytest
import requests

from datatailr_jupyter.errors import InvalidArgumentError, RunNotFoundError, TaskNotFoundError, WorkflowNotFoundError
from datatailr_jupyter.models import RunQuery, RunState, Trigger
from datatailr_jupyter.server import create_app
from datatailr_jupyter.store.codecs import decode
from datatailr_jupyter.store.protocols import RunActions

from .conftest import Served
from .flows import NAME, run_once, server_flow


def finished(served: Served, run_id: int) -> RunState:
    served.server.app.state.ctx.actions.wait_idle(30)
    return served.store.get_run(run_id).run.state


def test_a_rerun_answers_202_with_the_new_run_which_the_server_executes(served: Served) -> None:
    original = run_once(served.store)
    client = served.client("execute")
    assert isinstance(client.actions, RunActions)
    plan = client.plan_rerun(original, full=True)
    assert plan["run_id"] == original and plan["counts"] == {"reuse": 0, "execute": 2, "skip": 0}
    assert client.plan_rerun(original)["counts"]["reuse"] == 2
    new = client.rerun(original, from_task="total")
    assert new > original
    assert finished(served, new) is RunState.COMPLETED
    detail = client.get_run(new)
    assert detail.run.trigger is Trigger.RERUN and detail.run.rerun_of == original
    assert detail.tasks[0].reused_from_run == original
    assert decode(*client.read_result(new, 1), trusted=False) == 10
    with pytest.raises(RunNotFoundError):
        client.rerun(99_999)
    with pytest.raises(TaskNotFoundError, match="its tasks are 'numbers', 'total'"):
        client.plan_rerun(original, from_task="no such task")


def test_trigger_runs_a_deployed_version_in_its_env(served: Served) -> None:
    server_flow(store=served.store, env="prod")  # deploy
    client = served.client("execute")
    run_id = client.trigger(NAME)
    assert finished(served, run_id) is RunState.COMPLETED
    run = client.get_run(run_id).run
    assert (run.env, run.trigger, run.job_version) == ("prod", Trigger.MANUAL, 1)
    assert client.get_run(client.trigger(NAME, env="pre", version=1)).run.env == "pre"
    with pytest.raises(WorkflowNotFoundError):
        client.trigger("Never Deployed")
    finished(served, run_id)


def test_ten_concurrent_reruns_with_one_key_make_one_run(served: Served) -> None:
    original = run_once(served.store)
    key = str(uuid.uuid4())
    answers: list[requests.Response] = []
    lock = threading.Lock()
    start = threading.Barrier(10)

    def post() -> None:
        start.wait()
        answer = requests.post(
            f"{served.server.url}/v1/runs/{original}/rerun", json={"full": True}, timeout=30,
            headers={"Authorization": f"Bearer {served.tokens['execute']}", "Idempotency-Key": key},
        )  # fmt: skip
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=post) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [202] * 10
    ids = {a.json()["run_id"] for a in answers}
    assert len(ids) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 9
    assert served.store.list_runs(RunQuery()).total == 2  # the original and one rerun
    finished(served, ids.pop())


def test_a_key_is_replayed_after_a_restart_and_refused_for_another_body(served: Served) -> None:
    original = run_once(served.store)
    client = served.client("execute")
    key = str(uuid.uuid4())
    first = client.rerun(original, full=True, request_key=key)
    finished(served, first)
    served.server.app = create_app(served.store, True, executor="thread")  # a new server process on the same store
    assert client.rerun(original, full=True, request_key=key) == first
    with pytest.raises(InvalidArgumentError, match="already used for a different request"):
        client.rerun(original, full=False, request_key=key)
    with pytest.raises(InvalidArgumentError, match="already used"):
        client.trigger(NAME, request_key=key)
    assert served.store.list_runs(RunQuery()).total == 2
    assert client.rerun(original, full=True) != first  # a new key is a new rerun
    finished(served, first)


def test_a_failed_action_does_not_keep_its_key(served: Served) -> None:
    client = served.client("execute")
    key = str(uuid.uuid4())
    with pytest.raises(RunNotFoundError):
        client.rerun(4242, request_key=key)
    original = run_once(served.store)
    new = client.rerun(original, request_key=key)  # the refused request left the key free
    assert client.rerun(original, request_key=key) == new
    finished(served, new)
