"""Workflow keys: one display name per key in a store, so two workflows that fold to one key never merge.

A store keys workflows by :func:`~datatailr_jupyter.models.normalize_name` of their display name, so
"Daily Report", "daily-report" and "DAILY_REPORT!!" would share one key, and with it one version history. Before
a workflow is registered, :func:`check_workflow_key` looks the key up through the store's reader and refuses a
display name that differs from the one already there.
"""

from __future__ import annotations

import threading

from ..errors import InvalidNameError
from ..models import check_name, normalize_name
from ..store.protocols import RunReader

__all__ = ["check_workflow_key", "workflow_key"]

_LOCK = threading.Lock()
_CONFIRMED: set[tuple[str, str]] = set()  # (store label, display name) already checked in this process


def workflow_key(name: object, what: str = "workflow name") -> str:
    """The key of an acceptable display name, or InvalidNameError (also when it has no letter or digit)."""
    key = normalize_name(check_name(name, what))
    if not key:
        raise InvalidNameError(f"{what} {name!r} has no letter or digit; give it at least one")
    return key


def check_workflow_key(store: RunReader, name: str) -> str:
    """The key of ``name``, after checking no workflow with another display name uses it in ``store``."""
    key = workflow_key(name)
    memo = (store.label, name)
    with _LOCK:
        if memo in _CONFIRMED:
            return key
    for info in store.list_workflows():
        if info.key == key and info.name != name:
            raise InvalidNameError(
                f"a workflow {info.name!r} already uses the key {key!r} in {store.label}, so {name!r} would "
                f"share its versions and runs; rename this one or use that exact name"
            )
    with _LOCK:
        _CONFIRMED.add(memo)
    return key
