"""Result codecs: Arrow IPC for tables, .npy for arrays, JSON for JSON values, cloudpickle only as the fallback.

Tables are written as uncompressed Arrow IPC files, so a stored table is read back by memory-mapping its file
(``load_file``): no copy of the bytes, only the conversion to the library the table came from. Results stored
before that are Parquet and still decode (each result records its codec in ResultMeta.codec).
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import pickle
import reprlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version as _dist_version
from pathlib import Path
from typing import Any

from ..errors import DatatailrJupyterError, ResultDecodeError, UntrustedPickleError
from ..models import ResultMeta
from .protocols import EncodedResult

__all__ = [
    "CODECS",
    "PREVIEW_MAX",
    "Codec",
    "ResultEncodeError",
    "decode",
    "encode",
    "load_file",
    "load_stored",
    "encode_to_file",
    "python_type",
    "write_staging_file",
]

PREVIEW_MAX = 2000
"""Longest preview text, in characters."""

_META_KEY = b"datatailr_jupyter"  # table schema metadata naming the library a table came from


def _check_pyarrow() -> None:
    """Refuse pyarrow releases that execute code when reading untrusted Parquet/IPC files (CVE-2023-47248)."""
    parts: list[int] = []
    for piece in _dist_version("pyarrow").split(".")[:3]:
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits) if digits else 0)
    if tuple(parts) < (14, 0, 1):
        raise ImportError(
            f"pyarrow {_dist_version('pyarrow')} is installed; datatailr_jupyter needs pyarrow >= 14.0.1 "
            "(older releases run code from untrusted Parquet files, CVE-2023-47248): pip install -U pyarrow"
        )


_check_pyarrow()


class ResultEncodeError(DatatailrJupyterError):
    """A task's return value cannot be stored by any codec (not even pickle)."""


@dataclass(frozen=True)
class Codec:
    """One way of turning bytes back into a value; ``safe`` codecs never run code from the bytes."""

    name: str
    ext: str
    safe: bool
    load: Callable[[ResultMeta, bytes], object]


def python_type(value: object) -> str:
    t = type(value)
    return f"{t.__module__}.{t.__qualname__}"


# ---------------------------------------------------------------- previews

_REPR = reprlib.Repr()
_REPR.maxstring = PREVIEW_MAX
_REPR.maxother = PREVIEW_MAX
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdeque = 50
_REPR.maxdict = 30
_REPR.maxlevel = 4


def _cut(text: str) -> str:
    return text if len(text) <= PREVIEW_MAX else text[: PREVIEW_MAX - 1] + "…"


def _preview(value: Any) -> str:
    try:
        if isinstance(value, str):
            return _cut(value)
        module = type(value).__module__.split(".")[0]
        if module == "pandas" and type(value).__name__ == "DataFrame":
            return _cut(value.head(10).to_string(max_cols=20, max_colwidth=40))
        if module == "pandas" and hasattr(value, "head"):
            return _cut(value.head(10).to_string())
        if module == "polars" and hasattr(value, "head"):
            return _cut(str(value.head(10)))
        if module == "pyarrow" and hasattr(value, "slice"):
            return _cut(value.slice(0, 10).to_string(preview_cols=20))
        if module == "numpy":
            import numpy as np

            return _cut(np.array2string(value, threshold=100, edgeitems=5, max_line_width=120))
        return _cut(_REPR.repr(value))
    except Exception:  # a broken __repr__ must not stop the result from being stored
        return f"<{python_type(value)} object>"


def _shape_and_length(value: object) -> tuple[tuple[int, ...] | None, int | None]:
    shape = getattr(value, "shape", None)
    module = type(value).__module__.split(".")[0]
    if module in ("pandas", "numpy", "polars") and isinstance(shape, tuple):
        return tuple(int(s) for s in shape), None
    if module == "pyarrow" and hasattr(value, "num_rows") and hasattr(value, "num_columns"):
        return (int(value.num_rows), int(value.num_columns)), None
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        return None, len(value)
    return None, None


