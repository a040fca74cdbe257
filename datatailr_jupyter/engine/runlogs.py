"""Where a run's task logs go: the store's log files, or temporary files the run loop copies into the store.

A store with local log files names each task's files (``<dir>/<task>.<stream>``); after the first one the run loop
names the rest from that directory without asking the store (no ``Path`` per file). A store without local log
files (a remote one) gets temporary files, whose new bytes are copied into it with ``append_log`` when a task ends
and at least every 0.5 s while tasks run.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from ..store.protocols import RunStore
from .clock import Clock
from .workers import system_line

__all__ = ["RunLogs"]

_FLUSH_LOGS_EVERY = 0.5


class RunLogs:
    """The log files of one run's tasks."""

    def __init__(self, store: RunStore, run_id: int, clock: Clock) -> None:
        self.store, self.run_id, self.clock = store, run_id, clock
        self.temp: dict[tuple[int, str], tuple[Path, int]] = {}  # temporary files: (path, bytes copied)
        self.temp_dir: str | None = None
        self.dirs: set[Path] = set()
        self.dir: str | None = None  # the run's log directory, once the store named a first log file in it
        self.last_pump = 0.0

    def path(self, tid: int, stream: str) -> str:
        if self.dir is not None:  # the store's layout, <dir>/<task>.<stream>, without a Path per file
            return f"{self.dir}/{tid}.{stream}"
        path = self.store.log_path(self.run_id, tid, stream)
        if path is None:
            if self.temp_dir is None:
                self.temp_dir = tempfile.mkdtemp(prefix=f"dt-run-{self.run_id}-")
            path = Path(self.temp_dir) / f"{tid}.{stream}"
            self.temp[(tid, stream)] = (path, 0)
        elif path.parent not in self.dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.dirs.add(path.parent)
            if path.name == f"{tid}.{stream}":
                self.dir = str(path.parent)
        return str(path)

    def append_line(self, tid: int, text: str) -> None:
        """Append an engine line (best effort) to the task's stdout log."""
        try:
            with open(self.path(tid, "stdout"), "ab") as fh:
                fh.write(system_line(self.clock, text))
        except OSError:
            pass

    def pump_task(self, tid: int) -> None:
        """Copy what a finished task's temporary logs hold into the store."""
        for stream in ("stdout", "stderr"):
            if (tid, stream) in self.temp:
                self._pump_one(tid, stream)

    def pump(self, force: bool = False) -> None:
        """Copy the temporary logs' new bytes into the store, at most every 0.5 s unless forced."""
        if not self.temp:
            return
        now = time.monotonic()
        if not force and now - self.last_pump < _FLUSH_LOGS_EVERY:
            return
        self.last_pump = now
        for tid, stream in list(self.temp):
            self._pump_one(tid, stream)

    def _pump_one(self, tid: int, stream: str) -> None:
        path, offset = self.temp[(tid, stream)]
        try:
            with open(path, "rb") as fh:
                fh.seek(offset)
                data = fh.read()
        except FileNotFoundError:
            return
        if data:
            self.store.append_log(self.run_id, tid, stream, data)
            self.temp[(tid, stream)] = (path, offset + len(data))

    def close(self) -> None:
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
