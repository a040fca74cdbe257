"""Argument parsing shared by the ``dt`` groups: checked number types, one-line usage errors, the common options."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import NoReturn

from ..terminal import clean

__all__ = [
    "MAX_ID",
    "RUN_ID",
    "VERSION",
    "Parser",
    "add_common",
    "bounded_int",
    "seconds",
    "task_ref",
]

MAX_ID = 2**63 - 1  # SQLite's largest integer


def bounded_int(what: str, low: int, high: int) -> Callable[[str], int]:
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


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seconds must be a number like 5 or 0.5, not {text!r}") from None
    if not (math.isfinite(value) and 0.05 <= value <= 3600):
        raise argparse.ArgumentTypeError(f"seconds must be between 0.05 and 3600, not {text}")
    return value


RUN_ID = bounded_int("a run id", 1, MAX_ID)
VERSION = bounded_int("--version", 1, MAX_ID)


def task_ref(value: str) -> int | str:
    return int(value) if value.isdigit() else value


class Parser(argparse.ArgumentParser):
    """Usage errors in one line that says what was wrong and where the help is (exit 2)."""

    def error(self, message: str) -> NoReturn:
        text = clean(message).replace("\n", " ")
        self.exit(2, f"{self.prog}: error: {text} (see: {self.prog} --help)\n")


def add_common(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """The options every command takes, before or after its name. Below the top level they default to nothing
    (SUPPRESS), so a value given before the command is not reset by the subcommand's parser."""

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("common options (before or after the command)")
    group.add_argument(
        "--store", default=default(None), help="store URL or directory (sqlite:///path, http(s)://host:port)"
    )
    group.add_argument(
        "--token", default=default(None), help="access token of a remote store (else $DT_RUNS_TOKEN, config)"
    )
    group.add_argument("--env", default=default(None), help="environment, e.g. dev, pre, prod")
    group.add_argument("--json", action="store_true", default=default(False), help="print JSON instead of tables")
    group.add_argument(
        "--trust",
        action="store_true",
        default=default(False),
        help="trust the store's pickled code and results (reruns, runs, scheduled runs) even if it is not in "
        "trusted_stores or $DT_RUNS_TRUSTED_STORES; never for a directory another user owns or can write to",
    )
    group.add_argument(
        "--no-color", action="store_true", default=default(False), help="no colours either (also: NO_COLOR=1)"
    )
    group.add_argument(
        "--raw", action="store_true", default=default(False), help="logs: write the stored bytes unchanged"
    )
