"""Opens a run store from a URL: built-in schemes plus the ``datatailr_jupyter.stores`` entry-point group."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import urlsplit

from ..errors import UnknownSchemeError
from .protocols import RunStore

ENTRY_POINT_GROUP = "datatailr_jupyter.stores"

StoreFactory = Callable[..., Any]
"""factory(url: str, token: str | None = None) -> a RunStore."""

_BUILTIN: dict[str, str] = {
    "sqlite": "datatailr_jupyter.store.sqlite:open_sqlite_store",
    "http": "datatailr_jupyter.store.http:open_http_store",
    "https": "datatailr_jupyter.store.http:open_http_store",
}
_registered: dict[str, StoreFactory] = {}


def register_scheme(scheme: str, factory: StoreFactory) -> None:
    """Add (or replace) the factory for a URL scheme in this process."""
    _registered[scheme.lower()] = factory


def _load(target: str) -> StoreFactory:
    module_name, _, attr = target.partition(":")
    module = __import__(module_name, fromlist=[attr])
    factory: StoreFactory = getattr(module, attr)
    return factory


def _entry_points() -> dict[str, Any]:
    return {ep.name.lower(): ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def known_schemes() -> list[str]:
    names = set(_registered) | set(_entry_points())
    for scheme, target in _BUILTIN.items():
        try:
            __import__(target.partition(":")[0])
        except ImportError:
            continue
        names.add(scheme)
    return sorted(names)


def factory_for(scheme: str) -> StoreFactory:
    scheme = scheme.lower()
    if scheme in _registered:
        return _registered[scheme]
    eps = _entry_points()
    if scheme in eps:
        factory: StoreFactory = eps[scheme].load()
        return factory
    if scheme in _BUILTIN:
        try:
            return _load(_BUILTIN[scheme])
        except ImportError:
            pass
    raise UnknownSchemeError(
        f"no run store handles {scheme + '://'!r} URLs; known schemes: "
        + ", ".join(s + "://" for s in known_schemes())
        + f" (a package can add one through the {ENTRY_POINT_GROUP!r} entry-point group)"
    )


def open_store(url: str, token: str | None = None) -> RunStore:
    """Open the store at ``url`` (``sqlite:///path``, ``http(s)://host``, or a registered scheme)."""
    scheme = urlsplit(url).scheme
    if not scheme:
        raise UnknownSchemeError(f"{url!r} is not a store URL; use sqlite:///path/to/store or http(s)://host")
    store: RunStore = factory_for(scheme)(url, token=token)
    return store
