"""Writes the code that "load into cell" inserts: one safe ``load_result(...)`` line for a task's result."""

from __future__ import annotations

import builtins
import keyword
import re
import unicodedata

__all__ = ["IMPORT_LINE", "load_code", "variable_name"]

IMPORT_LINE = "from datatailr_jupyter import load_result"
FALLBACK_NAME = "result"
MAX_NAME = 60

_NOT_IDENT = re.compile(r"[^0-9A-Za-z_]+")
_RESERVED = frozenset(dir(builtins)) | {"load_result"}


def variable_name(task_name: str) -> str:
    """A valid, non-keyword ASCII Python identifier derived from ``task_name`` (``"fetch-data"`` → ``fetch_data``).

    Accents are dropped, every other character outside ``[A-Za-z0-9_]`` becomes ``_``, a leading digit gets a
    ``task_`` prefix, and names that are keywords, builtins or ``load_result`` get a ``_`` suffix so the line never
    shadows them. An empty result becomes ``result``.
    """
    ascii_name = unicodedata.normalize("NFKD", task_name).encode("ascii", "ignore").decode("ascii")
    name = _NOT_IDENT.sub("_", ascii_name).strip("_")[:MAX_NAME].rstrip("_")
    if not name:
        return FALLBACK_NAME
    if name[0].isdigit():
        name = f"task_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in _RESERVED:
        name = f"{name}_"
    return name


def _literal(value: str) -> str:
    """A Python string literal for ``value`` that stays on one line (repr escapes quotes, newlines, U+2028)."""
    text = repr(value)
    # repr leaves printable non-ASCII as is; escape it so the line is plain ASCII and no separator survives.
    return text.encode("ascii", "backslashreplace").decode("ascii")


def load_code(
    workflow_name: str, run_id: int, task_name: str | int, env: str, store: str | None = None, trust: bool = False
) -> tuple[str, str]:
    """``(variable, code)``: the import line and ``variable = load_result(...)`` for one task's result.

    Every piece of user text (workflow, task, env, store) is written as a string literal, so the code parses
    whatever the names contain. A task given by id (an int) is written as a number.
    """
    if isinstance(run_id, bool) or not isinstance(run_id, int):
        raise TypeError(f"run_id must be an int, not {type(run_id).__name__}")
    if isinstance(task_name, int) and not isinstance(task_name, bool):
        if task_name < 0:
            raise ValueError(f"task ids are 0 or more, not {task_name}")
        variable, task_arg = f"task_{task_name}", str(task_name)
    else:
        variable, task_arg = variable_name(str(task_name)), _literal(str(task_name))
    args = [_literal(workflow_name), f"run={run_id}", f"task={task_arg}", f"env={_literal(env)}"]
    if store is not None:
        args.append(f"store={_literal(store)}")
    if trust:
        args.append("trust=True")
    return variable, f"{IMPORT_LINE}\n{variable} = load_result({', '.join(args)})"
