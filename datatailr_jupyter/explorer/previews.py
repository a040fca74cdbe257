"""Bounded, JSON-safe previews of task results: the first rows of tables, a cut repr of anything else."""

from __future__ import annotations

import math
import reprlib
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, TypedDict

from ..models import ResultMeta

__all__ = [
    "MAX_CELL",
    "MAX_COLUMNS",
    "MAX_ROWS",
    "MAX_TEXT",
    "PICKLE_NOTE",
    "Preview",
    "preview_meta",
    "preview_none",
    "preview_returned_none",
    "preview_value",
    "safe_to_decode",
]

MAX_ROWS = 50
MAX_COLUMNS = 100
MAX_TEXT = 10_000  # characters of a text preview
MAX_CELL = 200  # characters of one table cell
NO_RESULT = "No result stored for this task."
RETURNED_NONE = "The task returned None."
PICKLE_NOTE = "a pickle is never unpickled for a preview; this text was recorded when the task ran"
_MAX_SAFE_INT = 2**53  # larger integers lose precision as JavaScript numbers

Cell = int | float | str


class Column(TypedDict):
    name: str
    dtype: str


class TablePreview(TypedDict):
    kind: Literal["table"]
    columns: list[Column]
    rows: list[list[Cell]]
    total_rows: int
    total_columns: int


class TextPreview(TypedDict):
    kind: Literal["text", "none"]
    text: str


Preview = TablePreview | TextPreview


def preview_none() -> TextPreview:
    """For a task that stored no result (it failed, did not run, or is still running)."""
    return {"kind": "none", "text": NO_RESULT}


def preview_returned_none() -> TextPreview:
    """For a task whose stored result is ``None``: it ran and returned nothing."""
    return {"kind": "none", "text": RETURNED_NONE}


def preview_meta(meta: ResultMeta, reason: str) -> TextPreview:
    """A preview from what the store recorded when the result was written, for results that are not loaded."""
    shown = _cut(meta.preview, MAX_TEXT) if meta.preview else f"<{meta.python_type}>"
    return {"kind": "text", "text": f"{shown}\n\n({meta.python_type}, {meta.bytes:,} bytes, not loaded: {reason})"}


def safe_to_decode(meta: ResultMeta) -> bool:
    """Whether a result may be decoded to preview it: its codec never runs code from the bytes (not pickle; an
    unknown codec is refused by the decoder itself)."""
    from ..store.codecs import CODECS

    codec = CODECS.get(meta.codec)
    return codec is None or codec.safe


