"""Tables of run data for the terminal and for ``--json``, built from records (no pandas, so ``dt`` starts fast)."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

__all__ = ["MAX_WIDTH", "Table", "cell_text", "json_value"]

MAX_WIDTH = 60
"""Characters shown of one cell; longer text ends in an ellipsis (``--json`` keeps it whole)."""


def json_value(value: Any) -> Any:
    """``value`` as JSON can hold it: datetimes as ISO 8601 in UTC, enums by value, NaN as null."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


def cell_text(value: Any) -> str:
    """One cell as a person reads it: blanks for missing values, times to the second in UTC, short floats."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1e15 else f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(cell_text(v) for v in value)
    text = " ".join(str(value).split())  # one line per row, whatever the data holds
    return text if len(text) <= MAX_WIDTH else text[: MAX_WIDTH - 1] + "\u2026"


def _numeric(values: Sequence[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present)


@dataclass(frozen=True)
class Table:
    """Rows with named columns, in order; the first column identifies a row."""

    columns: tuple[str, ...]
    rows: tuple[Mapping[str, Any], ...]

    @classmethod
    def of(cls, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> Table:
        return cls(tuple(columns), tuple(rows))

    def records(self) -> list[dict[str, Any]]:
        """The rows for ``--json``: every column, values JSON can hold."""
        return [{c: json_value(row.get(c)) for c in self.columns} for row in self.rows]

    def text(self) -> str:
        """Aligned columns under a header: numbers to the right, text to the left; ``(none)`` without rows."""
        if not self.rows:
            return "(none)"
        cells = [[cell_text(row.get(c)) for c in self.columns] for row in self.rows]
        right = [_numeric([row.get(c) for row in self.rows]) for c in self.columns]
        widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(self.columns)]

        def line(values: Sequence[str]) -> str:
            parts = (v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right, strict=True))
            return "  ".join(parts).rstrip()

        return "\n".join([line(self.columns), *(line(values) for values in cells)])
