"""``%dt_runs`` through a real IPython shell: good arguments give an Explorer, bad ones one clear line."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.testing.globalipapp import get_ipython

from datatailr_jupyter.errors import InvalidArgumentError
from datatailr_jupyter.explorer import Explorer, widget
from datatailr_jupyter.explorer.magic import dt_runs
from datatailr_jupyter.store.registry import open_store

from .conftest import Built

FLAGS = ("--env", "-e", "--store", "--since", "--until", "--run", "--state", "--page-size", "--help")


@pytest.fixture(scope="module")
def ip() -> InteractiveShell:
    shell = get_ipython()
    assert shell is not None
    shell.run_line_magic("load_ext", "datatailr_jupyter")
    return shell


@pytest.fixture(autouse=True)
def default_store(built_store: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The built store is the default one; no user config file or env variable leaks in."""
    monkeypatch.setenv("DT_RUNS_STORE", built_store.url)
    monkeypatch.setenv("DT_RUNS_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.delenv("DT_RUNS_ENV", raising=False)
    monkeypatch.delenv("DT_RUNS_TOKEN", raising=False)


def magic(ip: InteractiveShell, line: str) -> Explorer:
    result = ip.run_line_magic("dt_runs", line)
    assert isinstance(result, Explorer), f"%dt_runs {line} gave {result!r}"
    return result


# ---------------------------------------------------------------- good arguments


def test_no_arguments_opens_every_workflow_of_the_default_env(ip: InteractiveShell, built_store: Built) -> None:
    w = magic(ip, "")
    assert (w.workflow, w.env, w.start, w.end, w.selected_run) == ("", "dev", "", "", 0)
    assert w.store_label and w.message == ""


@pytest.mark.parametrize(
    "line",
    [
        "daily-sales-report --env prod",
        '"Daily Sales Report" --env prod',
        "Daily Sales Report -e prod",
        "--env prod Daily Sales Report",
        "DAILY sales report --env=prod",
    ],
)
def test_a_workflow_is_found_by_display_name_or_key(ip: InteractiveShell, line: str) -> None:
    w = magic(ip, line)
    assert (w.workflow, w.env) == ("daily-sales-report", "prod")


def test_env_alone_selects_the_env_and_no_workflow(ip: InteractiveShell) -> None:
    w = magic(ip, "--env pre")
    assert (w.workflow, w.env) == ("", "pre")


def test_a_workflow_without_runs_in_the_env_is_selected_with_a_notice(ip: InteractiveShell) -> None:
    w = magic(ip, "Other Flow --env prod")
    assert w.workflow == "other-flow"
    assert "no runs in env 'prod'" in w.message and "'dev'" in w.message


def test_an_empty_store_is_pointed_out(ip: InteractiveShell, tmp_path: Path) -> None:
    open_store(f"sqlite://{tmp_path / 'empty'}").close()  # a store made by a writer, with nothing in it yet
    w = magic(ip, f"--store {tmp_path / 'empty'}")
    assert "has no workflows yet" in w.message and w.workflow == ""


def test_a_store_path_with_no_store_is_one_line_and_creates_nothing(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert "no run store at" in _one_line_error(ip, capsys, f"--store {tmp_path / 'typo'}")
    assert not (tmp_path / "typo").exists()


def test_store_flag_opens_that_store(ip: InteractiveShell, built_store: Built, monkeypatch: pytest.MonkeyPatch,
                                     tmp_path: Path) -> None:  # fmt: skip
    monkeypatch.setenv("DT_RUNS_STORE", f"sqlite://{tmp_path / 'empty'}")
    w = magic(ip, f"daily-sales-report --env prod --store {built_store.url}")
    assert w.workflow == "daily-sales-report"
    code = w._context.store_url
    assert code == built_store.url


def test_dates_become_iso_utc_strings(ip: InteractiveShell) -> None:
    w = magic(ip, "--since 2026-11-03T00:00:00Z --until 2026-11-05T12:00:00+01:00")
    assert (w.start, w.end) == ("2026-11-03T00:00:00Z", "2026-11-05T11:00:00Z")


def test_a_span_counts_back_from_now(ip: InteractiveShell) -> None:
    w = magic(ip, "--since 7d")
    start = datetime.fromisoformat(w.start.replace("Z", "+00:00"))
    assert abs(datetime.now(timezone.utc) - timedelta(days=7) - start) < timedelta(minutes=1)
    assert w.end == ""


def test_run_opens_that_run_with_its_workflow_and_env(ip: InteractiveShell, built_store: Built) -> None:
    w = magic(ip, f"--run {built_store.runs['failed']}")
    assert (w.workflow, w.env, w.selected_run) == ("daily-sales-report", "prod", built_store.runs["failed"])


def test_states_are_repeatable_or_comma_separated(ip: InteractiveShell) -> None:
    assert magic(ip, "--state failed --state running").states == ["failed", "running"]
    assert magic(ip, "--state failed,completed").states == ["failed", "completed"]


def test_page_size_sets_the_rows_per_page(ip: InteractiveShell) -> None:
    assert magic(ip, "--page-size 50").page_size == 50


def test_the_magic_returns_the_widget_so_it_can_be_kept(ip: InteractiveShell) -> None:
    result = ip.run_cell("w = %dt_runs daily-sales-report --env prod")
    assert result.success
    assert isinstance(ip.user_ns["w"], Explorer) and ip.user_ns["w"].workflow == "daily-sales-report"


def test_the_explorer_works_without_the_magic(built_store: Built) -> None:
    w = Explorer("Daily Sales Report", env="prod", store=built_store.url, since="2026-11-01T00:00:00Z")
    assert (w.workflow, w.env, w.start) == ("daily-sales-report", "prod", "2026-11-01T00:00:00Z")
    with pytest.raises(InvalidArgumentError, match="known envs"):
        Explorer(env="staging", store=built_store.url)


# ---------------------------------------------------------------- bad arguments: one line, no traceback


def _one_line_error(ip: InteractiveShell, capsys: pytest.CaptureFixture[str], line: str) -> str:
    result = ip.run_cell(f"%dt_runs {line}")
    out, err = capsys.readouterr()
    assert result.success and result.result is None, f"{line!r}: {result.error_in_exec!r}"
    assert "Traceback" not in out + err
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("%dt_runs: "), repr(err)
    return err


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("--bogus", "unrecognized arguments: --bogus"),
        ("daily-sales-report --verbose", "unrecognized arguments: --verbose"),
        ("--env", "expected one argument"),
        ("--env staging", "known envs: 'dev', 'pre', 'prod'"),
        ("no-such-flow", "known workflows: 'Daily Sales Report', 'Other Flow'"),
        ("--since yesterday-ish", "cannot read --since date 'yesterday-ish'"),
        ("--since 2026-11-05 --until 2026-11-01", "is not after its start"),
        ("--run abc", "a run id is a whole number"),
        ("--run 99999", "99999"),
        ("--state exploded", "known states"),
        ('"unclosed', "check the quotes"),
        ("--page-size 0", "page_size must be"),
        ("--page-size many", "invalid int value"),
        ("--en prod", "unrecognized arguments: --en"),
    ],
)
def test_a_bad_argument_prints_one_clear_line(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], line: str, expected: str
) -> None:
    assert expected in _one_line_error(ip, capsys, line)


