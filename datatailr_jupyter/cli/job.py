"""``dt job``: list workflows, show one (tasks, edges, schedule, versions, code, last runs), run it, list its runs,
rerun a run; and the short forms ``dt workflows``, ``runs``, ``run``, ``result``, ``versions``, ``rerun``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..client import Client
from ..errors import VersionNotFoundError, known
from ..models import RunState, Version
from ..runview import RUN_COLUMNS, TASK_COLUMNS, run_row, task_row
from ..stored_code import function_source
from ..terminal import clean
from .args import MAX_ID, RUN_ID, VERSION, add_common, bounded_int, task_ref
from .output import Output, Progress, run_progress
from .table import Table

__all__ = ["add_aliases", "add_job"]

Sub = Any  # argparse's private _SubParsersAction

WORKFLOW_COLUMNS = ("name", "key", "env", "n_tasks", "schedule", "latest_version", "n_runs", "last_state",
                    "last_start_time")  # fmt: skip
VERSION_COLUMNS = ("version", "created_at", "tasks", "env", "schedule")


def add_job(sub: Sub) -> None:
    group = sub.add_parser("job", help="workflows: ls, get, run, runs, rerun")
    add_common(group)
    jobs = group.add_subparsers(dest="job_command", required=True, metavar="JOB_COMMAND", parser_class=type(group))

    p = jobs.add_parser("ls", help="list workflows with their latest state")
    add_common(p)
    p.set_defaults(handler=ls)

    p = jobs.add_parser("get", help="a workflow: tasks and edges, schedule, versions, code, last runs")
    p.add_argument("name", help="display name or internal name")
    p.add_argument("--version", type=VERSION, help="this version (default: the latest)")
    p.add_argument("--runs", type=bounded_int("--runs", 0, 1000), default=5, help="how many last runs (default 5)")
    add_common(p)
    p.set_defaults(handler=get)

    p = jobs.add_parser("run", help="run a deployed workflow now (its latest version by default)")
    p.add_argument("name", help="display name or internal name")
    p.add_argument("--version", type=VERSION, help="run this version (default: the latest)")
    p.add_argument("--wait", action="store_true", help="wait for the run to end (exit 1 unless it completed)")
    add_common(p)
    p.set_defaults(handler=run)

    p = jobs.add_parser("runs", help="list runs, newest first")
    _runs_arguments(p)
    p.set_defaults(handler=runs)

    p = jobs.add_parser("rerun", help="rerun a run as a new run (from failure by default)")
    _rerun_arguments(p)
    p.set_defaults(handler=rerun)


def add_aliases(sub: Sub) -> None:
    """The short forms of earlier releases."""
    p = sub.add_parser("workflows", help="= dt job ls")
    add_common(p)
    p.set_defaults(handler=ls)

    p = sub.add_parser("runs", help="= dt job runs")
    _runs_arguments(p)
    p.set_defaults(handler=runs)

    p = sub.add_parser("run", help="show one run and its tasks")
    p.add_argument("run_id", type=RUN_ID)
    add_common(p)
    p.set_defaults(handler=show_run)

    p = sub.add_parser("result", help="describe a task's result and print a preview")
    p.add_argument("run_id", type=RUN_ID)
    p.add_argument("task", help="task name or id")
    add_common(p)
    p.set_defaults(handler=result)

    p = sub.add_parser("versions", help="list a workflow's versions (dt job get shows them too)")
    p.add_argument("workflow")
    add_common(p)
    p.set_defaults(handler=versions)

    p = sub.add_parser("rerun", help="= dt job rerun")
    _rerun_arguments(p)
    p.set_defaults(handler=rerun)


def _runs_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("workflow", nargs="?", help="display name or internal name")
    p.add_argument("--since", help="start of the date range: 2026-11-01, '2026-11-01 14:00', 7d, 24h")
    p.add_argument("--until", help="end of the date range (same forms as --since)")
    p.add_argument("--state", action="append", default=[], help="only runs in this state (repeatable)")
    p.add_argument("--limit", type=bounded_int("--limit", 1, 10_000), default=50, help="how many runs (default 50)")
    add_common(p)


def _rerun_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", type=RUN_ID)
    p.add_argument(
        "--version", type=bounded_int("--version", 1, MAX_ID), help="run this version's code (default: the run's own)"
    )
    p.add_argument("--full", action="store_true", help="re-execute every task, reusing nothing")
    p.add_argument("--from-task", help="re-execute this task and everything downstream of it")
    p.add_argument("--plan", action="store_true", help="only show what would be reused, executed or skipped")
    p.add_argument(
        "--no-wait", action="store_true", help="return once the run exists (remote stores: the server runs it)"
    )
    add_common(p)


# ---------------------------------------------------------------- handlers


def ls(args: argparse.Namespace, client: Client, out: Output) -> int:
    rows = [
        {"name": w.name, "key": w.key, "env": w.env, "n_tasks": w.n_tasks, "schedule": w.schedule,
         "latest_version": w.latest_version, "n_runs": w.n_runs, "last_state": w.last_state,
         "last_start_time": w.last_start_time}
        for w in client.workflow_infos(args.env)
    ]  # fmt: skip
    out.table(Table.of(rows, WORKFLOW_COLUMNS))
    return 0


def runs(args: argparse.Namespace, client: Client, out: Output) -> int:
    workflow = client.find_workflow(args.workflow, args.env).key if args.workflow else None
    found = client.iter_runs(workflow, args.env, args.since, args.until, args.state or None, args.limit)
    out.table(Table.of([run_row(r) for r in found], RUN_COLUMNS))
    return 0


def show_run(args: argparse.Namespace, client: Client, out: Output) -> int:
    view = client.run(args.run_id)
    if out.as_json:
        out.json(view.detail.to_dict())
        return 0
    out.text(clean(str(view)))
    if view.summary.error_message:
        out.text(clean(f"error: {view.summary.error_message}"))
    columns = [c for c in TASK_COLUMNS if c != "dependencies"]
    out.table(Table.of([task_row(t) for t in view.detail.tasks], columns), False)
    return 0


def result(args: argparse.Namespace, client: Client, out: Output) -> int:
    meta = client.result_meta(args.run_id, task_ref(args.task))
    if meta is None:
        out.text("No result stored for this task.")
    elif out.as_json:
        out.json(meta.to_dict())
    else:
        shape = f" shape={meta.shape}" if meta.shape else (f" length={meta.length}" if meta.length else "")
        out.text(clean(f"{meta.python_type} ({meta.codec}, {meta.bytes:,} bytes){shape}"))
        out.text(meta.preview)
    return 0


def _version_rows(found: list[Version], columns: tuple[str, ...] = VERSION_COLUMNS) -> Table:
    rows = [
        {
            "version": v.version,
            "created_at": v.created_at,
            "tasks": len(v.definition.get("tasks", [])),
            "env": (v.definition.get("deployment") or {}).get("env"),
            "schedule": v.schedule,
        }
        for v in found
    ]
    return Table.of(rows, columns)


def versions(args: argparse.Namespace, client: Client, out: Output) -> int:
    out.table(_version_rows(client.versions(args.workflow), VERSION_COLUMNS[:3]))
    return 0


def get(args: argparse.Namespace, client: Client, out: Output) -> int:
    info = client.find_workflow(args.name, args.env)
    found = sorted(client.versions(info.key), key=lambda v: v.version)
    numbers = [v.version for v in found]
    if not found:
        target = None
    elif args.version is None:
        target = found[-1]
    elif args.version in numbers:
        target = found[numbers.index(args.version)]
    else:
        raise VersionNotFoundError(
            f"workflow {info.name!r} has no version {args.version}; its versions are {known(numbers)}"
        )
    tasks = target.definition.get("tasks", []) if target else []
    names = {t["id"]: t["name"] for t in tasks}
    edges = [(names.get(d, str(d)), t["name"]) for t in tasks for d in t.get("dependencies", [])]
    sources = client.version_sources(info.key, target.version) if target else {}
    code = {t["name"]: function_source(sources, str(t.get("function", ""))) for t in tasks}
    last = [run_row(r) for r in client.iter_runs(info.key, args.env, limit=args.runs)] if args.runs else None
    deployment = (target.definition.get("deployment") or {}) if target else {}
    if out.as_json:
        out.json({
            "workflow": info.to_dict(),
            "version": target.to_dict() if target else None,
            "versions": [{"version": v.version, "created_at": v.to_dict()["created_at"], "schedule": v.schedule}
                         for v in found],
            "tasks": [{"id": t["id"], "name": t["name"], "function": t.get("function"),
                       "dependencies": [names.get(d, d) for d in t.get("dependencies", [])]} for t in tasks],
            "edges": edges,
            "code": code,
            "runs": [] if last is None else Table.of(last, RUN_COLUMNS).records(),
        })  # fmt: skip
        return 0
    out.text(f"workflow {info.name!r} (key {info.key})")
    if target is None:
        out.text("no versions registered yet")
        return 0
    schedule = target.schedule or deployment.get("schedule")
    where = f"deployed to env {deployment['env']!r}" if deployment.get("env") else "run locally (not deployed)"
    out.text(f"version {target.version} of {len(found)}, {where}; schedule: {schedule or 'none'}")
    out.text("")
    out.text("tasks:")
    table = Table.of(
        [{"id": t["id"], "name": t["name"], "function": t.get("function", ""),
          "after": ", ".join(names.get(d, str(d)) for d in t.get("dependencies", []))} for t in tasks],
        ["id", "name", "function", "after"],
    )  # fmt: skip
    out.table(table, False)
    out.text("")
    out.text("edges:" if edges else "edges: none")
    for up, down in edges:
        out.text(f"  {up} -> {down}")
    out.text("")
    out.text("versions:")
    out.table(_version_rows(found), False)
    out.text("")
    out.text(f"code of version {target.version}:")
    for name, source in code.items():
        function = next((t.get("function", "") for t in tasks if t["name"] == name), "")
        out.text(f"--- {name} ({function}) ---")
        module = str(function).partition(":")[0]
        out.text(source if source is not None else f"(no source recorded: imported from {module}, which holds it)")
    if last is not None:
        out.text("")
        out.text("last runs:")
        columns = ["run_id", "workflow", "env", "state", "start_time", "duration_s", "job_version", "trigger"]
        out.table(Table.of(last, columns), False)
    return 0


def _finish(client: Client, run_id: int, out: Output) -> int:
    progress = Progress()
    try:
        final = client.wait(run_id, progress=lambda s: progress.update(run_progress(s)))
    finally:
        progress.done()
    out.text(f"run {final.run_id}: {final.state.value}")
    if final.error_message and final.state is not RunState.COMPLETED:
        out.text(clean(f"error: {final.error_message}"))
    return 0 if final.state is RunState.COMPLETED else 1


def run(args: argparse.Namespace, client: Client, out: Output) -> int:
    info = client.find_workflow(args.name)
    started = client.trigger(info.key, env=args.env, version=args.version, wait=False)
    where = f"version {started.job_version} in env {started.env!r}"
    if out.as_json and not (args.wait or client.executes_here):
        out.json(started.to_dict())
        return 0
    out.text(f"run {started.run_id} of {info.name!r} started ({where}), trigger manual")
    if client.executes_here and not args.wait:
        print("dt: the store is local, so the run executes in this process: waiting for it to end", file=sys.stderr)
    if not (args.wait or client.executes_here):
        out.text(f"follow it with: dt log read {started.run_id} --follow")
        return 0
    return _finish(client, started.run_id, out)


def rerun(args: argparse.Namespace, client: Client, out: Output) -> int:
    from_task = task_ref(args.from_task) if args.from_task else None
    if args.plan:
        plan = client.plan_rerun(args.run_id, version=args.version, full=args.full, from_task=from_task)
        if out.as_json:
            out.json(plan)
        else:
            rows = plan["tasks"]
            columns = list(dict.fromkeys(["task_id", *(key for row in rows for key in row)]))
            out.table(Table.of(rows, columns), False)
        return 0
    started = client.rerun(args.run_id, version=args.version, full=args.full, from_task=from_task, wait=False)
    if args.no_wait and not client.executes_here:
        out.text(f"run {started.run_id}: {started.state.value} (rerun of run {args.run_id})")
        return 0
    return _finish(client, started.run_id, out)
