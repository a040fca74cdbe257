"""Log search finds every case-insensitive substring match, in ASCII and non-ASCII parts of a big log alike, and stops
a regular expression that backtracks without end."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from datatailr_jupyter.errors import InvalidArgumentError
from datatailr_jupyter.store import _logs


def test_substring_search_over_many_blocks_finds_matches_in_ascii_and_unicode_blocks(tmp_path: Path) -> None:
    path = tmp_path / "log"
    filler = b"INFO nothing to see here\n" * 400_000  # ~10 MB: several read blocks
    with path.open("wb") as fh:
        fh.write(filler)
        fh.write(b"WARN The Needle in block two\n")
        fh.write(filler)
        fh.write("ERROR café: the NEEDLE again\n".encode())
        fh.write(filler)
    matches = _logs.search(path, "the needle", regex=False, max_matches=10)
    assert [m.line for m in matches] == [400_000, 800_001]
    assert matches[0].text == "WARN The Needle in block two"
    assert matches[1].text == "ERROR café: the NEEDLE again"
    assert matches[0].offset == len(filler)
    assert _logs.search(path, "absent words", regex=False, max_matches=10) == []


def test_a_backtracking_regular_expression_is_stopped_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "log"
    data = b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n" * 3 + b"the end\n"
    path.write_bytes(data)
    monkeypatch.setattr(_logs, "SEARCH_SECONDS", 0.3)
    began = time.monotonic()
    with pytest.raises(InvalidArgumentError, match=r"\(a\|aa\)\+b.*was stopped.*plain text"):
        _logs.search(path, "(a|aa)+b", regex=True, max_matches=10)
    assert time.monotonic() - began < 5  # Python's re takes minutes on these lines
    assert path.read_bytes() == data
    assert [m.line for m in _logs.search(path, "^the", regex=True, max_matches=10)] == [3]  # a fair pattern still works
