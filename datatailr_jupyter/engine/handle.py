"""RunHandle: what running a workflow returns -- the run's id, state, results (loaded lazily), tasks and a summary."""

from __future__ import annotations

import html
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ResultNotFoundError
from ..models import RunDetail, RunState
from ..store.protocols import read_whole_log

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..store.protocols import RunStore

__all__ = ["RunHandle"]


class _Results(Mapping[str, Any]):
    """Task name -> returned value; each value is read from the store (and decoded) when first asked for."""

    def __init__(self, handle: RunHandle) -> None:
        self._handle = handle
        self._cache: dict[str, Any] = {}

    def _names(self) -> list[str]:
        return [t.name for t in self._handle.detail().tasks if t.result is not None]

    def __getitem__(self, name: str) -> Any:
        if name not in self._cache:
            self._cache[name] = self._handle.result(name)
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return f"<results of run {self._handle.run_id}: {', '.join(map(repr, self._names())) or 'none'}>"


class RunHandle:
    """A run recorded in a store. ``results["task"]`` loads a value; ``tasks`` is a DataFrame of the tasks."""

    def __init__(
        self, store: RunStore, run_id: int, thread: threading.Thread | None = None, shown: object = None
    ) -> None:
        self.store = store
        self.run_id = run_id
        self._thread = thread
        self._shown = shown  # the RunMonitor that showed the run in its cell, if one did
        self.results: Mapping[str, Any] = _Results(self)
        self.error: BaseException | None = None  # set when a background run's loop raised

    def detail(self) -> RunDetail:
        return self.store.get_run(self.run_id)

    @property
    def state(self) -> RunState:
        return self.detail().run.state

    @property
    def done(self) -> bool:
        return self.state.is_terminal

    def wait(self, timeout: float | None = None) -> RunHandle:
        """Block until the run ends (runs started with ``wait=False`` execute in a background thread)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self

    def result(self, task: str | int) -> Any:
        """The value ``task`` (name or id) returned, decoded from the store."""
        from ..store.codecs import decode

        t = self.detail().task(task)
        if t.result is None:
            raise ResultNotFoundError(
                f"task {t.name!r} of run {self.run_id} has no result (it ended {t.state.value}); "
                "only completed tasks have results"
            )
        from ..errors import UntrustedPickleError
        from ..store.codecs import CODECS
        from ..store.registry import distrust

        codec = CODECS.get(t.result.codec)
        refused = None if codec is None or codec.safe else distrust(self.store)
        if refused is not None:
            raise UntrustedPickleError(
                f"refused to unpickle the {t.result.python_type} result of task {t.name!r} of run {self.run_id}: "
                f"{refused}"
            )
        meta, data = self.store.read_result(self.run_id, t.id)
        return decode(meta, data, trusted=True, source=f"the store {self.store.label}")

    def logs(self, task: str | int, stream: str = "stdout") -> str:
        """A task's whole log (engine lines included) as text."""
        return read_whole_log(self.store, self.run_id, self.detail().task(task).id, stream)

    @property
    def tasks(self) -> pd.DataFrame:
        import pandas as pd

        rows = []
        for t in self.detail().tasks:
            duration = None
            if t.start_time is not None and t.end_time is not None:
                duration = (t.end_time - t.start_time).total_seconds()
            rows.append(
                {
                    "id": t.id,
                    "name": t.name,
                    "state": t.state.value,
                    "start_time": t.start_time,
                    "end_time": t.end_time,
                    "duration_s": duration,
                    "dependencies": list(t.dependencies),
                    "reused_from_run": t.reused_from_run,
                    "result_type": t.result.python_type if t.result else None,
                    "error": f"{t.error.type}: {t.error.message}" if t.error else None,
                }
            )
        frame = pd.DataFrame(rows)
        for col in ("start_time", "end_time"):
            if col in frame:
                frame[col] = pd.to_datetime(frame[col], utc=True)
        return frame.set_index("id") if len(frame) else frame

    # ------------------------------------------------------------ display

    def _summary(self) -> dict[str, Any]:
        detail = self.detail()
        run = detail.run
        counts = Counter(t.state.value for t in detail.tasks)
        failed = next((t for t in detail.tasks if t.state.is_failure and t.error is not None), None)
        error = None
        if failed is not None and failed.error is not None:
            first_line = (failed.error.message or failed.error.type).splitlines()[0] if failed.error.message else ""
            error = f"{failed.name}: {failed.error.type}: {first_line}"
        elif run.error_message:
            error = run.error_message.splitlines()[0]
        return {
            "run": run,
            "counts": counts,
            "duration": run.duration,
            "error": error,
            "reused": sum(1 for t in detail.tasks if t.reused_from_run is not None),
        }

    def __repr__(self) -> str:
        s = self._summary()
        run = s["run"]
        parts = ", ".join(f"{n} {state}" for state, n in sorted(s["counts"].items()))
        duration = f" in {s['duration']:.2f} s" if s["duration"] is not None else ""
        head = f"<run {run.run_id} of {run.workflow!r} [{run.env}] v{run.job_version}"
        text = f"{head}: {run.state.value}{duration} ({parts})"
        if s["error"]:
            text += f"; {s['error']}"
        return text + ">"

    def _ipython_display_(self) -> None:
        """In a notebook, the run's view (the RunMonitor of the explorer); elsewhere the HTML and text summary.
        Nothing when the cell that ran the workflow already shows it."""
        from IPython.display import display

        monitor = None
        if "ipykernel" in sys.modules:
            from importlib import import_module

            runmonitor = import_module("datatailr_jupyter.explorer.runmonitor")
            if runmonitor.shown_in_this_cell(self._shown):
                return
            monitor = runmonitor.view_of(self.store, self.run_id)
        if monitor is not None:
            display(monitor)
        else:
            display({"text/plain": repr(self), "text/html": self._repr_html_()}, raw=True)

    def _repr_html_(self) -> str:
        from ..models import STATE_COLOURS

        s = self._summary()
        run = s["run"]
        esc = html.escape

        def pill(state: str, label: str) -> str:
            bg, dark = STATE_COLOURS.get(state, ("#888", False))
            fg = "#3c4249" if dark else "#fff"
            return (
                f'<span style="background:{bg};color:{fg};border-radius:8px;padding:1px 7px;'
                f'margin-right:4px;font-size:12px">{esc(label)}</span>'
            )

        counts = "".join(pill(state, f"{n} {state.replace('_', ' ')}") for state, n in sorted(s["counts"].items()))
        duration = f"{s['duration']:.2f} s" if s["duration"] is not None else "not finished"
        rows = [
            f"<b>{esc(run.workflow)}</b> &middot; run {run.run_id} &middot; env {esc(run.env)} &middot; "
            f"v{run.job_version} &middot; {pill(run.state.value, run.state.value.replace('_', ' '))}",
            f"duration {esc(duration)} &middot; tasks: {counts}",
        ]
        if s["reused"]:
            rows.append(f"{s['reused']} result(s) reused from earlier runs")
        if s["error"]:
            rows.append(f'<span style="color:#c62828">first failure: {esc(s["error"])}</span>')
        rows.append(
            f'<span style="color:#777">explore: <code>%dt_runs "{esc(run.workflow)}" --env {esc(run.env)}</code>'
            f" &middot; <code>.results[name]</code> &middot; <code>.tasks</code></span>"
        )
        return '<div style="font-family:sans-serif;line-height:1.6">' + "<br>".join(rows) + "</div>"
