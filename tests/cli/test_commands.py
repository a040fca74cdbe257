"""Every dt command through the installed entry point, against a local store and the same store behind `dt serve`."""

from __future__ import annotations

import time

import pytest

from .conftest import Where


def test_job_ls_lists_workflows_with_the_common_options_before_or_after(where: Where) -> None:
    done = where.dt("job", "ls")
    assert done.code == 0 and "CLI Flow" in done.out and "CLI Consumer" in done.out, done.err
    after = where.dt("job", "ls", "--env", "dev", "--json")
    before = where.dt("--env", "dev", "--json", "job", "ls")
    assert after.code == before.code == 0
    assert after.json() == before.json()
    listed = after.json()
    assert isinstance(listed, list) and {w["name"] for w in listed} >= {"CLI Flow", "CLI Consumer"}
    assert where.dt("workflows").out == done.out  # the short form


def test_job_get_shows_tasks_edges_versions_the_recorded_code_and_last_runs(where: Where) -> None:
    done = where.dt("job", "get", "CLI Flow")
    assert done.code == 0, done.err
    for shown in ("version 2 of 2", "deployed to env 'dev'", "schedule: none", "numbers -> total", "def total(xs):",
                  "print(\"numbers ready\")", "last runs:"):  # fmt: skip
        assert shown in done.out, (shown, done.out)
    data = where.dt("job", "get", "cli-flow", "--version", "1", "--json").json()
    assert isinstance(data, dict)
    assert data["version"]["version"] == 1 and data["edges"] == [["numbers", "total"]]
    assert "return sum(xs)" in data["code"]["total"]
    assert [v["version"] for v in data["versions"]] == [1, 2]
    missing = where.dt("job", "get", "CLI Flow", "--version", "9")
    assert missing.code == 1 and "has no version 9" in missing.err


def test_job_runs_filters_and_pages(where: Where) -> None:
    done = where.dt("job", "runs", "CLI Flow", "--env", "dev", "--state", "completed", "--since", "7d", "--limit", "1")
    assert done.code == 0 and "CLI Flow" in done.out and "completed" in done.out, done.err
    rows = where.dt("--json", "job", "runs", "CLI Flow", "--limit", "1").json()
    assert isinstance(rows, list) and len(rows) == 1 and rows[0]["workflow"] == "CLI Flow"
    assert where.dt("runs", "CLI Flow", "--limit", "1", "--json").json() == rows  # the short form
    bad = where.dt("job", "runs", "--since", "yesterday")
    assert bad.code == 2 and "cannot read --since date" in bad.err


def test_job_run_starts_a_deployed_workflow_and_waits_with_a_progress_line(where: Where) -> None:
    done = where.dt("job", "run", "CLI Flow", "--env", "dev", "--wait")
    assert done.code == 0, done.out + done.err
    assert "started (version 2 in env 'dev'), trigger manual" in done.out and ": completed" in done.out
    assert "dt: run " in done.err and "tasks done" in done.err  # the progress line
    run_id = int(done.out.split()[1])
    detail = where.dt("--json", "run", str(run_id)).json()
    assert isinstance(detail, dict) and detail["run"]["trigger"] == "manual" and detail["run"]["job_version"] == 2


def test_job_run_without_wait_returns_once_the_run_exists(where: Where) -> None:
    done = where.dt("job", "run", "CLI Flow", "--version", "1")
    assert done.code == 0, done.err
    run_id = int(done.out.split()[1])
    if where.name == "local":  # no server: this process runs it, so it waits and says so
        assert "executes in this process" in done.err and ": completed" in done.out
    else:
        assert "dt log read" in done.out
    followed = where.dt("log", "read", str(run_id), "--follow", "--task", "total")
    assert followed.code == 0 and "total of [1, 2, 3, 4]" in followed.out, followed.err
    assert "following its logs" in followed.err


def test_job_rerun_plans_and_reruns(where: Where) -> None:
    run = str(where.first_run)
    plan = where.dt("job", "rerun", run, "--plan")
    assert plan.code == 0 and "reuse" in plan.out, plan.err
    full = where.dt("--json", "job", "rerun", run, "--plan", "--full").json()
    assert isinstance(full, dict) and full["counts"] == {"reuse": 0, "execute": 2, "skip": 0}
    done = where.dt("job", "rerun", run, "--from-task", "total")
    assert done.code == 0 and ": completed" in done.out, done.out + done.err
    again = where.dt("rerun", run, "--full", "--version", "2")  # the short form
    assert again.code == 0 and ": completed" in again.out, again.err
    bad = where.dt("job", "rerun", run, "--from-task", "nope", "--plan")
    assert bad.code == 1 and "has no task 'nope'" in bad.err


