"""The demo fills a store through the engine (runs, failures, reruns, versions) and adds nothing twice."""

from __future__ import annotations

from datatailr_jupyter import demo
from datatailr_jupyter.models import RunQuery, Trigger
from datatailr_jupyter.store.registry import open_store


def test_demo_records_real_runs_once(tmp_path, capsys):
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
