"""Every route x every kind of credential: only a valid token of a sufficient role gets through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import requests

from datatailr_jupyter.server import create_token, revoke_token

from .conftest import Served
from .flows import NAME, run_once


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # the route: {run_id} is filled with a run of the flow, {task_id} with task, {version} with 1
    role: str  # the least role that may call it
    body: Any = None
    data: bytes | None = None
    params: dict[str, str] | None = None
    task: int = 0


WF = {"workflow": NAME}
CALLS = [
    Call("GET", "/v1/whoami", "read"),
    Call("GET", "/v1/envs", "read"),
    Call("GET", "/v1/workflows", "read"),
    Call("GET", "/v1/versions", "read", params=WF),
    Call("GET", "/v1/versions/{version}", "read", params=WF),
    Call("GET", "/v1/versions/{version}/code", "read", params=WF),
    Call("GET", "/v1/runs", "read"),
    Call("GET", "/v1/runs/{run_id}", "read"),
    Call("GET", "/v1/runs/{run_id}/family", "read"),
    Call("GET", "/v1/runs/{run_id}/tasks", "read"),
    Call("GET", "/v1/activity", "read"),
    Call("GET", "/v1/overview", "read", params={"env": "dev"}),
    Call("GET", "/v1/runs/{run_id}/tasks/{task_id}/log", "read", params={"stream": "stdout"}),
    Call("GET", "/v1/runs/{run_id}/tasks/{task_id}/log/search", "read", params={"pattern": "ready"}),
    Call("GET", "/v1/runs/{run_id}/tasks/{task_id}/result/meta", "read", task=1),
    Call("GET", "/v1/runs/{run_id}/tasks/{task_id}/result", "read", task=1),
    Call("POST", "/v1/runs/{run_id}/rerun-plan", "read", body={}),
    Call("POST", "/v1/runs/{run_id}/rerun", "execute", body={"full": True}),
    Call("POST", "/v1/trigger", "execute", body={"workflow": NAME}),
    Call(
        "POST", "/v1/versions", "write", body={"workflow": "Other", "definition": {"tasks": []}, "definition_hash": "h"}
    ),
    Call(
        "POST",
        "/v1/runs",
        "write",
        body={"workflow": NAME, "env": "dev", "job_version": 1, "tasks": [{"id": 0, "name": "numbers"}]},
    ),  # fmt: skip
    Call("PATCH", "/v1/runs/{run_id}", "write", body={}),
    Call("POST", "/v1/runs/{run_id}/task-updates", "write", body={"updates": []}),
    Call("POST", "/v1/runs/{run_id}/tasks/{task_id}/log", "write", data=b"more\n", params={"stream": "stdout"}),
    Call(
        "POST",
        "/v1/schedule-claims",
        "write",
        body={"workflow": NAME, "env": "dev", "scheduled_time": "2026-03-02T06:00:00Z"},
    ),  # fmt: skip
    Call("POST", "/v1/recover", "write"),
]
ROLES = ("read", "execute", "write")


def send(served: Served, call: Call, run_id: int, authorization: str | None) -> requests.Response:
    headers = {} if authorization is None else {"Authorization": authorization}
    url = served.server.url + call.path.format(run_id=run_id, task_id=call.task, version=1)
    return requests.request(
        call.method, url, json=call.body, data=call.data, params=call.params, headers=headers, timeout=30
    )


def test_the_matrix_covers_every_route(served: Served) -> None:
    paths = requests.get(served.server.url + "/openapi.json", timeout=10).json()["paths"]
    routes = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    assert routes - {("GET", "/health")} == {(c.method, c.path) for c in CALLS}


def test_only_a_valid_token_with_the_role_gets_through(served: Served) -> None:
    run_id = run_once(served.store)
    revoked = create_token(served.store, "gone", "write")
    revoke_token(served.store, "gone")
    unknown = "dtt_" + "A" * 43
    refused = {
        "no token": None, "empty bearer": "Bearer ", "not bearer": f"Basic {served.tokens['write']}",
        "malformed": "Bearer dtt_short", "token in wrong case scheme only": "bearer",
        "unknown": f"Bearer {unknown}", "revoked": f"Bearer {revoked}",
    }  # fmt: skip
    for call in CALLS:
        for what, header in refused.items():
            answer = send(served, call, run_id, header)
            assert answer.status_code == 401, (call, what, answer.text)
            error = answer.json()["error"]
            assert error["type"] == "AuthenticationError" and "dtt_" in error["message"]
            assert answer.headers["WWW-Authenticate"] == "Bearer"
            for secret in (served.tokens["write"], revoked, unknown):
                assert secret not in answer.text
        for role in ROLES:
            answer = send(served, call, run_id, f"Bearer {served.tokens[role]}")
            if ROLES.index(role) < ROLES.index(call.role):
                assert answer.status_code == 403, (call, role, answer.text)
                assert answer.json()["error"]["type"] == "PermissionDeniedError"
                assert call.role in answer.json()["error"]["message"]
            else:
                assert 200 <= answer.status_code < 300, (call, role, answer.text)
    served.server.app.state.ctx.actions.wait_idle(30)


def test_health_needs_no_token_and_says_whether_tokens_are_checked(served: Served) -> None:
    answer = requests.get(served.server.url + "/health", timeout=10)
    assert answer.status_code == 200 and answer.json()["auth"] is True


@pytest.mark.parametrize("role", ROLES)
def test_the_client_sees_its_role_and_clear_errors(served: Served, role: str) -> None:
    from datatailr_jupyter.errors import AuthenticationError, PermissionDeniedError

    client = served.client(role)
    assert client.whoami() == role
    if role == "read":
        with pytest.raises(PermissionDeniedError, match="'execute' role"):
            client.trigger(NAME)
    with pytest.raises(AuthenticationError, match="pass --token / set DT_RUNS_TOKEN"):
        served.client(None).list_envs()