def test_log_read_of_a_workflow_prints_every_task_of_its_latest_run_under_headers(where: Where) -> None:
    done = where.dt("log", "read", "CLI Flow")
    assert done.code == 0, done.err
    assert "==> task numbers (id 0) stdout <==" in done.out and "==> task total (id 1) stdout <==" in done.out
    assert "numbers ready" in done.out and "total of [1, 2, 3, 4]" in done.out
    err = where.dt("log", "read", str(where.first_run), "--task", "total", "--stderr")
    assert err.code == 0 and err.out == "a warning on stderr\n", err.out
    tail = where.dt("log", "read", str(where.first_run), "--task", "total", "--tail", "7")
    whole = where.dt("logs", str(where.first_run), "total")  # the short form
    assert tail.code == 0 and whole.out.endswith(tail.out) and 0 < len(tail.out.encode()) <= 7, tail.out
    assert where.dt("logs", str(where.first_run), "total", "--stderr").out == err.out


def test_result_run_and_versions_short_forms(where: Where) -> None:
    result = where.dt("result", str(where.first_run), "total")
    assert result.code == 0 and "int" in result.out and "10" in result.out, result.out
    shown = where.dt("run", str(where.first_run))
    assert shown.code == 0 and "total" in shown.out and "completed" in shown.out
    versions = where.dt("versions", "CLI Flow")
    assert versions.code == 0 and "created_at" in versions.out


def test_not_found_is_exit_1_and_usage_is_exit_2(where: Where) -> None:
    assert where.dt("job", "get", "Nope").code == 1
    assert where.dt("log", "read", "99999").code == 1
    assert where.dt("job", "run", "Never Deployed").code == 1
    usage = where.dt("job", "frobnicate")
    assert usage.code == 2 and "invalid choice" in usage.err
    assert where.dt("job", "ls", "--env", "no such env!").code == 2
    assert where.dt("scheduler", "--poll", "0").code == 2


def test_tokens_are_created_listed_and_revoked_in_the_store(local: Where) -> None:
    made = local.dt("token", "create", "ci-bot", "--role", "read")
    assert made.code == 0 and made.out.startswith("dtt_") and "shown only now" in made.out
    listed = local.dt("token", "ls")
    assert "ci-bot" in listed.out and made.out.split()[0] not in listed.out  # never the token itself
    assert local.dt("token", "revoke", "ci-bot").code == 0
    assert local.dt("token", "revoke", "ci-bot").code == 1
    assert local.dt("token", "create", "x", "--role", "admin").code == 2


def test_tokens_cannot_be_managed_through_a_server(remote: Where) -> None:
    done = remote.dt("token", "ls")
    assert done.code == 2 and "not a store directory" in done.err


def test_dt_serve_refuses_no_auth_off_loopback(local: Where) -> None:
    done = local.dt("serve", "--host", "0.0.0.0", "--no-auth", "--port", "1", timeout=60)
    assert done.code == 2 and "loopback" in done.err


def test_a_remote_store_with_a_wrong_token_or_no_server_is_one_line_exit_1(remote: Where) -> None:
    bad = remote.dt("--store", remote.url, "--token", "dtt_" + "x" * 43, "job", "ls", options=False)
    assert bad.code == 1 and "token is missing, unknown or revoked" in bad.err and bad.err.count("\n") == 1
    start = time.monotonic()
    gone = remote.dt("--store", "http://127.0.0.1:9", "job", "ls", options=False)
    assert gone.code == 1 and "is not reachable" in gone.err, gone.err
    assert time.monotonic() - start < 30


@pytest.mark.parametrize("argv", [["job", "rerun", "{run}", "--plan"], ["job", "get", "CLI Flow"]])
def test_read_tokens_may_plan_but_not_run(remote: Where, argv: list[str]) -> None:
    made = remote.dt("token", "create", f"reader-{argv[1]}", "--role", "read", "--store", str(remote.store_dir),
                     options=False)  # fmt: skip
    token = made.out.split()[0]
    args = [a.format(run=remote.first_run) for a in argv]
    assert remote.dt("--store", remote.url, "--token", token, *args, options=False).code == 0
    refused = remote.dt("--store", remote.url, "--token", token, "job", "run", "CLI Flow", options=False)
    assert refused.code == 1 and "execute" in refused.err
