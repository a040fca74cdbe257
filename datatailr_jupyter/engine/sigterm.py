"""SIGTERM ends a run like Ctrl+C: the run loop's main-thread handler while a run goes on."""

from __future__ import annotations

import signal
import threading
from typing import Any

__all__ = ["Terminated", "catch_sigterm", "restore_sigterm"]


class Terminated(KeyboardInterrupt):
    """Raised in the loop thread by SIGTERM: the run stops as on Ctrl+C, then the process exits."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def catch_sigterm() -> Any:
    """Handle SIGTERM in the main thread while a run goes on, unless the program handles it itself."""
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return None
        return signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):
        return None


def restore_sigterm(previous: Any) -> None:
    if previous is not None and signal.getsignal(signal.SIGTERM) is _on_sigterm:
        signal.signal(signal.SIGTERM, previous)
