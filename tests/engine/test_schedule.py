"""The Schedule helper builds and validates cron strings locally; cron tick arithmetic honours 5/6 fields and zones."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from datatailr_jupyter.engine import Schedule
from datatailr_jupyter.engine.schedule import check_cron, latest_tick, next_tick, ticks_between
from datatailr_jupyter.errors import DefinitionError

UTC = timezone.utc


@pytest.mark.parametrize(
    ("kwargs", "cron"),
    [
        ({"at_minutes": [0]}, "0 0 * * * *"),
        ({"at_minutes": [0, 15, 30, 45], "at_hours": [0, 12]}, "0 0,15,30,45 0,12 * * *"),
        ({"every_minute": 5}, "0 */5 * * * *"),
        ({"at_hours": [6], "weekdays": ["Monday", "fri"]}, "0 0 6 * * 1,5"),
        ({"weekdays": ["sun"]}, "0 0 0 * * 0"),
        ({"day_of_month": 15, "in_month": ["Jan", "jul"]}, "0 0 0 15 1,7 *"),
        ({"every_hour": 2, "every_month": 3}, "0 0 */2 * */3 *"),
    ],
)
def test_schedule_fields_build_a_six_field_cron(kwargs, cron):
    assert Schedule(**kwargs).cron == cron
    assert check_cron(cron) == cron


def test_raw_cron_expression_is_honoured_not_replaced():
    assert Schedule(cron_expression="*/15 9-17 * * 1-5").cron == "0 */15 9-17 * * 1-5"
    assert Schedule(cron_expression="30 0 6 * * *").cron == "30 0 6 * * *"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"at_minutes": [60]}, "from 0 to 59"),
        ({"at_hours": [24]}, "from 0 to 23"),
        ({"weekdays": ["someday"]}, "use names such as Mon"),
        ({"in_month": ["Smarch"]}, "use names such as Jan"),
        ({"every_minute": 0}, "from 1 to 59"),
        ({"at_minutes": [0], "every_minute": 5}, "not both"),
        ({"cron_expression": "0 * * * *", "at_hours": [1]}, "not both"),
        ({"cron_expression": "61 * * * *"}, "not a valid cron"),
        ({}, "needs cron_expression"),
        ({"at_minutes": [0], "timezone": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_bad_schedule_fields_say_what_is_wrong(kwargs, message):
    with pytest.raises(DefinitionError, match=message):
        Schedule(**kwargs)


def test_cron_field_count_is_checked():
    with pytest.raises(DefinitionError, match="has 3 fields"):
        check_cron("* * *")


def test_latest_and_next_ticks_for_five_and_six_fields():
    now = datetime(2026, 11, 23, 10, 30, 5, tzinfo=UTC)
    assert latest_tick("0 * * * *", now) == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert latest_tick("0 30 10 * * *", now) == datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
    assert latest_tick("0 10 * * *", datetime(2026, 11, 23, 10, 0, tzinfo=UTC)) == datetime(
        2026, 11, 23, 10, 0, tzinfo=UTC
    )
    assert next_tick("0 * * * *", now) == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    assert ticks_between("0 * * * *", datetime(2026, 11, 23, 0, 0, tzinfo=UTC), now) == 10


def test_time_zone_prefix_computes_ticks_in_that_zone():
    sched = Schedule(at_hours=[9], timezone="America/New_York")
    assert sched.expression == "TZ=America/New_York 0 0 9 * * *"
    now = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 11:00 in New York (EST, UTC-5)
    assert latest_tick(sched.expression, now) == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "expr",
    ["0 0 30 2 *", "0 0 31 2 *", "0 0 31 4 *", "0 0 31 6 *", "0 0 0 30 2 *", "TZ=Europe/Berlin 0 0 31 11 *"],
)
def test_a_schedule_that_never_ticks_is_refused(expr):
    with pytest.raises(DefinitionError, match="never ticks: no date matches it"):
        check_cron(expr)


@pytest.mark.parametrize("expr", ["0 0 29 2 *", "0 0 L 2 *", "0 0 31 2 1", "0 0 30 1-3 *", "0 0 * MAR THU"])
def test_rare_but_real_days_are_accepted(expr):
    assert check_cron(expr) == expr
    assert next_tick(expr, datetime(2026, 1, 1, tzinfo=UTC)) > datetime(2026, 1, 1, tzinfo=UTC)


def test_schedule_helper_refuses_a_day_its_months_do_not_have():
    with pytest.raises(DefinitionError, match="never ticks"):
        Schedule(day_of_month=31, in_month=["Feb", "Apr"])
    assert Schedule(day_of_month=31, in_month=["Feb", "Mar"]).cron == "0 0 0 31 2,3 *"


@pytest.mark.parametrize(
    "expr", ["R * * * *", "0 R * * *", "H * * * *", "h 2 * * *", "0 H(0-5) * * *", "H/15 * * * *", "0 1,R * * *"]
)
def test_random_and_hashed_fields_are_refused_because_they_move_between_reads(expr):
    with pytest.raises(DefinitionError, match="random or hashed value"):
        check_cron(expr)


BERLIN = "TZ=Europe/Berlin "


def ticks_seen(expr, start, hours, step_minutes=1):
    """The distinct latest ticks a scheduler polling every ``step_minutes`` would see over ``hours``."""
    seen: list[datetime] = []
    at = start
    while at < start + timedelta(hours=hours):
        tick = latest_tick(expr, at)
        if not seen or seen[-1] != tick:
            seen.append(tick)
        at += timedelta(minutes=step_minutes)
    return seen


@pytest.mark.parametrize("expr", ["30 2 * * *", "0 30 2 * * *", "30 1-3 * * *"])
def test_a_fixed_time_schedule_ticks_once_on_the_fall_back_day(expr):
    # 2026-10-25 in Berlin: 02:00-03:00 happens twice (00:00-01:00 UTC in summer time, 01:00-02:00 in winter time)
    start = datetime(2026, 10, 24, 20, 0, tzinfo=UTC)
    on_the_day = [t for t in ticks_seen(BERLIN + expr, start, 12) if t.date().isoformat() == "2026-10-25"]
    at_0230 = [t for t in on_the_day if t.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") == "02:30"]
    assert at_0230 == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)], "the first 02:30, not the repeated one"
    after_first = next_tick(BERLIN + expr, datetime(2026, 10, 25, 0, 45, tzinfo=UTC))
    assert after_first > datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert ticks_between(BERLIN + "30 2 * * *", start, start + timedelta(days=2)) == 2


def test_a_fixed_time_schedule_runs_at_the_end_of_the_spring_forward_gap():
    # 2026-03-29 in Berlin: 02:00-03:00 does not exist; 02:30 runs at 03:00 local, 01:00 UTC
    ticks = ticks_seen(BERLIN + "30 2 * * *", datetime(2026, 3, 28, 20, 0, tzinfo=UTC), 30)
    assert ticks == [
        datetime(2026, 3, 28, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("start", "expr"),
    [
        (datetime(2026, 10, 24, 21, 0, tzinfo=UTC), "0 * * * *"),
        (datetime(2026, 3, 28, 21, 0, tzinfo=UTC), "0 * * * *"),
        (datetime(2026, 10, 24, 21, 0, tzinfo=UTC), "0 0 * * * *"),
        (datetime(2026, 10, 24, 21, 0, tzinfo=UTC), "30 */1 * * *"),
    ],
)
def test_hourly_schedules_tick_every_hour_through_both_transitions(start, expr):
    ticks = ticks_seen(BERLIN + expr, start, 8, step_minutes=5)
    gaps = {b - a for a, b in zip(ticks, ticks[1:], strict=False)}
    assert gaps == {timedelta(hours=1)} and len(ticks) >= 8
    assert ticks_between(BERLIN + expr, start, start + timedelta(hours=8)) == 8
