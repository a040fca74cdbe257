"""Live logs of tasks on Dask workers that do not see the engine's log directory.

Such a worker writes a task's stdout and stderr to files of its own (dask_worker.run_job); a :class:`LogPump`
thread in the worker process sends their new bytes to the engine while the task runs, through the worker's event
log (``log_event`` on :data:`LOG_TOPIC` -> ``Client.subscribe_topic``): every :data:`PUMP_EVERY` seconds, only
when a file grew, as chunks ``{"t": run token, "id": task, "a": attempt, "s": 0 stdout / 1 stderr, "o": offset,
"b": bytes}`` of at most :data:`CHUNK` bytes. A task that prints nothing costs one ``stat`` per stream per tick; the
pump never waits on the task (it only reads its files) and sends nothing for a task once it has returned.

On the engine, a :class:`LogSink` writes each chunk at its offset into the store's log file (a chunk already
written or out of order is skipped), and when the task's outcome arrives it reconciles the file with the complete
logs the outcome carries: the rest is appended, or, when the streamed bytes differ from them (a log capped on the
worker rewrites its tail), the file is replaced at once (rename) by the complete logs.

The scheduler keeps the last events of a topic (``distributed.admin.low-level-log-length``, 1,000 by default):
at most that many chunks of :data:`CHUNK` bytes are held there.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from typing import Any

__all__ = ["CHUNK", "LOG_TOPIC", "PUMP_EVERY", "LogPump", "LogSink", "pump"]

LOG_TOPIC = "datatailr-jupyter-logs"
PUMP_EVERY = 0.5  # seconds between two looks at the running tasks' log files
CHUNK = 32 << 10  # bytes per event at most
PER_TICK = 8  # chunks per stream per tick at most (a faster writer is caught up by the outcome's complete logs)


class LogPump:
    """On a worker: sends the growth of the running tasks' log files as events, one thread per worker process."""

    def __init__(self) -> None:
        self.tasks: dict[tuple[str, int], _Streams] = {}
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None

    def add(self, worker: Any, token: str, task_id: int, attempt: int, paths: tuple[str, str]) -> None:
        streams = _Streams(worker, {"t": token, "id": task_id, "a": attempt}, paths)
        with self.lock:
            self.tasks[(token, task_id)] = streams
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="dt-dask-log-pump", daemon=True)
                self.thread.start()
        self.wake.set()

    def remove(self, token: str, task_id: int) -> None:
        """The task returned: nothing more is sent for it (a send under way ends first)."""
        with self.lock:
            streams = self.tasks.pop((token, task_id), None)
        if streams is not None:
            with streams.lock:
                streams.done = True

    def _run(self) -> None:
        while True:
            with self.lock:
                running = list(self.tasks.values())
                if not running:
                    self.wake.clear()  # (add sets it again after adding, outside the lock)
            if not running:
                self.wake.wait()
                continue
            for streams in running:
                try:
                    streams.send_new()
                except Exception:  # a worker closing, a file gone: the outcome brings the logs
                    pass
            time.sleep(PUMP_EVERY)


class _Streams:
    """The two log files of one running task and how much of each was sent."""

    def __init__(self, worker: Any, head: dict[str, Any], paths: tuple[str, str]) -> None:
        self.worker = worker
        self.head = head
        self.paths = paths
        self.sent = [0, 0]
        self.lock = threading.Lock()
        self.done = False

    def send_new(self) -> None:
        with self.lock:
            for stream, path in enumerate(self.paths):
                if self.done:
                    return
                try:
                    size = os.stat(path).st_size
                except FileNotFoundError:
                    continue
                if size <= self.sent[stream]:
                    continue  # (a capped log that cut its tail back: the outcome's complete logs settle it)
                with open(path, "rb") as fh:
                    for _ in range(PER_TICK):
                        offset = self.sent[stream]
                        data = os.pread(fh.fileno(), min(CHUNK, size - offset), offset)
                        if not data:
                            break
                        self.worker.log_event(LOG_TOPIC, {**self.head, "s": stream, "o": offset, "b": data})
                        self.sent[stream] = offset + len(data)
                        if self.sent[stream] >= size:
                            break


_PUMP: list[LogPump] = []
_PUMP_LOCK = threading.Lock()


def pump() -> LogPump:
    """This worker process's pump."""
    with _PUMP_LOCK:
        if not _PUMP:
            _PUMP.append(LogPump())
        return _PUMP[0]


class LogSink:
    """On the engine: the streamed bytes of running tasks, written into their log files."""

    def __init__(self) -> None:
        self.written: dict[tuple[int, int], tuple[int, int]] = {}  # (task, stream) -> (file offset of byte 0, bytes)

    def chunk(self, path: str, task_id: int, message: dict[str, Any]) -> None:
        key = (task_id, int(message["s"]))
        data: bytes = message["b"]
        offset = int(message["o"])
        base, count = self.written.get(key, (-1, 0))
        if offset > count or offset + len(data) <= count:
            return  # a gap (the outcome fills it) or bytes already written
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            if base < 0:
                base = os.fstat(fd).st_size
            view = memoryview(data)[count - offset :]
            at = base + count
            while view:
                n = os.pwrite(fd, view, at)
                at += n
                view = view[n:]
        finally:
            os.close(fd)
        self.written[key] = (base, offset + len(data))

    def settle(self, task_id: int, paths: tuple[str, str], logs: tuple[bytes, bytes] | None) -> None:
        """The task's outcome came with its complete ``logs``: make each file end with exactly them."""
        for stream, path in enumerate(paths):
            data = logs[stream] if logs and len(logs) > stream else b""
            base, count = self.written.pop((task_id, stream), (-1, 0))
            if base < 0:
                if data:
                    with open(path, "ab") as fh:
                        fh.write(data)
                continue
            _settle_file(path, base, count, data or b"")

    def forget(self, task_id: int) -> None:
        """The task ended without logs of its own (lost, cancelled): what was streamed stays as it is."""
        for stream in (0, 1):
            self.written.pop((task_id, stream), None)


def _settle_file(path: str, base: int, count: int, data: bytes) -> None:
    with open(path, "r+b") as fh:
        fh.seek(base)
        same = count <= len(data) and _equal(fh, data[:count])
        if same:
            fh.seek(base + count)
            fh.write(data[count:])
            fh.truncate()
            return
        fh.seek(0)
        before = fh.read(base)
    directory, name = os.path.split(path)
    fd, temp = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(before)
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def _equal(fh: Any, expected: bytes) -> bool:
    step = 1 << 20
    for start in range(0, len(expected), step):
        want = expected[start : start + step]
        if fh.read(len(want)) != want:
            return False
    return True
