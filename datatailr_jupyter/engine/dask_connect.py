"""Clients of Dask schedulers named by address (``dask://host:port``), one kept per address for the process."""

from __future__ import annotations

import atexit
import threading
from typing import Any

from ..errors import ExecutorError

__all__ = ["CONNECT_TIMEOUT", "connect"]

CONNECT_TIMEOUT = 10.0

_CLIENTS: dict[str, Any] = {}
_CLIENTS_LOCK = threading.Lock()


def connect(spec: str) -> Any:
    """A client of the scheduler ``dask://host:port`` names (or the configured one), kept per address."""
    import dask
    import distributed

    rest = spec.split("://", 1)[1] if "://" in spec else ""
    address = f"tcp://{rest}" if rest else dask.config.get("scheduler-address", None)
    if not address:
        raise ExecutorError("say which Dask scheduler to use: executor='dask://host:8786' (or DT_EXECUTOR)")
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(address)
        if client is not None and client.status == "running":
            return client
        try:
            client = distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ExecutorError(
                f"cannot reach the Dask scheduler at {address} ({exc}); start it with `dask scheduler` and workers "
                f"with `dask worker {address}`, or fix the address given as executor, DT_EXECUTOR or the config "
                "file's executor"
            ) from None
        _CLIENTS[address] = client
        return client


@atexit.register
def _close_clients() -> None:
    for client in _CLIENTS.values():
        try:
            client.close(timeout=2)
        except Exception:
            pass