def _meta(value: object, codec: str, data: bytes) -> ResultMeta:
    shape, length = _shape_and_length(value)
    return ResultMeta(
        codec=codec,
        bytes=len(data),
        python_type=python_type(value),
        shape=shape,
        length=length,
        preview=_preview(value),
        sha256=hashlib.sha256(data).hexdigest(),
    )


# ---------------------------------------------------------------- JSON

_JSON_SCALARS = (type(None), bool, int, float, str)


def _is_json(value: object, depth: int = 0) -> bool:
    """Exact JSON types only: subclasses (numpy floats, enums, named tuples) would not come back as themselves."""
    if depth > 200:
        return False
    kind = type(value)
    if kind in _JSON_SCALARS:
        return True
    if kind is list:
        return all(_is_json(v, depth + 1) for v in value)  # type: ignore[attr-defined]
    if kind is dict:
        return all(type(k) is str and _is_json(v, depth + 1) for k, v in value.items())  # type: ignore[attr-defined]
    return False


def _load_json(meta: ResultMeta, data: bytes) -> object:
    return json.loads(data.decode("utf-8"))


# ---------------------------------------------------------------- tables (Arrow IPC; Parquet read only)


def _table_kind(value: object) -> str | None:
    module = type(value).__module__.split(".")[0]
    name = type(value).__name__
    if module == "pandas" and name in ("DataFrame", "Series"):
        return f"pandas.{name}"
    if module == "polars" and name == "DataFrame":
        return "polars.DataFrame"
    if module == "pyarrow" and name == "Table":
        return "pyarrow.Table"
    return None


def _to_arrow(value: Any, kind: str) -> Any:
    import pyarrow as pa

    extra: dict[str, Any] = {"kind": kind}
    if kind == "pandas.Series":
        json.dumps(value.name)  # a name that JSON cannot hold goes to pickle instead
        extra["name"] = value.name
        table = pa.Table.from_pandas(value.to_frame(name="__series__"), preserve_index=True)
    elif kind == "pandas.DataFrame":
        if not value.columns.is_unique:
            raise ValueError("duplicate column names")
        table = pa.Table.from_pandas(value)  # a RangeIndex is kept as metadata, any other index as columns
    elif kind == "polars.DataFrame":
        table = value.to_arrow()
    else:
        table = value
    metadata = dict(table.schema.metadata or {})
    metadata[_META_KEY] = json.dumps(extra).encode()
    return table.replace_schema_metadata(metadata)


def _write_arrow(table: Any, sink: Any) -> None:
    """An Arrow IPC file, uncompressed: it is read back by mapping it, at the speed of memory."""
    import pyarrow as pa

    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _load_arrow(meta: ResultMeta, data: bytes) -> object:
    import pyarrow as pa

    table = pa.ipc.open_file(pa.py_buffer(data)).read_all()
    table.validate()
    return _from_arrow(table)


def _load_arrow_file(path: str | os.PathLike[str]) -> object:
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:  # the table's buffers point into the mapping
        table = pa.ipc.open_file(source).read_all()
    table.validate()
    return _from_arrow(table)


def _load_parquet(meta: ResultMeta, data: bytes) -> object:
    import pyarrow.parquet as pq

    return _from_arrow(pq.read_table(io.BytesIO(data)))


def _from_arrow(table: Any) -> object:
    """The table as the library it came from (recorded in its schema metadata)."""
    extra = json.loads((table.schema.metadata or {}).get(_META_KEY, b"{}"))
    kind = extra.get("kind", "pyarrow.Table")
    if kind == "pandas.DataFrame":
        return table.to_pandas()
    if kind == "pandas.Series":
        series = table.to_pandas()["__series__"]
        series.name = extra.get("name")
        return series
    if kind == "polars.DataFrame":
        import polars as pl

        own = {k: v for k, v in (table.schema.metadata or {}).items() if k != _META_KEY}
        return pl.from_arrow(table.replace_schema_metadata(own or None))
    own = {k: v for k, v in (table.schema.metadata or {}).items() if k != _META_KEY}
    return table.replace_schema_metadata(own or None)


