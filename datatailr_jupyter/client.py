"""The Client facade notebooks, the CLI and the explorer use: DataFrames and Python values out, no I/O of its own.

It is also the only way they act on runs: ``plan_rerun``, ``rerun`` and ``trigger`` go to the store's own
RunActions when it has them (a ``dt serve`` server runs them with its engine), else to this process's engine.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from .errors import InvalidArgumentError, RunNotFoundError, UntrustedPickleError, WorkflowNotFoundError, known
from .models import (
    ActivityGrid,
    LogChunk,
    ResultMeta,
    RunPage,
    RunQuery,
    RunState,
    RunSummary,
    TaskRun,
    Version,
    WorkflowInfo,
    check_env,
    normalize_name,
)
from .runview import OVERVIEW_COLUMNS, RUN_COLUMNS, RunView, frame_of, overview_row, run_row
from .settings import resolve
from .store.protocols import RunActions, RunStore, read_whole_log
from .store.registry import distrust, open_store
from .timeparse import parse_range

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .store.overview import OverviewPage

__all__ = ["DEFAULT_ENVS", "Client", "RunView", "connect"]

DEFAULT_ENVS = ("dev", "pre", "prod")
When = str | date | datetime | None


class Client:
    """Reads a run store for people: workflows, runs, tasks, logs and results as DataFrames and values.

    Pickled results load only when the store is trusted (``allow_pickle`` None) or ``allow_pickle=True`` says so,
    and never from a directory another user owns or can write to."""

    def __init__(
        self, store: RunStore, env: str = "dev", allow_pickle: bool | None = None, executor: object = None
    ) -> None:
        self.store = store
        self.env = env
        self.allow_pickle = allow_pickle
        self.executor = executor  # what runs local reruns and triggers (None: the configured executor)
        self._actions: RunActions | None = None

    def distrust(self, allow_pickle: bool | None = None) -> str | None:
        """Why this client refuses pickles, with how to trust the store (None when it loads them)."""
        return distrust(self.store, self.allow_pickle if allow_pickle is None else allow_pickle)

    @property
    def label(self) -> str:
        return self.store.label

    def __repr__(self) -> str:
        return f"<datatailr_jupyter.Client store={self.label!r} env={self.env!r}>"

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------ workflows

    def envs(self) -> list[str]:
        """The store's environments, with dev, pre and prod always offered first."""
        found = self.store.list_envs()
        return list(DEFAULT_ENVS) + sorted(set(found) - set(DEFAULT_ENVS))

    def workflow_infos(self, env: str | None = None) -> list[WorkflowInfo]:
        return self.store.list_workflows(None if env is None else check_env(env))

    def workflows(self, env: str | None = None) -> pd.DataFrame:
        rows = [
            {
                "name": w.name,
                "key": w.key,
                "env": w.env,
                "n_tasks": w.n_tasks,
                "schedule": w.schedule,
                "latest_version": w.latest_version,
                "n_runs": w.n_runs,
                "last_state": w.last_state.value if w.last_state else None,
                "last_start_time": w.last_start_time,
                "recent_states": [s.value for s in w.recent_states],
            }
            for w in self.workflow_infos(env)
        ]
        columns = ["name", "key", "env", "n_tasks", "schedule", "latest_version", "n_runs", "last_state"]
        import pandas as pd

        frame = pd.DataFrame(rows, columns=[*columns, "last_start_time", "recent_states"])
        frame["last_start_time"] = pd.to_datetime(frame["last_start_time"], utc=True)
        return frame

    def find_workflow(self, name: str, env: str | None = None) -> WorkflowInfo:
        """A workflow by display name or internal key (exact, then case-insensitive, then normalised)."""
        infos = self.workflow_infos(env)
        for test in (
            lambda w: w.name == name or w.key == name,
            lambda w: w.name.lower() == name.lower(),
            lambda w: w.key == normalize_name(name),
        ):
            for info in infos:
                if test(info):
                    return info
        where = f" in env {env!r}" if env else ""
        raise WorkflowNotFoundError(
            f"no workflow named {name!r}{where}; known workflows: {known(sorted({w.name for w in infos}))}"
        )

    def versions(self, workflow: str) -> list[Version]:
        return self.store.list_versions(workflow)

    def version_sources(self, workflow: str, version: int) -> dict[str, list[str]]:
        """The source lines recorded with a version's code (``{file name: lines}``), read without unpickling it
        (nothing is imported or run, whatever the store's trust); empty when none were recorded."""
        from .stored_code import recorded_sources

        code = self.store.get_code(workflow, version)
        return {} if code is None else recorded_sources(code)

    # ------------------------------------------------------------ runs

    def run_page(self, query: RunQuery) -> RunPage:
        return self.store.list_runs(query)

    def iter_runs(
        self,
        workflow: str | None = None,
        env: str | None = None,
        start: When = None,
        end: When = None,
        states: Iterable[str | RunState] | None = None,
        limit: int | None = 100,
    ) -> Iterable[RunSummary]:
        """Runs newest first, following the store's pages until ``limit`` runs (None: all)."""
        if limit is not None and limit < 0:
            raise InvalidArgumentError(f"limit must be a positive number of runs, got {limit}")
        begin, finish = parse_range(start, end)
        parsed = tuple(RunState.parse(s) for s in (states or ()))
        cursor: str | None = None
        seen = 0
        while limit is None or seen < limit:
            size = 1000 if limit is None else max(1, min(1000, limit - seen))
            query = RunQuery(
                workflow=workflow, env=env, start=begin, end=finish, states=parsed, limit=size, cursor=cursor
            )
            page = self.store.list_runs(query)
            for run in page.runs:
                yield run
                seen += 1
            cursor = page.next_cursor
            if cursor is None or not page.runs:
                return

    def runs(
        self,
        workflow: str | None = None,
        env: str | None = None,
        start: When = None,
        end: When = None,
        states: Iterable[str | RunState] | None = None,
        limit: int | None = 100,
    ) -> pd.DataFrame:
        """Runs newest first as a DataFrame indexed by run_id. Dates: datetime, ISO string, or '7d'/'24h'."""
        rows = [run_row(r) for r in self.iter_runs(workflow, env, start, end, states, limit)]
        return frame_of(rows, RUN_COLUMNS, "run_id")

    def run(self, run_id: int) -> RunView:
        return RunView(self, self.store.get_run(_run_id(run_id)))

    def rerun_family(self, run_id: int) -> list[RunSummary]:
        return self.store.rerun_family(_run_id(run_id))

    def run_summary(self, run_id: int) -> RunSummary:
        """The run's summary without reading its tasks (a big run has thousands): from its rerun family, which every
        store lists from the runs alone (RunNotFoundError for a missing run, as ``run``)."""
        run_id = _run_id(run_id)
        found = [r for r in self.store.rerun_family(run_id) if r.run_id == run_id]
        return found[0] if found else self.store.get_run(run_id).run

    def activity(
        self, workflow: str | None = None, env: str | None = None, start: When = None, end: When = None
    ) -> ActivityGrid:
        begin, finish = parse_range(start, end)
        return self.store.activity(workflow, env, begin, finish)

    # ------------------------------------------------------------ tasks

    def task(self, run_id: int, task: int | str) -> TaskRun:
        """Task ``task`` (an id or a name) of run ``run_id``; by id, only that task is read where the store can."""
        if isinstance(task, int) and not isinstance(task, bool):
            from .store.tasktable import task_of

            return task_of(self.store, _run_id(run_id), task)
        return self.store.get_run(_run_id(run_id)).task(task)

    def result_meta(self, run_id: int, task: int | str) -> ResultMeta | None:
        return self.task(run_id, task).result

    def result(self, run_id: int, task: int | str, allow_pickle: bool | None = None) -> Any:
        """The value a task returned, decoded from the store (pickles only from trusted stores)."""
        from .store.codecs import CODECS, load_stored

        task_run = self.task(run_id, task)
        codec = CODECS.get(task_run.result.codec) if task_run.result else None
        refused = None if codec is None or codec.safe else self.distrust(allow_pickle)
        if refused is not None and task_run.result is not None:  # before reading bytes that will not be used
            raise UntrustedPickleError(
                f"refused to unpickle the {task_run.result.python_type} result of task {task_run.name!r} of run "
                f"{task_run.run_id}: {refused}"
            )
        return load_stored(
            self.store, task_run.run_id, task_run.id, trusted=refused is None, source=f"the store {self.label}"
        )

    def read_log(
        self, run_id: int, task: int | str, stream: str = "stdout", offset: int = 0, limit: int | None = None,
        tail: int | None = None,
    ) -> LogChunk:  # fmt: skip
        task_run = self.task(run_id, task)
        if limit is None:
            return self.store.read_log(task_run.run_id, task_run.id, stream, offset=offset, tail=tail)
        return self.store.read_log(task_run.run_id, task_run.id, stream, offset=offset, limit=limit, tail=tail)

    def logs(self, run_id: int, task: int | str, stream: str = "stdout", tail: int | None = None) -> str:
        """A task's log as text: the whole log, or its last ``tail`` bytes."""
        task_run = self.task(run_id, task)
        if tail is not None:
            return self.store.read_log(task_run.run_id, task_run.id, stream, tail=tail).text
        return read_whole_log(self.store, task_run.run_id, task_run.id, stream)

    # ------------------------------------------------------------ acting on runs

    @property
    def actions(self) -> RunActions:
        """Who runs reruns and triggers: the store's own actions (a server's engine), else this process's engine."""
        if self._actions is None:
            found = getattr(self.store, "actions", None)
            if found is None:
                from .actions import EngineActions

                found = EngineActions(self.store, self.executor)
            self._actions = found
        return self._actions

    @property
    def executes_here(self) -> bool:
        """Whether the runs this client starts execute in this process (so it must live until they end)."""
        return bool(getattr(self.actions, "executes_here", False))

    def plan_rerun(
        self, run_id: int, version: int | None = None, full: bool = False, from_task: int | str | None = None
    ) -> dict[str, Any]:
        """What ``rerun`` with these arguments would reuse, execute and skip, task by task; nothing runs."""
        return self.actions.plan_rerun(_run_id(run_id), version=version, full=full, from_task=from_task)

    def rerun(
        self,
        run_id: int,
        version: int | None = None,
        full: bool = False,
        from_task: int | str | None = None,
        request_key: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
        progress: Callable[[RunSummary], None] | None = None,
    ) -> RunSummary:
        """Rerun ``run_id`` as a new run: from failure by default, ``full=True`` every task, ``from_task`` that
        task and its downstream, ``version=N`` with version N's code. The same ``request_key`` again starts
        nothing new. Returns the new run: when it ended if ``wait``, else as soon as it exists."""
        new_id = self.actions.rerun(
            _run_id(run_id), version=version, full=full, from_task=from_task, request_key=request_key
        )
        return self._finish(new_id, wait, timeout, progress)

    def trigger(
        self,
        workflow: str,
        env: str | None = None,
        version: int | None = None,
        request_key: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
        progress: Callable[[RunSummary], None] | None = None,
    ) -> RunSummary:
        """Run a deployed workflow now (``version`` default: its latest; ``env`` default: the env it was deployed
        to) from its stored code. Returns the new run: when it ended if ``wait``, else as soon as it exists."""
        new_id = self.actions.trigger(
            workflow, env=None if env is None else check_env(env), version=version, request_key=request_key
        )
        return self._finish(new_id, wait, timeout, progress)

    def _finish(
        self, run_id: int, wait: bool, timeout: float | None, progress: Callable[[RunSummary], None] | None
    ) -> RunSummary:
        """The new run when it ended (``wait``: in a notebook its view follows it in the cell's output meanwhile),
        else as it is now."""
        if not wait:
            return self.run_summary(run_id)
        monitor = None
        if "ipykernel" in sys.modules:
            from importlib import import_module

            monitor = import_module("datatailr_jupyter.explorer.runmonitor").display_run(self.store, run_id)
        try:
            return self.wait(run_id, timeout, progress)
        finally:
            if monitor is not None:
                monitor.finish()

    def wait(
        self,
        run_id: int,
        timeout: float | None = None,
        progress: Callable[[RunSummary], None] | None = None,
        poll: float = 0.5,
    ) -> RunSummary:
        """The run once it has ended (or as it stands after ``timeout`` seconds); ``progress`` sees every look."""
        deadline = None if timeout is None else time.monotonic() + timeout
        join = getattr(self.actions, "wait", None) if self.executes_here else None
        while True:
            summary = self.run_summary(run_id)  # not every task of a big run twice a second
            if progress is not None:
                progress(summary)
            if summary.state.is_terminal:
                return summary
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return summary
            step = poll if left is None else min(poll, left)
            if join is None:
                time.sleep(step)
            elif join(run_id, step):  # executed here and done (its end is recorded), or not executed here at all
                join = None  # the next look returns the ended run; a run started elsewhere is polled from now on

    def run_scheduler(self, poll_interval: float = 5.0, log: Callable[[str], None] | None = None) -> None:
        """Start the scheduled runs of the store's deployed workflows until interrupted; they execute here."""
        from .engine.scheduler import run_scheduler

        run_scheduler(self.store, poll_interval=poll_interval, executor=self.executor, log=log or print)

    def latest_run(self, workflow: str, env: str | None = None, state: str | RunState = "completed") -> RunSummary:
        """The newest run of ``workflow`` (display name or key) in ``env`` (default: this client's) in ``state``."""
        env_name = check_env(env or self.env)
        info = self.find_workflow(workflow)
        for run in self.iter_runs(info.key, env_name, states=[state], limit=1):
            return run
        raise RunNotFoundError(
            f"workflow {info.name!r} has no {RunState.parse(state).value} run in env {env_name!r} yet; "
            "run it, or choose another env or a run id"
        )

    # ------------------------------------------------------------ dashboard: overview, compare, debug, definitions

    def overview_page(
        self,
        env: str | None = None,
        name_filter: str | None = None,
        sort: str = "name",
        limit: int = 50,
        cursor: str | None = None,
        days: int = 30,
    ) -> OverviewPage:
        """One page of the workflows overview of ``env`` (default: this client's), computed by the store where it
        can. ``sort``: name, last_run, runs, state, success_rate or median_duration ('-' in front reverses)."""
        from .store.overview import workflow_overview

        return workflow_overview(self.store, check_env(env or self.env), name_filter, sort, limit, cursor, days)

    def overview(
        self,
        env: str | None = None,
        name_filter: str | None = None,
        sort: str = "name",
        limit: int | None = 100,
        days: int = 30,
    ) -> pd.DataFrame:
        """Every workflow of ``env`` (up to ``limit``; None: all) with its task count, latest version, current
        state, schedule in words and next run, last 10 runs, success rate and median duration over ``days`` days,
        and its weekday x hour activity by outcome, one row each, indexed by name."""
        rows: list[dict[str, Any]] = []
        cursor: str | None = None
        while limit is None or len(rows) < limit:
            size = 500 if limit is None else max(1, min(500, limit - len(rows)))
            page = self.overview_page(env, name_filter, sort, size, cursor, days)
            rows += [overview_row(w) for w in page.workflows]
            cursor = page.next_cursor
            if cursor is None or not page.workflows:
                break
        import pandas as pd

        frame = pd.DataFrame(rows, columns=OVERVIEW_COLUMNS)
        frame["next_run"] = pd.to_datetime(frame["next_run"], utc=True)
        return frame.set_index("name")

    def compare(self, a: int, b: int, results: bool = True) -> pd.DataFrame:
        """Runs ``a`` and ``b`` task by task (matched by name, then id): state, duration and its change, executed or
        reused, and a summary of how each result changed (``results=False``: results are not read)."""
        import pandas as pd

        from .compare import COMPARE_COLUMNS, compare_runs

        rows = compare_runs(self, _run_id(a), _run_id(b), results=results)
        return pd.DataFrame(rows, columns=[*COMPARE_COLUMNS, "result_details"]).set_index("task")

    def debug_code(self, run_id: int, task: int | str, store_url: str | None = None) -> str:
        """The text of a notebook cell that calls ``task`` of run ``run_id`` again with the inputs that run passed it
        (upstream results loaded from the store, literals, system parameters) and that version's code of it."""
        from .debugcell import debug_code

        return debug_code(self, _run_id(run_id), task, store_url=store_url)

    def definition(self, workflow: str, version: int | None = None) -> dict[str, Any]:
        """Version ``version`` (default: the latest) of ``workflow`` as data: schedule, resources, env vars, each
        task's function, arguments and code as stored, and the workflow body rebuilt from the definition."""
        from .definitions import definition_details

        return definition_details(self, workflow, self._version_number(workflow, version))

    def definition_diff(self, workflow: str, version: int | None = None) -> str:
        """A unified diff of version ``version`` (default: the latest) of ``workflow`` against the one before it."""
        from .definitions import definition_diff

        return definition_diff(self, workflow, self._version_number(workflow, version))

    def _version_number(self, workflow: str, version: int | None) -> int:
        if version is not None:
            return int(version)
        versions = self.store.list_versions(workflow)
        if not versions:
            raise WorkflowNotFoundError(f"workflow {workflow!r} has no versions yet; run or deploy it first")
        return versions[-1].version


def _run_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidArgumentError(f"a run id is a whole number, not {value!r}")
    try:
        run_id = int(value)
    except ValueError:
        raise InvalidArgumentError(f"a run id is a whole number, not {value!r}") from None
    if run_id <= 0:
        raise RunNotFoundError(f"run ids start at 1; there is no run {run_id}")
    return run_id


def connect(url: str | None = None, token: str | None = None, env: str | None = None, trust: bool = False) -> Client:
    """A Client on the store at ``url`` (else DT_RUNS_STORE, the config file, or the default local store).

    Reading never creates a store: a chosen path with no store there raises "no run store at PATH" (only the
    default local store is created on first use). Pickled results load only from a trusted store: the default
    local store, one listed in $DT_RUNS_TRUSTED_STORES or the config file's ``trusted_stores``, or this one when
    ``trust=True`` -- never from a directory another user owns or can write to."""
    settings = resolve(url, token, env)
    store = open_store(settings.store_url, token=settings.token, create=settings.source == "default", trust=trust)
    return Client(store, env=settings.env)
