"""Clocks the engine reads every recorded time from: the system clock, or a shifted/faster one for backdated history."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ScaledClock", "SystemClock", "system_clock"]


@runtime_checkable
class Clock(Protocol):
    """Where the engine gets "now". Implementations are picklable, so process workers read the same clock."""

    def now(self) -> datetime: ...


@dataclass(frozen=True)
class SystemClock:
    """UTC wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


system_clock = SystemClock()


@dataclass(frozen=True)
class ScaledClock:
    """Time that starts at ``start`` when created and runs ``speed`` times faster than the wall clock.

    Used to record realistic histories quickly: with ``speed=600`` a task that takes 20 ms is recorded as 12 s. It
    reads ``time.time()``, so worker processes that unpickle it agree with the engine.
    """

    start: datetime
    speed: float = 1.0
    origin: float = 0.0

    @classmethod
    def starting_at(cls, start: datetime, speed: float = 1.0) -> ScaledClock:
        if start.tzinfo is None:
            raise ValueError("ScaledClock needs an aware (UTC) start time")
        if speed <= 0:
            raise ValueError(f"ScaledClock speed must be positive, got {speed}")
        return cls(start=start.astimezone(timezone.utc), speed=speed, origin=time.time())

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.time() - self.origin) * self.speed)
