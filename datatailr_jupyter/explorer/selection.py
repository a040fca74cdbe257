"""Checks what a user asked the explorer to show (workflow, env, dates, run, states) against the store."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from ..client import Client, connect
from ..errors import InvalidArgumentError, WorkflowNotFoundError, known
from ..models import RunState, RunSummary, normalize_name, to_wire_time
from ..settings import resolve, store_url_from
from ..timeparse import parse_range

__all__ = ["MAX_PAGE_SIZE", "Selection", "open_client", "parse_states", "run_summary", "select"]

When = str | date | datetime | None
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class Selection:
    """The initial trait values of an explorer, all checked."""

    env: str
    envs: list[str]
    workflow: str = ""  # workflow key, "" for none
    start: str = ""
    end: str = ""
    states: list[str] = field(default_factory=list)
    selected_run: int = 0
    message: str = ""


def open_client(
    store: str | None, client: Client | None, token: str | None = None, trust: bool = False
) -> tuple[Client, bool, str | None]:
    """``(client, owned, store_url)``: the given client, or one connected to ``store`` (else the default store)
    with ``token`` (else DT_RUNS_TOKEN or the config file's) for a remote store; ``trust``: its pickled results
    load even when it is not among the user's trusted stores.

    ``store_url`` is what generated ``load_result`` code must name to reach the same store: None when it is the
    default store (the code then needs no ``store=``).
    """
    if client is not None:
        if store is not None or trust:
            raise InvalidArgumentError("give either store= (and trust=) or client=, not both")
        return client, False, _non_default(client.label)
    opened = connect(store, token, trust=trust)
    return opened, True, _non_default(store_url_from(store)) if store else None


def _non_default(url: str) -> str | None:
    try:
        default = resolve().store_url
    except Exception:  # a broken config file must not stop an explicitly chosen store
        return url
    return None if url in (default, default.removeprefix("sqlite://")) else url


def parse_states(values: Iterable[str | RunState] | str | None) -> list[str]:
    """State names from ``"failed,running"`` or ``["failed", "running"]``; unknown names raise, listing the known."""
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    found: list[str] = []
    for item in items:
        parts = item.split(",") if isinstance(item, str) else [item]
        for part in parts:
            if isinstance(part, str) and not part.strip():
                continue
            state = RunState.parse(part.strip() if isinstance(part, str) else part).value
            if state not in found:
                found.append(state)
    return found


def _wire(value: datetime | None) -> str:
    """ISO-8601 UTC with ``Z``, to the second; "" for an open end."""
    if value is None:
        return ""
    return to_wire_time(value.replace(microsecond=0)) or ""


def select(
    client: Client,
    workflow: str | None = None,
    env: str | None = None,
    since: When = None,
    until: When = None,
    run: int | str | None = None,
    states: Iterable[str | RunState] | str | None = None,
) -> Selection:
    """Check every argument against the store and return the traits to start with; raise a clear error if wrong."""
    envs = client.envs()
    if env is not None and env not in envs:
        raise InvalidArgumentError(f"unknown env {env!r}; known envs: {known(envs)}")
    start, end = parse_range(since, until)
    chosen_env = env if env is not None else client.env
    if chosen_env not in envs:
        envs = [*envs, chosen_env]
    picked = parse_states(states)
    base = Selection(env=chosen_env, envs=envs, start=_wire(start), end=_wire(end), states=picked)
    if run is not None:
        return _select_run(client, base, run, workflow, env)
    if workflow is None or not workflow.strip():
        if not client.workflow_infos():
            notice = f"the store {client.label} has no workflows yet: run one, or check the --store location"
            return Selection(**{**base.__dict__, "message": notice})
        return base
    key, message = _find_workflow(client, workflow.strip(), chosen_env)
    return Selection(**{**base.__dict__, "workflow": key, "message": message})


def _select_run(client: Client, base: Selection, run: int | str, workflow: str | None, env: str | None) -> Selection:
    if isinstance(run, str):
        text = run.strip().lstrip("#")
        if not text.isdigit():
            raise InvalidArgumentError(f"a run id is a whole number like 12, not {run!r}")
        run = int(text)
    summary = run_summary(client, run)
    if workflow and workflow.strip() not in (summary.workflow, summary.workflow_key):
        if normalize_name(workflow) != summary.workflow_key:
            raise InvalidArgumentError(
                f"run {summary.run_id} belongs to workflow {summary.workflow!r}, not {workflow.strip()!r}; "
                f"leave out the workflow name to open it"
            )
    if env is not None and env != summary.env:
        raise InvalidArgumentError(
            f"run {summary.run_id} ran in env {summary.env!r}, not {env!r}; leave out --env to open it"
        )
    envs = base.envs if summary.env in base.envs else [*base.envs, summary.env]
    fields = {**base.__dict__, "env": summary.env, "envs": envs, "workflow": summary.workflow_key}
    return Selection(**{**fields, "selected_run": summary.run_id})


def run_summary(client: Client, run_id: int) -> RunSummary:
    """The run's summary without reading its tasks (a big run has thousands): from its rerun family, which every
    store lists from the runs alone (RunNotFoundError for a missing run, as get_run)."""
    return client.run_summary(run_id)


def _find_workflow(client: Client, name: str, env: str) -> tuple[str, str]:
    """``(key, notice)`` of the workflow called ``name``: in ``env``, else in another env (with a notice)."""
    try:
        return client.find_workflow(name, env).key, ""
    except WorkflowNotFoundError:
        try:
            info = client.find_workflow(name)
        except WorkflowNotFoundError:
            names = sorted({w.name for w in client.workflow_infos()})
            raise WorkflowNotFoundError(f"no workflow named {name!r}; known workflows: {known(names)}") from None
    elsewhere = sorted({w.env for w in client.workflow_infos() if w.key == info.key and w.env != env})
    where = f"; it has runs in {known(elsewhere)}" if elsewhere else ""
    return info.key, f"{info.name!r} has no runs in env {env!r} yet{where}"
