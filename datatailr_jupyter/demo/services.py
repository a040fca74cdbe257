"""The outside world the demo's tasks talk to: a job log, HTTP services, an object store and a scratch disk.

They behave like the real thing, only simulated: a service answers after a latency and raises ``TimeoutError``
when that is above the caller's deadline, or ``ConnectionError`` on a 5xx; a full disk raises ``OSError(ENOSPC)``.
How each of them behaves during a run comes from the demo's control file (``DT_DEMO_CONTROL``: the run's clock and
its conditions, e.g. ``{"sales-api": {"latency_s": 47}}``), so a failure is the task's own code meeting bad
conditions or bad data, with a traceback through the code that met them. Without a control file (a run or rerun
started by hand) every service is healthy and the log's clock is the wall clock.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import time
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

from ..engine.clock import Clock, ScaledClock, system_clock

CONTROL_ENV = "DT_DEMO_CONTROL"
"""Path of a JSON file {"clock": {"start", "origin", "speed"}, "conditions": {system: {...}}} for the next run."""


def _control() -> dict[str, Any]:
    path = os.environ.get(CONTROL_ENV)
    if not path:
        return {}
    try:
        plan = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return plan if isinstance(plan, dict) else {}


def conditions(system: str) -> dict[str, Any]:
    """How ``system`` behaves during this run: {} when healthy."""
    found = _control().get("conditions", {}).get(system, {})
    return found if isinstance(found, dict) else {}


def run_clock() -> Clock:
    """The clock the engine records this run with (backdated and faster in the demo), else the wall clock."""
    spec = _control().get("clock")
    if not spec:
        return system_clock
    return ScaledClock(start=datetime.fromisoformat(spec["start"]), speed=spec["speed"], origin=spec["origin"])


def wait(clock: Clock, seconds: float) -> None:
    """Let ``seconds`` of the run's time pass (a few milliseconds of real time in the demo)."""
    time.sleep(seconds / getattr(clock, "speed", 1.0))


# ---------------------------------------------------------------- the job log


class Log:
    """Timestamped job log lines: INFO to stdout, WARNING and ERROR to stderr, as a batch job's logger writes them."""

    def __init__(self, name: str, clock: Clock | None = None) -> None:
        self.name = name
        self.clock = clock or run_clock()

    def _line(self, level: str, message: str) -> str:
        stamp = self.clock.now().strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
        return f"{stamp} {level:<7} {self.name}: {message}"

    def info(self, message: str) -> None:
        print(self._line("INFO", message), flush=True)

    def warning(self, message: str) -> None:
        print(self._line("WARNING", message), file=sys.stderr, flush=True)

    def error(self, message: str) -> None:
        print(self._line("ERROR", message), file=sys.stderr, flush=True)


# ---------------------------------------------------------------- HTTP services


class Service:
    """An HTTP JSON service with a deadline per request and a few retries on 5xx answers."""

    def __init__(self, name: str, base_url: str, clock: Clock, timeout: float = 30.0, retries: int = 3) -> None:
        self.name, self.base_url, self.clock = name, base_url, clock
        self.timeout, self.retries = timeout, retries

    def get(self, path: str, **params: Any) -> Any:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        url = f"{self.base_url}{path}" + (f"?{query}" if query else "")
        state = conditions(self.name)
        latency = float(state.get("latency_s", 0.2 + zlib.crc32(url.encode()) % 900 / 1000))
        status = int(state.get("status", 200))
        for attempt in range(1, self.retries + 1):
            if latency > self.timeout:
                wait(self.clock, self.timeout)
                raise TimeoutError(f"GET {url}: no response within {self.timeout:.0f} s (read timeout)")
            wait(self.clock, latency)
            if status < 500:
                break
            if attempt == self.retries:
                raise ConnectionError(f"GET {url}: {status} Service Unavailable after {attempt} attempts")
            wait(self.clock, 2.0**attempt)
        return _ANSWERS[self.name](path, params, state)


def _sales_orders(path: str, params: dict[str, Any], state: dict[str, Any]) -> list[dict[str, Any]]:
    seed = zlib.crc32(f"{params.get('region')}:{params.get('date')}".encode())
    n = 220 + seed % 60
    stores = ("north", "south", "east", "west")
    orders = [
        {
            "order_id": 58000 + (seed + i * 7919) % 40000,
            "store": stores[(seed >> (i % 16)) % 4],
            "sku": 1000 + (seed + i * 31) % 100,
            "amount": f"{5 + (seed + i * 2654435761) % 40000 / 100:.2f}",
        }
        for i in range(n)
    ]
    if "drop_field" in state:  # a record without a field: the upstream schema changed
        field, row = state["drop_field"]
        orders[row % n].pop(field, None)
    if "refund" in state:  # a refund booked as a negative sale
        row, amount = state["refund"]
        orders[row % n]["amount"] = amount
    return orders


def _number(path: str, params: dict[str, Any], state: dict[str, Any]) -> dict[str, int]:
    if "value" in state:
        return {"value": int(state["value"])}
    low, high = int(params.get("low", 42)), int(params.get("high", 42))
    return {"value": (low * 7 + high * 13) % (high - low + 1) + low}


def _regime(path: str, params: dict[str, Any], state: dict[str, Any]) -> dict[str, float]:
    seed = int(params["seed"])
    variance = 0.04 + seed % 5 / 100
    if state.get("unstable_seed") == seed:  # a badly conditioned estimate: slightly negative
        variance = -3.2e-05
    return {"mean": seed * 0.01, "variance": variance}


_ANSWERS = {"sales-api": _sales_orders, "number-service": _number, "market-data": _regime}


def sales_api(clock: Clock) -> Service:
    return Service("sales-api", "https://sales.internal/v2", clock, timeout=30.0)


def number_service(clock: Clock) -> Service:
    return Service("number-service", "http://numbers.internal:8080/v1", clock, timeout=10.0)


def market_data(clock: Clock) -> Service:
    return Service("market-data", "https://marketdata.internal/api", clock, timeout=20.0)


# ---------------------------------------------------------------- storage


class ObjectStore:
    """PUTs to an S3-like store; a throttled prefix answers 503 Slow Down."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.state = conditions("object-store")

    def put(self, key: str, nbytes: int) -> None:
        wait(self.clock, nbytes / 200e6)  # 200 MB/s
        if self.state.get("slow_down") and self.state["slow_down"] in key:
            wait(self.clock, 7.0)
            raise ConnectionError(f"PUT {key}: 503 Slow Down (reduce your request rate); gave up after 4 attempts")


class ScratchDisk:
    """A local scratch volume with a quota: writing past its free space raises ``OSError(ENOSPC)``."""

    def __init__(self, clock: Clock, root: str = "/scratch/tmp") -> None:
        self.clock, self.root = clock, root
        self.free = int(conditions("scratch").get("free_bytes", 50 * 2**30))

    def write(self, name: str, nbytes: int) -> str:
        path = f"{self.root}/{name}"
        if nbytes > self.free:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        self.free -= nbytes
        wait(self.clock, nbytes / 400e6)
        return path
