"""Debug cells: run in a fresh namespace, the cell of a failed task raises the task's exception again."""

from __future__ import annotations

import ast

import pytest

from datatailr_jupyter.client import Client
from datatailr_jupyter.engine import rerun
from datatailr_jupyter.store.sqlite import SqliteRunStore
from tests.dashboard.flows import arithmetic, digits_flow, shifted_flow


def _run_cell(code: str) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(compile(code, "<debug cell>", "exec"), namespace)
    return namespace


def test_failed_task_cell_raises_the_same_exception(client: Client, store: SqliteRunStore) -> None:
    run = arithmetic(b=0, local_run=True, store=store, executor="inline")
    code = client.debug_code(run.run_id, "div")
    ast.parse(code)
    assert "def divide(a, b):" in code and "@task" not in code  # the recorded source, without its decorator
    assert f"load_result('Arithmetic <b>&</b> co', run={run.run_id}, task='total', env='dev', store=STORE)" in code
    assert "\nb = 0\n" in code
    error = store.get_run(run.run_id).task("div").error
    with pytest.raises(ZeroDivisionError) as raised:
        _run_cell(code)
    assert (type(raised.value).__name__, str(raised.value)) == (error.type, error.message)


def test_cell_brings_globals_system_parameters_and_env_vars(
    client: Client, store: SqliteRunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEBUG_SHOULD_FAIL", "no")  # restored after the test: the cell sets the task's env vars
    run = shifted_flow(v=4, local_run=True, store=store, executor="inline")
    task = store.get_run(run.run_id).task("shifted")
    assert task.error is not None and task.error.type == "ValueError"
    code = client.debug_code(run.run_id, "shifted")
    assert "import math" in code and "OFFSET = 10" in code and "rundate = " in code and "job_name = 'shifted'" in code
    assert "os.environ.update({'DEBUG_SHOULD_FAIL': 'yes'})" in code
    with pytest.raises(ValueError) as raised:
        _run_cell(code)
    assert str(raised.value) == task.error.message


def test_completed_task_cell_returns_its_result(client: Client, store: SqliteRunStore) -> None:
    run = arithmetic(b=4, local_run=True, store=store, executor="inline")
    code = client.debug_code(run.run_id, "div")
    lines = code.rstrip().splitlines()
    namespace = _run_cell("\n".join(lines[:-1]) + f"\nRESULT = {lines[-1]}")
    assert namespace["RESULT"] == client.result(run.run_id, "div") == 5.0


def test_cell_of_a_rerun_loads_reused_inputs_from_the_rerun(client: Client, store: SqliteRunStore) -> None:
    first = arithmetic(b=0, local_run=True, store=store, executor="inline").run_id
    again = rerun(first, store=store, executor="inline").run_id
    code = client.debug_code(again, "div")
    assert f"run={again}, task='total'" in code
    with pytest.raises(ZeroDivisionError):
        _run_cell(code)


def test_untrusted_store_takes_the_function_from_its_module_instead_of_unpickling(store: SqliteRunStore) -> None:
    run = arithmetic(b=0, local_run=True, store=store, executor="inline")
    untrusted = SqliteRunStore(store.path, trusted=False)
    try:
        code = Client(untrusted).debug_code(run.run_id, "div")
    finally:
        untrusted.close()
    assert "as its file reads now (the store is not trusted" in code and "def divide(a, b):" in code
    assert "task_function" not in code
    with pytest.raises(ZeroDivisionError):
        _run_cell(code)


def test_functions_that_cannot_be_pasted_load_from_the_stored_version(client: Client, store: SqliteRunStore) -> None:
    run = digits_flow(local_run=True, store=store, executor="inline")
    error = store.get_run(run.run_id).task("count_digits").error
    code = client.debug_code(run.run_id, "count_digits")
    assert "count_digits = task_function('Digits', version=1, task=0, store=STORE, trust=True)" in code
    assert "#       found = DIGITS.findall(text)" in code  # its source is shown for reading
    assert "since = stored_argument('Digits', version=1, task=0, argument='since', store=STORE, trust=True)" in code
    with pytest.raises(LookupError) as raised:
        _run_cell(code)
    assert str(raised.value) == error.message == "no digits in 'none here' since 02 Jan 2026"
