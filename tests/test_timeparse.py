"""User dates and spans become UTC moments; bad ones get a message that shows the accepted forms."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from datatailr_jupyter.errors import InvalidArgumentError
from datatailr_jupyter.timeparse import parse_range, parse_span, parse_when

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("7d", timedelta(days=7)),
        ("24h", timedelta(hours=24)),
        ("2w", timedelta(weeks=2)),
        ("30m", timedelta(minutes=30)),
    ],
)
def test_spans_count_back_from_now(text: str, delta: timedelta) -> None:
    assert parse_span(text) == delta
    assert parse_when(text, NOW) == NOW - delta


def test_iso_with_zone_is_kept_and_result_is_utc() -> None:
    assert parse_when("2026-11-01T10:00:00+02:00") == datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
    assert parse_when("2026-11-01T10:00:00Z") == datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)


def test_naive_dates_are_local_time() -> None:
    expected = datetime(2026, 11, 1).astimezone().astimezone(timezone.utc)
    assert parse_when("2026-11-01") == expected
    assert parse_when(date(2026, 11, 1)) == expected


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", "7 parsecs", "1d2h"])
def test_unparsable_dates_name_the_accepted_forms(bad: str) -> None:
    with pytest.raises(InvalidArgumentError, match="2026-11-01") as info:
        parse_when(bad)
    assert repr(bad) in str(info.value)


def test_end_before_start_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="swap --since and --until"):
        parse_range("2026-11-05", "2026-11-01", NOW)


def test_empty_and_none_mean_open() -> None:
    assert parse_range(None, "", NOW) == (None, None)
