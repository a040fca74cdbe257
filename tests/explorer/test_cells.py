"""The "load into cell" code is one safe, parseable line whatever the workflow and task names contain."""

from __future__ import annotations

import ast
import keyword
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from datatailr_jupyter.explorer.cells import IMPORT_LINE, load_code, variable_name

NASTY = [
    "",
    "calculate_total",
    'say "hi"',
    "it's",
    '"""',
    "'''",
    "back\\slash\\",
    "new\nline",
    "carriage\rreturn",
    "line\u2028separator",
    "para\u2029separator",
    "nul\x00byte",
    "class",
    "1st step",
    "日本語のタスク",
    "café-crème",
    "\U0001f600 emoji",
    "x = 1; import os",
    "'); import os; ('",
    "\\N{BULLET}",
    "{braces} %s",
]


def _run(code: str) -> dict[str, Any]:
    """Execute ``code`` with ``load_result`` replaced by a recorder; return the namespace."""
    calls: list[dict[str, Any]] = []

    def fake_load_result(workflow: str, run: int, task: object, env: str, store: str | None = None) -> object:
        record = {"workflow": workflow, "run": run, "task": task, "env": env, "store": store}
        calls.append(record)
        return record

    namespace: dict[str, Any] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("datatailr_jupyter.load_result", fake_load_result)
        exec(compile(code, "<cell>", "exec"), namespace)  # executing the generated code is the point
    assert len(calls) == 1
    return namespace


def _assert_only_literals_carry_user_text(code: str, variable: str) -> None:
    """The second line is exactly ``variable = load_result("...", run=N, task="...", env="..."[, store="..."])``."""
    tree = ast.parse(code)
    assert len(tree.body) == 2
    imported, assign = tree.body
    assert isinstance(imported, ast.ImportFrom) and imported.module == "datatailr_jupyter"
    assert isinstance(assign, ast.Assign)
    assert [t.id for t in assign.targets if isinstance(t, ast.Name)] == [variable]
    call = assign.value
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "load_result"
    assert all(isinstance(a, ast.Constant) for a in call.args)
    assert all(isinstance(k.value, ast.Constant) for k in call.keywords)
    assert [k.arg for k in call.keywords][:3] == ["run", "task", "env"]


@given(workflow=st.text(max_size=80), task=st.text(max_size=80), env=st.text(max_size=20))
@example(workflow='Daily "Sales"\n', task='"""\u2028', env="prod")
@example(workflow="\\", task="class", env="'")
def test_generated_code_parses_and_passes_back_the_exact_names(workflow: str, task: str, env: str) -> None:
    variable, code = load_code(workflow, 12, task, env)
    assert code.isascii()
    assert code.splitlines()[0] == IMPORT_LINE
    assert len(code.splitlines()) == 2
    _assert_only_literals_carry_user_text(code, variable)
    namespace = _run(code)
    assert namespace[variable] == {"workflow": workflow, "run": 12, "task": task, "env": env, "store": None}


@pytest.mark.parametrize("name", NASTY)
def test_nasty_names_round_trip_through_the_generated_code(name: str) -> None:
    variable, code = load_code(name, 3, name, "dev", store=name)
    _assert_only_literals_carry_user_text(code, variable)
    assert _run(code)[variable] == {"workflow": name, "run": 3, "task": name, "env": "dev", "store": name}


def test_code_reads_like_the_documented_example() -> None:
    variable, code = load_code("daily_sales_report", 12, "calculate_total", "prod")
    assert variable == "calculate_total"
    assert code == (
        "from datatailr_jupyter import load_result\n"
        "calculate_total = load_result('daily_sales_report', run=12, task='calculate_total', env='prod')"
    )


def test_a_task_given_by_id_is_written_as_a_number() -> None:
    variable, code = load_code("wf", 5, 7, "dev")
    assert variable == "task_7"
    assert "task=7" in code
    assert _run(code)["task_7"]["task"] == 7


def test_run_id_must_be_an_int() -> None:
    with pytest.raises(TypeError):
        load_code("wf", "5); import os; (", "t", "dev")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        ("fetch-data", "fetch_data"),
        ("fetch data", "fetch_data"),
        ("  spaced  out  ", "spaced_out"),
        ("1st step", "task_1st_step"),
        ("class", "class_"),
        ("match", "match_"),
        ("sum", "sum_"),
        ("load_result", "load_result_"),
        ("café", "cafe"),
        ("Ｆｕｌｌｗｉｄｔｈ", "Fullwidth"),
        ("日本語", "result"),
        ("", "result"),
        ("---", "result"),
        ("a" * 200, "a" * 60),
    ],
)
def test_variable_names_are_safe_identifiers(task: str, expected: str) -> None:
    assert variable_name(task) == expected


@given(st.text(max_size=100))
def test_every_variable_name_is_a_plain_non_keyword_identifier(task: str) -> None:
    name = variable_name(task)
    assert name.isidentifier() and name.isascii()
    assert not keyword.iskeyword(name) and not keyword.issoftkeyword(name)
    assert name != "load_result"
