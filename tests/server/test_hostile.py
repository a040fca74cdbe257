"""200 path-traversal and injection payloads in every id and name the server takes: no file outside the store is
read or created, and no answer is a 500; a log search with a regular expression that backtracks is stopped."""

from __future__ import annotations

import os
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from datatailr_jupyter import task, workflow
from datatailr_jupyter.errors import InvalidArgumentError
from datatailr_jupyter.store import _logs

from .conftest import Served
from .flows import NAME, run_once

SECRET = "s3cr3t-outside-the-store-7c1d"

_BASE = [
    "../../../../etc/passwd", "..\\..\\..\\windows\\win.ini", "/etc/passwd", "....//....//etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd", "%2e%2e%2f%2e%2e%2fsecret.txt", "..%252f..%252fsecret.txt", "../secret.txt",
    "../../secret.txt", "../../../secret.txt", "results/../../secret.txt", "logs/1/0.stdout/../../../../secret.txt",
    "runs.db", "../runs.db", "staging/../../secret.txt", "~/.ssh/id_rsa", "file:///etc/passwd", "\\\\server\\share",
    "C:\\Windows\\System32", "/dev/zero", "/proc/self/environ", "x\x00.txt", "%00", "\x00", ".", "..", "...", "/",
    "' OR '1'='1", "'; DROP TABLE runs; --", '" OR ""="', "1 UNION SELECT token_hash FROM api_tokens", "1; --",
    "%s%s%s%n", "{0.__class__.__mro__}", "${jndi:ldap://x/a}", "{{7*7}}", "<script>alert(1)</script>",
    "a\r\nX-Injected: 1", "line\nbreak", "\u202eevil", "zero\u200bwidth", "\ufeffbom", "emoji \U0001f600",
    "-1", "0", "99999999999999999999999999", "1e308", "NaN", "inf", "0x1f", "1.5", " 1", "true", "null", "[]", "{}",
    "A" * 5000, "../" * 400, "é" * 300, "*", "?", "#frag", "&a=b", "%", "%%", "+", "a/b", "a//b", "./a",
]  # fmt: skip


def payloads() -> list[str]:
    """200 distinct payloads: the base ones, URL-encoded once and twice, and behind a valid-looking prefix."""
    out: list[str] = []
    for p in _BASE:
        once = urllib.parse.quote(p, safe="")
        for variant in (p, once, f"dev/{p}", urllib.parse.quote(once, safe="")):
            if variant not in out:
                out.append(variant)
    return out[:200]


def tree(root: Path, skip: Path) -> set[str]:
    found = set()
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == skip:
            dirnames[:] = []
            continue
        found.update(os.path.join(dirpath, f) for f in filenames + dirnames)
    return found


def header(p: str) -> str:
    """``p`` as a header value: as is when HTTP allows it, else URL-encoded (clients cannot send CR/LF, non-Latin-1)."""
    return p[:400] if p.isascii() and p.isprintable() and p.strip() == p else urllib.parse.quote(p, safe="")[:400]


