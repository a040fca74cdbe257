"""Records round-trip through their JSON wire form; names and states are validated with clear messages."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from datatailr_jupyter.errors import InvalidArgumentError, InvalidNameError
from datatailr_jupyter.models import (
    STATE_COLOURS,
    ActivityGrid,
    ResultMeta,
    RunDetail,
    RunQuery,
    RunState,
    RunSummary,
    TaskError,
    TaskRun,
    check_env,
    check_name,
    normalize_name,
)

T0 = datetime(2026, 11, 1, 12, 30, tzinfo=timezone.utc)


def _detail() -> RunDetail:
    run = RunSummary(
        run_id=7,
        workflow="Daily Sales Report",
        workflow_key="daily-sales-report",
        env="prod",
        job_version=3,
        state=RunState.FAILED,
        start_time=T0,
        end_time=T0 + timedelta(seconds=90),
        task_counts={"completed": 1, "failed": 1},
        error_message="ValueError: bad",
        params={"n": 3, "tags": ["a"]},
    )
    tasks = (
        TaskRun(run_id=7, id=0, name="fetch_data", state=RunState.COMPLETED, result=ResultMeta("json", 4, "int")),
        TaskRun(
            run_id=7,
            id=1,
            name="calculate_total",
            dependencies=(0,),
            state=RunState.FAILED,
            error=TaskError("ValueError", "bad", "Traceback..."),
        ),
    )
    return RunDetail(run=run, tasks=tasks)


def test_run_detail_round_trips_through_json() -> None:
    detail = _detail()
    wire = json.loads(json.dumps(detail.to_dict()))
    assert wire["run"]["start_time"] == "2026-11-01T12:30:00Z"
    assert wire["tasks"][1]["state"] == "failed"
    assert RunDetail.from_dict(wire) == detail


def test_run_duration_is_end_minus_start() -> None:
    assert _detail().run.duration == 90.0


def test_detail_task_lookup_by_name_and_id_and_unknown_lists_names() -> None:
    detail = _detail()
    assert detail.task("calculate_total").id == 1
    assert detail.task(0).name == "fetch_data"
    with pytest.raises(LookupError, match="'fetch_data', 'calculate_total'"):
        detail.task("nope")


def test_activity_grid_round_trips() -> None:
    grid = ActivityGrid(counts=tuple(tuple(range(24)) for _ in range(7)), total=7 * 276)
    assert ActivityGrid.from_dict(json.loads(json.dumps(grid.to_dict()))) == grid


@pytest.mark.parametrize(
    ("name", "key"),
    [("Complex Pipeline", "complex-pipeline"), ("  Ünïcode — Ｗｉｄｅ  ", "n-code-wide"), ("a__b", "a-b")],
)
def test_normalize_name_matches_the_sdk_rule(name: str, key: str) -> None:
    assert normalize_name(name) == key


@pytest.mark.parametrize("bad", ["", "   ", "a\nb", "x" * 1000, "tab\there", 12])
def test_check_name_rejects_empty_multiline_and_overlong_names(bad: object) -> None:
    with pytest.raises(InvalidNameError):
        check_name(bad)


@pytest.mark.parametrize("ok", ['quote"s', "it's", "a/b", "..", "Add a and 18"])
def test_check_name_accepts_quotes_slashes_and_dots(ok: str) -> None:
    assert check_name(ok) == ok


def test_check_env_says_what_is_allowed() -> None:
    assert check_env("prod") == "prod"
    with pytest.raises(InvalidNameError, match="letters, digits"):
        check_env("../prod")


# Characters that make a name print as something else: line breaks and other controls (Cc), bidi overrides and
# isolates, zero-width characters and the byte-order mark (Cf), line/paragraph separators.
HIDDEN = [
    ("\n", "U+000A LINE FEED"),
    ("\r", "U+000D CARRIAGE RETURN"),
    ("\t", "U+0009 TAB"),
    ("\x1b", "U+001B ESCAPE"),
    ("\x00", "U+0000 NUL"),
    ("\x7f", "U+007F"),
    ("\x85", "U+0085"),
    ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("\u202d", "U+202D LEFT-TO-RIGHT OVERRIDE"),
    ("\u2066", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    ("\u2067", "U+2067 RIGHT-TO-LEFT ISOLATE"),
    ("\u2068", "U+2068 FIRST STRONG ISOLATE"),
    ("\u2069", "U+2069 POP DIRECTIONAL ISOLATE"),
    ("\u200b", "U+200B ZERO WIDTH SPACE"),
    ("\u200c", "U+200C ZERO WIDTH NON-JOINER"),
    ("\u200d", "U+200D ZERO WIDTH JOINER"),
    ("\ufeff", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    ("\u2028", "U+2028 LINE SEPARATOR"),
]


@pytest.mark.parametrize(("char", "code_point"), HIDDEN)
@pytest.mark.parametrize("where", ["invoice{}txt", "{}leading", "trailing{}"])
def test_check_name_names_the_hidden_character_it_refuses(char: str, code_point: str, where: str) -> None:
    with pytest.raises(InvalidNameError, match=re.escape(code_point)):
        check_name(where.format(char), "workflow name")


@pytest.mark.parametrize(("char", "code_point"), HIDDEN)
def test_check_env_refuses_hidden_characters_anywhere_including_a_trailing_newline(char: str, code_point: str) -> None:
    for env in (f"prod{char}", f"{char}prod", f"pr{char}od"):
        with pytest.raises(InvalidNameError, match=re.escape(code_point)):
            check_env(env)


@pytest.mark.parametrize("ok", ["Café Report", "日次レポート", "a—b", "emoji 🚀", "x y"])
def test_check_name_accepts_visible_unicode(ok: str) -> None:
    assert check_name(ok) == ok


def test_state_parse_lists_known_states_and_every_state_has_a_colour() -> None:
    with pytest.raises(InvalidArgumentError, match="completed"):
        RunState.parse("done")
    assert {s.value for s in RunState} == set(STATE_COLOURS)
    assert RunState.RUNNING.is_terminal is False and RunState.DID_NOT_RUN.is_terminal


def test_run_query_rejects_naive_dates_reversed_ranges_and_bad_limits() -> None:
    with pytest.raises(InvalidArgumentError, match="time zone"):
        RunQuery(start=datetime(2026, 1, 1))
    with pytest.raises(InvalidArgumentError, match="not after start"):
        RunQuery(start=T0, end=T0 - timedelta(days=1))
    with pytest.raises(InvalidArgumentError, match="limit"):
        RunQuery(limit=0)
