"""The run explorer: the ``Explorer`` widget, its request handlers, and the ``%dt_runs`` magic."""

from __future__ import annotations

import logging

from .widget import Explorer

# a library logs, the application decides what is shown: never fall back to printing tracebacks on stderr
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["Explorer"]
