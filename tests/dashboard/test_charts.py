"""The plotly figures: their kinds and traces, state colours, reused tasks marked, and text from runs escaped."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest

from datatailr_jupyter import charts
from datatailr_jupyter.client import Client
from datatailr_jupyter.engine import rerun
from datatailr_jupyter.models import STATE_COLOURS
from datatailr_jupyter.store.sqlite import SqliteRunStore
from tests.dashboard.flows import arithmetic

NAME = "Arithmetic <b>&</b> co"


@pytest.fixture()
def runs(store: SqliteRunStore) -> tuple[int, int]:
    failed = arithmetic(b=0, local_run=True, store=store, executor="inline").run_id
    again = rerun(failed, store=store, executor="inline").run_id  # reuses the completed tasks, reruns 'div'
    arithmetic(b=2, local_run=True, store=store, executor="inline")
    return failed, again


def _hovers(fig: go.Figure) -> str:
    return " ".join(str(h) for trace in fig.data for h in (trace.hovertext or ()))


def test_timeline_is_a_gantt_coloured_by_state(client: Client, runs: tuple[int, int]) -> None:
    fig = charts.timeline(runs[0], client)
    bars = [t for t in fig.data if isinstance(t, go.Bar)]
    assert {t.name for t in bars} == {"completed", "failed"}
    for t in bars:
        assert t.orientation == "h" and t.marker.color == STATE_COLOURS[t.name][0]
    assert fig.layout.xaxis.type == "date"
    assert sum(len(t.y) for t in bars) == 5
    json.dumps(fig.to_dict(), default=str)  # the widget gets it as JSON


def test_timeline_marks_reused_tasks_with_a_pattern_and_their_source(client: Client, runs: tuple[int, int]) -> None:
    failed, again = runs
    fig = charts.timeline(again, client)
    reused = [t for t in fig.data if t.name == "completed (reused)"]
    assert len(reused) == 1 and reused[0].marker.pattern.shape == "/"
    assert len(reused[0].y) == 4  # numbers, total, frame, array came from the first run
    assert all(f"reused from #{failed}" in h for h in reused[0].hovertext)
    (executed,) = [t for t in fig.data if t.name == "failed"]  # 'div' ran again (and failed again)
    assert [y.split(" ")[0] for y in executed.y] == ["div"] and executed.marker.pattern.shape == ""


def test_text_from_runs_is_escaped_in_labels_and_hovers(client: Client, runs: tuple[int, int]) -> None:
    fig = charts.timeline(runs[0], client)
    assert "Arithmetic &lt;b&gt;&amp;&lt;/b&gt; co" in fig.layout.title.text and "<b>&</b>" not in fig.layout.title.text
    assert "ZeroDivisionError: division by zero" in _hovers(fig)
    assert charts.escape("<img src=x onerror=alert(1)>\nnext") == "&lt;img src=x onerror=alert(1)&gt;<br>next"
    for fig in (charts.durations(NAME, client=client), charts.heatmap(NAME, client=client)):
        assert "<b>&</b>" not in fig.layout.title.text and "&lt;b&gt;" in fig.layout.title.text


def test_durations_show_a_p50_band_and_mark_failures(client: Client, runs: tuple[int, int]) -> None:
    fig = charts.durations(NAME, env="dev", client=client)
    names = [t.name for t in fig.data]
    assert names[0] == "p95" and names[1].startswith("p50") and fig.data[1].fill == "tonexty"
    failed = next(t for t in fig.data if t.name == "failed")
    assert failed.marker.symbol == "x" and len(failed.x) == 2
    assert "ZeroDivisionError" in _hovers(fig)
    completed = next(t for t in fig.data if t.name == "completed")
    assert len(completed.x) == 1


def test_heatmap_is_weekdays_by_hours(client: Client, runs: tuple[int, int]) -> None:
    fig = charts.heatmap(client=client)
    (trace,) = fig.data
    assert isinstance(trace, go.Heatmap)
    assert len(trace.z) == 7 and all(len(row) == 24 for row in trace.z)
    assert sum(map(sum, trace.z)) == 3 and list(trace.y) == list(charts.WEEKDAYS)


def test_task_durations_follow_one_task_across_runs(client: Client, runs: tuple[int, int]) -> None:
    fig = charts.task_durations(NAME, "div", client=client)
    assert sorted(t.name for t in fig.data) == ["completed", "failed"]
    fig = charts.task_durations(NAME, "total", client=client)
    assert sorted(t.name for t in fig.data) == ["completed", "completed (reused)"]
    reused = next(t for t in fig.data if t.name == "completed (reused)")
    assert reused.marker.symbol == "diamond-open" and f"reused from #{runs[0]}" in reused.hovertext[0]
