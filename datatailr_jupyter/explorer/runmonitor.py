"""RunMonitor: one run in a cell's output -- a progress line and the run's DAG, logs and results -- that follows the
run from a kernel thread while the cell that runs it keeps the kernel busy."""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
import warnings
from collections import Counter
from datetime import datetime, timezone
from typing import Any, TypedDict

import traitlets

from ..client import Client
from ..errors import ConfigError
from ..models import RunDetail, RunState, RunSummary
from ..store.protocols import RunStore
from .handlers import dispatch
from .live import Subscription
from .selection import run_summary
from .widget import Explorer

__all__ = [
    "FOLLOW_INTERVAL",
    "Progress",
    "RunMonitor",
    "display_run",
    "notebook_display",
    "progress_of",
    "shown_in_this_cell",
    "view_of",
]

log = logging.getLogger(__name__)

FOLLOW_INTERVAL = 0.5
"""Seconds between two looks at a running run (progress traits and pushed answers)."""

REPUSH_INTERVAL = 2.0
"""Seconds between two pushes of the run's answer even when unchanged (for views rendered since the last)."""

LIVE_PERIOD = 2.0
"""The live feed's pace once the run has ended (the explorer's)."""


class Progress(TypedDict):
    """The progress traits of one look at the run."""

    run_state: str
    n_tasks: int
    n_done: int
    n_running: int
    n_failed: int
    elapsed: float


def progress_of(detail: RunDetail | RunSummary, now: datetime | None = None) -> Progress:
    """Counts of the run's tasks by outcome, its state, and the seconds it has run (to ``now`` while active); from
    the tasks of a RunDetail, or from the task counts a RunSummary carries (no task read: a big run has thousands)."""
    if isinstance(detail, RunSummary):
        run = detail
        counts = {RunState(state): n for state, n in run.task_counts.items()}
    else:
        run = detail.run
        counts = Counter(t.state for t in detail.tasks)
    begin = run.start_time or run.submit_time
    end = run.end_time if run.state.is_terminal else None
    if begin is None:
        elapsed = 0.0
    else:
        elapsed = max(0.0, ((end or now or datetime.now(timezone.utc)) - begin).total_seconds())
    return {
        "run_state": run.state.value,
        "n_tasks": sum(counts.values()),
        "n_done": counts.get(RunState.COMPLETED, 0),
        "n_running": counts.get(RunState.RUNNING, 0),
        "n_failed": sum(n for state, n in counts.items() if state.is_failure),
        "elapsed": math.floor(elapsed * 10) / 10,  # tenths, cut as the view's durations are
    }


