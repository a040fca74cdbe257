"""The explorer over a `dt serve` server: reruns run on the server, an unreachable store is one error, then recovers."""

from __future__ import annotations

from pathlib import Path

import pytest

from datatailr_jupyter import Client, Explorer
from datatailr_jupyter.explorer.handlers import Context, dispatch
from datatailr_jupyter.explorer.magic import dt_runs
from datatailr_jupyter.models import RunState, Trigger
from tests.server.conftest import Served, live, served  # noqa: F401  (fixtures)
from tests.server.flows import NAME, run_once


@pytest.fixture(autouse=True)
def no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DT_RUNS_CONFIG", str(tmp_path / "no-config.toml"))
    for name in ("DT_RUNS_STORE", "DT_RUNS_TOKEN", "DT_RUNS_ENV"):
        monkeypatch.delenv(name, raising=False)


def test_a_rerun_from_the_explorer_over_http_runs_on_the_server(served: Served) -> None:  # noqa: F811
    original = run_once(served.store)
    client = Client(served.client("execute"))
    assert not client.executes_here  # the server's engine runs it, not this kernel
    plan = dispatch(client, "plan-rerun", {"run_id": original, "full": True}, 1)["payload"]
    assert plan["counts"] == {"reuse": 0, "execute": 2, "skip": 0}
    context = Context()
    first = dispatch(client, "rerun", {"run_id": original, "request_key": "click"}, 2, context)["payload"]["run"]
    again = dispatch(client, "rerun", {"run_id": original, "request_key": "click"}, 3, context)["payload"]["run"]
    assert first["run_id"] == again["run_id"] != original
    assert served.server.app.state.ctx.actions.wait_idle(30)  # the server's own threads ran it
    detail = client.run(first["run_id"]).detail
    assert detail.run.state is RunState.COMPLETED and detail.run.trigger is Trigger.RERUN
    assert [r.run_id for r in client.rerun_family(original)] == [original, first["run_id"]]


def test_an_unreachable_server_is_an_error_answer_and_the_explorer_recovers_by_itself(
    served: Served,  # noqa: F811
) -> None:
    run_once(served.store)
    client = Client(served.client("read", attempts=1, backoff=0.05))
    payload = {"workflow": NAME, "env": "dev", "limit": 5}
    assert dispatch(client, "list-runs", payload, 1)["payload"]["total"] == 1
    served.server.stop()
    try:
        answer = dispatch(client, "list-runs", payload, 2)
        assert answer["error"]["type"] == "StoreUnavailableError"
        assert "not reachable" in answer["error"]["message"]
        assert dispatch(client, "list-workflows", {}, 3)["error"]["type"] == "StoreUnavailableError"
    finally:
        served.server.start()
    assert dispatch(client, "list-runs", payload, 4)["payload"]["total"] == 1  # same client, no reconnecting


def test_dt_runs_opens_a_server_with_a_token_from_the_line_or_the_environment(
    served: Served,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_once(served.store)
    url = served.server.url
    widget = dt_runs(f'"{NAME}" --store {url} --token {served.tokens["read"]}')
    assert isinstance(widget, Explorer) and widget.store_label == url and widget.workflow == "server-flow"
    widget.close()
    monkeypatch.setenv("DT_RUNS_TOKEN", served.tokens["read"])
    widget = Explorer(NAME, store=url)
    answer = dispatch(widget.client, "list-runs", {"workflow": NAME, "env": "dev"}, 1)
    assert widget.store_label == url and answer["payload"]["total"] == 1
    widget.close()


def test_dt_runs_without_a_token_says_how_to_give_one(
    served: Served,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert dt_runs(f"--store {served.server.url}") is None
    err = capsys.readouterr().err
    assert err.startswith("%dt_runs: ") and "DT_RUNS_TOKEN" in err and err.count("\n") == 1
