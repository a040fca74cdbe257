"""The DAG of a 10,000-task run reaches the widget in one get-run answer, under the message bound."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from datatailr_jupyter.client import Client
from datatailr_jupyter.explorer.columns import task_records
from datatailr_jupyter.explorer.handlers import MAX_RESPONSE, dispatch
from datatailr_jupyter.models import RunState
from datatailr_jupyter.store.codecs import encode
from datatailr_jupyter.store.protocols import NewRun, TaskSpec, TaskUpdate, VersionSpec
from datatailr_jupyter.store.registry import open_store


def test_get_run_of_ten_thousand_completed_tasks_fits_in_one_answer(tmp_path: Path) -> None:
    store = open_store(f"sqlite://{tmp_path / 'store'}")
    n = 10_000
    tasks = tuple(
        TaskSpec(i, f"transform_L{i // 100}_{i % 100}", "workflows.sweep:transform", (i - 1, i - 2) if i > 1 else ())
        for i in range(n)
    )
    definition = {"tasks": [{"id": t.id, "name": t.name, "dependencies": list(t.dependencies)} for t in tasks]}
    store.register_version(VersionSpec(workflow="Big Sweep", definition=definition, definition_hash="h"))
    run = store.create_run(NewRun(workflow="Big Sweep", env="dev", job_version=1, tasks=tasks))
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    store.update_tasks(
        run.run_id,
        [
            TaskUpdate(
                i,
                state=RunState.COMPLETED,
                start_time=start,
                end_time=start + timedelta(seconds=1),
                attempt=1,
                exit_code=0,
                result=encode(float(i)),
            )
            for i in range(n)
        ],
    )
    response = dispatch(Client(store), "get-run", {"run_id": run.run_id}, request_id=1)
    assert "error" not in response, response.get("error")
    assert len(task_records(response["payload"])) == n
    assert len(json.dumps(response)) < MAX_RESPONSE
    # one value for every task (run id, state, times, attempt, exit code, result's codec and type...) goes once
    columns = response["payload"]["columns"]
    size = {name: len(json.dumps(column)) for name, column in columns.items()}
    assert sum(v for k, v in size.items() if k not in ("name", "dependencies", "result")) < 1_000, size
    assert columns["id"] == {"from": 0} and columns["state"] == {"same": "completed"}
    assert "rows" not in columns["result"] and size["result"] < 70_000  # every task has one: no row list
    assert len(json.dumps(response)) < 400_000
    store.close()
