"""The ``dt`` command: workflows (``dt job``), logs (``dt log``), the run-store server (``dt serve``, ``dt token``)
and the scheduler; it acts on runs only through the Client, so every command works on a local or a remote store."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from ..client import Client, connect
from ..errors import (
    ConfigError,
    DatatailrJupyterError,
    InvalidArgumentError,
    InvalidNameError,
    UnknownSchemeError,
)
from ..terminal import wants_color
from . import job, log, scheduler, serve, token
from .args import Parser, add_common
from .output import Output, error

__all__ = ["EPILOG", "main"]

EPILOG = """\
The store comes from --store, else $DT_RUNS_STORE, else the config file, else the local default store. A remote
store is http(s)://host:port (a `dt serve` server; token from --token, $DT_RUNS_TOKEN or the config file): reruns
and runs started from here then execute on the server. --store, --token, --env and --json go before or after the
command.
Examples:
  dt job ls --env prod
  dt job get "Daily Sales Report"              (tasks and edges, schedule, versions, code, last runs)
  dt job runs "Daily Sales Report" --env prod --since 7d --state failed
  dt job run "Daily Sales Report" --env prod --wait   (run a deployed workflow now)
  dt job rerun 12 --plan                       (show what a rerun would do)
  dt job rerun 12 --version 3 --full
  dt log read "Daily Sales Report"             (every task's log of its latest run)
  dt log read 12 --task calculate_total --stderr --tail 4096
  dt result 12 calculate_total
  dt token create alice --role execute         (prints the token once)
  dt serve --store /data/team-store --host 0.0.0.0 --port 8787
  dt scheduler                                 (start scheduled runs until interrupted)
Short forms: workflows = job ls, runs = job runs, rerun = job rerun, logs RUN_ID TASK = log read RUN_ID --task
TASK, run RUN_ID shows a run, versions NAME lists versions.
Exit codes: 0 done, 1 not found, refused or a run that did not complete, 2 usage (or no store at --store).
Text from runs is printed without terminal control sequences (colours only on a terminal): --no-color drops
the colours too, and `dt --raw logs ...` writes a log's bytes exactly as stored.
"""

USAGE_ERRORS = (ConfigError, InvalidArgumentError, InvalidNameError, UnknownSchemeError)


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="dt",
        description="Explore, run and rerun workflows recorded in a datatailr_jupyter run store; serve it to a team.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    job.add_job(sub)
    log.add_log(sub)
    serve.add_serve(sub)
    token.add_token(sub)
    scheduler.add_scheduler(sub)
    job.add_aliases(sub)
    log.add_aliases(sub)
    return parser


def _check_env(client: Client, env: str | None) -> None:
    if env is not None and env not in client.envs():
        known = ", ".join(repr(e) for e in client.envs())
        raise InvalidArgumentError(f"unknown env {env!r}; the store knows {known}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out = Output(wants_color(sys.stdout, args.no_color), args.raw, args.json)
    if not getattr(args, "needs_client", True):
        return _guarded(lambda: args.handler(args, None, out))
    try:
        client = connect(args.store, args.token, trust=args.trust)
    except DatatailrJupyterError as exc:  # no store where --store / $DT_RUNS_STORE says: a usage error
        error(exc)
        return 2
    try:
        return _guarded(lambda: _checked(args, client, out))
    finally:
        client.close()


def _checked(args: argparse.Namespace, client: Client, out: Output) -> int:
    if args.command not in ("token", "scheduler"):
        _check_env(client, args.env)
    code: int = args.handler(args, client, out)
    return code


def _guarded(run: Callable[[], int]) -> int:
    try:
        code = run()
        return code
    except USAGE_ERRORS as exc:
        error(exc)
        return 2
    except DatatailrJupyterError as exc:  # not found, refused, unreachable
        error(exc)
        return 1
    except BrokenPipeError:  # `dt logs ... | head`
        return 0
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except (OSError, OverflowError, ValueError) as exc:  # unreadable files, out-of-range values
        error(f"{type(exc).__name__}: {exc}")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