class RunMonitor(Explorer):
    """One run, as ``wf(local_run=True)`` shows it in the cell's output: the progress line, the run's DAG coloured
    by state, and a clicked task's logs and results.

    While the run is active a background thread looks at it every ``FOLLOW_INTERVAL`` seconds, sets the progress
    traits, and pushes the answers the view asks for (the run, its running tasks' log tails), so the view follows
    the run even while the kernel runs a cell. The thread stops when the run ends or the widget is closed; then
    the view's requests are answered as the explorer's are.

    Parameters
    ----------
    run : the run id
    store : a store object (as a RunHandle holds), a store URL or directory; default: the configured store
    client : an open ``Client`` to use instead of ``store``
    follow : follow an active run from a background thread (default True)
    """

    mode = traitlets.Unicode("run").tag(sync=True)
    run_state = traitlets.Unicode("").tag(sync=True)
    n_tasks = traitlets.Int(0).tag(sync=True)
    n_done = traitlets.Int(0).tag(sync=True)
    n_running = traitlets.Int(0).tag(sync=True)
    n_failed = traitlets.Int(0).tag(sync=True)
    elapsed = traitlets.Float(0.0).tag(sync=True)
    following = traitlets.Bool(False).tag(sync=True)

    def __init__(
        self,
        run: int,
        store: RunStore | str | None = None,
        client: Client | None = None,
        follow: bool = True,
        **kwargs: Any,
    ) -> None:
        url: str | None = store if isinstance(store, str) else None
        if client is None and store is not None and not isinstance(store, str):
            client = Client(store)  # the engine's own store object: shared, never closed here
        super().__init__(run=run, store=url, client=client, **kwargs)
        self.run_id = self.selected_run
        self.shown_in: int | None = None  # the execution count of the cell that displayed it (display_run)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._repushed = 0.0
        summary = run_summary(self.client, self.run_id)  # the tasks were read once, for the first answers
        self._set_progress(progress_of(summary))
        if follow and not summary.state.is_terminal:
            self.following = True
            # the explorer's live feed pushes the run and its running tasks' log tails when they change
            self._live.fast = FOLLOW_INTERVAL
            self._live.subscribe(Subscription(list_runs=None, env=self.env, run_id=self.run_id, visible=True))
            self._thread = threading.Thread(target=self._follow, name=f"dt-run-monitor-{self.run_id}", daemon=True)
            self._thread.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop following the run (the view keeps what it shows and answers requests again)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def finish(self) -> None:
        """Stop following and show the run as it is now (its end, when the engine returned): one last look."""
        self.stop()
        try:
            self._look()
        except Exception:
            log.exception("could not show how run %s ended", self.run_id)

    def close(self) -> None:
        self.stop()
        super().close()

    def __repr__(self) -> str:
        return (
            f"<datatailr_jupyter.RunMonitor: run {self.run_id} {self.run_state}, {self.n_done} done, "
            f"{self.n_running} running, {self.n_failed} failed of {self.n_tasks} tasks, {self.elapsed:.1f} s>"
        )

    # ------------------------------------------------------------ following the run

    def _set_progress(self, progress: Progress) -> None:
        with self.hold_sync():
            for name, value in progress.items():
                if getattr(self, name) != value:
                    setattr(self, name, value)

    def _follow(self) -> None:
        """The thread: look, set the traits, push; until the run ends (one last look) or the widget closes."""
        try:
            while not self._stop.wait(FOLLOW_INTERVAL):
                if self.comm is None:  # closed without close() (the kernel's widget registry was cleared)
                    return
                ended = self._look()
                if ended:
                    return
        except Exception:  # a store gone away: the view keeps its last state and asks again when the kernel is idle
            log.exception("stopped following run %s", self.run_id)
        finally:
            self._live.fast = LIVE_PERIOD  # the run has ended: the feed goes back to the explorer's pace
            self.following = False

    def _look(self) -> bool:
        """One look at the run; True when it has ended."""
        summary = run_summary(self.client, self.run_id)  # its task counts: no read of every task twice a second
        self._set_progress(progress_of(summary))
        ended = summary.state.is_terminal
        now = time.monotonic()
        if ended or now - self._repushed >= REPUSH_INTERVAL:
            self._repushed = now
            self._push_run()
        return ended

    def _push_run(self) -> None:
        """The run's get-run answer, changed or not: a view that rendered after the feed's last push of it (the
        feed pushes changes only) shows the run without asking the busy kernel."""
        response = dispatch(self.client, "get-run", {"run_id": self.run_id}, None, self._context)
        if "payload" in response and self.comm is not None:
            answer = {"kind": "get-run", "payload": {"run_id": self.run_id}, "answer": response["payload"]}
            self.send({"kind": "live", "answers": [answer]})


# ---------------------------------------------------------------- showing runs in notebooks


def notebook_display() -> bool:
    """Whether runs show as a RunMonitor here: an IPython kernel (not a terminal, not a worker or a fork of the kernel)
    runs this on its main thread, and ``show_runs`` (DT_SHOW_RUNS, else the config file) is not turned off."""
    if "ipykernel" not in sys.modules or threading.current_thread() is not threading.main_thread():
        return False
    from IPython import get_ipython

    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return False
    if getattr(getattr(kernel, "session", None), "pid", os.getpid()) != os.getpid():
        return False  # a process forked from the kernel: its messages would not reach the notebook
    from ..settings import resolve_show_runs

    try:
        return resolve_show_runs()
    except ConfigError as exc:  # said once per run; the run itself goes on
        warnings.warn(f"{exc}; runs are not shown in the cell's output until it is fixed", stacklevel=3)
        return False


def _execution_count() -> int | None:
    from IPython import get_ipython

    shell = get_ipython()
    count = getattr(shell, "execution_count", None)
    return count if isinstance(count, int) else None


def display_run(store: RunStore, run_id: int) -> RunMonitor | None:
    """Show run ``run_id`` in the running cell's output when that is a notebook's (see ``notebook_display``): the
    monitor shown, else None. A monitor that cannot be made never stops the run: the reason is logged."""
    if not notebook_display():
        return None
    from IPython.display import display

    try:
        monitor = RunMonitor(run_id, store=store)
        monitor.shown_in = _execution_count()
        display(monitor)
    except Exception:
        log.exception("could not show run %s in the cell's output", run_id)
        return None
    return monitor


def view_of(store: RunStore, run_id: int) -> RunMonitor | None:
    """What a RunHandle displays in a notebook: a new RunMonitor of the run (a view of its own, nothing selected);
    None where runs are not shown as widgets (a terminal, plain Python, ``show_runs`` off)."""
    if not notebook_display():
        return None
    return RunMonitor(run_id, store=store)


def shown_in_this_cell(shown: object) -> bool:
    """The monitor was displayed by the cell now running (its handle, the cell's result, need not show it again)."""
    return isinstance(shown, RunMonitor) and shown.shown_in is not None and shown.shown_in == _execution_count()