def test_an_unknown_flag_never_becomes_part_of_the_workflow_name(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _one_line_error(ip, capsys, "Daily Sales Report --prod")
    assert "--prod" in err and "no workflow named" not in err


def test_a_run_of_another_env_or_workflow_is_refused(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], built_store: Built
) -> None:
    run = built_store.runs["ok"]
    assert "ran in env 'prod', not 'dev'" in _one_line_error(ip, capsys, f"--run {run} --env dev")
    assert "belongs to workflow 'Daily Sales Report'" in _one_line_error(ip, capsys, f"Other Flow --run {run}")


def test_an_unreachable_store_prints_one_line(
    ip: InteractiveShell, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    _one_line_error(ip, capsys, f"--store {blocker / 'store'}")
    _one_line_error(ip, capsys, "--store nosuchscheme://host/x")


def test_help_documents_every_flag(ip: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    doc = ip.find_line_magic("dt_runs").__doc__
    assert doc is not None
    for flag in FLAGS:
        assert flag in doc, flag
    assert ip.run_line_magic("dt_runs", "--help") is None
    assert capsys.readouterr().out.strip() == (dt_runs.__doc__ or "").strip()


def test_a_missing_front_end_is_reported_not_hidden(built_store: Built, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:  # fmt: skip
    monkeypatch.setattr(widget, "ESM_PATH", tmp_path / "widget.js")
    with pytest.warns(UserWarning, match="npm run build"):
        w = Explorer(store=built_store.url)
    assert "npm run build" in w.message


def test_bind_result_binds_into_the_ipython_namespace(ip: InteractiveShell, built_store: Built) -> None:
    w = magic(ip, "daily-sales-report --env prod")
    payload: dict[str, Any] = {"run_id": built_store.runs["ok"], "task_id": 1, "variable": "calculate_total"}
    w._answer("bind-result", payload, 3)
    assert ip.user_ns["calculate_total"] == 300.0
