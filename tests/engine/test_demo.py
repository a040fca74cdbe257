"""The demo fills a store through the engine (runs, failures, reruns, versions) and adds nothing twice."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from datatailr_jupyter import demo
from datatailr_jupyter.models import RunQuery, RunState, Trigger
from datatailr_jupyter.store.registry import open_store

STAMPED = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING|ERROR) ", re.M)


def test_demo_records_real_runs_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = str(tmp_path / "demo-store")
    assert demo.main(["--store", url, "--runs", "60", "--seed", "3"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("demo: ") and "runs" in line and len(line.splitlines()) == 1
    store = open_store(f"sqlite://{url}")
    try:
        runs = store.list_runs(RunQuery(limit=1000)).runs
        assert len(runs) >= 60
        assert {r.env for r in runs} == {"dev", "pre", "prod"}
        assert any(r.trigger is Trigger.SCHEDULE and r.scheduled_time for r in runs)
        assert any(r.trigger is Trigger.RERUN for r in runs)
        assert any(r.error_message for r in runs)
        oldest = min(r.start_time for r in runs if r.start_time)
        newest = max(r.end_time for r in runs if r.end_time)
        assert (newest - oldest).days >= 14, "the history spans weeks, recorded with backdated clocks"
        assert demo.main(["--store", url]) == 0
        assert "already has the demo" in capsys.readouterr().out
        assert len(store.list_runs(RunQuery(limit=1000)).runs) == len(runs)
    finally:
        store.close()


def test_demo_versions_are_made_before_their_first_run_and_scheduled_ones_deployed(tmp_path: Path) -> None:
    url = str(tmp_path / "demo-store")
    assert demo.main(["--store", url, "--runs", "60", "--seed", "7"]) == 0
    store = open_store(f"sqlite://{url}")
    try:
        runs = store.list_runs(RunQuery(limit=1000)).runs
        for wf in store.list_workflows():
            versions = store.list_versions(wf.name)
            created = [v.created_at for v in versions]
            assert created == sorted(created)
            for v in versions:
                used = [
                    r.submit_time
                    for r in runs
                    if r.workflow_key == wf.key and r.job_version == v.version and r.submit_time is not None
                ]
                assert not used or v.created_at < min(used), (wf.name, v.version)
        sales = store.list_versions("Daily Sales Report")
        assert len(sales) == 3 and all(v.definition.get("deployment") for v in sales)
        assert sales[-1].schedule == "0 6 * * *"
        assert store.list_versions("Stock Lake Hourly Compaction")[-1].schedule
    finally:
        store.close()


def test_demo_failures_are_raised_by_task_code_meeting_bad_conditions(tmp_path: Path) -> None:
    url = str(tmp_path / "demo-store")
    assert demo.main(["--store", url, "--runs", "60", "--seed", "7"]) == 0
    store = open_store(f"sqlite://{url}")
    try:
        runs = store.list_runs(RunQuery(limit=1000)).runs
        failed_prod_sales = [
            r for r in runs if r.workflow == "Daily Sales Report" and r.env == "prod" and r.state is RunState.FAILED
        ]
        assert failed_prod_sales, "the demo always has a failed prod run of the Daily Sales Report"
        newest = failed_prod_sales[0]
        assert any(r.rerun_of == newest.run_id and r.state is RunState.COMPLETED for r in runs)
        detail = store.get_run(newest.run_id)
        task = next(t for t in detail.tasks if t.state is RunState.FAILED)
        assert task.name == "publish_report" and task.error is not None
        assert task.error.type == "ConnectionError" and "503 Slow Down" in task.error.message
        assert "in publish_report\n    ObjectStore(clock).put(key, len(body))" in task.error.traceback
        rerun = next(r for r in runs if r.rerun_of == newest.run_id)
        reused = {t.name for t in store.get_run(rerun.run_id).tasks if t.reused_from_run == newest.run_id}
        assert reused == {"fetch_data", "calculate_total"}
        for r in (r for r in runs if r.state is RunState.FAILED):
            for t in store.get_run(r.run_id).tasks:
                if t.error is not None:
                    assert "inject" not in t.error.traceback and "DT_DEMO" not in t.error.traceback
                    assert t.error.type in {"TimeoutError", "ConnectionError", "KeyError", "ValueError", "OSError"}
        completed = next(
            r
            for r in runs
            if r.workflow == "Daily Sales Report" and r.state is RunState.COMPLETED and r.trigger is not Trigger.RERUN
        )
        log = store.read_log(completed.run_id, 0, "stdout").text
        assert len(STAMPED.findall(log)) >= 3 and "received" in log, log
    finally:
        store.close()
