"""Two runs side by side, task by task: states, durations, executed or reused, and what changed in the results.

Tasks are matched by name, then the rest by id (versions may rename or renumber tasks). Results with the same bytes
(the same sha256, e.g. one run reused the other's result) are equal without being read. Others are decoded through
``Client.result``, which honours the store's trust: a pickled result from an untrusted store is reported as "not
compared: untrusted pickle" and never unpickled. What a difference says depends on the values: numbers their delta,
tables their shape, columns added and removed, the count of changed cells and the first few, arrays their shape and
largest absolute difference, anything else whether it is equal.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import DatatailrJupyterError
from .models import RunDetail, TaskRun
from .store.codecs import CODECS

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client

__all__ = ["COMPARE_COLUMNS", "ValueDiff", "compare_runs", "diff_values", "match_tasks"]

FIRST_CHANGES = 5
UNTRUSTED = "not compared: untrusted pickle"
COMPARE_COLUMNS = [
    "task",
    "id_a",
    "id_b",
    "state_a",
    "state_b",
    "duration_a_s",
    "duration_b_s",
    "duration_change_s",
    "executed_a",
    "executed_b",
    "result_type_a",
    "result_type_b",
    "result_equal",
    "result_change",
]


@dataclass(frozen=True)
class ValueDiff:
    """How two results differ: ``equal`` is None when they were not compared; ``text`` says it for people."""

    equal: bool | None
    text: str
    details: dict[str, Any] | None = None


# ---------------------------------------------------------------- matching


def match_tasks(a: RunDetail, b: RunDetail) -> list[tuple[TaskRun | None, TaskRun | None]]:
    """Pairs of the two runs' tasks: same name first, then the rest by id; unmatched ones paired with None."""
    left = list(a.tasks)
    right = {t.name: t for t in b.tasks}
    pairs: list[tuple[TaskRun | None, TaskRun | None]] = []
    unmatched: list[TaskRun] = []
    for t in left:
        other = right.pop(t.name, None)
        if other is None:
            unmatched.append(t)
        else:
            pairs.append((t, other))
    by_id = {t.id: t for t in right.values()}
    for t in unmatched:
        other = by_id.pop(t.id, None)
        pairs.append((t, other))
    pairs.extend((None, t) for t in sorted(by_id.values(), key=lambda t: t.id))
    order = {id(p): i for i, p in enumerate(pairs)}
    return sorted(pairs, key=lambda p: (p[0].id if p[0] else p[1].id if p[1] else 0, order[id(p)]))


# ---------------------------------------------------------------- values


def diff_values(a: Any, b: Any) -> ValueDiff:
    """What changed from ``a`` to ``b`` (see the module docstring for each kind of value)."""
    frames = _as_frame(a), _as_frame(b)
    if frames[0] is not None and frames[1] is not None:
        return _diff_frames(frames[0], frames[1])
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return _diff_arrays(a, b)
    if _is_number(a) and _is_number(b):
        return _diff_numbers(a, b)
    try:
        equal = bool(a == b) if type(a) is type(b) else False
    except Exception:  # == that raises or returns something without a truth value
        equal = False
    if equal:
        return ValueDiff(True, "equal")
    if type(a) is not type(b):
        return ValueDiff(False, f"not equal: {type(a).__name__} → {type(b).__name__}")
    return ValueDiff(False, "not equal")


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _diff_numbers(a: Any, b: Any) -> ValueDiff:
    try:
        delta = b - a
    except Exception:
        return ValueDiff(a == b, "equal" if a == b else "not equal")
    if isinstance(delta, complex):
        equal = delta == 0
    else:
        equal = delta == 0 or (
            isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)  # NaN = NaN here
        )
    if equal:
        return ValueDiff(True, "equal", {"delta": 0})
    if isinstance(delta, complex):
        return ValueDiff(False, f"{a!r} → {b!r} (delta {delta!r})", {"delta": delta})
    rel = f", {delta / a:+.2%}" if a not in (0, 0.0) and not isinstance(a, complex) else ""
    delta_value = delta.item() if hasattr(delta, "item") else delta
    return ValueDiff(False, f"{a!r} → {b!r} (delta {delta_value:+g}{rel})", {"delta": delta_value})


def _diff_arrays(a: np.ndarray, b: np.ndarray) -> ValueDiff:
    details: dict[str, Any] = {"shape_a": a.shape, "shape_b": b.shape}
    if a.shape != b.shape:
        return ValueDiff(False, f"shape {a.shape} → {b.shape}", details)
    if a.dtype.kind in "biufc" and b.dtype.kind in "biufc":
        if a.size == 0:
            return ValueDiff(True, f"equal, shape {a.shape}", {**details, "max_abs_diff": 0.0})
        wide = np.result_type(a.dtype, b.dtype, np.float64)  # complex stays complex; abs() of it is real
        diff = np.abs(a.astype(wide) - b.astype(wide))
        diff = np.where(np.isnan(a.astype(wide)) & np.isnan(b.astype(wide)), 0.0, diff)  # NaN = NaN here
        biggest = float(np.nanmax(diff)) if not np.all(np.isnan(diff)) else float("nan")
        changed = int(np.count_nonzero(diff))
        details.update(max_abs_diff=biggest, changed=changed)
        if changed == 0:
            return ValueDiff(True, f"equal, shape {a.shape}", details)
        return ValueDiff(False, f"shape {a.shape}, {changed:,} values differ, max abs diff {biggest:g}", details)
    equal = bool(np.array_equal(a, b))
    return ValueDiff(equal, f"{'equal' if equal else 'not equal'}, shape {a.shape}", details)


