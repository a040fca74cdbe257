"""The dt command prints tables and logs from a real store and turns bad input into one clear line."""

from __future__ import annotations

import json

import pytest

from datatailr_jupyter.cli import main
from tests.test_client import store_url  # noqa: F401  (fixture)


def test_runs_and_run_and_logs(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    assert main(["--store", store_url, "runs", "Daily Sales Report", "--env", "prod", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("Daily Sales Report") == 3
    header, first, *_ = out.splitlines()
    assert header.split()[:4] == ["run_id", "workflow", "env", "state"]
    run_id = int(first.split()[0])
    assert main(["--store", store_url, "run", str(run_id)]) == 0
    assert "calculate_total" in capsys.readouterr().out
    assert main(["--store", store_url, "logs", str(run_id), "calculate_total"]) == 0
    assert capsys.readouterr().out == f"line one of run {run_id}\nline two\n"


def test_workflows_json(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    assert main(["--store", store_url, "--json", "workflows"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [w["name"] for w in listed] == ["Daily Sales Report", "Other Flow"]
    assert set(listed[0]) == {"name", "key", "env", "n_tasks", "schedule", "latest_version", "n_runs", "last_state",
                              "last_start_time"}  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "message", "code"),
    [
        (["runs", "Nope"], "no workflow named 'Nope'", 1),
        (["runs", "--since", "yesterday"], "cannot read --since date 'yesterday'", 2),
        (["run", "999999"], "run 999999", 1),
        (["logs", "1", "nope"], "has no task 'nope'", 1),
        (["job", "get", "Nope"], "no workflow named 'Nope'", 1),
        (["log", "read", "999999"], "run 999999", 1),
    ],
)
def test_bad_input_is_one_clear_line_exit_1_when_not_found_and_2_for_usage(
    store_url: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
    code: int,
) -> None:
    assert main(["--store", store_url, *argv]) == code
    err = capsys.readouterr().err
    assert err.startswith("dt: error: ") and message in err and "Traceback" not in err


def test_unknown_store_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--store", "ftp://x", "workflows"]) == 2
    assert "known schemes" in capsys.readouterr().err
