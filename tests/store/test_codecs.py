"""Result codecs round-trip every supported type, keep previews small, and never unpickle untrusted bytes."""

from __future__ import annotations

import hashlib
import io
import json
import math
import pickle
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datatailr_jupyter.errors import DatatailrJupyterError, ResultDecodeError, UntrustedPickleError
from datatailr_jupyter.models import ResultMeta
from datatailr_jupyter.store import codecs
from datatailr_jupyter.store.codecs import CODECS, PREVIEW_MAX, ResultEncodeError, decode, encode, encode_to_file


def round_trip(value: Any, trusted: bool = True) -> tuple[str, Any]:
    encoded = encode(value)
    assert encoded.data is not None and encoded.path is None
    assert encoded.meta.bytes == len(encoded.data)
    assert encoded.meta.sha256 == hashlib.sha256(encoded.data).hexdigest()
    return encoded.meta.codec, decode(encoded.meta, encoded.data, trusted=trusted)


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (other.x, other.y) == (self.x, self.y)


class Evil:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


# ---------------------------------------------------------------- tables


def test_pandas_frame_keeps_index_categoricals_and_time_zones_through_arrow() -> None:
    frame = pd.DataFrame(
        {
            "amount": [1.5, 2.5, None],
            "region": pd.Categorical(["north", "south", "north"]),
            "at": pd.date_range("2026-03-01", periods=3, freq="h", tz="Europe/Paris"),
            "label": ["a", None, "c"],
            "n": np.array([1, 2, 3], dtype=np.int32),
        },
        index=pd.Index([10, 20, 30], name="row"),
    )
    codec, back = round_trip(frame, trusted=False)
    assert codec == "arrow"
    pd.testing.assert_frame_equal(back, frame)
    assert isinstance(back["region"].dtype, pd.CategoricalDtype) and str(back["at"].dt.tz) == "Europe/Paris"


def test_pandas_frames_with_a_range_index_multi_index_or_integer_columns_round_trip() -> None:
    for frame in (
        pd.DataFrame({"x": range(5)}),
        pd.DataFrame({"v": [1, 2]}, index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)], names=["k", "i"])),
        pd.DataFrame({0: [1.0], 1: [2.0]}),
    ):
        codec, back = round_trip(frame)
        assert codec == "arrow"
        pd.testing.assert_frame_equal(back, frame)


def test_a_frame_arrow_cannot_hold_falls_back_to_pickle_and_still_round_trips() -> None:
    frame = pd.DataFrame({"mixed": [1, "two", Point(3, 4)]})
    codec, back = round_trip(frame)
    assert codec == "pickle" and back["mixed"].tolist() == [1, "two", Point(3, 4)]
    dupes = pd.DataFrame([[1, 2]], columns=["a", "a"])
    codec, back = round_trip(dupes)
    assert codec == "pickle"
    pd.testing.assert_frame_equal(back, dupes)


def test_pandas_series_come_back_as_series_with_their_name() -> None:
    for series in (pd.Series([1.0, 2.0], name="total"), pd.Series(["a", "b"], index=[5, 6]), pd.Series([3], name=7)):
        codec, back = round_trip(series, trusted=False)
        assert codec == "arrow" and isinstance(back, pd.Series)
        pd.testing.assert_series_equal(back, series)


def test_polars_and_pyarrow_tables_come_back_as_the_same_library() -> None:
    frame = pl.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None], "t": [datetime(2026, 1, 1, tzinfo=timezone.utc)] * 3})
    codec, back = round_trip(frame, trusted=False)
    assert codec == "arrow" and isinstance(back, pl.DataFrame) and back.equals(frame)
    table = pa.table({"x": [1, 2], "y": ["p", "q"]}).replace_schema_metadata({"owner": "me"})
    codec, back = round_trip(table, trusted=False)
    assert codec == "arrow" and isinstance(back, pa.Table) and back.equals(table)
    assert back.schema.metadata == {b"owner": b"me"}


# ---------------------------------------------------------------- arrays and scalars


