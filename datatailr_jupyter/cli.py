"""The ``dt`` command: list workflows and runs, read logs and results, rerun runs and serve schedules."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import pandas as pd

from .client import Client, connect
from .errors import DatatailrJupyterError, InvalidArgumentError
from .terminal import clean, wants_color

EPILOG = """\
The store comes from --store, else $DT_RUNS_STORE, else the config file, else the local default store.
Examples:
  dt workflows --env prod
  dt runs "Daily Sales Report" --env prod --since 7d --state failed
  dt run 12
  dt logs 12 calculate_total --stderr --tail 4096
  dt result 12 calculate_total
  dt rerun 12 --plan          (show what a rerun would do)
  dt rerun 12 --version 3 --full
  dt scheduler                 (start scheduled runs until interrupted)
Text from runs is printed without terminal control sequences (colours only on a terminal): --no-color drops
the colours too, and `dt --raw logs ...` writes a log's bytes exactly as stored.
"""

MAX_ID = 2**63 - 1  # SQLite's largest integer


def _bounded_int(what: str, low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number within [low, high], with a message that says which range."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number, not {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what} must be between {low:,} and {high:,}, not {text}")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seconds must be a number like 5 or 0.5, not {text!r}") from None
    if not (math.isfinite(value) and 0.05 <= value <= 3600):
        raise argparse.ArgumentTypeError(f"seconds must be between 0.05 and 3600, not {text}")
    return value


RUN_ID = _bounded_int("a run id", 1, MAX_ID)


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line that says what was wrong and where the help is (exit 2)."""

    def error(self, message: str) -> NoReturn:
        text = clean(message).replace("\n", " ")
        self.exit(2, f"{self.prog}: error: {text} (see: {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dt",
        description="Explore and rerun workflow runs recorded in a datatailr_jupyter run store.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--store", help="store URL or directory (sqlite:///path, http(s)://host)")
    parser.add_argument("--token", help="access token for a remote store (else $DT_RUNS_TOKEN)")
    parser.add_argument(
        "--trust",
        action="store_true",
        help="trust the store's pickled code and results (reruns, scheduled runs) even if it is not in "
        "trusted_stores or $DT_RUNS_TRUSTED_STORES; never for a directory another user owns or can write to",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--no-color", action="store_true", help="no colours either (also: NO_COLOR=1)")
    parser.add_argument("--raw", action="store_true", help="logs: write the stored bytes unchanged")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("workflows", help="list workflows with their latest state")
    p.add_argument("--env", help="only this environment")

    p = sub.add_parser("runs", help="list runs, newest first")
    p.add_argument("workflow", nargs="?", help="display name or internal name")
    p.add_argument("--env", help="environment, e.g. dev, pre, prod")
    p.add_argument("--since", help="start of the date range: 2026-11-01, '2026-11-01 14:00', 7d, 24h")
    p.add_argument("--until", help="end of the date range (same forms as --since)")
    p.add_argument("--state", action="append", default=[], help="only runs in this state (repeatable)")
    p.add_argument("--limit", type=_bounded_int("--limit", 1, 10_000), default=50, help="how many runs (default 50)")

    p = sub.add_parser("run", help="show one run and its tasks")
    p.add_argument("run_id", type=RUN_ID)

    p = sub.add_parser("logs", help="print a task's log")
    p.add_argument("run_id", type=RUN_ID)
    p.add_argument("task", help="task name or id")
    p.add_argument("--stderr", action="store_true", help="stderr instead of stdout")
    p.add_argument("--tail", type=_bounded_int("--tail", 0, MAX_ID), help="only the last N bytes")

    p = sub.add_parser("result", help="describe a task's result and print a preview")
    p.add_argument("run_id", type=RUN_ID)
    p.add_argument("task", help="task name or id")

    p = sub.add_parser("versions", help="list a workflow's versions")
    p.add_argument("workflow")

    p = sub.add_parser("rerun", help="rerun a run as a new run (from failure by default)")
    p.add_argument("run_id", type=RUN_ID)
    p.add_argument(
        "--version",
        type=_bounded_int("--version", 1, MAX_ID),
        help="run this version's code (default: the run's own version)",
    )
    p.add_argument("--full", action="store_true", help="re-execute every task, reusing nothing")
    p.add_argument("--from-task", help="re-execute this task and everything downstream of it")
    p.add_argument("--plan", action="store_true", help="only show what would be reused, executed or skipped")

    p = sub.add_parser("scheduler", help="start scheduled runs of deployed workflows until interrupted")
    p.add_argument("--poll", type=_seconds, default=5.0, help="seconds between checks (default 5)")
    return parser


def _task_ref(value: str) -> int | str:
    return int(value) if value.isdigit() else value


class Output:
    """Where run data is printed: cleaned of control sequences, colours only when stdout is a terminal."""

    def __init__(self, no_color: bool, raw: bool) -> None:
        self.color = wants_color(sys.stdout, no_color)
        self.raw = raw

    def text(self, value: object, end: str = "\n") -> None:
        sys.stdout.write(clean(str(value), self.color) + end)

    def log(self, value: str) -> None:
        sys.stdout.write(value if self.raw else clean(value, self.color))

    def frame(self, frame: pd.DataFrame, as_json: bool) -> None:
        if as_json:  # JSON escapes every control character itself
            self.text(frame.reset_index().to_json(orient="records", date_format="iso"))
        elif frame.empty:
            self.text("(none)")
        else:
            with pd.option_context("display.max_rows", None, "display.width", 200, "display.max_colwidth", 60):
                self.text(clean(frame.to_string()))


def _run(args: argparse.Namespace, client: Client) -> int:
    cmd = args.command
    out = Output(args.no_color, args.raw)
    env = getattr(args, "env", None)
    if env is not None and env not in client.envs():
        known = ", ".join(repr(e) for e in client.envs())
        raise InvalidArgumentError(f"unknown env {env!r}; the store knows {known}")
    if cmd == "workflows":
        out.frame(client.workflows(args.env).drop(columns=["recent_states"]), args.json)
    elif cmd == "runs":
        workflow = client.find_workflow(args.workflow, args.env).key if args.workflow else None
        frame = client.runs(workflow, args.env, args.since, args.until, args.state or None, args.limit)
        out.frame(frame, args.json)
    elif cmd == "run":
        view = client.run(args.run_id)
        if args.json:
            out.text(json.dumps(view.detail.to_dict()))
        else:
            out.text(clean(str(view)))
            if view.summary.error_message:
                out.text(clean(f"error: {view.summary.error_message}"))
            out.frame(view.tasks.drop(columns=["dependencies"]), False)
    elif cmd == "logs":
        text = client.logs(args.run_id, _task_ref(args.task), "stderr" if args.stderr else "stdout", tail=args.tail)
        out.log(text)
    elif cmd == "result":
        meta = client.result_meta(args.run_id, _task_ref(args.task))
        if meta is None:
            print("No result stored for this task.")
        elif args.json:
            out.text(json.dumps(meta.to_dict()))
        else:
            shape = f" shape={meta.shape}" if meta.shape else (f" length={meta.length}" if meta.length else "")
            out.text(clean(f"{meta.python_type} ({meta.codec}, {meta.bytes:,} bytes){shape}"))
            out.text(meta.preview)
    elif cmd == "versions":
        rows = [
            {"version": v.version, "created_at": v.created_at, "tasks": len(v.definition.get("tasks", []))}
            for v in client.versions(args.workflow)
        ]
        out.frame(pd.DataFrame(rows, columns=["version", "created_at", "tasks"]).set_index("version"), args.json)
    elif cmd == "rerun":
        return _rerun(args, client, out)
    elif cmd == "scheduler":
        from .engine.scheduler import run_scheduler

        print(f"dt scheduler: watching {client.label} (Ctrl+C to stop)", flush=True)
        try:
            run_scheduler(client.store, poll_interval=args.poll, log=lambda line: print(clean(line), flush=True))
        except KeyboardInterrupt:
            print("dt scheduler: stopped")
    return 0


def _rerun(args: argparse.Namespace, client: Client, out: Output) -> int:
    from .engine import plan_rerun, rerun

    from_task = _task_ref(args.from_task) if args.from_task else None
    if args.plan:
        plan = plan_rerun(args.run_id, version=args.version, full=args.full, from_task=from_task, store=client.store)
        data: dict[str, Any] = plan.to_dict()
        if args.json:
            out.text(json.dumps(data))
        else:
            out.frame(pd.DataFrame(data["tasks"]).set_index("task_id"), False)
        return 0
    handle = rerun(args.run_id, version=args.version, full=args.full, from_task=from_task, store=client.store)
    print(f"run {handle.run_id}: {handle.state.value}")
    return 0 if handle.state.value == "completed" else 1


def _error(message: object) -> None:
    """One line on stderr: control characters removed, so an error quoting run data stays one line."""
    text = clean(str(message)).replace("\n", " ").strip()
    print(f"dt: error: {text}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        client = connect(args.store, args.token, trust=args.trust)
    except DatatailrJupyterError as exc:
        _error(exc)
        return 2
    try:
        return _run(args, client)
    except DatatailrJupyterError as exc:
        _error(exc)
        return 2
    except BrokenPipeError:  # `dt logs ... | head`
        return 0
    except (OSError, OverflowError, ValueError) as exc:  # unreadable files, out-of-range values
        _error(f"{type(exc).__name__}: {exc}")
        return 1
    finally:
        client.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
