"""Task log files: byte ranges and tails cut at line and UTF-8 boundaries, and a streaming search."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from ..errors import InvalidArgumentError
from ..models import LogMatch

CHUNK = 4 << 20  # bytes read at a time while searching
LONG_LINE = 16 << 20  # a line longer than this is searched in pieces
LINE_TEXT = 500  # characters of a matching line returned
SEARCH_SECONDS = 10.0  # a regular expression search of one log stops after this long


def _lead(data: bytes) -> int:
    """Bytes to skip at the start of ``data`` so it does not begin inside a UTF-8 sequence."""
    skip = 0
    while skip < min(3, len(data)) and data[skip] & 0xC0 == 0x80:
        skip += 1
    return skip


def _complete(data: bytes) -> int:
    """Length of the longest prefix of ``data`` that does not end inside a UTF-8 sequence."""
    n = len(data)
    for back in range(1, min(4, n) + 1):
        byte = data[n - back]
        if byte & 0x80 == 0:
            return n  # ASCII: nothing is open
        if byte & 0xC0 == 0xC0:  # the lead byte of the last sequence
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return n if back >= need else n - back
    return n


def read_range(path: Path, offset: int, limit: int, tail: int | None, complete: bool) -> tuple[int, int, int, str]:
    """(offset, next_offset, size, text) of bytes [offset, offset+limit), or of the last ``tail`` bytes.

    A range ends after its last full line when it can (so the next range starts on a line); a tail starts
    after its first newline. Neither starts nor ends inside a UTF-8 sequence. A missing file is empty."""
    if offset < 0 or limit < 0 or (tail is not None and tail < 0):
        raise InvalidArgumentError(f"offset, limit and tail must be >= 0, got {offset}, {limit}, {tail}")
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return 0, 0, 0, ""
    with fh:
        size = os.fstat(fh.fileno()).st_size
        start = max(0, size - tail) if tail is not None else min(offset, size)
        end = size if tail is not None else min(size, start + limit)
        fh.seek(start)
        data = fh.read(max(0, end - start))
    end = start + len(data)
    if start > 0 and data:
        cut = _lead(data)
        if tail is not None:
            newline = data.find(b"\n")
            if 0 <= newline < len(data) - 1:
                cut = newline + 1
        data = data[cut:]
        start += cut
    if tail is None and (end < size or not complete):
        newline = data.rfind(b"\n")
        data = data[: newline + 1] if newline >= 0 else data[: _complete(data)]
    elif not complete:
        data = data[: _complete(data)]
    return start, start + len(data), size, data.decode("utf-8", "replace")


def compile_pattern(pattern: str, regex: bool) -> tuple[Any, Any]:
    """(the pattern over a block of lines, the same pattern over one line); substring search ignores case.

    Regular expressions are compiled with the ``regex`` package, whose searches take a timeout: a pattern that
    backtracks without end (``(a|aa)+b``) is stopped instead of holding a thread of the explorer or the server."""
    if not isinstance(pattern, str) or not pattern:
        raise InvalidArgumentError("the search pattern is empty; give some text to look for")
    if not regex:
        one = re.compile(re.escape(pattern), re.IGNORECASE)
        return one, one
    import regex as rx

    try:
        return rx.compile(pattern, rx.MULTILINE), rx.compile(pattern)
    except rx.error as exc:
        raise InvalidArgumentError(f"{pattern!r} is not a valid regular expression: {exc}") from None


class _Deadline:
    """The time left of one search, passed to each ``regex`` call (``re`` patterns take no timeout)."""

    def __init__(self, pattern: str, regex: bool) -> None:
        self.pattern, self.regex = pattern, regex
        self.end = time.monotonic() + SEARCH_SECONDS

    def search(self, rx: Any, text: str, pos: int = 0) -> Any:
        if not self.regex:
            return rx.search(text, pos)
        try:
            return rx.search(text, pos, timeout=max(0.001, self.end - time.monotonic()))
        except TimeoutError:
            raise InvalidArgumentError(
                f"the regular expression {self.pattern!r} ran for {SEARCH_SECONDS:.0f} s on this log and was stopped: "
                "it backtracks too much (nested repeats such as (a+)+ or alternatives that overlap such as (a|aa)+); "
                "simplify it, or search for plain text"
            ) from None


def _shown(line: str, at: int) -> str:
    text = line.encode("utf-8", "surrogateescape").decode("utf-8", "replace").rstrip("\r")
    if len(text) <= LINE_TEXT:
        return text
    if at < LINE_TEXT - 100:
        return text[: LINE_TEXT - 1] + "…"
    begin = at - 100
    return "…" + text[begin : begin + LINE_TEXT - 2] + "…"


def search(path: Path, pattern: str, regex: bool, max_matches: int) -> list[LogMatch]:
    """Lines of the log (as it is when the search starts) matching ``pattern``, read in chunks."""
    if max_matches < 1:
        raise InvalidArgumentError(f"max_matches must be at least 1, got {max_matches}")
    block_rx, line_rx = compile_pattern(pattern, regex)
    deadline = _Deadline(pattern, regex)
    # substring search: an ASCII block without the lower-cased needle cannot match, so skip decoding it
    needle = pattern.lower().encode("ascii") if not regex and pattern.isascii() else None
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return []
    found: list[LogMatch] = []
    with fh:
        left = os.fstat(fh.fileno()).st_size
        carry = b""
        base, line_no = 0, 0  # byte offset and line number of the first byte of the next block
        while left > 0 or carry:
            chunk = fh.read(min(CHUNK, left)) if left > 0 else b""
            left = left - len(chunk) if chunk else 0
            buffer = carry + chunk
            newline = buffer.rfind(b"\n")
            if left > 0 and newline < 0 and len(buffer) < LONG_LINE:
                carry = buffer
                continue
            cut = newline + 1 if left > 0 and newline >= 0 else len(buffer)
            block, carry = buffer[:cut], buffer[cut:]
            if needle is None or not block.isascii() or needle in block.lower():
                _scan(block, base, line_no, block_rx, line_rx, found, max_matches, deadline)
            if len(found) >= max_matches:
                break
            base += len(block)
            line_no += block.count(b"\n")
    return found


def _scan(
    block: bytes,
    base: int,
    line_no: int,
    block_rx: Any,
    line_rx: Any,
    found: list[LogMatch],
    limit: int,
    deadline: _Deadline,
) -> None:
    text = block.decode("utf-8", "surrogateescape")  # one character per undecodable byte, so offsets map back
    pos = 0
    counted, chars, byte_at = 0, 0, base  # line number and byte offset known up to character ``chars``
    while pos < len(text) and len(found) < limit:
        m = deadline.search(block_rx, text, pos)
        if m is None:
            return
        start = text.rfind("\n", 0, m.start()) + 1
        end = text.find("\n", m.start())
        end = len(text) if end < 0 else end
        line = text[start:end]
        hit = deadline.search(line_rx, line)
        if hit is not None:
            counted += text.count("\n", chars, start)
            byte_at += len(text[chars:start].encode("utf-8", "surrogateescape"))
            chars = start
            found.append(LogMatch(line=line_no + counted, offset=byte_at, text=_shown(line, hit.start())))
        pos = end + 1
