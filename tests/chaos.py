"""The chaos suite's two sizes and its figures: quick inside `make test`, full with `make chaos` (DT_CHAOS=full).

Tests of kills, concurrent load, full disks and hostile input take their sizes from :func:`size` and report what
they survived with :func:`record`; the session writes the figures to test-artifacts/chaos-figures.json and prints
them at the end, so docs/reliability.md can quote a run.
"""

from __future__ import annotations

import os
from typing import Any

FULL = os.environ.get("DT_CHAOS", "quick") == "full"
PROFILE = "full" if FULL else "quick"
FIGURES: list[dict[str, Any]] = []


def size(quick: float, full: float) -> Any:
    """The quick or the full figure, by profile."""
    return full if FULL else quick


def record(test: str, **figures: Any) -> None:
    """Keep one test's figures (counts, seconds) for the session's report."""
    FIGURES.append({"test": test, **figures})
