"""SQLite failures of a store method reported as StoreError naming the store and what to do."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import StoreError

__all__ = ["sql_errors"]

F = TypeVar("F", bound=Callable[..., Any])


def sql_errors(method: F) -> F:
    """Report SQLite failures of a SqliteRunStore method as StoreError; a full disk retries once in the space the
    store's reserve file held."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            try:
                return method(self, *args, **kwargs)
            except sqlite3.OperationalError as exc:
                if "full" not in str(exc) or not self._db.release_reserve():
                    raise
            return method(self, *args, **kwargs)  # once more, in the space the reserve held
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "full" in text:
                raise StoreError(self._db.full_message()) from None
            if "locked" in text or "busy" in text:
                raise StoreError(
                    f"the run store {self.label} stayed locked by another process for 30 s; try again"
                ) from None
            if "readonly" in text:
                raise StoreError(self._read_only_message()) from None
            raise StoreError(f"the run store {self.label} failed: {text}") from None
        except sqlite3.IntegrityError as exc:
            raise StoreError(
                f"the run store {self.label} refused an inconsistent write ({exc}); nothing changed"
            ) from None
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"the run store {self.label} is damaged ({exc}); restore {self._db.files.db} from a backup"
            ) from None

    return wrapper  # type: ignore[return-value]
