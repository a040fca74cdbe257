"""The lean path answers repeated reads before FastAPI, with exactly FastAPI's token rules, and sees a revocation
(from this process or another) on the very next request; run pages decode to the same records either way."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import requests

from datatailr_jupyter.errors import InvalidArgumentError
from datatailr_jupyter.models import RunPage, RunQuery, RunSummary, WorkflowInfo
from datatailr_jupyter.server import create_app, create_token, revoke_token
from datatailr_jupyter.server.cache import cache_key
from datatailr_jupyter.server.lean import lean_answer
from datatailr_jupyter.store.http_wire import decode_list, decode_page

from ..store.contract_data import T0, new_run, register
from .conftest import Served

READS = ["/v1/runs?limit=5", "/v1/workflows", "/v1/envs", "/v1/activity", "/v1/runs?env=dev&limit=3"]
REVOKER = """
import sys
from datatailr_jupyter.server import revoke_token
revoke_token(sys.argv[1], sys.argv[2])
"""


def get(served: Served, path: str, authorization: str | None) -> requests.Response:
    headers = {} if authorization is None else {"Authorization": authorization}
    return requests.get(served.server.url + path, headers=headers, timeout=10)


def scope(path: str, authorization: str | None) -> dict[str, Any]:
    route, _, query = path.partition("?")
    headers = [] if authorization is None else [(b"authorization", authorization.encode())]
    return {"type": "http", "method": "GET", "path": route, "query_string": query.encode(), "headers": headers}


def filled(served: Served) -> None:
    register(served.store)
    for _ in range(3):
        new_run(served.store, submit=T0)
    for path in READS:  # FastAPI answers and keeps each answer
        assert get(served, path, f"Bearer {served.tokens['read']}").status_code == 200


def test_a_repeated_read_is_answered_by_the_lean_path_with_the_answer_fastapi_gave(served: Served) -> None:
    filled(served)
    ctx = served.server.app.state.ctx  # type: ignore[union-attr]
    for path in READS:
        first = get(served, path, f"Bearer {served.tokens['read']}")
        kept = lean_answer(ctx, scope(path, f"Bearer {served.tokens['read']}"))
        assert kept is not None and kept == first.content
        assert first.headers["content-type"] == "application/json"
    assert lean_answer(ctx, scope("/v1/runs?limit=6", f"Bearer {served.tokens['read']}")) is None  # never asked


@pytest.mark.parametrize(
    "credential, status",
    [
        (None, 401),
        ("Bearer", 401),
        ("Basic dXNlcjpwYXNz", 401),
        ("Bearer dtt_" + "x" * 43, 401),  # well formed, unknown
        ("Bearer dtt_short", 401),
        ("read", 200),
        ("execute", 200),
        ("write", 200),
    ],
)
def test_the_lean_path_lets_through_exactly_the_tokens_fastapi_lets_through(
    served: Served, credential: str | None, status: int
) -> None:
    filled(served)
    header = f"Bearer {served.tokens[credential]}" if credential in served.tokens else credential
    ctx = served.server.app.state.ctx  # type: ignore[union-attr]
    for path in READS:
        answer = get(served, path, header)
        assert answer.status_code == status, (path, answer.text)
        assert (lean_answer(ctx, scope(path, header)) is not None) == (status == 200)
        if status == 401:
            assert answer.json()["error"]["type"] == "AuthenticationError"
            assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("where", ["this process", "another process"])
def test_a_revoked_token_is_refused_on_the_next_request_after_lean_answers(served: Served, where: str) -> None:
    filled(served)
    doomed = create_token(served.store, "doomed", "read")
    for _ in range(3):
        assert get(served, READS[0], f"Bearer {doomed}").status_code == 200  # remembered and answered lean
    if where == "this process":
        revoke_token(served.store, "doomed")
    else:
        subprocess.run([sys.executable, "-c", REVOKER, str(served.store.path), "doomed"], check=True)
    for path in READS:
        refused = get(served, path, f"Bearer {doomed}")
        assert refused.status_code == 401 and "revoked" in refused.json()["error"]["message"]
    assert get(served, READS[0], f"Bearer {served.tokens['read']}").status_code == 200


def test_a_new_run_is_in_the_next_page_answered(served: Served) -> None:
    filled(served)
    client = served.client("read")
    before = client.list_runs(RunQuery(limit=5))
    assert client.list_runs(RunQuery(limit=5)) == before  # kept
    made = new_run(served.store, submit=T0)
    after = client.list_runs(RunQuery(limit=5))
    assert after.total == before.total + 1 and made.run_id in [r.run_id for r in after.runs]
    client.close()


def test_a_get_with_a_body_goes_to_fastapi(served: Served) -> None:
    filled(served)
    ctx = served.server.app.state.ctx  # type: ignore[union-attr]
    bodied = scope(READS[0], f"Bearer {served.tokens['read']}")
    bodied["headers"].append((b"content-length", b"5"))
    assert lean_answer(ctx, bodied) is None
    assert cache_key(bodied) == "/v1/runs?limit=5"


def test_without_tokens_the_lean_path_answers_anyone_on_loopback(served: Served) -> None:
    app = create_app(served.store, False)
    served.server.app = app
    filled(served)
    assert lean_answer(app.state.ctx, scope(READS[0], None)) is not None


def test_pages_and_lists_decode_to_the_records_from_dict_makes(served: Served) -> None:
    filled(served)
    data = get(served, "/v1/runs?limit=5", f"Bearer {served.tokens['read']}").content
    assert decode_page(data) == RunPage.from_dict(json.loads(data))
    assert decode_page(data).runs[0].submit_time == T0
    data = get(served, "/v1/workflows", f"Bearer {served.tokens['read']}").content
    workflows = decode_list(WorkflowInfo)(data)
    assert workflows == [WorkflowInfo.from_dict(w) for w in json.loads(data)] and workflows[0].n_runs == 3
    family = get(served, "/v1/runs/1/family", f"Bearer {served.tokens['read']}").content
    assert decode_list(RunSummary)(family) == [RunSummary.from_dict(r) for r in json.loads(family)]


def test_a_page_with_a_state_this_version_does_not_know_raises_the_store_error() -> None:
    page = b'{"runs":[{"run_id":1,"workflow":"w","workflow_key":"w","env":"dev","job_version":1,"state":"paused"}]}'
    with pytest.raises(InvalidArgumentError, match="unknown state 'paused'"):
        decode_page(page)
