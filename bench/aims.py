"""One line per benchmark figure with its aim, so a regression shows: ``name value (aim ...: ratio ✓/✗)``."""

from __future__ import annotations

import os

__all__ = ["aim_check", "aim_line", "load_average"]


def load_average() -> str:
    """The machine's 1-minute load average, as printed under each benchmark (its figures are noisy above ~1)."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "?"


def aim_line(name: str, value: str, ratio: float, limit: float, floor: str) -> str:
    """``name value (aim ≤ LIMIT× floor FLOOR: RATIO× ✓)``; ✗ when the ratio is above the limit."""
    mark = "\u2713" if ratio <= limit else "\u2717"
    return f"{name} {value} (aim \u2264 {limit:g}\u00d7 floor {floor}: {ratio:.2f}\u00d7 {mark})"


def aim_check(name: str, value: str, aim: str, met: bool) -> str:
    """``name value (aim AIM ✓/✗)`` for aims that are a bound rather than a ratio to a floor (≥ 1,500 req/s)."""
    mark = "\u2713" if met else "\u2717"
    return f"{name} {value} (aim {aim}: {mark})"
