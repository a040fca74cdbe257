"""dt's tables: aligned text a person reads, JSON records a program reads, one line per row whatever the data."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from datatailr_jupyter.cli.table import MAX_WIDTH, Table
from datatailr_jupyter.models import RunState

START = datetime(2026, 11, 28, 3, 5, 51, 123456, tzinfo=timezone.utc)
ROWS = [
    {"run_id": 7, "state": RunState.FAILED, "start_time": START, "duration_s": 1.5, "error": "line one\nline two"},
    {"run_id": 12, "state": RunState.COMPLETED, "start_time": None, "duration_s": 600.25, "error": None},
]
COLUMNS = ["run_id", "state", "start_time", "duration_s", "error"]


def test_text_aligns_numbers_right_and_text_left_under_a_header() -> None:
    lines = Table.of(ROWS, COLUMNS).text().splitlines()
    assert lines[0].split() == COLUMNS
    assert lines[1].startswith("     7  failed     2026-11-28 03:05:51") and lines[2].startswith("    12  completed")
    assert lines[0].index("duration_s") + 10 == lines[1].index("1.5") + 3 == lines[2].index("600.25") + 6
    assert "line one line two" in lines[1] and len(lines) == 3  # a newline in the data stays inside its row


def test_json_records_keep_every_column_with_iso_times_in_utc() -> None:
    records = json.loads(json.dumps(Table.of(ROWS, COLUMNS).records()))
    assert records[0] == {"run_id": 7, "state": "failed", "start_time": "2026-11-28T03:05:51.123456+00:00",
                          "duration_s": 1.5, "error": "line one\nline two"}  # fmt: skip
    assert records[1]["start_time"] is None and list(records[1]) == COLUMNS
    naive = Table.of([{"t": datetime(2026, 1, 1) + timedelta(hours=1)}], ["t"]).records()
    assert naive == [{"t": "2026-01-01T01:00:00+00:00"}]


def test_long_cells_end_in_an_ellipsis_and_no_rows_say_none() -> None:
    text = Table.of([{"error": "x" * 500}], ["error"]).text()
    assert text.splitlines()[1] == "x" * (MAX_WIDTH - 1) + "\u2026"
    assert Table.of([], COLUMNS).text() == "(none)"
