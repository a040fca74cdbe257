"""The Client reads a real store into DataFrames and values, and load_result checks what it loads."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from datatailr_jupyter import Client, connect, load_result
from datatailr_jupyter.errors import (
    InvalidArgumentError,
    RunNotFoundError,
    StoreError,
    StoreUnavailableError,
    TaskNotFoundError,
    WorkflowNotFoundError,
)
from datatailr_jupyter.models import RunState
from datatailr_jupyter.store.codecs import encode
from datatailr_jupyter.store.protocols import NewRun, RunUpdate, TaskSpec, TaskUpdate, VersionSpec
from datatailr_jupyter.store.registry import open_store

T0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=3)


@pytest.fixture()
def store_url(tmp_path: Path) -> str:
    url = f"sqlite://{tmp_path / 'store'}"
    client = Client(open_store(url))  # a writer makes the store; connect() only opens existing ones
    store = client.store
    for name in ("Daily Sales Report", "Other Flow"):
        store.register_version(
            VersionSpec(
                workflow=name,
                definition={"tasks": [{"id": 0, "name": "fetch_data"}, {"id": 1, "name": "calculate_total"}]},
                definition_hash=f"h-{name}",
            )
        )
    tasks = (TaskSpec(0, "fetch_data", "m:fetch_data"), TaskSpec(1, "calculate_total", "m:total", (0,)))
    for i in range(30):
        env = "prod" if i % 3 else "dev"
        run = store.create_run(
            NewRun(
                workflow="Daily Sales Report",
                env=env,
                job_version=1,
                tasks=tasks,
                submit_time=T0 + timedelta(hours=i),
            )
        )
        start = T0 + timedelta(hours=i)
        failed = i % 5 == 0
        store.update_tasks(
            run.run_id,
            [
                TaskUpdate(0, state=RunState.COMPLETED, start_time=start, end_time=start, result=encode([1, 2, 3])),
                TaskUpdate(
                    1,
                    state=RunState.FAILED if failed else RunState.COMPLETED,
                    start_time=start,
                    end_time=start + timedelta(seconds=5),
                    result=None if failed else encode(pd.DataFrame({"total": [6.0 + i]})),
                ),
            ],
        )
        store.append_log(run.run_id, 1, "stdout", f"line one of run {run.run_id}\nline two\n".encode())
        store.update_run(
            run.run_id,
            RunUpdate(
                state=RunState.FAILED if failed else RunState.COMPLETED,
                start_time=start,
                end_time=start + timedelta(seconds=5),
                error_message="ValueError: boom" if failed else None,
            ),
        )
    client.close()
    return url


def test_runs_are_a_dataframe_newest_first_with_filters(store_url: str) -> None:
    client = connect(store_url)
    frame = client.runs("Daily Sales Report", env="prod", limit=None)
    assert len(frame) == 20
    assert frame.index.name == "run_id"
    assert list(frame.index) == sorted(frame.index, reverse=True)
    assert str(frame["start_time"].dtype) == "datetime64[us, UTC]" or "UTC" in str(frame["start_time"].dtype)
    failed = client.runs("daily-sales-report", env="prod", states=["failed"], limit=None)
    assert set(failed["state"]) == {"failed"} and len(failed) == 4
    assert (failed["error_message"] == "ValueError: boom").all()
    recent = client.runs("Daily Sales Report", start=T0 + timedelta(hours=25), limit=None)
    assert len(recent) == 5
    assert len(client.runs(limit=7)) == 7


def test_run_tasks_results_and_logs(store_url: str) -> None:
    client = connect(store_url)
    run_id = int(client.runs("Daily Sales Report", env="prod", states=["completed"], limit=1).index[0])
    view = client.run(run_id)
    assert list(view.tasks["name"]) == ["fetch_data", "calculate_total"]
    assert view.tasks.loc[1, "dependencies"] == [0]
    assert view.result("fetch_data") == [1, 2, 3]
    frame = view.result("calculate_total")
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["total"]
    assert view.logs("calculate_total") == f"line one of run {run_id}\nline two\n"
    assert client.logs(run_id, 1, tail=9) == "line two\n"


def test_load_result_checks_workflow_and_env(store_url: str) -> None:
    client = connect(store_url)
    run_id = int(client.runs("Daily Sales Report", env="prod", states=["completed"], limit=1).index[0])
    value = load_result("Daily Sales Report", run=run_id, task="fetch_data", env="prod", store=store_url)
    assert value == [1, 2, 3]
    assert load_result("daily-sales-report", run=run_id, task=0, store=client) == [1, 2, 3]
    with pytest.raises(RunNotFoundError, match="belongs to workflow 'Daily Sales Report'"):
        load_result("Other Flow", run=run_id, task="fetch_data", store=client)
    with pytest.raises(RunNotFoundError, match="ran in env 'prod'"):
        load_result("Daily Sales Report", run=run_id, task="fetch_data", env="dev", store=client)
    with pytest.raises(TaskNotFoundError, match="calculate_total"):
        load_result("Daily Sales Report", run=run_id, task="nope", store=client)


@pytest.mark.parametrize("bad", [0, -3, "abc", 1.5, True])
def test_bad_run_ids_are_clear_errors(store_url: str, bad: object) -> None:
    client = connect(store_url)
    with pytest.raises((InvalidArgumentError, RunNotFoundError)):
        client.run(bad)  # type: ignore[arg-type]
    with pytest.raises(RunNotFoundError):
        client.run(10**9)


def test_find_workflow_by_display_name_key_or_case_and_unknown_lists_known(store_url: str) -> None:
    client = connect(store_url)
    assert client.find_workflow("daily-sales-report").name == "Daily Sales Report"
    assert client.find_workflow("daily sales report").key == "daily-sales-report"
    with pytest.raises(WorkflowNotFoundError, match="'Daily Sales Report'"):
        client.find_workflow("Weekly")


def test_envs_offer_defaults_first_and_workflows_frame(store_url: str) -> None:
    client = connect(store_url)
    assert client.envs()[:3] == ["dev", "pre", "prod"]
    frame = client.workflows("prod")
    row = frame.set_index("name").loc["Daily Sales Report"]
    assert row["n_runs"] == 20 and row["latest_version"] == 1 and len(row["recent_states"]) == 10


def test_client_repr_names_store_and_env(store_url: str) -> None:
    client = connect(store_url, env="prod")
    assert isinstance(client, Client) and "env='prod'" in repr(client)


def test_connect_never_creates_a_store_and_says_there_is_none(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for path in (tmp_path / "typo" / "store", empty):
        with pytest.raises(StoreUnavailableError, match="no run store at") as info:
            connect(str(path))
        assert str(path) in str(info.value)
        with pytest.raises(StoreUnavailableError, match="no run store at"):
            load_result("Daily Sales Report", 1, 0, store=f"sqlite://{path}")
    assert not (tmp_path / "typo").exists() and list(empty.iterdir()) == []


def test_read_commands_of_the_cli_never_create_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from datatailr_jupyter.cli import main

    typo = tmp_path / "typo"
    assert main(["--store", str(typo), "runs"]) == 2
    assert f"no run store at {typo}" in capsys.readouterr().err
    assert not typo.exists()


def test_the_default_store_is_created_on_first_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DT_RUNS_STORE", raising=False)
    monkeypatch.setenv("DT_RUNS_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setattr("datatailr_jupyter.settings.default_store_path", lambda: tmp_path / "default")
    client = connect()
    try:
        assert client.workflow_infos() == [] and (tmp_path / "default" / "runs.db").exists()
    finally:
        client.close()


def test_clients_of_one_store_share_its_connections_and_close_only_their_handle(store_url: str) -> None:
    first, second = connect(store_url), connect(store_url)
    assert first.store._db is second.store._db  # type: ignore[attr-defined]
    conn = first.store._conn()  # type: ignore[attr-defined]
    first.close()
    assert second.store._conn() is conn and len(second.runs()) > 0  # type: ignore[attr-defined]
    with pytest.raises(StoreError, match="closed"):
        first.runs()
    second.close()
    third = connect(store_url)
    try:
        assert third.store._db is not second.store._db and len(third.runs()) > 0  # type: ignore[attr-defined]
    finally:
        third.close()


def test_runs_of_a_workflow_share_the_store_with_clients_of_it(tmp_path: Path) -> None:
    from datatailr_jupyter.engine import task, workflow

    @task()
    def one() -> int:
        return 1

    @workflow(name="Shared")
    def shared() -> None:
        one()

    url = f"sqlite://{tmp_path / 'store'}"
    first = shared(local_run=True, store=url, executor="inline")
    second = shared(local_run=True, store=url, executor="inline")
    client = connect(url)
    try:
        assert first.store._db is second.store._db is client.store._db  # type: ignore[union-attr]
        assert client.run(second.run_id).summary.state is RunState.COMPLETED
    finally:
        client.close()
    assert first.results["one"] == 1, "closing a client leaves the runs' handles working"