# ---------------------------------------------------------------- numpy (.npy)


def _is_npy(value: object) -> bool:
    import numpy as np

    if type(value) is np.ndarray:
        return not value.dtype.hasobject
    return isinstance(value, np.generic) and not isinstance(value, np.object_)


def _npy_bytes(value: Any) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(value), allow_pickle=False)
    return buffer.getvalue()


def _load_npy(meta: ResultMeta, data: bytes) -> object:
    import numpy as np

    array = np.load(io.BytesIO(data), allow_pickle=False)
    if meta.python_type != "numpy.ndarray" and array.ndim == 0:
        return array[()]  # a numpy scalar (np.float64, np.int64, ...)
    return array


# ---------------------------------------------------------------- pickle


def _pickle_bytes(value: object) -> bytes:
    import cloudpickle

    try:
        return bytes(cloudpickle.dumps(value))
    except Exception as exc:
        raise ResultEncodeError(
            f"the task returned a {python_type(value)} that cannot be stored: pickling failed with "
            f"{type(exc).__name__}: {exc}; return a table, array, JSON value or another picklable object"
        ) from None


def _load_pickle(meta: ResultMeta, data: bytes) -> object:
    return pickle.loads(data)  # only reached through decode(), which checks trust first


CODECS: dict[str, Codec] = {
    "arrow": Codec("arrow", ".arrow", True, _load_arrow),
    "parquet": Codec("parquet", ".parquet", True, _load_parquet),
    "npy": Codec("npy", ".npy", True, _load_npy),
    "json": Codec("json", ".json", True, _load_json),
    "pickle": Codec("pickle", ".pkl", False, _load_pickle),
}
"""Every codec by name; decode() refuses the unsafe ones (safe=False) unless the source is trusted."""


# ---------------------------------------------------------------- public API


def _encode_bytes(value: object) -> tuple[str, bytes]:
    if _is_json(value):
        try:
            return "json", json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        except (ValueError, RecursionError):
            pass
    kind = _table_kind(value)
    if kind is not None:
        try:
            buffer = io.BytesIO()
            _write_arrow(_to_arrow(value, kind), buffer)
            return "arrow", buffer.getvalue()
        except Exception:  # mixed-type object columns, exotic names: keep the value via pickle
            pass
    if type(value).__module__.split(".")[0] == "numpy" and _is_npy(value):
        return "npy", _npy_bytes(value)
    return "pickle", _pickle_bytes(value)


def encode(value: object) -> EncodedResult:
    """The value in the safest codec that round-trips it, with its ResultMeta (size, sha256, preview)."""
    codec, data = _encode_bytes(value)
    return EncodedResult(meta=_meta(value, codec, data), data=data)


def encode_to_file(value: object, directory: str | os.PathLike[str]) -> EncodedResult:
    """Like encode(), but into a new fsynced file in ``directory`` (a store's staging_dir()); large tables
    are written straight to the file. If anything fails (a full disk), the partial file is removed."""
    path = Path(directory) / f"{uuid.uuid4().hex}.part"
    try:
        return _encode_into(value, path)
    except OSError as exc:
        # numpy checks the room first (fallocate) and says "Not enough free space to write ...", with no errno
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT) or "free space" in str(exc) or _no_room(path.parent)
        path.unlink(missing_ok=True)
        if full and exc.errno != errno.ENOSPC:
            raise OSError(errno.ENOSPC, f"No space left on device for the result in {path.parent} ({exc})") from exc
        raise
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _no_room(directory: Path) -> bool:
    try:
        st = os.statvfs(directory)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < (1 << 20)


