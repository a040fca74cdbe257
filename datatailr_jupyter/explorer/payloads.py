"""What the explorer's handlers share: checked fields of a request payload, the bounds answers keep, the Context."""

from __future__ import annotations

import threading
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidArgumentError
from ..models import RunSummary
from ..timeparse import parse_range

__all__ = [
    "MAX_MESSAGE",
    "MAX_TRACEBACK",
    "Context",
    "Payload",
    "clamp",
    "cut",
    "date_range",
    "get",
    "run_id",
    "summary",
    "task_id",
    "text",
]


@dataclass
class Context:
    """What some handlers need beyond the Client: where to bind values, which reruns were already started, and the
    task arguments of the versions read so far (a version never changes)."""

    namespace: MutableMapping[str, Any] | None = None  # bind-result target; None: the IPython user namespace
    store_url: str | None = None  # written into load_result code when the explorer is not on the default store
    trust: bool = False  # the explorer was opened with trust=True: its load_result code says so too
    reruns: dict[str, int] = field(default_factory=dict)  # request_key -> run id
    lock: threading.Lock = field(default_factory=threading.Lock)
    arguments: dict[tuple[str, int], dict[int, Any]] = field(default_factory=dict)  # (workflow key, version) ->


MAX_MESSAGE = 2_000  # characters of an error message or a run's error_message in listings
MAX_TRACEBACK = 100_000

Payload = Mapping[str, Any]

_MISSING: Any = object()


def get(payload: Payload, key: str, kinds: type | tuple[type, ...], what: str, default: Any = _MISSING) -> Any:
    """``payload[key]`` checked against ``kinds`` (a bool is never taken for an int); null means absent."""
    value = payload.get(key)
    if value is None:
        if default is _MISSING:
            raise InvalidArgumentError(f"the request needs {key!r} ({what})")
        return default
    accepted = kinds if isinstance(kinds, tuple) else (kinds,)
    if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in accepted):
        raise InvalidArgumentError(f"{key!r} must be {what}, not {value!r}")
    return value


def run_id(payload: Payload) -> int:
    found: int = get(payload, "run_id", int, "a run id")
    return found


def task_id(payload: Payload) -> int:
    found: int = get(payload, "task_id", int, "a task id")
    return found


def text(payload: Payload, key: str, default: str = "") -> str:
    value: str = get(payload, key, str, "a string", default)
    return value or ""


def date_range(payload: Payload) -> tuple[Any, Any]:
    return parse_range(text(payload, "start") or None, text(payload, "end") or None)


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def cut(value: str | None, limit: int) -> str | None:
    if value is None or len(value) <= limit:
        return value
    return value[: limit - 1] + "…"


def summary(run: RunSummary) -> dict[str, Any]:
    """A run as listings send it: its error message cut to MAX_MESSAGE characters."""
    data = run.to_dict()
    data["error_message"] = cut(run.error_message, MAX_MESSAGE)
    return data
