"""Where ``dt`` prints: run data without terminal control sequences, tables or JSON; errors and progress on stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

from ..models import RunState, RunSummary
from ..terminal import clean
from .table import Table

__all__ = ["Output", "Progress", "error", "run_progress"]


class Output:
    """Where run data is printed: cleaned of control sequences, colours only when ``color`` (stdout is a terminal
    and colours are wanted); ``raw`` writes logs as stored."""

    def __init__(self, color: bool, raw: bool, as_json: bool = False) -> None:
        self.color = color
        self.raw = raw
        self.as_json = as_json

    def text(self, value: object, end: str = "\n") -> None:
        sys.stdout.write(clean(str(value), self.color) + end)

    def log(self, value: str) -> None:
        sys.stdout.write(value if self.raw else clean(value, self.color))
        sys.stdout.flush()

    def json(self, value: Any) -> None:
        """JSON escapes every control character itself."""
        sys.stdout.write(json.dumps(value, default=str) + "\n")

    def table(self, table: Table, as_json: bool | None = None) -> None:
        """The rows as aligned text, or as a JSON list of records with ``--json`` (``as_json`` overrides it)."""
        if self.as_json if as_json is None else as_json:
            self.json(table.records())
        else:
            self.text(table.text())


def error(message: object) -> None:
    """One line on stderr: control characters removed, so an error quoting run data stays one line."""
    text = clean(str(message)).replace("\n", " ").strip()
    print(f"dt: error: {text}", file=sys.stderr)


class Progress:
    """A progress line on stderr: rewritten in place on a terminal, else one line per change."""

    def __init__(self, in_place: bool = True) -> None:
        self.tty = in_place and sys.stderr.isatty()
        self.last = ""

    def update(self, text: str) -> None:
        text = clean(text).replace("\n", " ")
        if text == self.last:
            return
        self.last = text
        if self.tty:
            sys.stderr.write(f"\r\x1b[2K{text}")
        else:
            sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self.tty and self.last:
            sys.stderr.write("\n")
            sys.stderr.flush()
        self.last = ""


def run_progress(summary: RunSummary) -> str:
    """``dt: run 12 running, 2/5 tasks done`` for a progress line."""
    done = 0
    for state, count in summary.task_counts.items():
        try:
            done += count if RunState.parse(state).is_terminal else 0
        except ValueError:
            continue
    return f"dt: run {summary.run_id} {summary.state.value}, {done}/{summary.n_tasks} tasks done"