def _as_frame(value: Any) -> pd.DataFrame | None:
    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, pd.Series):
        return value.to_frame()
    module = type(value).__module__.split(".")[0]
    if module in ("polars", "pyarrow") and hasattr(value, "to_pandas"):
        try:
            frame = value.to_pandas()
        except Exception:
            return None
        return frame if isinstance(frame, pd.DataFrame) else None
    return None


def _diff_frames(a: pd.DataFrame, b: pd.DataFrame) -> ValueDiff:
    added = [str(c) for c in b.columns if c not in a.columns]
    removed = [str(c) for c in a.columns if c not in b.columns]
    common = [c for c in a.columns if c in b.columns]
    rows = a.index.intersection(b.index)
    left, right = a.loc[rows, common], b.loc[rows, common]
    changes: list[str] = []
    changed = 0
    for column in common:
        x, y = left[column], right[column]
        try:
            differs = ~((x == y) | (x.isna() & y.isna()))
        except Exception:  # values that do not compare element-wise: compare their reprs
            differs = x.map(repr) != y.map(repr)
        differs = differs.fillna(True).astype(bool)
        n = int(differs.sum())
        changed += n
        for label in differs.index[differs.to_numpy()][: max(0, FIRST_CHANGES - len(changes))]:
            changes.append(f"{column}[{label!r}]: {_short(x.loc[label])} → {_short(y.loc[label])}")
    details = {
        "shape_a": a.shape, "shape_b": b.shape, "columns_added": added, "columns_removed": removed,
        "rows_added": len(b.index.difference(a.index)), "rows_removed": len(a.index.difference(b.index)),
        "changed_cells": changed, "first_changes": changes,
    }  # fmt: skip
    equal = not added and not removed and a.shape == b.shape and changed == 0 and list(a.columns) == list(b.columns)
    if equal:
        return ValueDiff(True, f"equal, shape {a.shape}", details)
    parts = [f"shape {a.shape} → {b.shape}" if a.shape != b.shape else f"shape {a.shape}"]
    if added:
        parts.append(f"columns added: {', '.join(added)}")
    if removed:
        parts.append(f"columns removed: {', '.join(removed)}")
    if details["rows_added"] or details["rows_removed"]:
        parts.append(f"rows +{details['rows_added']}/-{details['rows_removed']}")
    parts.append(f"{changed:,} cells changed" + (f" ({'; '.join(changes)})" if changes else ""))
    return ValueDiff(False, ", ".join(parts), details)


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------- runs


def _duration(t: TaskRun | None) -> float | None:
    if t is None or t.start_time is None or t.end_time is None:
        return None
    return (t.end_time - t.start_time).total_seconds()


def _executed(t: TaskRun | None) -> str | None:
    if t is None:
        return None
    if t.reused_from_run is not None:
        return f"reused from #{t.reused_from_run}"
    return "executed" if t.start_time is not None else "not run"


def _results(client: Client, a: TaskRun | None, b: TaskRun | None) -> ValueDiff:
    ra, rb = (a.result if a else None), (b.result if b else None)
    if ra is None and rb is None:
        return ValueDiff(None, "no results")
    if ra is None or rb is None:
        return ValueDiff(False, "result only in a" if rb is None else "result only in b")
    if ra.sha256 and ra.sha256 == rb.sha256 and ra.bytes == rb.bytes:
        return ValueDiff(True, "equal (same bytes)")
    for meta in (ra, rb):
        codec = CODECS.get(meta.codec)
        if (codec is None or not codec.safe) and client.distrust() is not None:
            return ValueDiff(None, UNTRUSTED)
    assert a is not None and b is not None
    try:
        value_a = client.result(a.run_id, a.id)
        value_b = client.result(b.run_id, b.id)
    except DatatailrJupyterError as exc:
        return ValueDiff(None, f"not compared: {exc}")
    return diff_values(value_a, value_b)


def compare_runs(client: Client, a: int, b: int, results: bool = True) -> list[dict[str, Any]]:
    """One row per matched task of runs ``a`` and ``b`` (the columns of COMPARE_COLUMNS plus ``result_details``)."""
    run_a, run_b = client.store.get_run(int(a)), client.store.get_run(int(b))
    rows: list[dict[str, Any]] = []
    for x, y in match_tasks(run_a, run_b):
        da, db = _duration(x), _duration(y)
        diff = _results(client, x, y) if results else ValueDiff(None, "not compared")
        either = x if x is not None else y
        rows.append(
            {
                "task": either.name if either is not None else "",
                "id_a": x.id if x else None,
                "id_b": y.id if y else None,
                "state_a": x.state.value if x else None,
                "state_b": y.state.value if y else None,
                "duration_a_s": da,
                "duration_b_s": db,
                "duration_change_s": None if da is None or db is None else db - da,
                "executed_a": _executed(x),
                "executed_b": _executed(y),
                "result_type_a": x.result.python_type if x and x.result else None,
                "result_type_b": y.result.python_type if y and y.result else None,
                "result_equal": diff.equal,
                "result_change": diff.text,
                "result_details": diff.details,
            }
        )
    return rows
