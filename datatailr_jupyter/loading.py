"""``load_result``: one task's result by workflow name, from any run store, in one line."""

from __future__ import annotations

from typing import Any

from .client import Client, _run_id, connect
from .errors import InvalidArgumentError, RunNotFoundError
from .models import normalize_name

__all__ = ["load_result"]


def load_result(
    workflow: str,
    run: int | str = "latest",
    task: int | str | None = None,
    env: str | None = None,
    store: str | Client | None = None,
    allow_pickle: bool | None = None,
    trust: bool = False,
) -> Any:
    """Load one task's result by workflow name: ``load_result("Daily Report", task="total")`` (the latest completed
    run of the workflow in the env) or ``load_result("Daily Report", run=12, task="total")``.

    The store is ``store`` (a URL, directory or Client), else DT_RUNS_STORE, the config file or the default local
    store, so the same line works in a notebook, a script, or a task of another workflow; ``env`` defaults to
    DT_RUNS_ENV, the config file, or dev. A run id is checked against ``workflow`` and ``env``, so a cell keeps
    meaning what it said when it was written (this is the line the explorer's "load into cell" writes).
    ``trust=True`` loads a pickled result from a store that is not in the user's trusted stores (as
    ``connect(store, trust=True)`` does).
    """
    if task is None:
        raise InvalidArgumentError("load_result needs task= (the task's name or id)")
    client = store if isinstance(store, Client) else connect(store, env=env, trust=trust)
    if trust and allow_pickle is None:
        allow_pickle = True
    try:
        if isinstance(run, str) and run.strip().lower() == "latest":
            run_number = client.latest_run(workflow, env).run_id
        else:
            run_number = _run_id(run)
        detail = client.store.get_run(run_number)
        summary = detail.run
        names = (summary.workflow, summary.workflow_key)
        if workflow not in names and normalize_name(workflow) != summary.workflow_key:
            raise RunNotFoundError(
                f"run {summary.run_id} belongs to workflow {summary.workflow!r}, not {workflow!r}; "
                f"check the run id or the workflow name"
            )
        if env is not None and summary.env != env:
            raise RunNotFoundError(f"run {summary.run_id} ran in env {summary.env!r}, not {env!r}")
        return client.result(summary.run_id, detail.task(task).id, allow_pickle=allow_pickle)
    finally:
        if not isinstance(store, Client):
            client.close()
