"""The pieces that stream a running task's logs from a Dask worker apart from the store (dask_logs.py), on real
files: the worker's pump reading growing files, the engine's sink writing chunks at their offsets and settling the
file with the outcome's complete logs."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from datatailr_jupyter.engine import dask_logs
from datatailr_jupyter.engine.dask_logs import CHUNK, LOG_TOPIC, LogPump, LogSink


class EventLog:
    """Stands for a Dask worker's ``log_event``: keeps what was sent, in order."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def log_event(self, topic: str, msg: dict[str, Any]) -> None:
        assert topic == LOG_TOPIC
        with self.lock:
            self.events.append(msg)


def wait_for(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.02)


def test_the_pump_sends_each_new_byte_once_in_order_and_nothing_after_the_task_returned(tmp_path: Path) -> None:
    out, err = tmp_path / "out", tmp_path / "err"
    worker = EventLog()
    pump = LogPump()
    pump.add(worker, "tok", 7, 1, (str(out), str(err)))
    time.sleep(2 * dask_logs.PUMP_EVERY)
    assert worker.events == [], "no file, nothing sent"
    big = b"".join(b"line %06d\n" % i for i in range(20_000))  # several chunks
    with open(out, "ab") as fh:
        fh.write(b"hello\n")
    wait_for(lambda: len(worker.events) == 1)
    with open(out, "ab") as fh:
        fh.write(big)
    err.write_bytes(b"oops\n")
    wait_for(lambda: sum(len(e["b"]) for e in worker.events) == 6 + len(big) + 5)
    pump.remove("tok", 7)
    with open(out, "ab") as fh:
        fh.write(b"after the end\n")
    time.sleep(2 * dask_logs.PUMP_EVERY)
    streams: dict[int, bytes] = {0: b"", 1: b""}
    for event in worker.events:
        assert (event["t"], event["id"], event["a"]) == ("tok", 7, 1)
        assert event["o"] == len(streams[event["s"]]), "in order, without gaps or repeats"
        assert 0 < len(event["b"]) <= CHUNK
        streams[event["s"]] += event["b"]
    assert streams == {0: b"hello\n" + big, 1: b"oops\n"}


def chunk(stream: int, offset: int, data: bytes) -> dict[str, Any]:
    return {"t": "tok", "id": 3, "a": 1, "s": stream, "o": offset, "b": data}


def test_the_sink_writes_chunks_at_their_offsets_and_completes_the_file_from_the_outcome(tmp_path: Path) -> None:
    out, err = tmp_path / "3.stdout", tmp_path / "3.stderr"
    sink = LogSink()
    sink.chunk(str(out), 3, chunk(0, 0, b"abc"))
    sink.chunk(str(out), 3, chunk(0, 0, b"abc"))  # again: skipped
    sink.chunk(str(out), 3, chunk(0, 9, b"zzz"))  # after a gap: skipped, the outcome fills it
    sink.chunk(str(out), 3, chunk(0, 2, b"cdef"))  # overlapping: only the new part
    assert out.read_bytes() == b"abcdef"
    sink.settle(3, (str(out), str(err)), (b"abcdefghi\n", b"only at the end\n"))
    assert out.read_bytes() == b"abcdefghi\n"
    assert err.read_bytes() == b"only at the end\n"
    assert sink.written == {}


def test_streamed_bytes_that_differ_from_the_outcome_are_replaced_by_it(tmp_path: Path) -> None:
    out, err = tmp_path / "3.stdout", tmp_path / "3.stderr"
    out.write_bytes(b"engine line\n")  # the engine's own line before the task: kept
    sink = LogSink()
    sink.chunk(str(out), 3, chunk(0, 0, b"head\nlong tail that the worker's cap cut back\n"))
    sink.settle(3, (str(out), str(err)), (b"head\n... omitted ...\nend\n", b""))
    assert out.read_bytes() == b"engine line\nhead\n... omitted ...\nend\n"
    assert not err.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "no temporary file left"
