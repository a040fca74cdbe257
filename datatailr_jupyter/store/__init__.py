"""Run stores: the RunReader/RunWriter seams, the embedded SQLite store, result codecs and the URL registry."""

from .protocols import (
    EncodedResult,
    NewRun,
    RunActions,
    RunReader,
    RunStore,
    RunUpdate,
    RunWriter,
    TaskSpec,
    TaskUpdate,
    VersionSpec,
)
from .registry import known_schemes, open_store, register_scheme

__all__ = [
    "EncodedResult",
    "NewRun",
    "RunActions",
    "RunReader",
    "RunStore",
    "RunUpdate",
    "RunWriter",
    "TaskSpec",
    "TaskUpdate",
    "VersionSpec",
    "known_schemes",
    "open_store",
    "register_scheme",
]
