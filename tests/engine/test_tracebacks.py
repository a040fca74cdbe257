"""A failing task's recorded traceback names the user's file and shows its source line, whichever cloudpickle
ships the function by value: from a script run as ``__main__``, a notebook cell, or a version's stored code rerun
in another process; with the newest cloudpickle (the venv's) and the oldest the dependency range allows."""

from __future__ import annotations

import json
import linecache
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import cloudpickle
import pytest

from datatailr_jupyter.engine import task, workflow
from datatailr_jupyter.engine.versions import dump_code, load_code
from datatailr_jupyter.models import RunState
from datatailr_jupyter.store.protocols import RunStore
from datatailr_jupyter.store.registry import open_store

OLDEST_CLOUDPICKLE = "3.0.0"
OLDEST_CLOUDPICKLE_DIR = Path(sys.prefix) / "cloudpickle-oldest"
"""Where ``make install-test`` puts cloudpickle 3.0.0 (``pip install --target``), ahead of the venv's on sys.path."""

FAILING_LINE = "value = int(text)  # the line that fails"

SCRIPT = f'''\
"""A workflow with a failing task, run as __main__."""

import sys

import cloudpickle

from datatailr_jupyter.engine import task, workflow


@task()
def parse(text):
    {FAILING_LINE}
    return value


@workflow(name="Script Tracebacks")
def script_tracebacks():
    parse("not a number")


if __name__ == "__main__":
    expected = sys.argv[2]
    assert expected in ("", cloudpickle.__version__), f"cloudpickle {{cloudpickle.__version__}}, not {{expected}}"
    handle = script_tracebacks(local_run=True, store=sys.argv[1], executor="process", max_workers=1)
    print(handle.run_id)
'''

RERUN = """\
import sys

import cloudpickle

from datatailr_jupyter.engine import rerun

expected = sys.argv[3]
assert expected in ("", cloudpickle.__version__), f"cloudpickle {cloudpickle.__version__}, not {expected}"
print(rerun(int(sys.argv[2]), store=sys.argv[1], executor="process", max_workers=1).run_id)
"""


def failing_line_number(source: str) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if FAILING_LINE in line)


def assert_names_file_and_line(traceback: str, filename: str, line: int) -> None:
    assert f'File "{filename}", line {line}, in parse\n    {FAILING_LINE}\n' in traceback, traceback
    assert "<dynamic-code>" not in traceback


def parse_traceback(store: RunStore, run_id: int) -> str:
    failed = store.get_run(run_id).task("parse")
    assert failed.state is RunState.FAILED and failed.error is not None
    return failed.error.traceback


@pytest.fixture(params=["newest", "oldest"])
def cloudpickle_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[dict[str, str], str]]:
    """The environment of the subprocesses and the cloudpickle version they must import ("" for the venv's)."""
    env = {**os.environ, "DT_RUNS_CONFIG": str(tmp_path / "no-config.toml")}
    env["DT_RUNS_TRUSTED_STORES"] = str(tmp_path / "store")  # the reruns load its stored code
    if request.param == "newest":
        yield env, ""
        return
    if not OLDEST_CLOUDPICKLE_DIR.is_dir():
        message = (
            f"cloudpickle {OLDEST_CLOUDPICKLE} is not installed in {OLDEST_CLOUDPICKLE_DIR}; `make install-test` "
            f'puts it there (pip install --target {OLDEST_CLOUDPICKLE_DIR} "cloudpickle=={OLDEST_CLOUDPICKLE}")'
        )
        if os.environ.get("MAKELEVEL"):  # under make (CI), the oldest release must be tested
            pytest.fail(message)
        pytest.skip(message)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(OLDEST_CLOUDPICKLE_DIR), env.get("PYTHONPATH")) if p)
    yield env, OLDEST_CLOUDPICKLE


