"""Cron schedules: the SDK's Schedule helper (built locally, validated field by field) and cron tick arithmetic.

A schedule is a cron string of 5 fields (minute hour day-of-month month day-of-week) or 6 fields with seconds
first, as the SDK writes them (``Schedule`` always produces the 6-field form, e.g. ``'0 0 9 * * 1-5'``). An
optional time zone is written in front as ``TZ=<Area/City> `` and ticks are computed in that zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from ..errors import DefinitionError

__all__ = ["Schedule", "check_cron", "latest_tick", "next_tick", "ticks_between"]

_EPS = timedelta(microseconds=1)
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
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
    if not croniter.is_valid(body, second_at_beginning=len(fields) == 6):
        raise DefinitionError(f"{what} {expr!r} is not a valid cron expression (check each field's range)")
    return expr.strip()


def _iter(expr: str, start: datetime, is_prev: bool = False) -> tuple[croniter, ZoneInfo | None]:
    body, tz = _split(check_cron(expr))
    local = start.astimezone(tz) if tz is not None else start.astimezone(timezone.utc)
    return croniter(body, local, second_at_beginning=len(body.split()) == 6, is_prev=is_prev), tz


def latest_tick(expr: str, now: datetime) -> datetime:
    """The most recent tick at or before ``now`` (UTC)."""
    it, _ = _iter(expr, now + _EPS)
    tick: datetime = it.get_prev(datetime)
    return tick.astimezone(timezone.utc)


def next_tick(expr: str, after: datetime) -> datetime:
    """The first tick strictly after ``after`` (UTC)."""
    it, _ = _iter(expr, after)
    tick: datetime = it.get_next(datetime)
    return tick.astimezone(timezone.utc)


def ticks_between(expr: str, start: datetime, end: datetime, limit: int = 100_000) -> int:
    """How many ticks fall in (start, end], counting at most ``limit``."""
    it, _ = _iter(expr, start)
    n = 0
    while n < limit:
        tick: datetime = it.get_next(datetime)
        if tick.astimezone(timezone.utc) > end:
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
