"""``dt log read NAME|RUN_ID``: a run's task logs (the latest run of a workflow by default), once or followed;
and the short form ``dt logs RUN_ID TASK``."""

from __future__ import annotations

import argparse
import time
from typing import Any

from ..client import Client
from ..errors import InvalidArgumentError, RunNotFoundError
from ..models import RunDetail, RunState, TaskRun
from .args import MAX_ID, RUN_ID, add_common, bounded_int, task_ref
from .output import Output, Progress, run_progress

__all__ = ["add_aliases", "add_log"]

FOLLOW_POLL = 0.5  # seconds between looks at a followed run
MAX_READ = 4 << 20

Sub = Any


def add_log(sub: Sub) -> None:
    group = sub.add_parser("log", help="task logs: read")
    add_common(group)
    logs = group.add_subparsers(dest="log_command", required=True, metavar="LOG_COMMAND", parser_class=type(group))
    p = logs.add_parser(
        "read", help="a run's task logs: every task's under a header, or one task's (--task); --follow to tail"
    )
    p.add_argument("target", metavar="NAME|RUN_ID", help="a run id, or a workflow name (its latest run)")
    p.add_argument("--task", help="only this task (name or id)")
    _stream_arguments(p)
    p.add_argument("--follow", "-f", action="store_true", help="keep printing as the run writes, until it ends")
    add_common(p)
    p.set_defaults(handler=read)


def add_aliases(sub: Sub) -> None:
    p = sub.add_parser("logs", help="print a task's log (= dt log read RUN_ID --task TASK)")
    p.add_argument("run_id", type=RUN_ID)
    p.add_argument("task", help="task name or id")
    _stream_arguments(p)
    add_common(p)
    p.set_defaults(handler=logs)


def _stream_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stderr", action="store_true", help="stderr instead of stdout")
    p.add_argument("--tail", type=bounded_int("--tail", 0, MAX_ID), help="only the last N bytes (of each log)")


def logs(args: argparse.Namespace, client: Client, out: Output) -> int:
    out.log(client.logs(args.run_id, task_ref(args.task), _stream(args), tail=args.tail))
    return 0


def _stream(args: argparse.Namespace) -> str:
    return "stderr" if args.stderr else "stdout"


def _run_of(client: Client, target: str, env: str | None) -> RunDetail:
    text = target.strip().lstrip("#")
    if text.isdigit():
        try:
            run_id = RUN_ID(text)
        except argparse.ArgumentTypeError as exc:
            raise InvalidArgumentError(str(exc)) from None
        return client.run(run_id).detail
    info = client.find_workflow(target, env)
    for summary in client.iter_runs(info.key, env, limit=1):
        return client.run(summary.run_id).detail
    where = f" in env {env!r}" if env else ""
    raise RunNotFoundError(f"workflow {info.name!r} has no runs{where} yet")


def read(args: argparse.Namespace, client: Client, out: Output) -> int:
    detail = _run_of(client, args.target, args.env)
    tasks = [detail.task(task_ref(args.task))] if args.task else list(detail.tasks)
    headers = args.task is None
    stream = _stream(args)
    run_id = detail.run.run_id
    offsets: dict[int, int] = {}
    for t in tasks:
        size = client.store.read_log(run_id, t.id, stream, offset=0, limit=1).size if args.tail is not None else 0
        offsets[t.id] = max(0, size - args.tail) if args.tail is not None else 0
    shown: list[int | None] = [None]

    def header(t: TaskRun) -> None:
        if headers and shown[0] != t.id:
            out.text(f"{'' if shown[0] is None else chr(10)}==> task {t.name} (id {t.id}) {stream} <==")
            shown[0] = t.id

    def drain() -> bool:
        """Print what the logs gained since the last look; whether anything was printed."""
        printed = False
        for t in tasks:
            while True:
                chunk = client.store.read_log(run_id, t.id, stream, offset=offsets[t.id], limit=MAX_READ)
                if chunk.next_offset <= offsets[t.id]:
                    break
                header(t)
                out.log(chunk.text)
                offsets[t.id] = chunk.next_offset
                printed = True
                if chunk.next_offset >= chunk.size:
                    break
        return printed

    drain()
    if headers and shown[0] is None:
        out.text(f"(run {run_id}: no task wrote to {stream})")
    if not args.follow:
        return 0
    progress = Progress(in_place=False)  # the logs go to the same terminal: one line per change
    try:
        while True:
            summary = client.store.get_run(run_id).run
            progress.update(run_progress(summary) + " (following its logs; Ctrl+C stops)")
            if summary.state.is_terminal:
                drain()  # what was written before it ended
                break
            time.sleep(FOLLOW_POLL)
            drain()
    finally:
        progress.done()
    return 0 if summary.state is RunState.COMPLETED else 1
