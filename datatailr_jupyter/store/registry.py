"""Opens a run store from a URL: built-in schemes plus the ``datatailr_jupyter.stores`` entry-point group.

Also keeps the objects a process must have only one of per store (``SharedObjects``): the embedded store's
database is opened once per directory and shared by every handle ``open_store`` returns for it. Trust (whether
pickles may be loaded) belongs to each handle, not to that shared database: ``open_store`` decides it.
"""

from __future__ import annotations

import functools
import grp
import inspect
import os
import pwd
import stat
import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

from ..errors import ConfigError, UnknownSchemeError
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


@functools.cache
def _entry_points() -> dict[str, Any]:
    """The installed packages' store entry points, read once per process (a scan of every installed distribution's
    metadata costs 10-130 ms, and a store is opened by every ``connect`` and ``%dt_runs``)."""
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


def _accepts(factory: StoreFactory, name: str, any_keyword: bool = True) -> bool:
    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or (any_keyword and p.kind is inspect.Parameter.VAR_KEYWORD) for p in params)


def open_store(url: str, token: str | None = None, *, create: bool = True, trust: bool = False) -> RunStore:
    """Open the store at ``url`` (``sqlite:///path``, ``http(s)://host``, or a registered scheme).

    ``create=False`` is for readers: a path with no store there is an error instead of a new, empty store.
    Pickled results and code are loaded only from a trusted store: the user's default store, a store listed in
    $DT_RUNS_TRUSTED_STORES or the config file's ``trusted_stores``, or one opened with ``trust=True`` -- and
    never from a directory another user owns or can write to (``ownership_problem``).
    """
    scheme = urlsplit(url).scheme
    if not scheme:
        raise UnknownSchemeError(f"{url!r} is not a store URL; use sqlite:///path/to/store or http(s)://host")
    factory = factory_for(scheme)
    extra: dict[str, Any] = {} if create or not _accepts(factory, "create") else {"create": False}
    if _accepts(factory, "trusted", any_keyword=False):  # other stores decide their trust themselves
        extra["trusted"] = trust or _listed(url)
    store: RunStore = factory(url, token=token, **extra)
    return store


def _listed(url: str) -> bool:
    from ..settings import is_trusted_store

    try:
        return is_trusted_store(url)
    except ConfigError:
        return False  # an unreadable config file trusts nothing; reading settings from it reports the error


# ---------------------------------------------------------------- trust


def _private_group(gid: int, uid: int) -> bool:
    """Whether group ``gid`` is the user's own (a user-private group: same name, nobody else in it), so that a
    umask of 002 does not make the user's own files count as writable by others."""
    try:
        user, group = pwd.getpwuid(uid), grp.getgrgid(gid)
    except KeyError:
        return False
    return user.pw_gid == gid and group.gr_name == user.pw_name and set(group.gr_mem) <= {user.pw_name}


def ownership_problem(root: Path) -> str | None:
    """Why a store directory cannot be trusted whatever the user says -- another user owns it, or others can write
    to it or to its database or results -- as "is owned by uid 1234 ..." (None when it can be trusted)."""
    uid = os.geteuid()
    for path in (root, root / "results", root / "runs.db", root / "runs.db-wal"):
        try:
            st = path.lstat()
        except FileNotFoundError:
            continue
        except OSError as exc:
            return f"cannot be checked ({path}: {exc.strerror})"
        where = "" if path == root else f" (its {path.name})"
        if st.st_uid != uid:
            return f"is owned by uid {st.st_uid}{where}, not by you (uid {uid})"
        if st.st_mode & stat.S_IWOTH:
            return f"is writable by others{where} (mode {stat.S_IMODE(st.st_mode):o})"
        if st.st_mode & stat.S_IWGRP and not _private_group(st.st_gid, uid):
            return f"is writable by group {st.st_gid}{where} (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def distrust(store: RunStore, trust: bool | None = None) -> str | None:
    """Why pickles from ``store`` must not be loaded, as a sentence that says how to trust it (None: they may).

    ``trust`` None follows the store's own trust; True or False overrides it, except that a directory another
    user owns or can write to is never trusted."""
    path = getattr(store, "path", None)
    problem = ownership_problem(path) if isinstance(path, Path) else None
    if problem is not None:
        return (
            f"the store {store.label} {problem}; it cannot be trusted, even with trust=True. Copy the store "
            "directory into one of your own (cp -r) and open the copy with trust=True if you trust whoever wrote it"
        )
    if store.trusted if trust is None else trust:
        return None
    from ..settings import ENV_TRUSTED_STORES, config_path

    return (
        f"the store {store.label} is not trusted (unpickling runs code chosen by whoever wrote it). If you trust "
        f"them, open it with trust=True (connect({store.label!r}, trust=True), load_result(..., trust=True), "
        f"dt --trust), or add it to trusted_stores in {config_path()} or to ${ENV_TRUSTED_STORES}"
    )


# ---------------------------------------------------------------- one object per store per process


class Closable(Protocol):
    def close(self) -> None: ...


T = TypeVar("T", bound=Closable)


class SharedObjects(Generic[T]):
    """Objects shared by key within this process, with reference counts: ``acquire`` returns the live object
    for a key (or makes it), ``release`` closes it when its last user lets go. Safe across threads and fork."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, tuple[T, int]] = {}
        self._retired: dict[int, tuple[T, int]] = {}  # stale objects that still have users
        os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # another thread may have held it at the fork

    def acquire(self, key: str, make: Callable[[], T], stale: Callable[[T], bool] | None = None) -> T:
        """The object for ``key``, made (under the lock: one per key even when threads race) if there is none
        or the one there is ``stale`` (its users keep it; new users get the new one)."""
        with self._lock:
            entry = self._items.get(key)
            if entry is not None and (stale is None or not stale(entry[0])):
                self._items[key] = (entry[0], entry[1] + 1)
                return entry[0]
            made = make()
            if entry is not None:
                self._retired[id(entry[0])] = entry
            self._items[key] = (made, 1)
            return made

    def release(self, key: str, item: T) -> None:
        """One user of ``item`` is done; the last one closes it."""
        with self._lock:
            entry = self._items.get(key)
            if entry is not None and entry[0] is item:
                if entry[1] > 1:
                    self._items[key] = (item, entry[1] - 1)
                    return
                del self._items[key]
            else:
                retired = self._retired.pop(id(item), None)
                if retired is None:
                    return  # not ours (already closed)
                if retired[1] > 1:
                    self._retired[id(item)] = (item, retired[1] - 1)
                    return
        item.close()

    def users(self, key: str) -> int:
        with self._lock:
            entry = self._items.get(key)
            return 0 if entry is None else entry[1]
