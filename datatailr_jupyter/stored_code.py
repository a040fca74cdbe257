"""Reads the source text recorded with a version's pickled code without unpickling it: nothing is imported or run.

Code stored since sources were recorded (engine/sources.py) is a pickle whose last call is
``_restored(obj, functions, filenames, sources)``, ``sources`` being ``{file name: [lines]}`` of every function
shipped by value. :func:`recorded_sources` walks the pickle with an unpickler whose every class and function is an
inert stand-in (``find_class`` never imports), so the strings and lists come out as they are and nothing else
does. :func:`function_source` finds one function's ``def`` block in those lines.
"""

from __future__ import annotations

import io
import pickle
import re
from typing import Any

__all__ = ["function_source", "recorded_sources"]

_RESTORED = ("datatailr_jupyter.engine.sources", "_restored")


class _Inert:
    """What every global of the payload becomes (a subclass per global): calling, building or filling it only
    records its arguments."""

    target: tuple[str, str] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __new__(cls, *args: Any, **kwargs: Any) -> _Inert:
        return super().__new__(cls)

    def __call__(self, *args: Any, **kwargs: Any) -> _Inert:
        return _Inert(*args)

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def append(self, value: Any) -> None:
        pass

    def extend(self, values: Any) -> None:
        pass

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


class _InertUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return type("Inert", (_Inert,), {"target": (module, name)})

    def persistent_load(self, pid: Any) -> Any:
        return _Inert()


def recorded_sources(code: bytes) -> dict[str, list[str]]:
    """``{file name: lines}`` recorded with ``code`` (empty when none were: older payloads, imported functions)."""
    try:
        top = _InertUnpickler(io.BytesIO(code)).load()
    except Exception:  # not a payload this reader understands: show no source rather than fail
        return {}
    if not isinstance(top, _Inert) or top.target != _RESTORED or len(top.args) != 4:
        return {}
    sources = top.args[3]
    if not isinstance(sources, dict):
        return {}
    return {
        name: [line for line in lines if isinstance(line, str)]
        for name, lines in sources.items()
        if isinstance(name, str) and isinstance(lines, list)
    }


def function_source(sources: dict[str, list[str]], function: str) -> str | None:
    """The ``def`` block (with its decorators) of ``function`` (``module:qualname``) in ``sources``, or None."""
    name = function.rpartition(":")[2].rpartition(".")[2]
    if not name.isidentifier():
        return None
    start = re.compile(rf"^(\s*)(async\s+)?def\s+{re.escape(name)}\s*\(")
    for lines in sources.values():
        for i, line in enumerate(lines):
            found = start.match(line)
            if not found:
                continue
            indent = len(found.group(1))
            first = i
            while first > 0 and lines[first - 1].strip().startswith("@"):
                first -= 1
            end = i + 1
            while end < len(lines):
                text = lines[end]
                if text.strip() and len(text) - len(text.lstrip()) <= indent and not text.lstrip().startswith(")"):
                    break
                end += 1
            while end > i + 1 and not lines[end - 1].strip():
                end -= 1
            return "".join(lines[first:end]).rstrip("\n")
    return None