@pytest.mark.parametrize(
    "array",
    [
        np.linspace(0, 1, 11),
        np.arange(12, dtype=np.int64).reshape(3, 4),
        np.array([True, False]),
        np.array([(1, 2.5, b"ab")], dtype=[("a", "i4"), ("b", "f8"), ("c", "S2")]),
        np.array(["x", "yz"]),
        np.zeros((0, 3)),
    ],
    ids=["float", "int-2d", "bool", "structured", "unicode", "empty"],
)
def test_numpy_arrays_round_trip_through_npy_without_pickle(array: np.ndarray) -> None:
    codec, back = round_trip(array, trusted=False)
    assert codec == "npy" and back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_numpy_scalars_stay_scalars_and_object_arrays_need_pickle() -> None:
    for scalar in (np.float64(2.5), np.int32(-4), np.bool_(True)):
        codec, back = round_trip(scalar, trusted=False)
        assert codec == "npy" and type(back) is type(scalar) and back == scalar
    objects = np.array([Point(1, 2), None], dtype=object)
    codec, back = round_trip(objects)
    assert codec == "pickle" and back.tolist() == objects.tolist()
    assert encode(np.arange(6).reshape(2, 3)).meta.shape == (2, 3)


# ---------------------------------------------------------------- JSON values and pickle fallbacks


def test_json_values_round_trip_exactly_including_nan_and_big_integers() -> None:
    value = {"int": 2**80, "neg": -0.0, "s": "café ☕", "nested": [None, True, [1.5, {"k": "v"}]], "nan": math.nan}
    codec, back = round_trip(value, trusted=False)
    assert codec == "json" and math.isnan(back.pop("nan"))
    assert back == {k: v for k, v in value.items() if k != "nan"}
    assert math.copysign(1, back["neg"]) == -1


def test_tuples_numpy_floats_in_lists_and_custom_classes_fall_back_to_pickle() -> None:
    for value in ((1, "a"), [np.float64(1.0)], {1: "int key"}, Point(1, 2), {"when": datetime(2026, 1, 1)}):
        codec, back = round_trip(value)
        assert codec == "pickle" and back == value and type(back) is type(value)


def test_meta_describes_type_shape_length_and_a_preview() -> None:
    frame = pd.DataFrame({"a": range(1000), "b": ["x"] * 1000})
    meta = encode(frame).meta
    assert meta.python_type.startswith("pandas.") and meta.python_type.endswith("DataFrame")
    assert meta.shape == (1000, 2) and meta.length is None and "a" in meta.preview and "999" not in meta.preview
    assert encode(pa.table({"x": [1, 2, 3]})).meta.shape == (3, 1)
    assert encode([1, 2, 3]).meta.length == 3 and encode("abc").meta.length == 3 and encode({"a": 1}).meta.length == 1
    assert encode([1, 2, 3]).meta.python_type == "builtins.list"
    assert encode(Point(1, 2)).meta.python_type.endswith("test_codecs.Point")


@pytest.mark.parametrize(
    "value",
    [
        "z" * 1_000_000,
        list(range(1_000_000)),
        {f"k{i}": "v" * 100 for i in range(10_000)},
        pd.DataFrame(np.ones((5000, 300))),
        np.ones((2000, 2000)),
        BadRepr(),
        [[[[[[[["deep"]]]]]]]],
    ],
    ids=["str", "list", "dict", "wide-frame", "array", "bad-repr", "deep"],
)
def test_previews_stay_within_the_bound(value: Any) -> None:
    preview = encode(value).meta.preview
    assert 0 < len(preview) <= PREVIEW_MAX


def test_an_unpicklable_value_is_a_clear_error_naming_its_type() -> None:
    with pytest.raises(ResultEncodeError, match=r"_thread\.lock|lock") as info:
        encode(threading.Lock())
    assert isinstance(info.value, DatatailrJupyterError) and "cannot be stored" in str(info.value)


