"""load_result by workflow name: the latest completed run in the env, or a run id; local, remote, and in a task."""

from __future__ import annotations

import pytest

from datatailr_jupyter import connect, load_result
from datatailr_jupyter.errors import RunNotFoundError

from .conftest import Where


def test_load_result_takes_the_latest_completed_run_or_a_run_id(where: Where) -> None:
    store = where.url or str(where.store_dir)
    client = connect(store, token=where.token or None, env="dev", trust=True)
    try:
        assert load_result("CLI Flow", task="total", store=client) == 10
        assert load_result("cli-flow", run=where.first_run, task="total", store=client) == 10
        latest = client.latest_run("CLI Flow")
        assert latest.state.value == "completed" and latest.run_id >= where.first_run
        with pytest.raises(RunNotFoundError, match="no completed run in env 'prod'"):
            load_result("CLI Flow", task="total", env="prod", store=client)
        with pytest.raises(RunNotFoundError, match="belongs to workflow 'CLI Flow'"):
            load_result("CLI Consumer", run=where.first_run, task="total", store=client)
    finally:
        client.close()


def test_load_result_by_url_and_token_from_the_environment(remote: Where, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DT_RUNS_TOKEN", remote.token)
    monkeypatch.setenv("DT_RUNS_CONFIG", str(remote.store_dir.parent / "no-config.toml"))
    assert load_result("CLI Flow", task="total", store=remote.url, env="dev") == 10  # a JSON result: no trust needed


def test_a_task_of_another_workflow_loads_the_result_by_name(local: Where) -> None:
    client = connect(str(local.store_dir), trust=True)
    try:
        run = client.run(local.consumer_run)
        assert run.summary.state.value == "completed"
        assert run.result("borrow") == 100  # 10 * the total of CLI Flow's latest completed run
        assert "borrowed 10" in run.logs("borrow")
    finally:
        client.close()
