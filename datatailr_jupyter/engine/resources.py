"""Validation of definition options shared by tasks and workflows: resources, sizes, durations, env vars."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..errors import DefinitionError

__all__ = [
    "DEFAULT_WORKFLOW_RESOURCES",
    "Resources",
    "check_env_vars",
    "duration_microseconds",
    "merge_resources",
    "parse_duration",
]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt])i?b?\s*$", re.IGNORECASE)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s|ms)(?![a-z])", re.IGNORECASE)
_UNIT_SECONDS = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def check_size(value: object, what: str) -> str:
    """A memory size string such as '256m' or '1g' (k, m, g, t; optional 'i'/'b'), returned normalised."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return f"{value:g}m"
    if not isinstance(value, str) or not _SIZE.match(value):
        raise DefinitionError(f"{what} must be a size such as '256m', '1.5g' or '2g', not {value!r}")
    number, unit = _SIZE.match(value).groups()  # type: ignore[union-attr]
    return f"{number}{unit.lower()}"


def check_cpu(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise DefinitionError(f"{what} must be a positive number of CPUs such as 0.5 or 2, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class Resources:
    """Memory (a size string), CPUs (a number) and optional GPU memory (vram) of a task, like the SDK's."""

    memory: str | None = None
    cpu: float | None = None
    vram: str | None = None

    def __post_init__(self) -> None:
        if self.memory is not None:
            object.__setattr__(self, "memory", check_size(self.memory, "Resources(memory=...)"))
        if self.cpu is not None:
            object.__setattr__(self, "cpu", check_cpu(self.cpu, "Resources(cpu=...)"))
        if self.vram is not None:
            object.__setattr__(self, "vram", check_size(self.vram, "Resources(vram=...)"))

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in (("memory", self.memory), ("cpu", self.cpu), ("vram", self.vram)) if v is not None}


DEFAULT_WORKFLOW_RESOURCES = Resources(memory="100m", cpu=1)


def merge_resources(
    base: dict[str, Any],
    resources: Resources | dict[str, Any] | None = None,
    *,
    memory: object = None,
    cpu: object = None,
    vram: object = None,
) -> dict[str, Any]:
    """``base`` overridden by a Resources object or dict, then by the single fields that are set."""
    out = dict(base)
    if isinstance(resources, dict):
        unknown = sorted(set(resources) - {"memory", "cpu", "vram"})
        if unknown:
            raise DefinitionError(f"unknown resource keys {unknown}; known keys are memory, cpu, vram")
        resources = Resources(**resources)
    if resources is not None:
        out.update(resources.to_dict())
    if memory is not None:
        out["memory"] = check_size(memory, "memory")
    if cpu is not None:
        out["cpu"] = check_cpu(cpu, "cpu")
    if vram is not None:
        out["vram"] = check_size(vram, "vram")
    return out


def check_env_vars(env_vars: object, what: str) -> dict[str, str]:
    """Environment variables as {NAME: str(value)}; values may be str, int, float or bool."""
    if env_vars is None:
        return {}
    if not isinstance(env_vars, dict):
        raise DefinitionError(f"{what}: environment variables must be a dict of NAME -> value, not {env_vars!r}")
    out: dict[str, str] = {}
    for key, value in env_vars.items():
        if not isinstance(key, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            raise DefinitionError(f"{what}: {key!r} is not a valid environment variable name")
        if not isinstance(value, str | int | float | bool):
            raise DefinitionError(
                f"{what}: the value of {key} must be a str, int, float or bool, not {type(value).__name__}"
            )
        out[key] = str(value)
    return out


def parse_duration(value: object, what: str) -> timedelta | None:
    """A timedelta, a number of seconds, or a string such as '1h 30m', '2d', '45s', '1w'; None stays None."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        delta = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        delta = timedelta(seconds=value)
    elif isinstance(value, str):
        text = value.strip()
        parts = _DURATION_PART.findall(text)
        leftover = _DURATION_PART.sub("", text).replace(",", "").strip()
        if not parts or leftover:
            raise DefinitionError(
                f"{what} {value!r} is not a duration; use a timedelta or a string like '1h 30m', '2d', '45s' "
                "(units: w, d, h, m, s, ms)"
            )
        delta = timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in parts))
    else:
        raise DefinitionError(f"{what} must be a timedelta or a string like '1h 30m', not {type(value).__name__}")
    if delta <= timedelta(0):
        raise DefinitionError(f"{what} must be a positive duration, got {value!r}")
    return delta


def duration_microseconds(delta: timedelta | None) -> int | None:
    """Whole microseconds of a duration (days, seconds and microseconds each counted once)."""
    if delta is None:
        return None
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