def run_python(args: list[str], env: dict[str, str], cwd: Path) -> int:
    done = subprocess.run([sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


@pytest.mark.parametrize("rerun", [False, True], ids=["run", "rerun-from-stored-code"])
def test_a_script_run_as_main_records_tracebacks_with_its_path_and_source_lines(
    tmp_path: Path, store_dir: Path, cloudpickle_env: tuple[dict[str, str], str], rerun: bool
) -> None:
    env, version = cloudpickle_env
    script = tmp_path / "pipeline.py"
    script.write_text(SCRIPT)
    url = f"sqlite://{store_dir}"
    run_id = run_python([str(script), url, version], env, tmp_path)
    if rerun:
        script.write_text("# edited after the run: the stored code's lines are elsewhere now\n" * 3 + SCRIPT)
        run_id = run_python(["-c", RERUN, url, str(run_id), version], env, tmp_path)
    store = open_store(url)
    try:
        assert store.get_run(run_id).run.trigger.value == ("rerun" if rerun else "local")
        assert_names_file_and_line(parse_traceback(store, run_id), str(script), failing_line_number(SCRIPT))
    finally:
        store.close()


def test_a_function_from_a_cell_records_tracebacks_with_the_cells_name_and_source_lines(
    tmp_path: Path, store: RunStore
) -> None:
    cell = str(tmp_path / "ipykernel_0" / "1234567890.py")  # named as ipykernel names cells; not on disk
    source = textwrap.dedent(f"""\
        @task()
        def parse(text):
            def nested():
                {FAILING_LINE}
                return value
            return nested()
        """)
    linecache.cache[cell] = (len(source), None, source.splitlines(keepends=True), cell)  # as IPython does
    namespace = {"__name__": "__main__", "task": task}
    try:
        exec(compile(source, cell, "exec"), namespace)

        @workflow(name="Cell Tracebacks")
        def cell_tracebacks() -> None:
            namespace["parse"]("not a number")

        handle = cell_tracebacks(local_run=True, store=store, executor="process", max_workers=1)
    finally:
        linecache.cache.pop(cell, None)
    traceback = parse_traceback(store, handle.run_id)
    assert f'File "{cell}", line 6, in parse\n    return nested()\n' in traceback, traceback
    assert f'File "{cell}", line 4, in nested\n    {FAILING_LINE}\n' in traceback, traceback


@task()
def module_level(x: int) -> int:
    return x


def test_code_stored_as_a_plain_cloudpickle_by_earlier_releases_still_loads() -> None:
    @workflow(name="Stored Before")
    def stored_before() -> None:
        module_level(1)

    blueprint = stored_before.build()[0]
    for code in (cloudpickle.dumps(blueprint), dump_code(blueprint, [t.function for t in blueprint.tasks])):
        loaded = load_code(code, trusted=True)
        assert [t.name for t in loaded.tasks] == ["module_level"] and loaded.tasks[0].function.func(3) == 3


@pytest.mark.slow
def test_a_task_defined_in_a_jupyter_kernel_cell_records_the_cells_file_and_source_line(tmp_path: Path) -> None:
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "DT_RUNS_STORE": str(tmp_path / "store"), "DT_RUNS_CONFIG": str(tmp_path / "no-config")}
    cell = textwrap.dedent(f"""\
        from datatailr_jupyter import task, workflow

        @task()
        def parse(text):
            {FAILING_LINE}
            return value

        @workflow(name="Kernel Tracebacks")
        def kernel_tracebacks():
            parse("not a number")

        handle = kernel_tracebacks(local_run=True, executor="process", max_workers=1)
        import json
        print(json.dumps([handle.run_id, parse.func.__code__.co_filename]))
        """)
    manager, client = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
    try:
        msg_id = client.execute(cell)
        out, errors = [], []
        while True:
            msg = client.get_iopub_msg(timeout=120)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                errors.append("\n".join(msg["content"]["traceback"]))
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert not errors, errors
    run_id, filename = json.loads("".join(out).strip().splitlines()[-1])
    assert "ipykernel_" in filename or filename.startswith("<ipython-input"), filename
    store = open_store(f"sqlite://{tmp_path / 'store'}")
    try:
        assert_names_file_and_line(parse_traceback(store, run_id), filename, failing_line_number(cell))
    finally:
        store.close()