def test_encode_to_file_writes_a_complete_file_and_matching_meta(tmp_path: Path) -> None:
    for value in (pd.DataFrame({"x": np.arange(50_000)}), {"small": [1, 2]}, Point(5, 6)):
        encoded = encode_to_file(value, tmp_path)
        assert encoded.data is None and encoded.path is not None
        path = Path(encoded.path)
        assert path.parent == tmp_path and path.suffix == ".part"
        data = path.read_bytes()
        assert encoded.meta.bytes == len(data) and encoded.meta.sha256 == hashlib.sha256(data).hexdigest()
        assert encoded.meta.codec == encode(value).meta.codec
        back: Any = decode(encoded.meta, data, trusted=True)
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(back, value)
        else:
            assert back == value


# ---------------------------------------------------------------- the pickle gate


def _meta(codec: str) -> ResultMeta:
    return ResultMeta(codec=codec, bytes=0, python_type="tests.Evil")


def test_every_registered_codec_is_classified_and_only_pickle_can_run_code() -> None:
    assert set(CODECS) == {"arrow", "parquet", "npy", "json", "pickle"}
    assert {name for name, codec in CODECS.items() if not codec.safe} == {"pickle"}
    assert all(c.name == name and c.ext.startswith(".") for name, c in CODECS.items())


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_no_codec_runs_a_malicious_pickle_from_an_untrusted_store(codec: str, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    payloads = [pickle.dumps(Evil(marker))]
    buffer = io.BytesIO()
    np.save(buffer, np.array([Evil(marker)], dtype=object), allow_pickle=True)
    payloads.append(buffer.getvalue())
    for data in payloads:
        if CODECS[codec].safe:
            with pytest.raises(ResultDecodeError):
                decode(_meta(codec), data, trusted=False)
            with pytest.raises(ResultDecodeError):
                decode(_meta(codec), data, trusted=True)  # safe codecs never unpickle, trusted or not
        else:
            with pytest.raises(UntrustedPickleError, match="allow_pickle=True") as info:
                decode(_meta(codec), data, trusted=False, source="store http://team")
            assert "http://team" in str(info.value) and "not trusted" in str(info.value)
        assert not marker.exists()


def test_the_malicious_pickle_is_real_it_runs_when_trusted(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    decode(_meta("pickle"), pickle.dumps(Evil(marker)), trusted=True)
    assert marker.exists()


def test_an_unknown_codec_asks_for_an_upgrade() -> None:
    with pytest.raises(ResultDecodeError, match="upgrade datatailr_jupyter"):
        decode(_meta("zarr"), b"", trusted=True)


def test_a_pickle_of_a_class_this_process_lacks_says_what_is_missing() -> None:
    data = pickle.dumps(Point(1, 2)).replace(b"test_codecs", b"test_gone__")
    with pytest.raises(ResultDecodeError, match="import or define it"):
        decode(_meta("pickle"), data, trusted=True)


def test_old_pyarrow_is_refused_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codecs, "_dist_version", lambda name: "14.0.0")
    with pytest.raises(ImportError, match="14.0.1"):
        codecs._check_pyarrow()
    monkeypatch.setattr(codecs, "_dist_version", lambda name: "14.0.1")
    codecs._check_pyarrow()


# ---------------------------------------------------------------- property tests

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_json_like_values_round_trip_untrusted(value: Any) -> None:
    codec, back = round_trip(value, trusted=False)
    assert codec == "json" and back == value
    assert json.loads(encode(value).data or b"") == value


def parquet_bytes(value: Any, kind: str) -> bytes:
    """A table result as stores wrote it before Arrow IPC: Parquet (zstd) with the same schema metadata."""
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(codecs._to_arrow(value, kind), buffer, compression="zstd")
    return buffer.getvalue()


SAMPLES = {
    "arrow": encode(pd.DataFrame({"a": range(20), "b": ["x"] * 20})).data,
    "parquet": parquet_bytes(pd.DataFrame({"a": range(20), "b": ["x"] * 20}), "pandas.DataFrame"),
    "npy": encode(np.arange(20.0)).data,
    "json": encode({"a": [1, 2, {"b": "c"}]}).data,
}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(SAMPLES)), st.data())
def test_mutated_safe_results_decode_or_raise_result_decode_error(codec: str, data: st.DataObject) -> None:
    original = bytearray(SAMPLES[codec] or b"")
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(original) - 1))
        original[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(original)))
    mutated = bytes(original[:cut]) if data.draw(st.booleans()) else bytes(original)
    try:
        decode(_meta(codec), mutated, trusted=False)
    except ResultDecodeError as exc:  # any other exception fails the test
        assert "rerun the task" in str(exc)


