"""datatailr_jupyter: define, run and explore data-pipeline runs from a notebook.

Public surface: ``task`` / ``workflow`` / ``Schedule`` (the Datatailr SDK's API, run locally), ``connect`` and
``load_result`` (read any run store), ``Explorer`` and the ``%dt_runs`` magic (``%load_ext datatailr_jupyter``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Client",
    "Explorer",
    "RunMonitor",
    "Schedule",
    "__version__",
    "_jupyter_labextension_paths",
    "connect",
    "load_ipython_extension",
    "load_result",
    "plan_rerun",
    "rerun",
    "task",
    "workflow",
]

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client, connect
    from .engine import Schedule, plan_rerun, rerun, task, workflow
    from .explorer import Explorer
    from .explorer.runmonitor import RunMonitor
    from .loading import load_result

_LAZY = {
    "Client": "client",
    "connect": "client",
    "load_result": "loading",
    "task": "engine",
    "workflow": "engine",
    "Schedule": "engine",
    "rerun": "engine",
    "plan_rerun": "engine",
    "Explorer": "explorer",
    "RunMonitor": "explorer.runmonitor",
}


def __getattr__(name: str) -> Any:
    """Import the client, engine and explorer only when first used: worker processes then skip pandas."""
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'datatailr_jupyter' has no attribute {name!r}")


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "datatailr-jupyter-labext"}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext datatailr_jupyter``: registers the ``%dt_runs`` magic."""
    from .explorer.magic import register

    register(ipython)
