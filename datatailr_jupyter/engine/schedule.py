"""Cron schedules: the SDK's Schedule helper (built locally, validated field by field) and cron tick arithmetic.

A schedule is a cron string of 5 fields (minute hour day-of-month month day-of-week) or 6 fields with seconds
first, as the SDK writes them (``Schedule`` always produces the 6-field form, e.g. ``'0 0 9 * * 1-5'``). An
optional time zone is written in front as ``TZ=<Area/City> `` and ticks are computed in that zone.

A schedule must have a tick (``0 0 30 2 *`` never comes) and must be the same every time it is read: croniter's
random (``R``) and hashed (``H``) fields are refused, since a scheduler expanding ``R`` on each pass would run
an "hourly" job many times an hour. On a daylight-saving fall-back day a fixed-time schedule (minute and hour
fields not starting with ``*``) ticks once, at the first of the repeated wall-clock times, as cron does; schedules
with a ``*`` minute or hour keep ticking through the repeated hour. A time skipped by spring-forward runs at the
first time after the gap (02:30 becomes 03:00 in Europe/Berlin).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from ..errors import DefinitionError

__all__ = ["Schedule", "check_cron", "latest_tick", "next_tick", "ticks_between"]

_EPS = timedelta(microseconds=1)
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_RANDOM = re.compile(r"[RH](\(.*\))?(/.*)?", re.IGNORECASE)  # R, H, H/5, H(0-29), R(0-29)/5
_SOME_TIME = datetime(2001, 1, 1, tzinfo=timezone.utc)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _split(expr: str) -> tuple[str, ZoneInfo | None]:
    text = expr.strip()
    tz: ZoneInfo | None = None
    if text.upper().startswith(("TZ=", "CRON_TZ=")):
        head, _, text = text.partition(" ")
        tz = _zone(head.split("=", 1)[1], f"schedule {expr!r}")
    return text.strip(), tz


def _zone(name: str, what: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DefinitionError(f"{what}: unknown time zone {name!r}; use an IANA name such as 'Europe/London'") from None


def check_cron(expr: object, what: str = "schedule") -> str:
    """Return ``expr`` if it is a valid 5- or 6-field cron string (6 = seconds first), else DefinitionError."""
    if not isinstance(expr, str) or not expr.strip():
        raise DefinitionError(f"{what} must be a cron string such as '0 6 * * *', not {expr!r}")
    body, _ = _split(expr)
    fields = body.split()
    if len(fields) not in (5, 6):
        raise DefinitionError(
            f"{what} {expr!r} has {len(fields)} fields; a cron string has 5 (minute hour day month weekday) "
            "or 6 (seconds first)"
        )
    for i, field in enumerate(fields):
        if any(_RANDOM.fullmatch(item) for item in field.split(",")):
            raise DefinitionError(
                f"{what} {expr!r}: field {i + 1} ({field!r}) is a random or hashed value, which picks another time "
                "each time the schedule is read; write the time you want, e.g. '17 * * * *' for hourly at :17"
            )
    six = len(fields) == 6
    if not croniter.is_valid(body, second_at_beginning=six):
        raise DefinitionError(f"{what} {expr!r} is not a valid cron expression (check each field's range)")
    try:
        croniter(body, _SOME_TIME, second_at_beginning=six).get_next(datetime)
    except CroniterBadDateError:
        raise DefinitionError(
            f"{what} {expr!r} never ticks: no date matches it (February has at most 29 days, April, June, "
            "September and November 30); choose a day that exists, or 'L' for the last day of the month"
        ) from None
    return expr.strip()


def _ticks(expr: str, start: datetime, backwards: bool = False) -> Iterator[datetime]:
    """The ticks after ``start`` (before it when ``backwards``), in UTC, without a fixed-time schedule's repeat
    of a wall-clock time on a fall-back day."""
    body, tz = _split(check_cron(expr))
    fields = body.split()
    local = start.astimezone(tz) if tz is not None else start.astimezone(timezone.utc)
    it = croniter(body, local, second_at_beginning=len(fields) == 6)
    clock_fields = fields[:3] if len(fields) == 6 else fields[:2]  # (seconds,) minute, hour
    fixed_time = tz is not None and not any(f.startswith("*") for f in clock_fields)
    while True:
        tick: datetime = it.get_prev(datetime) if backwards else it.get_next(datetime)
        if fixed_time and _repeated(tick):
            continue
        yield tick.astimezone(timezone.utc)


def _repeated(tick: datetime) -> bool:
    """Whether ``tick`` (local, aware) is the second occurrence of its wall-clock time (a fall-back day)."""
    if not tick.fold:
        return False
    first = tick.replace(fold=0)
    return first.astimezone(timezone.utc) != tick.astimezone(timezone.utc)


def latest_tick(expr: str, now: datetime) -> datetime:
    """The most recent tick at or before ``now`` (UTC)."""
    return next(_ticks(expr, now + _EPS, backwards=True))


def next_tick(expr: str, after: datetime) -> datetime:
    """The first tick strictly after ``after`` (UTC)."""
    return next(_ticks(expr, after))


def ticks_between(expr: str, start: datetime, end: datetime, limit: int = 100_000) -> int:
    """How many ticks fall in (start, end], counting at most ``limit``."""
    n = 0
    for tick in _ticks(expr, start):
        if n >= limit or tick > end:
            break
        n += 1
    return n


def _ints(values: object, lo: int, hi: int, what: str) -> list[int]:
    items = list(values) if isinstance(values, list | tuple | set) else [values]
    out = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise DefinitionError(f"Schedule({what}=...) takes whole numbers from {lo} to {hi}, got {v!r}")
        out.append(v)
    if not out:
        raise DefinitionError(f"Schedule({what}=...) is empty; give at least one value or leave it out")
    return sorted(set(out))


def _step(value: object, lo: int, hi: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise DefinitionError(f"Schedule({what}=...) takes a whole number from {lo} to {hi}, got {value!r}")
    return value


def _names(values: Iterable[object] | str, names: tuple[str, ...], what: str, first: int) -> list[int]:
    items = [values] if isinstance(values, str) else list(values)
    out = []
    for v in items:
        key = str(v).strip().lower()[:3]
        if not isinstance(v, str) or key not in names or not str(v).strip().lower().startswith(key):
            raise DefinitionError(
                f"Schedule({what}=...) got {v!r}; use names such as "
                + ", ".join(n.capitalize() for n in (names[1:] + names[:1] if first == 0 else names))
            )
        out.append(names.index(key) + first)
    if not out:
        raise DefinitionError(f"Schedule({what}=...) is empty; give at least one value or leave it out")
    return sorted(set(out))


class Schedule:
    """The SDK's schedule helper: builds a 6-field cron string (seconds first) from readable fields.

    ``Schedule(at_minutes=[0])`` is hourly on the hour; ``Schedule(at_hours=[6], weekdays=["Mon", "Fri"])`` is 06:00
    on Mondays and Fridays; ``Schedule(cron_expression="*/15 * * * *")`` is used as given. Unset fields finer than
    the coarsest one given default to their first value (minute 0, hour 0); coarser ones to every value.
    """

    def __init__(
        self,
        cron_expression: str = "",
        at_minutes: list[int] | None = None,
        every_minute: int | None = None,
        at_hours: list[int] | None = None,
        every_hour: int | None = None,
        weekdays: list[str] | None = None,
        day_of_month: int | None = None,
        in_month: list[str] | None = None,
        every_month: int | None = None,
        timezone: str | None = None,
    ) -> None:
        self.timezone = timezone
        if timezone is not None:
            _zone(timezone, "Schedule(timezone=...)")
        given = {
            k: v
            for k, v in dict(
                at_minutes=at_minutes, every_minute=every_minute, at_hours=at_hours, every_hour=every_hour,
                weekdays=weekdays, day_of_month=day_of_month, in_month=in_month, every_month=every_month,
            ).items()
            if v is not None
        }  # fmt: skip
        for a, b in (("at_minutes", "every_minute"), ("at_hours", "every_hour"), ("in_month", "every_month")):
            if a in given and b in given:
                raise DefinitionError(f"Schedule: give {a} or {b}, not both")
        if cron_expression:
            if given:
                raise DefinitionError(f"Schedule: give cron_expression or the fields ({', '.join(given)}), not both")
            self.cron = check_cron(cron_expression, "Schedule(cron_expression=...)")
            if len(self.cron.split()) == 5:
                self.cron = "0 " + self.cron
            return
        if not given:
            raise DefinitionError(
                "Schedule() needs cron_expression or at least one of at_minutes, every_minute, at_hours, "
                "every_hour, weekdays, day_of_month, in_month, every_month"
            )
        self.cron = self._build(given)

    @staticmethod
    def _build(g: Mapping[str, object]) -> str:
        day_given = any(k in g for k in ("weekdays", "day_of_month", "in_month", "every_month"))
        if "at_minutes" in g:
            minute = ",".join(map(str, _ints(g["at_minutes"], 0, 59, "at_minutes")))
        elif "every_minute" in g:
            minute = f"*/{_step(g['every_minute'], 1, 59, 'every_minute')}"
        else:
            minute = "0"
        if "at_hours" in g:
            hour = ",".join(map(str, _ints(g["at_hours"], 0, 23, "at_hours")))
        elif "every_hour" in g:
            hour = f"*/{_step(g['every_hour'], 1, 23, 'every_hour')}"
        else:
            hour = "0" if day_given and "at_minutes" not in g and "every_minute" not in g else "*"
        dom = str(_step(g["day_of_month"], 1, 31, "day_of_month")) if "day_of_month" in g else "*"
        if "in_month" in g:
            month = ",".join(map(str, _names(g["in_month"], _MONTHS, "in_month", 1)))  # type: ignore[arg-type]
        elif "every_month" in g:
            month = f"*/{_step(g['every_month'], 1, 11, 'every_month')}"
        else:
            month = "*"
        dow = ",".join(map(str, _names(g["weekdays"], _WEEKDAYS, "weekdays", 0))) if "weekdays" in g else "*"  # type: ignore[arg-type]
        return check_cron(f"0 {minute} {hour} {dom} {month} {dow}", "Schedule")

    @property
    def expression(self) -> str:
        """The cron string with the time zone prefix the engine stores (``TZ=... `` when a zone is set)."""
        return f"TZ={self.timezone} {self.cron}" if self.timezone else self.cron

    def __str__(self) -> str:
        return self.cron

    def __repr__(self) -> str:
        tz = f", timezone={self.timezone!r}" if self.timezone else ""
        return f"Schedule({self.cron!r}{tz})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schedule) and (self.cron, self.timezone) == (other.cron, other.timezone)

    def __hash__(self) -> int:
        return hash((self.cron, self.timezone))
