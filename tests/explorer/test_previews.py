"""Result previews are small, JSON-safe and exact about what they leave out."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from datatailr_jupyter.explorer.previews import (
    MAX_COLUMNS,
    MAX_ROWS,
    MAX_TEXT,
    TablePreview,
    TextPreview,
    preview_meta,
    preview_none,
    preview_value,
)
from datatailr_jupyter.models import ResultMeta


def as_table(value: Any) -> TablePreview:
    preview = preview_value(value)
    assert preview["kind"] == "table", preview
    return preview


def as_text(value: Any) -> TextPreview:
    preview = preview_value(value)
    assert preview["kind"] == "text", preview
    return preview


def _json_size(value: Any) -> int:
    return len(json.dumps(value, allow_nan=False, ensure_ascii=False).encode())


def test_a_dataframe_previews_its_first_fifty_rows_with_dtypes_and_the_exact_total() -> None:
    frame = pd.DataFrame({"region": [f"r{i}" for i in range(1234)], "total": np.arange(1234) * 1.5})
    preview = as_table(frame)
    assert preview["kind"] == "table"
    assert preview["total_rows"] == 1234
    assert preview["total_columns"] == 2
    assert [c["name"] for c in preview["columns"]] == ["region", "total"]
    assert preview["columns"][1]["dtype"] == "float64"
    assert len(preview["rows"]) == MAX_ROWS
    assert preview["rows"][3] == ["r3", 4.5]


def test_a_million_row_frame_gives_a_small_preview() -> None:
    frame = pd.DataFrame({f"c{i}": np.random.default_rng(i).random(1_000_000) for i in range(6)})
    preview = as_table(frame)
    assert preview["total_rows"] == 1_000_000
    assert len(preview["rows"]) == MAX_ROWS
    assert _json_size(preview) < 50_000


def test_a_fifty_megabyte_string_is_cut_and_says_how_long_it_was() -> None:
    text = "x" * (50 * 1024 * 1024)
    preview = as_text(text)
    assert preview["kind"] == "text"
    assert _json_size(preview) < MAX_TEXT + 200
    assert f"{len(text):,} characters" in preview["text"]


def test_missing_and_non_finite_values_become_strings_and_json_stays_strict() -> None:
    frame = pd.DataFrame(
        {
            "f": [1.0, float("nan"), float("inf")],
            "o": [None, "a", 2**70],
            "t": pd.to_datetime(pd.Series(["2026-01-01", None, "2026-01-03"])),
            "b": [True, False, True],
        }
    )
    preview = as_table(frame)
    rows = preview["rows"]
    assert rows[1][0] == "NaN" and rows[2][0] == "inf"
    assert rows[0][1] == "None" and rows[2][1] == str(2**70)
    assert rows[1][2] == "NaT" and str(rows[0][2]).startswith("2026-01-01")
    assert rows[0][3] == "True"
    json.dumps(preview, allow_nan=False)


def test_a_named_index_is_shown_first_and_a_default_one_is_not() -> None:
    frame = pd.DataFrame({"v": [1, 2]}, index=pd.Index(["a", "b"], name="key"))
    preview = as_table(frame)
    assert [c["name"] for c in preview["columns"]] == ["key", "v"]
    assert preview["rows"] == [["a", 1], ["b", 2]]
    assert [c["name"] for c in as_table(frame.reset_index())["columns"]] == ["key", "v"]


def test_a_wide_frame_shows_the_first_hundred_columns_and_counts_all() -> None:
    frame = pd.DataFrame(np.zeros((3, 1000)), columns=[f"c{i}" for i in range(1000)])
    preview = as_table(frame)
    assert len(preview["columns"]) == MAX_COLUMNS
    assert all(len(row) == MAX_COLUMNS for row in preview["rows"])
    assert preview["total_columns"] == 1000


def test_long_cells_are_cut() -> None:
    preview = as_table(pd.DataFrame({"s": ["y" * 10_000]}))
    cell = preview["rows"][0][0]
    assert isinstance(cell, str) and len(cell) <= 200 and cell.endswith("…")


def test_a_series_previews_as_one_column() -> None:
    preview = as_table(pd.Series([1, 2, 3], name="n"))
    assert [c["name"] for c in preview["columns"]] == ["n"]
    assert preview["rows"] == [[1], [2], [3]]


def test_polars_frames_preview_like_pandas() -> None:
    frame = pl.DataFrame({"a": list(range(100)), "b": ["x"] * 100})
    preview = as_table(frame)
    assert preview["total_rows"] == 100
    assert len(preview["rows"]) == MAX_ROWS
    assert preview["columns"] == [{"name": "a", "dtype": "Int64"}, {"name": "b", "dtype": "String"}]


def test_arrow_tables_preview_like_pandas() -> None:
    table = pa.table({"a": list(range(70)), "b": [1.5] * 70})
    preview = as_table(table)
    assert preview["total_rows"] == 70
    assert preview["rows"][2] == [2, 1.5]
    assert preview["columns"][0] == {"name": "a", "dtype": "int64"}


def test_numpy_arrays_of_one_and_two_dimensions_are_tables() -> None:
    one = as_table(np.arange(500))
    assert one["total_rows"] == 500 and one["rows"][:2] == [[0], [1]]
    two = as_table(np.arange(12).reshape(4, 3))
    assert two["total_columns"] == 3 and two["rows"][1] == [3, 4, 5]
    dates = as_table(np.array(["2026-01-01"], dtype="datetime64[ns]"))
    assert str(dates["rows"][0][0]).startswith("2026-01-01")


def test_numpy_arrays_of_three_dimensions_are_a_bounded_repr() -> None:
    preview = as_text(np.zeros((200, 200, 200)))
    assert preview["kind"] == "text"
    assert _json_size(preview) < MAX_TEXT + 200


def test_huge_containers_are_shown_shortened() -> None:
    preview = as_text(list(range(10_000_000)))
    assert preview["kind"] == "text"
    assert "..." in preview["text"]
    assert len(preview["text"]) < 5_000


def test_an_object_whose_repr_fails_is_still_previewed() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    preview = as_text(Broken())
    assert preview["kind"] == "text"
    assert "repr() failed" in preview["text"]


def test_a_none_value_reads_returned_none_not_no_result() -> None:
    assert preview_value(None) == {"kind": "none", "text": "The task returned None."}
    assert preview_none() == {"kind": "none", "text": "No result stored for this task."}


def test_an_unloaded_result_is_previewed_from_its_metadata() -> None:
    meta = ResultMeta(codec="pickle", bytes=2048, python_type="mymod.Thing", preview="Thing(a=1)")
    preview = preview_meta(meta, "pickles from this store are not trusted")
    assert preview["kind"] == "text"
    assert preview["text"].startswith("Thing(a=1)")
    assert "not trusted" in preview["text"] and "2,048 bytes" in preview["text"]


@pytest.mark.parametrize("value", [b"\x00" * 1_000_000, bytearray(b"ab" * 100_000)])
def test_bytes_are_cut(value: bytes) -> None:
    preview = as_text(value)
    assert len(preview["text"]) < MAX_TEXT + 100
    assert _json_size(preview) < 2 * MAX_TEXT + 200  # JSON doubles each backslash of the escapes
    assert f"{len(value):,} bytes in all" in preview["text"]
