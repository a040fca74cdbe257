"""Plotly figures of runs for any notebook: a run's task timeline, run durations, the activity heatmap, task durations.

Every function takes an optional ``client`` (default: ``connect()``) and returns a ``plotly.graph_objects.Figure``
(``fig.to_dict()`` is plain JSON, which is how the explorer shows the same figures). Plotly draws a little HTML in
tick labels and hover text (``<b>``, ``<br>``, links), so every text that comes from runs -- task and workflow names,
error messages -- is escaped first: a task called ``<b>x</b>`` is shown as that text, never as markup.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import plotly.graph_objects as go

from .models import STATE_COLOURS, RunState, TaskRun

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client

__all__ = ["durations", "escape", "heatmap", "task_durations", "timeline"]

When = str | date | datetime | None
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ROLLING = 20  # runs in the rolling p50/p95 window
MAX_RUNS = 5000  # newest runs a durations chart reads
MAX_TASK_RUNS = 500  # newest runs a task durations chart reads (one get_run each)
REUSED_PATTERN = "/"


def escape(text: object, limit: int = 500) -> str:
    """``text`` safe for plotly labels: &, < and > escaped, cut to ``limit`` characters, line breaks as <br>."""
    value = str(text)
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return html.escape(value, quote=False).replace("\n", "<br>")


def _client(client: Client | None) -> Client:
    if client is not None:
        return client
    from .client import connect

    return connect()


def _colour(state: RunState | str) -> str:
    return STATE_COLOURS.get(RunState(state).value, STATE_COLOURS["unknown"])[0]


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.3g} s"
    minutes, seconds = divmod(value, 60)
    if minutes < 60:
        return f"{int(minutes)} min {seconds:.0f} s"
    return f"{int(minutes // 60)} h {int(minutes % 60)} min"


def _layout(fig: go.Figure, title: str, **more: Any) -> go.Figure:
    fig.update_layout(
        title={"text": title}, template="plotly_white", margin={"l": 10, "r": 10, "t": 50, "b": 10}, **more
    )
    return fig


# ---------------------------------------------------------------- one run


def timeline(run_id: int, client: Client | None = None) -> go.Figure:
    """A Gantt chart of a run's tasks, one row per task, coloured by state. Reused tasks are hatched and drawn over
    the time their result took in the run it came from ("reused from #N"); tasks that never started are marked at
    the run's start."""
    c = _client(client)
    detail = c.store.get_run(int(run_id))
    run = detail.run
    origin = run.start_time or run.submit_time
    reused_spans = _reused_spans(c, detail.tasks)
    rows: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    marks: list[dict[str, Any]] = []
    labels = {t.id: f"{escape(t.name, 80)} <span style='color:#888'>#{t.id}</span>" for t in detail.tasks}
    for t in detail.tasks:
        hover = _task_hover(t)
        if t.reused_from_run is not None:
            span = reused_spans.get(t.id)
            start = origin
            seconds = span if span is not None else 0.0
            hover += f"<br>reused from #{t.reused_from_run}"
        elif t.start_time is not None:
            start = t.start_time
            seconds = ((t.end_time or run.end_time or t.start_time) - t.start_time).total_seconds()
        else:
            marks.append({"y": labels[t.id], "x": origin, "state": t.state.value, "hover": hover})
            continue
        rows.setdefault((t.state.value, t.reused_from_run is not None), []).append(
            {"y": labels[t.id], "base": start, "x": max(seconds, 0.0) * 1000, "hover": hover}
        )
    fig = go.Figure()
    for (state, reused), items in sorted(rows.items()):
        fig.add_trace(
            go.Bar(
                orientation="h",
                y=[i["y"] for i in items],
                x=[i["x"] for i in items],
                base=[i["base"] for i in items],
                name=f"{state} (reused)" if reused else state,
                marker={
                    "color": _colour(state),
                    "line": {"color": "#333" if reused else _colour(state), "width": 1},
                    "pattern": {"shape": REUSED_PATTERN if reused else ""},
                },
                hovertext=[i["hover"] for i in items],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    for state in sorted({m["state"] for m in marks}):
        items = [m for m in marks if m["state"] == state]
        fig.add_trace(
            go.Scatter(
                y=[m["y"] for m in items],
                x=[m["x"] for m in items],
                mode="markers",
                name=state,
                marker={"symbol": "x-thin-open", "size": 10, "color": _colour(state), "line": {"width": 2}},
                hovertext=[m["hover"] for m in items],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    title = f"Run #{run.run_id} of {escape(run.workflow, 120)} [{escape(run.env, 64)}] v{run.job_version}: "
    title += run.state.value
    order = [labels[t.id] for t in detail.tasks]
    return _layout(
        fig,
        title,
        barmode="overlay",
        xaxis={"type": "date", "title": {"text": "time (UTC)"}},
        yaxis={"categoryorder": "array", "categoryarray": order[::-1], "type": "category"},
        height=max(240, 60 + 26 * len(order)),
        legend={"title": {"text": "state"}},
    )


def _task_hover(t: TaskRun) -> str:
    lines = [f"<b>{escape(t.name, 120)}</b> (task {t.id})", f"state: {t.state.value}"]
    if t.start_time is not None and t.end_time is not None:
        lines.append(f"duration: {_seconds((t.end_time - t.start_time).total_seconds())}")
    if t.function:
        lines.append(f"function: {escape(t.function, 160)}")
    if t.attempt > 1:
        lines.append(f"attempt: {t.attempt}")
    if t.error is not None:
        lines.append(f"error: {escape(f'{t.error.type}: {t.error.message}', 300)}")
    if t.result is not None:
        lines.append(f"result: {escape(t.result.python_type, 80)}, {t.result.bytes:,} bytes")
    return "<br>".join(lines)


def _reused_spans(c: Client, tasks: Iterable[TaskRun]) -> dict[int, float]:
    """Per reused task: how long its result took in the run it came from (looked up by name, then by id)."""
    wanted = [t for t in tasks if t.reused_from_run is not None]
    spans: dict[int, float] = {}
    for source_id in {t.reused_from_run for t in wanted}:
        try:
            source = c.store.get_run(int(source_id or 0))
        except Exception:  # the source run may be gone or unreadable: the bar is drawn without its length
            continue
        by_name = {s.name: s for s in source.tasks}
        by_id = {s.id: s for s in source.tasks}
        for t in wanted:
            if t.reused_from_run != source_id:
                continue
            s = by_name.get(t.name) or by_id.get(t.id)
            if s is not None and s.start_time is not None and s.end_time is not None:
                spans[t.id] = (s.end_time - s.start_time).total_seconds()
    return spans


# ---------------------------------------------------------------- history


def _runs_frame(c: Client, workflow: str, env: str | None, since: When, limit: int) -> pd.DataFrame:
    runs = list(c.iter_runs(workflow, env, start=since, limit=limit))
    frame = pd.DataFrame(
        {
            "run_id": [r.run_id for r in runs],
            "start": pd.to_datetime(pd.Series([r.start_time or r.submit_time for r in runs], dtype=object), utc=True),
            "duration": [r.duration for r in runs],
            "state": [r.state.value for r in runs],
            "error": [r.error_message or "" for r in runs],
            "version": [r.job_version for r in runs],
        }
    )
    return frame.sort_values(["start", "run_id"]).reset_index(drop=True)


def durations(
    workflow: str, env: str | None = None, since: When = None, client: Client | None = None, window: int = ROLLING
) -> go.Figure:
    """Run durations over time: completed runs as points, a rolling p50 line in a p50–p95 band (over the last
    ``window`` completed runs), failed runs marked with a red x (at the time they took to fail)."""
    c = _client(client)
    frame = _runs_frame(c, workflow, env, since, MAX_RUNS)
    fig = go.Figure()
    ok = frame[(frame["state"] == RunState.COMPLETED.value) & frame["duration"].notna()]
    if len(ok):
        rolling = ok["duration"].rolling(window, min_periods=1)
        p50, p95 = rolling.quantile(0.5), rolling.quantile(0.95)
        fig.add_trace(
            go.Scatter(x=ok["start"], y=p95, mode="lines", line={"width": 0}, name="p95", hoverinfo="skip",
                       showlegend=False)
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=ok["start"], y=p50, mode="lines", fill="tonexty", fillcolor="rgba(58,206,172,0.18)",
                line={"color": _colour("completed"), "width": 2}, name=f"p50 (band to p95, {window} runs)",
                hovertemplate="p50 %{y:.3g} s<extra></extra>",
            )
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=ok["start"], y=ok["duration"], mode="markers", name="completed",
                marker={"color": _colour("completed"), "size": 6},
                hovertext=[f"run #{r} v{v}: {_seconds(d)}" for r, v, d in zip(ok["run_id"], ok["version"],
                                                                             ok["duration"], strict=True)],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )  # fmt: skip
    bad = frame[frame["state"].map(lambda s: RunState(s).is_failure)]
    if len(bad):
        fig.add_trace(
            go.Scatter(
                x=bad["start"], y=bad["duration"].fillna(0.0), mode="markers", name="failed",
                marker={"color": _colour("failed"), "symbol": "x", "size": 9},
                hovertext=[f"run #{r}: {s}<br>{escape(e, 300)}" for r, s, e in zip(bad["run_id"], bad["state"],
                                                                                   bad["error"], strict=True)],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )  # fmt: skip
    where = f" [{escape(env, 64)}]" if env else ""
    return _layout(
        fig,
        f"Run durations of {escape(workflow, 120)}{where}",
        xaxis={"type": "date", "title": {"text": "start (UTC)"}},
        yaxis={"title": {"text": "seconds"}, "rangemode": "tozero"},
    )


def heatmap(
    workflow: str | None = None, env: str | None = None, since: When = None, client: Client | None = None
) -> go.Figure:
    """Runs per weekday and UTC hour of their start (all workflows when ``workflow`` is None)."""
    c = _client(client)
    grid = c.activity(workflow, env, start=since)
    counts = [list(row) for row in grid.counts] or [[0] * 24 for _ in range(7)]
    hover = [[f"{WEEKDAYS[d]} {h:02d}:00–{h:02d}:59 UTC: {counts[d][h]} runs" for h in range(24)] for d in range(7)]
    fig = go.Figure(
        go.Heatmap(
            z=counts,
            x=[f"{h:02d}" for h in range(24)],
            y=list(WEEKDAYS),
            colorscale=[[0.0, "#f4f6f8"], [1.0, _colour("completed")]],
            hovertext=hover,
            hovertemplate="%{hovertext}<extra></extra>",
            xgap=2,
            ygap=2,
            colorbar={"title": {"text": "runs"}},
        )
    )
    what = escape(workflow, 120) if workflow else "all workflows"
    where = f" [{escape(env, 64)}]" if env else ""
    return _layout(
        fig,
        f"Activity of {what}{where}: {grid.total:,} runs",
        xaxis={"title": {"text": "hour (UTC)"}, "type": "category"},
        yaxis={"autorange": "reversed", "type": "category"},
    )


def task_durations(
    workflow: str,
    task: str | int,
    env: str | None = None,
    since: When = None,
    client: Client | None = None,
    limit: int = MAX_TASK_RUNS,
) -> go.Figure:
    """One task's duration in each of the newest ``limit`` runs (matched by name, or by id when given a number),
    coloured by state; reused results are hatched diamonds at 0 s ("reused from #N")."""
    c = _client(client)
    points: list[dict[str, Any]] = []
    for run in c.iter_runs(workflow, env, start=since, limit=limit):
        detail = c.store.get_run(run.run_id)
        found = [t for t in detail.tasks if (t.name == task if isinstance(task, str) else t.id == task)]
        if not found:
            continue
        t = found[0]
        seconds = None
        if t.start_time is not None and t.end_time is not None:
            seconds = (t.end_time - t.start_time).total_seconds()
        hover = f"run #{run.run_id} v{run.job_version}<br>" + _task_hover(t)
        if t.reused_from_run is not None:
            hover += f"<br>reused from #{t.reused_from_run}"
        points.append(
            {"x": t.start_time or run.start_time or run.submit_time, "y": seconds, "state": t.state.value,
             "reused": t.reused_from_run is not None, "hover": hover}
        )  # fmt: skip
    fig = go.Figure()
    groups: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for p in points:
        groups.setdefault((p["state"], p["reused"]), []).append(p)
    for (state, reused), items in sorted(groups.items()):
        fig.add_trace(
            go.Scatter(
                x=[i["x"] for i in items],
                y=[i["y"] if i["y"] is not None else 0.0 for i in items],
                mode="markers",
                name=f"{state} (reused)" if reused else state,
                marker={
                    "color": _colour(state),
                    "size": 8,
                    "symbol": "diamond-open" if reused else ("x" if RunState(state).is_failure else "circle"),
                },
                hovertext=[i["hover"] for i in items],
                hovertemplate="%{hovertext}<extra></extra>",
            )
        )
    where = f" [{escape(env, 64)}]" if env else ""
    return _layout(
        fig,
        f"Durations of task {escape(task, 120)} in {escape(workflow, 120)}{where}",
        xaxis={"type": "date", "title": {"text": "start (UTC)"}},
        yaxis={"title": {"text": "seconds"}, "rangemode": "tozero"},
    )
