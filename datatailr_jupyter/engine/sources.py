"""Functions pickled by value travel with their file name and source text, so tracebacks elsewhere show both.

cloudpickle rebuilds a function shipped by value from its code object, and what that code object says about where
it came from differs between releases (3.1 names every such function's file ``<dynamic-code>``); the other process
has no copy of a notebook cell's source either. :func:`dumps` therefore records, while cloudpickle pickles, every
function it ships by value together with its original ``co_filename`` and that file's lines (from ``linecache``,
where IPython registers its cells too), and wraps the payload so that unpickling it -- with plain ``pickle.loads``
-- ends in :func:`_restored`: each such function gets its code object (nested ones included) renamed back to the
original file and remembers its lines; files ``linecache`` cannot find here (cells) are registered right away.
:func:`shipped_sources` puts a function's lines in ``linecache`` while it runs -- even where a file of that name
exists or another version of it was shipped -- and takes them out afterwards. Payloads without the wrapper (code
stored by earlier releases) load as before. ``_restored`` is named in stored payloads: keep its name and signature.
"""

from __future__ import annotations

import io
import linecache
import types
import weakref
from typing import Any

import cloudpickle

__all__ = ["dumps", "shipped_sources", "with_filename"]

Sources = dict[str, list[str]]
"""File name -> the file's lines (as ``linecache`` holds them), as they were when the functions were pickled."""

_SHIPPED: weakref.WeakKeyDictionary[types.FunctionType, Sources] = weakref.WeakKeyDictionary()
"""Functions this process unpickled from a payload of :func:`dumps`, and the sources that came with them."""


class _Shipment:
    """What :func:`dumps` pickles: the object, then the functions shipped by value inside it and their sources."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.functions: list[types.FunctionType] = []
        self.filenames: list[str] = []
        self.sources: Sources = {}

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle saves these arguments in order, so the lists and the dict are written after ``obj`` has been
        # pickled, which is what fills them (see _RecordingPickler)
        return _restored, (self.obj, self.functions, self.filenames, self.sources)

    def record(self, func: types.FunctionType) -> None:
        filename = func.__code__.co_filename
        self.functions.append(func)
        self.filenames.append(filename)
        if filename not in self.sources:
            lines = _source_lines(func, filename)
            if lines:
                self.sources[filename] = list(lines)


class _RecordingPickler(cloudpickle.Pickler):
    """cloudpickle's pickler, telling the shipment about every function it pickles by value."""

    def __init__(self, file: io.BytesIO, shipment: _Shipment, protocol: int | None) -> None:
        super().__init__(file, protocol=protocol)
        self.shipment = shipment
        self.seen: set[int] = set()

    def reducer_override(self, obj: Any) -> Any:
        reduced = super().reducer_override(obj)
        if reduced is not NotImplemented and isinstance(obj, types.FunctionType) and id(obj) not in self.seen:
            self.seen.add(id(obj))  # by value: cloudpickle returned its own reduction instead of a global reference
            self.shipment.record(obj)
        return reduced


def _source_lines(func: types.FunctionType, filename: str) -> list[str]:
    shipped = _SHIPPED.get(func)
    if shipped is not None and filename in shipped:  # unpickled here: pass on what came with it
        return shipped[filename]
    linecache.checkcache(filename)  # what a traceback here would show: the file as it is now, or a cell
    return linecache.getlines(filename, func.__globals__)


def dumps(obj: Any, protocol: int | None = None) -> bytes:
    """cloudpickle ``obj``; ``pickle.loads`` of the result returns it with its functions' files and sources restored."""
    buffer = io.BytesIO()
    shipment = _Shipment(obj)
    _RecordingPickler(buffer, shipment, protocol).dump(shipment)
    return buffer.getvalue()


def with_filename(code: types.CodeType, filename: str) -> types.CodeType:
    """``code`` and the code objects nested in it (inner functions, lambdas, comprehensions) naming ``filename``."""
    consts = tuple(with_filename(c, filename) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    if code.co_filename == filename and all(a is b for a, b in zip(consts, code.co_consts, strict=True)):
        return code  # (code objects compare equal whatever their file names: compare identities)
    return code.replace(co_filename=filename, co_consts=consts)


def _register(filename: str, lines: list[str]) -> None:
    linecache.cache[filename] = (sum(map(len, lines)), None, lines, filename)  # no mtime: checkcache keeps it


class shipped_sources:
    """While ``function`` (a function or a ``@task``) runs and its errors are formatted, ``linecache`` returns the
    source lines that were shipped with it, then what it returned before. (A class, not a generator: it is entered
    once per task, and a task can take less time than a generator-based context manager.)"""

    __slots__ = ("entries", "saved")

    def __init__(self, function: Any) -> None:
        target = getattr(function, "func", function)
        sources = _SHIPPED.get(target) if isinstance(target, types.FunctionType) else None
        self.entries = _entries(sources) if sources else None
        self.saved: dict[str, Any] = {}

    def __enter__(self) -> None:
        if self.entries is not None:
            cache = linecache.cache
            self.saved = {filename: cache.get(filename) for filename in self.entries}
            cache.update(self.entries)

    def __exit__(self, *exc: object) -> None:
        if self.entries is not None:
            cache = linecache.cache
            for filename, entry in self.saved.items():
                if entry is None:
                    cache.pop(filename, None)
                else:
                    cache[filename] = entry


_ENTRIES: dict[int, tuple[Sources, dict[str, Any]]] = {}


def _entries(sources: Sources) -> dict[str, Any]:
    """``linecache`` entries of shipped sources, made once per payload (summing a file's line lengths each time a
    task starts cost more than a short task)."""
    known = _ENTRIES.get(id(sources))
    if known is not None and known[0] is sources:
        return known[1]
    if len(_ENTRIES) > 256:
        _ENTRIES.clear()
    entries = {filename: (sum(map(len, lines)), None, lines, filename) for filename, lines in sources.items()}
    _ENTRIES[id(sources)] = (sources, entries)
    return entries


def _restored(obj: Any, functions: list[types.FunctionType], filenames: list[str], sources: Sources) -> Any:
    for func, filename in zip(functions, filenames, strict=True):
        if func.__code__.co_filename != filename:
            func.__code__ = with_filename(func.__code__, filename)
        _SHIPPED[func] = sources
    for filename, lines in sources.items():
        if not linecache.getlines(filename):  # a cell of another process, a file not here: nothing to shadow
            _register(filename, lines)
    return obj
