"""Kept answers of run pages and workflow lists follow every commit to the store, from any connection or process."""

from __future__ import annotations

import subprocess
import sys

from datatailr_jupyter.models import RunQuery, RunState
from datatailr_jupyter.store.protocols import RunUpdate

from ..store.contract_data import T0, new_run, register
from .conftest import Served

WRITER = """
import sys
from datatailr_jupyter.models import RunState
from datatailr_jupyter.store.protocols import RunUpdate
from datatailr_jupyter.store.sqlite import SqliteRunStore
store = SqliteRunStore(sys.argv[1], create=False)
store.update_run(int(sys.argv[2]), RunUpdate(state=RunState.COMPLETED, start_time=None))
store.close()
"""


def test_a_kept_page_changes_with_writes_from_this_process_and_another(served: Served) -> None:
    client = served.client("read")
    register(served.store)
    run = new_run(served.store, submit=T0)
    assert [r.state for r in client.list_runs(RunQuery()).runs] == [RunState.PENDING]
    assert client.list_runs(RunQuery()).total == 1  # the kept answer
    served.store.update_run(run.run_id, RunUpdate(state=RunState.RUNNING, start_time=T0))
    assert [r.state for r in client.list_runs(RunQuery()).runs] == [RunState.RUNNING]
    subprocess.run([sys.executable, "-c", WRITER, str(served.store.path), str(run.run_id)], check=True)
    assert [r.state for r in client.list_runs(RunQuery()).runs] == [RunState.COMPLETED]
    new_run(served.store, submit=T0)
    assert client.list_runs(RunQuery()).total == 2 and client.list_workflows()[0].n_runs == 2
