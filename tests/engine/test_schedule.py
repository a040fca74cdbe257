"""The Schedule helper builds and validates cron strings locally; cron tick arithmetic honours 5/6 fields and zones."""

from __future__ import annotations

from datetime import datetime, timezone

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