def requests_for(p: str, run_id: int) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, requests options) putting ``p`` in every id and name."""
    seg = urllib.parse.quote(p, safe="")
    for path in (f"/v1/runs/{seg}", f"/v1/runs/{seg}/family", f"/v1/runs/{run_id}/tasks/{seg}/log",
                 f"/v1/runs/{seg}/tasks/0/result", f"/v1/runs/{run_id}/tasks/{seg}/result/meta",
                 f"/v1/versions/{seg}", f"/v1/runs/{p}"):  # fmt: skip
        yield "GET", path, {}
    yield "GET", "/v1/versions", {"params": {"workflow": p}}
    yield "GET", "/v1/versions/1/code", {"params": {"workflow": p}}
    yield "GET", "/v1/workflows", {"params": {"env": p}}
    yield "GET", "/v1/runs", {"params": {"workflow": p, "env": p, "cursor": p}}
    yield "GET", "/v1/runs", {"params": {"start": p, "state": p}}
    yield "GET", "/v1/activity", {"params": {"workflow": p, "end": p}}
    yield "GET", f"/v1/runs/{run_id}/tasks/0/log", {"params": {"stream": p, "offset": p}}
    yield (
        "GET",
        f"/v1/runs/{run_id}/tasks/1/log/search",
        {"params": {"stream": "stdout", "pattern": p, "regex": "true"}},
    )
    yield "POST", f"/v1/runs/{run_id}/rerun-plan", {"json": {"from_task": p}}
    yield "POST", "/v1/trigger", {"json": {"workflow": p, "env": p}, "headers": {"Idempotency-Key": header(p)}}
    yield "POST", "/v1/versions", {"json": {"workflow": p, "definition": {"tasks": [{"id": 0, "name": p}]},
                                            "definition_hash": p}}  # fmt: skip
    tasks = [{"id": 0, "name": p, "function": p}, {"id": 1, "name": "x"}]
    yield "POST", "/v1/runs", {"json": {"workflow": NAME, "env": p, "job_version": 1, "owner": p, "tasks": tasks}}
    yield "POST", "/v1/runs", {"json": {"workflow": p, "env": "dev", "job_version": 1, "tasks": []}}
    yield "POST", f"/v1/runs/{run_id}/tasks/0/log", {"params": {"stream": p}, "data": b"x"}
    yield "POST", f"/v1/runs/{run_id}/task-updates", {"json": {"updates": [{"task_id": 0, "host": p, "result": {
        "meta": {"codec": p, "bytes": 1, "python_type": p}, "data": "eA=="}}]}}  # fmt: skip
    yield "POST", "/v1/schedule-claims", {"json": {"workflow": p, "env": p, "scheduled_time": p}}


def test_hostile_ids_and_names_read_and_create_nothing_outside_the_store(served: Served, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text(SECRET)
    run_id = run_once(served.store)
    store_dir = served.store.path
    before = tree(tmp_path, store_dir)
    calls = [call for p in payloads() for call in requests_for(p, run_id)]
    local = threading.local()

    def send(call: tuple[str, str, dict[str, Any]]) -> tuple[int, str]:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers["Authorization"] = f"Bearer {served.tokens['write']}"
        method, path, options = call
        answer = local.session.request(method, served.server.url + path, timeout=30, **options)
        text = answer.text
        assert answer.status_code < 500, (method, path, options, text[:500])
        assert SECRET not in text and "root:x:0:0" not in text and "Traceback" not in text
        if answer.status_code >= 400:
            if answer.headers.get("content-type") == "application/json":
                assert set(answer.json()["error"]) == {"type", "message"}
            else:  # uvicorn refused the raw request line before the application saw it
                assert answer.status_code == 400 and text == "Invalid HTTP request received.", text
        return answer.status_code, path

    with ThreadPoolExecutor(4) as pool:
        statuses = Counter(status for status, _ in pool.map(send, calls))
    served.server.app.state.ctx.actions.wait_idle(30)
    assert len(payloads()) == 200 and len(calls) >= 200 * 20
    assert tree(tmp_path, store_dir) == before, "a file was created outside the store"
    for dirpath, _, filenames in os.walk(store_dir):
        for f in filenames:
            assert Path(dirpath, f).resolve().is_relative_to(store_dir.resolve())
    assert statuses[200] + statuses[201] + statuses[204] > 0 and statuses[500] == 0  # some payloads are valid names


@task()
def shouts() -> None:
    for _ in range(3):
        print("a" * 34)


@workflow("Backtracking Log")
def backtracking_log() -> None:
    shouts()


def test_a_backtracking_log_search_is_stopped_and_the_server_keeps_answering(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle: Any = backtracking_log(local_run=True, store=served.store, executor="thread")
    run_id = int(handle.run_id)
    monkeypatch.setattr(_logs, "SEARCH_SECONDS", 1.0)
    client = served.client("read")
    with ThreadPoolExecutor(1) as pool:
        began = time.monotonic()
        hostile = pool.submit(client.search_log, run_id, 0, "stdout", "(a|aa)+b", True)
        time.sleep(0.2)
        assert client.get_run(run_id).run.run_id == run_id  # another request is answered while the search runs
        with pytest.raises(InvalidArgumentError, match=r"was stopped.*plain text"):
            hostile.result(timeout=30)
    assert time.monotonic() - began < 10  # Python's re would search these lines for minutes
    found = client.search_log(run_id, 0, "stdout", "^a{34}$", True)
    assert [m.line for m in found] == [1, 2, 3]  # line 0 says where the task ran