def preview_value(value: Any) -> Preview:
    """A table preview for frames, series and 1-D/2-D arrays; a repr cut to ``MAX_TEXT`` characters otherwise."""
    if value is None:
        return preview_returned_none()
    for accepts, build in _TABLE_BUILDERS:
        if accepts(value):
            try:
                return build(value)
            except Exception as exc:  # a broken or exotic table: fall back to its repr
                return _text(f"{_safe_repr(value)}\n\n(no table preview: {type(exc).__name__}: {exc})")
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value[: MAX_TEXT // 4])  # a byte's repr takes at most 4 characters
        return {
            "kind": "text",
            "text": repr(data) + (f"\n… ({len(value):,} bytes in all)" if len(value) > len(data) else ""),
        }
    return _text(_safe_repr(value))


# ---------------------------------------------------------------- tables


def _module(value: object) -> str:
    return type(value).__module__.split(".")[0]


def _is_pandas(value: object) -> bool:
    return _module(value) == "pandas" and type(value).__name__ in ("DataFrame", "Series")


def _is_polars(value: object) -> bool:
    return _module(value) == "polars" and type(value).__name__ in ("DataFrame", "Series")


def _is_arrow(value: object) -> bool:
    return _module(value) == "pyarrow" and type(value).__name__ in ("Table", "RecordBatch")


def _is_numpy_table(value: object) -> bool:
    return _module(value) == "numpy" and type(value).__name__ == "ndarray" and value.ndim in (1, 2)  # type: ignore[attr-defined]


def _table(names: Sequence[str], dtypes: Sequence[str], columns: Sequence[Sequence[Any]], total_rows: int,
           total_columns: int) -> TablePreview:  # fmt: skip
    n_rows = min((len(c) for c in columns), default=0)
    rows = [[_cell(col[i]) for col in columns] for i in range(n_rows)]
    return {
        "kind": "table",
        "columns": [{"name": _cut(str(n), MAX_CELL), "dtype": d} for n, d in zip(names, dtypes, strict=True)],
        "rows": rows,
        "total_rows": int(total_rows),
        "total_columns": int(total_columns),
    }


def _pandas(value: Any) -> TablePreview:
    frame = value.to_frame(name="value" if value.name is None else value.name) if value.ndim == 1 else value
    head = frame.iloc[:MAX_ROWS, :MAX_COLUMNS]
    names: list[str] = []
    dtypes: list[str] = []
    columns: list[list[Any]] = []
    index = head.index
    default_index = type(index).__name__ == "RangeIndex" and index.start == 0 and index.step == 1
    if not default_index:
        for level in range(index.nlevels):
            name = index.names[level]
            names.append(str(name) if name is not None else ("index" if index.nlevels == 1 else f"level_{level}"))
            values = index.get_level_values(level)
            dtypes.append(str(values.dtype))
            columns.append(values.tolist())
    for position in range(head.shape[1]):
        label = head.columns[position]
        names.append(" / ".join(map(str, label)) if isinstance(label, tuple) else str(label))
        series = head.iloc[:, position]
        dtypes.append(str(series.dtype))
        columns.append(series.tolist())
    return _table(names, dtypes, columns, len(frame), frame.shape[1] + len(names) - head.shape[1])


def _polars(value: Any) -> TablePreview:
    frame = value.to_frame() if type(value).__name__ == "Series" else value
    names = list(frame.columns[:MAX_COLUMNS])
    head = frame.head(MAX_ROWS)
    columns = [head.get_column(name).to_list() for name in names]
    dtypes = [str(frame.schema[name]) for name in names]
    return _table(names, dtypes, columns, frame.height, frame.width)


def _arrow(value: Any) -> TablePreview:
    width = min(value.num_columns, MAX_COLUMNS)
    head = value.slice(0, MAX_ROWS)
    names = [value.schema.field(i).name for i in range(width)]
    dtypes = [str(value.schema.field(i).type) for i in range(width)]
    columns = [head.column(i).to_pylist() for i in range(width)]
    return _table(names, dtypes, columns, value.num_rows, value.num_columns)


def _numpy(value: Any) -> TablePreview:
    head = value[:MAX_ROWS]
    if value.dtype.names:  # a structured array: one column per field
        fields = list(value.dtype.names)[:MAX_COLUMNS]
        dtypes = [str(value.dtype.fields[f][0]) for f in fields]
        return _table(fields, dtypes, [head[f].tolist() for f in fields], len(value), len(value.dtype.names))
    if value.dtype.kind in "mM":  # datetime64/timedelta64: tolist() would give bare integers of ns
        head = head.astype(str)
    if value.ndim == 1:
        return _table(["value"], [str(value.dtype)], [head.tolist()], value.shape[0], 1)
    width = min(value.shape[1], MAX_COLUMNS)
    columns = [head[:, j].tolist() for j in range(width)]
    return _table([str(j) for j in range(width)], [str(value.dtype)] * width, columns, value.shape[0], value.shape[1])


_TABLE_BUILDERS: list[tuple[Callable[[object], bool], Callable[[Any], TablePreview]]] = [
    (_is_pandas, _pandas),
    (_is_polars, _polars),
    (_is_arrow, _arrow),
    (_is_numpy_table, _numpy),
]


# ---------------------------------------------------------------- cells and text


def _cell(value: Any) -> Cell:
    """A JSON-safe cell: a finite number, or a short string (never NaN, never a huge int, never an object)."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return value if abs(value) <= _MAX_SAFE_INT else str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _cut(value, MAX_CELL)
    if isinstance(value, datetime | date | time):
        return _cut(str(value), MAX_CELL)
    if isinstance(value, timedelta):
        return str(value)
    text = _short_repr.repr(value) if isinstance(value, list | tuple | dict | set | frozenset) else _safe_str(value)
    return _cut(text, MAX_CELL)


def _safe_str(value: Any) -> str:
    try:
        return str(value)
    except Exception as exc:
        return f"<{type(value).__name__}: str() failed: {type(exc).__name__}>"


def _safe_repr(value: Any) -> str:
    try:
        if isinstance(value, list | tuple | dict | set | frozenset):
            return _long_repr.repr(value)
        return repr(value)
    except Exception as exc:
        return f"<{type(value).__module__}.{type(value).__qualname__} object; repr() failed: {type(exc).__name__}>"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(text: str) -> TextPreview:
    if len(text) > MAX_TEXT:
        text = f"{text[:MAX_TEXT]}\n… ({len(text):,} characters in all)"
    return {"kind": "text", "text": text}


def _make_repr(items: int, string: int, level: int) -> reprlib.Repr:
    shaper = reprlib.Repr()
    shaper.maxlevel = level
    shaper.maxlist = shaper.maxtuple = shaper.maxset = shaper.maxfrozenset = shaper.maxdeque = items
    shaper.maxdict = items
    shaper.maxarray = items
    shaper.maxstring = string
    shaper.maxother = string
    shaper.maxlong = 100
    return shaper


_long_repr = _make_repr(items=200, string=1000, level=6)
_short_repr = _make_repr(items=10, string=60, level=2)