def write_staging_file(data: bytes | memoryview, directory: str | os.PathLike[str]) -> str:
    """Write encoded bytes to a new fsynced file in ``directory``; the partial file is removed on failure."""
    path = Path(directory) / f"{uuid.uuid4().hex}.part"
    try:
        with open(path, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return str(path)


def _encode_into(value: object, path: Path) -> EncodedResult:
    kind = _table_kind(value)
    codec: str | None = None
    if kind is not None:
        try:
            table = _to_arrow(value, kind)
            with open(path, "wb") as fh:  # streamed batch by batch: no copy of the whole file in memory
                _write_arrow(table, fh)
            codec = "arrow"
        except OSError:
            raise  # the disk, not the value: encoding it another way would not help
        except Exception:
            codec = None
    elif type(value).__module__.split(".")[0] == "numpy" and _is_npy(value):
        import numpy as np

        with open(path, "wb") as fh:  # streamed from the array's memory: no .npy copy of it in memory
            np.lib.format.write_array(fh, np.asarray(value), allow_pickle=False)
        codec = "npy"
    if codec is None:
        codec, data = _encode_bytes(value)
        with open(path, "wb") as fh:
            fh.write(data)
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb+") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
        os.fsync(fh.fileno())
    shape, length = _shape_and_length(value)
    meta = ResultMeta(
        codec=codec,
        bytes=size,
        python_type=python_type(value),
        shape=shape,
        length=length,
        preview=_preview(value),
        sha256=digest.hexdigest(),
    )
    return EncodedResult(meta=meta, path=str(path))


def decode(meta: ResultMeta, data: bytes, *, trusted: bool, source: str = "this store") -> object:
    """The value back from its bytes. Pickles are refused (UntrustedPickleError) unless ``trusted``."""
    codec = CODECS.get(meta.codec)
    if codec is None:
        raise ResultDecodeError(
            f"the result is stored with codec {meta.codec!r}, which this version of datatailr_jupyter does not "
            f"know (known: {', '.join(CODECS)}); upgrade datatailr_jupyter"
        )
    if not codec.safe and not trusted:
        raise UntrustedPickleError(
            f"refused to unpickle the {meta.python_type} result from {source} because it is not trusted "
            "(unpickling runs code chosen by whoever wrote it); pass allow_pickle=True, or trust the store, "
            "only if you trust its authors"
        )
    try:
        return codec.load(meta, data)
    except (ModuleNotFoundError, AttributeError) as exc:
        if codec.safe:
            raise _corrupt(meta, data, exc) from None
        raise ResultDecodeError(
            f"the pickled {meta.python_type} result refers to code this process does not have ({exc}); "
            "import or define it first, then load the result again"
        ) from None
    except Exception as exc:
        raise _corrupt(meta, data, exc) from None


def load_file(meta: ResultMeta, path: str | os.PathLike[str], *, trusted: bool, source: str = "this store") -> object:
    """The value of a result from its file. An Arrow table is memory-mapped and converted without reading the file
    into memory first; its size (checked by the store) and Arrow's structure checks stand in for the sha256, which
    would cost more than the read. Other codecs are decoded from the file's bytes."""
    if meta.codec != "arrow":
        with open(path, "rb") as fh:
            data = fh.read()
        return decode(meta, data, trusted=trusted, source=source)
    try:
        return _load_arrow_file(path)
    except Exception as exc:
        raise _corrupt(meta, b"", exc) from None


def load_stored(reader: Any, run_id: int, task_id: int, *, trusted: bool, source: str = "this store") -> object:
    """The value of a task's result through any RunReader: a table in a local store's file is mapped (load_file),
    anything else is read as bytes (checked against its size and sha256) and decoded."""
    from .protocols import result_file_of

    located = result_file_of(reader, run_id, task_id)
    if located is not None and located[0].codec == "arrow":
        return load_file(located[0], located[1], trusted=trusted, source=source)
    meta, data = reader.read_result(run_id, task_id)
    return decode(meta, data, trusted=trusted, source=source)


def _corrupt(meta: ResultMeta, data: bytes, exc: Exception) -> ResultDecodeError:
    return ResultDecodeError(
        f"the {meta.codec} result ({meta.python_type}, {len(data) or meta.bytes:,} bytes) could not be decoded: "
        f"{type(exc).__name__}: {str(exc)[:300]}; it may be truncated/corrupt; rerun the task to produce it again"
    )