def test_a_result_file_that_cannot_be_written_is_removed_and_a_full_disk_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from datatailr_jupyter.store import codecs

    def no_room(value: object, path: Path) -> object:
        path.write_bytes(b"the first bytes")
        raise OSError("Not enough free space to write 10 bytes after offset 0")  # numpy's words, no errno

    monkeypatch.setattr(codecs, "_encode_into", no_room)
    with pytest.raises(OSError, match="No space left on device") as info:
        codecs.encode_to_file([1, 2], tmp_path)
    assert info.value.errno == errno.ENOSPC and list(tmp_path.iterdir()) == []

    def broken(value: object, path: Path) -> object:
        path.write_bytes(b"x")
        raise RuntimeError("interrupted")

    monkeypatch.setattr(codecs, "_encode_into", broken)
    with pytest.raises(RuntimeError, match="interrupted"):
        codecs.encode_to_file([1, 2], tmp_path)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OSError):
        codecs.write_staging_file(b"data", tmp_path / "missing-dir")
    assert codecs.write_staging_file(b"data", tmp_path).endswith(".part")


# ---------------------------------------------------------------- Arrow IPC files and Parquet of older stores


def test_tables_stored_as_parquet_by_older_stores_still_decode_as_their_library() -> None:
    frame = pd.DataFrame({"a": [1.5, 2.5], "b": ["x", None]}, index=pd.Index([3, 4], name="k"))
    meta = ResultMeta(codec="parquet", bytes=0, python_type="pandas.core.frame.DataFrame")
    pd.testing.assert_frame_equal(decode(meta, parquet_bytes(frame, "pandas.DataFrame"), trusted=False), frame)
    series = pd.Series([1.0, 2.0], name="total")
    back = decode(meta, parquet_bytes(series, "pandas.Series"), trusted=False)
    assert isinstance(back, pd.Series)
    pd.testing.assert_series_equal(back, series)
    table = pa.table({"x": [1, 2]})
    assert decode(meta, parquet_bytes(table, "pyarrow.Table"), trusted=False).equals(table)


def test_a_large_frame_is_streamed_to_an_arrow_file_and_loads_back_mapped(tmp_path: Path) -> None:
    frame = pd.DataFrame(np.random.default_rng(1).random((50_000, 5)), columns=list("abcde"))
    encoded = encode_to_file(frame, tmp_path)
    assert encoded.meta.codec == "arrow" and encoded.path is not None and encoded.data is None
    path = Path(encoded.path)
    assert path.stat().st_size == encoded.meta.bytes < frame.memory_usage().sum() + 16_384  # no index column
    assert encoded.meta.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    pd.testing.assert_frame_equal(codecs.load_file(encoded.meta, path, trusted=False), frame)
    pd.testing.assert_frame_equal(decode(encoded.meta, path.read_bytes(), trusted=False), frame)


def test_a_truncated_arrow_file_is_a_result_decode_error_not_a_crash(tmp_path: Path) -> None:
    encoded = encode_to_file(pd.DataFrame({"a": np.arange(100_000.0)}), tmp_path)
    assert encoded.path is not None
    path = Path(encoded.path)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 8):
        path.write_bytes(data[:cut])
        with pytest.raises(ResultDecodeError, match="truncated/corrupt"):
            codecs.load_file(encoded.meta, path, trusted=False)
