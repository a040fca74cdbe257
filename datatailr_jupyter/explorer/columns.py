"""The columnar form of get-run's tasks: one array per field, repeated values sent once (docs/protocol.md).

A column is one of

* a JSON array, one value per row;
* ``{"same": value}`` when every row (two or more) has the same value (the run id, a state, zeros, nulls, ``{}``);
* ``{"from": k}`` for the whole numbers k, k + 1, k + 2, ... (task ids; two or more rows);
* ``{"dict": [distinct values], "codes": [index into dict per row]}`` when at most half the values are distinct
  (states, functions, times of a run whose tasks ran together);
* ``{"lists": column of the items, "lengths": column of the items per row}`` for a field whose values are lists
  (dependencies: a flat edge list);
* ``{"rows": [rows that have a value], "fields": {name: column over those rows}}`` for a field whose values are
  records or null (result, error); the other rows are null. Without ``rows``, every row has a record.

:func:`decode_columns` gives back exactly the records the columns were made from; js/columns.ts does the same in
the browser.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import Enum
from itertools import chain
from typing import Any

__all__ = [
    "decode_columns",
    "encode_column",
    "encode_dicts",
    "encode_records",
    "encode_times",
    "task_records",
    "task_states",
    "wire_value",
]

_SCALARS = (str, int, float, bool, type(None))
_NAIVE_EPOCH = datetime(1970, 1, 1)  # UTC without a zone: only its isoformat() is used, the zone is written "Z"


def _key(value: Any) -> Any:
    """A hashable key equal for equal JSON values (True, 1 and 1.0 stay apart); repr for containers."""
    if isinstance(value, _SCALARS):
        return (type(value), value)
    return (type(value), repr(value))


def _consecutive(values: Sequence[Any]) -> bool:
    """Whether ``values`` are two or more whole numbers k, k + 1, k + 2, ... (bools are not numbers here)."""
    first = values[0]
    if len(values) < 2 or type(first) is not int:
        return False
    return all(type(v) is int and v == first + i for i, v in enumerate(values))


def encode_column(values: Sequence[Any], *, ranges: bool = True) -> Any:
    """``values`` (JSON values, one per row) as a column: one value when all are the same, a start for consecutive
    whole numbers (unless ``ranges`` is false), dictionary-coded when it halves the values."""
    if not values:
        return []
    types = set(map(type, values))
    if all(issubclass(t, list) for t in types):
        items = list(chain.from_iterable(values))
        return {"lists": encode_column(items), "lengths": encode_column(list(map(len, values)), ranges=False)}
    kinds = types - {type(None)}
    if len(kinds) <= 1 and kinds <= {str, int, float, bool}:  # one hashable kind: values never equal across kinds
        if ranges and _consecutive(values):
            return {"from": values[0]}
        seen = dict.fromkeys(values)
        if len(seen) > len(values) // 2:
            return list(values)
        if len(seen) == 1:
            return {"same": values[0]}
        codes_of = {v: i for i, v in enumerate(seen)}
        return {"dict": list(seen), "codes": list(map(codes_of.__getitem__, values))}
    if types == {dict} and len(values) > 1 and not any(values):  # every value {} (resources, arguments)
        return {"same": values[0]}
    index: dict[Any, int] = {}
    distinct: list[Any] = []
    codes: list[int] = []
    limit = len(values) // 2
    for value in values:
        key = _key(value)
        code = index.get(key)
        if code is None:
            if len(distinct) >= limit:
                return list(values)
            code = index[key] = len(distinct)
            distinct.append(value)
        codes.append(code)
    if len(distinct) == 1:
        return {"same": distinct[0]}
    return {"dict": distinct, "codes": codes}


def encode_times(micros: Sequence[int | None]) -> Any:
    """A column of times given as microseconds since the Unix epoch, sent as ISO-8601 UTC text (``to_wire_time``):
    coded on the integers, so each distinct time is formatted once."""
    column = encode_column(micros, ranges=False)
    prefixes: dict[int, str] = {}

    def text(us: int | None) -> str | None:
        if us is None:
            return None
        seconds, micro = divmod(us, 1_000_000)
        prefix = prefixes.get(seconds)
        if prefix is None:
            prefix = prefixes[seconds] = (_NAIVE_EPOCH + timedelta(seconds=seconds)).isoformat()
        return f"{prefix}.{micro:06d}Z" if micro else prefix + "Z"

    if isinstance(column, dict):
        if "same" in column:
            return {"same": text(column["same"])}
        return {"dict": [text(v) for v in column["dict"]], "codes": column["codes"]}
    return [text(v) for v in column]


def _present(rows: list[int], n: int, fields: dict[str, Any]) -> dict[str, Any]:
    """A record column: ``rows`` left out when every one of the ``n`` rows has a record."""
    return {"fields": fields} if len(rows) == n else {"rows": rows, "fields": fields}


def encode_records(records: Sequence[Any], fields: Sequence[str], wire: Callable[[str, Any], Any]) -> Any:
    """A column of records (objects with attributes ``fields``) or None: the present rows, a column per field."""
    rows = [i for i, r in enumerate(records) if r is not None]
    present = [records[i] for i in rows]
    return _present(rows, len(records), {f: encode_column([wire(f, getattr(r, f)) for r in present]) for f in fields})


def encode_dicts(
    records: Sequence[Mapping[str, Any] | None],
    defaults: Mapping[str, Any],
    wire: Callable[[str, list[Any]], list[Any]] | None = None,
) -> Any:
    """:func:`encode_records` for records given as dicts: a missing field takes its value from ``defaults``, and
    ``wire(field, values)`` gives the values of a field as they are sent."""
    rows = [i for i, r in enumerate(records) if r is not None]
    present: list[Mapping[str, Any]] = [r for r in records if r is not None]
    fields = {}
    for name, default in defaults.items():
        values = [r.get(name, default) for r in present]
        fields[name] = encode_column(values if wire is None else wire(name, values))
    return _present(rows, len(records), fields)


def _decode(column: Any, n: int) -> list[Any]:
    if isinstance(column, list):
        if len(column) != n:
            raise ValueError(f"a column has {len(column)} values for {n} rows")
        return column
    if not isinstance(column, Mapping):
        raise ValueError(f"a column must be an array or an object, not {type(column).__name__}")
    if "same" in column:
        return [column["same"]] * n
    if "from" in column:
        first = column["from"]
        if type(first) is not int:
            raise ValueError(f"a 'from' column must start at a whole number, not {first!r}")
        return list(range(first, first + n))
    if "codes" in column:
        distinct = column["dict"]
        return [distinct[c] for c in _decode(column["codes"], n)]
    if "lengths" in column:
        lengths = _decode(column["lengths"], n)
        items = _decode(column["lists"], sum(lengths))
        out, at = [], 0
        for length in lengths:
            out.append(items[at : at + length])
            at += length
        return out
    if "fields" in column:
        rows = column.get("rows", range(n))
        fields = {name: _decode(c, len(rows)) for name, c in column["fields"].items()}
        values: list[Any] = [None] * n
        for j, i in enumerate(rows):
            values[i] = {name: vs[j] for name, vs in fields.items()}
        return values
    raise ValueError(f"unknown column form with keys {sorted(column)}")


def decode_columns(n: int, columns: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``n`` records the columns were made from (field order as in ``columns``)."""
    decoded = {name: _decode(column, n) for name, column in columns.items()}
    return [{name: values[i] for name, values in decoded.items()} for i in range(n)]


def task_records(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The tasks of a get-run answer as records (TaskRun.to_dict() form plus ``arguments``)."""
    return decode_columns(int(answer["n_tasks"]), answer["columns"])


def task_states(answer: Mapping[str, Any]) -> list[tuple[int, str]]:
    """``(task id, state)`` of each task of a get-run answer, decoding only those two columns."""
    n, columns = int(answer["n_tasks"]), answer["columns"]
    return list(zip(_decode(columns["id"], n), _decode(columns["state"], n), strict=True))


def wire_value(value: Any) -> Any:
    """A model attribute as it goes on the wire: enums by value, tuples as lists (times are formatted by caller)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple):
        return list(value)
    return value
