"""The ``%dt_runs`` line magic: parses its arguments strictly and returns an Explorer, or prints one clear line."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from typing import Any, NoReturn

from ..errors import DatatailrJupyterError

__all__ = ["dt_runs", "parse_line", "register"]

log = logging.getLogger(__name__)


class MagicArgumentError(Exception):
    """A %dt_runs argument is wrong; the message is the one line shown to the user."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises instead of printing usage and exiting the kernel."""

    def error(self, message: str) -> NoReturn:
        raise MagicArgumentError(message)


def _parser() -> _Parser:
    parser = _Parser(prog="%dt_runs", add_help=False, allow_abbrev=False, exit_on_error=False)
    parser.add_argument("workflow", nargs="*")
    parser.add_argument("-e", "--env")
    parser.add_argument("--store")
    parser.add_argument("--token")
    parser.add_argument("--trust", action="store_true")
    parser.add_argument("--since")
    parser.add_argument("--until")
    parser.add_argument("--run")
    parser.add_argument("--state", action="append", default=[])
    parser.add_argument("--page-size", type=int, dest="page_size", default=25)
    parser.add_argument("-h", "--help", action="store_true")
    return parser


def parse_line(line: str) -> dict[str, Any]:
    """The Explorer keyword arguments for a ``%dt_runs`` line (``{"help": True}`` for ``--help``)."""
    try:
        tokens = shlex.split(line)
    except ValueError as exc:
        raise MagicArgumentError(f"cannot split the arguments: {exc} (check the quotes)") from None
    try:
        args = _parser().parse_intermixed_args(tokens)
    except argparse.ArgumentError as exc:
        raise MagicArgumentError(str(exc)) from None
    if args.help:
        return {"help": True}
    return {
        "workflow": " ".join(args.workflow) or None,
        "env": args.env,
        "store": args.store,
        "token": args.token,
        "trust": args.trust,
        "since": args.since,
        "until": args.until,
        "run": args.run,
        "states": args.state or None,
        "page_size": args.page_size,
    }


def _fail(message: str) -> None:
    """Print ``message`` as the single line the user sees (newlines inside it are folded)."""
    print("%dt_runs: " + " ".join(message.split()), file=sys.stderr)


def dt_runs(line: str = "") -> Any:
    """Explore the runs of a run store: ``%dt_runs [WORKFLOW] [--env ENV] [--since WHEN] [--until WHEN] ...``.

    Shows an interactive explorer: pick a workflow, environment and date range; page through the run table
    (reruns grouped under their first run); open a run to see its DAG coloured by state; click a task to read
    its stdout/stderr (paged, searchable), preview its result and load it into a new cell; rerun a run (from
    its failures, in full, from a task, or with another code version) after previewing what will run.

    Usage
    -----
    %dt_runs                                  every workflow of the default env (DT_RUNS_ENV, else dev)
    %dt_runs my-workflow                      a workflow by internal key ...
    %dt_runs "Simple Data Pipeline"           ... or by display name (quotes optional: words are joined)
    %dt_runs my-workflow --env prod           -e/--env ENV: an environment the store knows (dev, pre, prod, ...)
    %dt_runs --env pre                        every workflow of env pre
    %dt_runs --store sqlite:///data/runs      --store URL: a store URL or directory (default: DT_RUNS_STORE,
                                              the config file, or the local store)
    %dt_runs --store http://host:8787         a `dt serve` server: reruns run on the server; its token comes from
                                              --token TOKEN, else $DT_RUNS_TOKEN, else the config file's token
    %dt_runs my-workflow --since 7d           --since WHEN: runs started at or after WHEN: 2026-11-01,
    %dt_runs --since 2026-11-01 --until 2026-11-08   '2026-11-01 14:30', or a span back from now: 30m, 24h, 7d, 2w
                                              --until WHEN: runs started before WHEN (same forms)
    %dt_runs --store /shared/runs --trust     --trust: load pickled results from a store that is not among your
                                              trusted stores (only for a store whose writers you trust)
    %dt_runs --run 12                         --run ID: open run 12 (selects its workflow and env)
    %dt_runs my-workflow --state failed       --state STATE: only runs in these states; repeat the flag or
    %dt_runs --state failed,running           give a comma list (completed, failed, running, ...)
    %dt_runs --page-size 50                   --page-size N: rows per page of the run table (1-200, default 25)
    w = %dt_runs my-workflow                  the explorer is returned, so it can be kept in a variable
    %dt_runs --help                           this text

    An unknown flag, env, workflow or state, an unreadable date, an empty date range, a missing run or an
    unreachable store is reported in one line, and nothing is shown. The same explorer without the magic:
    ``from datatailr_jupyter import Explorer; Explorer("my-workflow", env="prod", since="7d")``.
    """
    try:
        kwargs = parse_line(line)
        if kwargs.get("help"):
            print(dt_runs.__doc__)
            return None
        from .widget import Explorer

        return Explorer(**kwargs)
    except (MagicArgumentError, DatatailrJupyterError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot open the store: {exc}")
    except Exception as exc:
        log.debug("%%dt_runs %r failed", line, exc_info=True)
        _fail(f"{type(exc).__name__}: {exc}")
    return None


def register(ipython: Any) -> None:
    """Register ``%dt_runs`` on an IPython shell (``%load_ext datatailr_jupyter`` calls this)."""
    ipython.register_magic_function(dt_runs, magic_kind="line", magic_name="dt_runs")
