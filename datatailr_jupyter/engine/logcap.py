"""Capped task logs: the cap's setting, a log file that keeps its head and its latest bytes past the cap, and a text
stream into such a log that creates the file on its first write.

Logs are capped at ``max_log_bytes()`` (DT_RUNS_MAX_LOG_BYTES, default 1 GiB) so a chatty task cannot fill the
disk: a capped log keeps its first half and its latest bytes, with one line between them saying how many bytes
were left out (:class:`CappedLog`).
"""

from __future__ import annotations

import functools
import io
import os
import threading

__all__ = ["DEFAULT_MAX_LOG_BYTES", "MAX_LOG_BYTES_ENV", "MIN_LOG_BYTES", "CappedLog", "LazyLog", "max_log_bytes"]

_SYSTEM_PREFIX = "\u27e6dt\u27e7 "  # workers.SYSTEM_LINE_PREFIX ("⟦dt⟧ ")

MAX_LOG_BYTES_ENV = "DT_RUNS_MAX_LOG_BYTES"
DEFAULT_MAX_LOG_BYTES = 1 << 30
MIN_LOG_BYTES = 4096
_UNITS = {"": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30}


def max_log_bytes(value: str | None = None) -> int:
    """The cap on each task log: ``value`` or $DT_RUNS_MAX_LOG_BYTES (bytes, or with a K/M/G suffix), else 1 GiB.
    An unreadable value falls back to the default (a task must not fail over a log setting)."""
    return _parse_cap(os.environ.get(MAX_LOG_BYTES_ENV, "") if value is None else value)


@functools.lru_cache(maxsize=16)
def _parse_cap(text: str) -> int:
    raw = text.strip().lower().replace("_", "")
    number = raw.rstrip("kmgb")
    try:
        cap = int(number) * _UNITS[raw[len(number) :]]
    except (ValueError, KeyError):
        return DEFAULT_MAX_LOG_BYTES
    return max(MIN_LOG_BYTES, cap)


class CappedLog:
    """One writer's log file, capped: the first ``cap // 2`` bytes stay; past them the file keeps only the latest
    bytes (between ``cap // 4`` and ``cap // 2`` of them, starting on a line), after a marker line saying how many
    bytes were omitted. The file never grows beyond about ``cap``. A file that already holds more than the head
    when this object takes it over (stdout before the watcher noticed) is cut back the same way at once."""

    def __init__(self, fd: int, cap: int) -> None:
        self.fd = fd  # read-write, not O_APPEND: this object writes at its own offsets
        self.cap = cap
        self.head = cap // 2
        self.keep = max(1, cap // 4)
        self.size = os.fstat(fd).st_size
        self.ends_line = self.size == 0 or os.pread(fd, 1, self.size - 1) == b"\n"
        self.tail_at: int | None = None  # where the kept tail starts, once past the head
        self.head_end = 0
        self.lead = b""  # a newline before the marker when the head ends inside a line
        self.omitted = 0
        self.lock = threading.Lock()
        self._past_head()

    def _past_head(self) -> None:
        """When the file already passed the head, what lies beyond it is tail (cut back if too long)."""
        if self.tail_at is None and self.size > self.head:
            window = max(0, self.head - (1 << 16))
            newline = os.pread(self.fd, self.head - window, window).rfind(b"\n")
            self.tail_at = self.head_end = window + newline + 1 if newline >= 0 else self.head
            self.lead = b"" if newline >= 0 else b"\n"
        if self.tail_at is not None and self.size - self.tail_at > 2 * self.keep:
            self._compact()

    def _sync(self) -> None:
        """Count bytes the task appended to the file itself while this object took it over (a write in flight
        when its descriptor was switched to the pipe)."""
        actual = os.fstat(self.fd).st_size
        if actual > self.size:
            self.size = actual
            self.ends_line = os.pread(self.fd, 1, actual - 1) == b"\n"
            self._past_head()

    def write(self, data: bytes) -> None:
        with self.lock:
            self._sync()
            if self.tail_at is None:
                room = self.head - self.size
                if room >= len(data):
                    self._append(data)
                    return
                if room > 0:  # end the head on a line: the last whole line that fits, or a cut line's first part
                    cut = data.rfind(b"\n", 0, room) + 1 or (0 if self.ends_line else room)
                    self._append(data[:cut])
                    data = data[cut:]
                self.tail_at = self.head_end = self.size
                self.lead = b"" if self.ends_line else b"\n"
            self._append(data)
            if self.size - self.tail_at > 2 * self.keep:
                self._compact()

    def _append(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.pwrite(self.fd, view, self.size)
            self.size += written
            view = view[written:]
        if data:
            self.ends_line = data.endswith(b"\n")

    def marker(self) -> bytes:
        return (
            f"{_SYSTEM_PREFIX}\u2026 {self.omitted:,} bytes omitted \u2026 (this log keeps its first and last bytes; "
            f"the cap is {self.cap:,} bytes, set by {MAX_LOG_BYTES_ENV})\n"
        ).encode()

    def _compact(self) -> None:
        """Keep the latest ``keep`` bytes (from a line start when one is near), after the head and the marker."""
        assert self.tail_at is not None
        start = self.size - self.keep
        probe = os.pread(self.fd, min(1 << 16, self.keep), start)
        newline = probe.find(b"\n")
        if 0 <= newline < len(probe) - 1:
            start += newline + 1
        self.omitted += start - self.tail_at
        marker = self.lead + self.marker()
        dst = self.head_end + len(marker)
        pos = start
        while pos < self.size:  # dst < pos: a forward copy never overwrites bytes not read yet
            chunk = os.pread(self.fd, min(1 << 20, self.size - pos), pos)
            os.pwrite(self.fd, chunk, dst)
            pos += len(chunk)
            dst += len(chunk)
        os.pwrite(self.fd, marker, self.head_end)
        os.ftruncate(self.fd, dst)
        self.size = dst
        self.tail_at = self.head_end + len(marker)

    def close(self) -> None:
        with self.lock:
            try:
                self._sync()
            finally:
                os.close(self.fd)


class LazyLog(io.TextIOBase):
    """A text stream into a capped log file that is created on the first write (creating a file costs more than a
    short task). The engine's own lines (``system``) wait in memory until the task writes, and are dropped at
    ``close`` if it never did, unless ``keep`` is set (a failed task's log always exists)."""

    def __init__(self, path: str, cap: int) -> None:
        self.path = path
        self.cap = cap
        self.log: CappedLog | None = None
        self.pending = b""
        self.keep = False
        self.ended = False
        self.lock = threading.Lock()

    def _open(self) -> CappedLog:
        with self.lock:
            if self.log is None:
                log = CappedLog(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644), self.cap)
                if self.pending:
                    log.write(self.pending)
                    self.pending = b""
                self.log = log
            return self.log

    def materialize(self) -> None:
        """Create the file now (with the lines waiting), unless it exists or the log was closed."""
        with self.lock:
            if self.log is not None or self.ended:
                return
        self._open()

    def system(self, data: bytes) -> None:
        with self.lock:
            if self.log is None:
                self.pending += data
                return
        self.log.write(data)

    def write(self, text: str) -> int:
        self._open().write(text.encode("utf-8", "replace"))
        return len(text)

    def append_fd(self) -> int:
        """A new descriptor appending to the log (created now if need be), e.g. for a subprocess's output."""
        self._open()
        return os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self.log is None and self.pending and self.keep:
            self._open()
        with self.lock:
            self.ended = True
            log, self.log = self.log, None
        if log is not None:
            log.close()
        super().close()
