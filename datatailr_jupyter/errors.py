"""The exception tree: every error the package raises on purpose derives from DatatailrJupyterError."""

from __future__ import annotations

from collections.abc import Iterable


class DatatailrJupyterError(Exception):
    """Base of every error raised on purpose by datatailr_jupyter; its message says what to do."""


class ConfigError(DatatailrJupyterError):
    """A setting (store URL, token, env, config file) is invalid."""


class StoreError(DatatailrJupyterError):
    """The run store cannot be opened, read or written."""


class StoreUnavailableError(StoreError):
    """The store is unreachable (a dead server, a missing or unreadable directory)."""


class StoreVersionError(StoreError):
    """The store was made by a newer version of datatailr_jupyter, or its schema is unknown."""


class UnknownSchemeError(StoreError):
    """A store URL names a scheme no installed store implements."""


class AuthenticationError(StoreError):
    """A run store server refused the request's token (missing, malformed, unknown or revoked): HTTP 401."""


class PermissionDeniedError(StoreError):
    """A run store server refused the request: the token's role does not allow it (HTTP 403)."""


class NotFoundError(DatatailrJupyterError, LookupError):
    """A named thing does not exist; the message lists what does, where that helps."""


class WorkflowNotFoundError(NotFoundError):
    """No workflow has that name (display name or internal key)."""


class RunNotFoundError(NotFoundError):
    """No run has that id."""


class TaskNotFoundError(NotFoundError):
    """The run has no task of that name or id."""


class VersionNotFoundError(NotFoundError):
    """The workflow has no such version."""


class ResultNotFoundError(NotFoundError):
    """The task stored no result (it did not complete, or returned nothing storable)."""


class LogNotFoundError(NotFoundError):
    """The task has no log of that stream."""


class ResultDecodeError(StoreError):
    """A stored result is missing, truncated or corrupt and cannot be decoded."""


class UntrustedPickleError(DatatailrJupyterError):
    """A pickled result was refused because the store it comes from is not trusted."""


class InvalidNameError(DatatailrJupyterError, ValueError):
    """A workflow, task or environment name is not acceptable."""


class InvalidArgumentError(DatatailrJupyterError, ValueError):
    """A user-supplied argument (date, state, limit, cursor, ...) is not acceptable."""


class DefinitionError(DatatailrJupyterError):
    """A workflow definition is invalid (unknown option, name clash, bad argument)."""


class CodeLoadError(DatatailrJupyterError):
    """A version's stored code cannot be loaded in this process (a module it needs does not import, say)."""


class ExecutorError(DatatailrJupyterError):
    """An executor cannot run tasks: its cluster cannot be reached, was lost mid-run, or is unknown."""


class RunFailedError(DatatailrJupyterError):
    """A run ended in a state other than completed where a caller required success."""


def known(values: Iterable[object], limit: int = 20) -> str:
    """Format a list of known values for an error message: 'a, b, c' (with '... and N more')."""
    items = [str(v) for v in values]
    if not items:
        return "(none)"
    shown = ", ".join(repr(v) for v in items[:limit])
    rest = len(items) - limit
    return f"{shown} ... and {rest} more" if rest > 0 else shown
