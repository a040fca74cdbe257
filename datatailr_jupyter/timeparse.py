"""Parses the dates users type (ISO dates and times, or relative spans like ``7d`` and ``24h``) into UTC."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from .errors import InvalidArgumentError

_SPAN = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

HELP = "use a date like 2026-11-01, a date and time like '2026-11-01 14:30', or a span like 30m, 24h, 7d, 2w"


def parse_span(text: str) -> timedelta | None:
    """``7d`` → 7 days; None if ``text`` is not a span."""
    match = _SPAN.match(text)
    if not match:
        return None
    return timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})


def to_utc(value: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken as the machine's local time."""
    if value.tzinfo is None:
        value = value.astimezone()
    return value.astimezone(timezone.utc)


def parse_when(value: str | date | datetime | None, now: datetime | None = None, what: str = "date") -> datetime | None:
    """A moment from user input: None, a datetime/date, an ISO string, or a span counted back from ``now``.

    Naive dates and times are the machine's local time; the result is always UTC.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return to_utc(value)
    if isinstance(value, date):
        return to_utc(datetime(value.year, value.month, value.day))
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{what} must be a string, date or datetime, not {type(value).__name__}")
    text = value.strip()
    if not text:
        return None
    try:
        span = parse_span(text)
        if span is not None:
            return (now or datetime.now(timezone.utc)) - span
    except OverflowError:
        raise InvalidArgumentError(f"{what} {value!r} reaches back before the year 1: use a shorter span") from None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return to_utc(parsed)
    except ValueError:
        raise InvalidArgumentError(f"cannot read {what} {value!r}: {HELP}") from None
    except OverflowError:
        raise InvalidArgumentError(f"{what} {value!r} is out of range: {HELP}") from None


def parse_range(
    since: str | date | datetime | None, until: str | date | datetime | None, now: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """(start, end) in UTC from user input; raises InvalidArgumentError if end is not after start."""
    now = now or datetime.now(timezone.utc)
    start = parse_when(since, now, "--since date")
    end = parse_when(until, now, "--until date")
    if start is not None and end is not None and end <= start:
        raise InvalidArgumentError(
            f"the end of the date range ({end:%Y-%m-%d %H:%M} UTC) is not after its start "
            f"({start:%Y-%m-%d %H:%M} UTC); swap --since and --until"
        )
    return start, end
