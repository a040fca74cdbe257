"""Definition hashes change exactly when the graph, a literal or a task's code changes; they are stable across runs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from datatailr_jupyter.engine import task, workflow
from datatailr_jupyter.engine.versions import (
    dump_code,
    fingerprint_function,
    graph_hash,
    load_code,
    task_fingerprints,
)


@task()
def add(a, b):
    return a + b


def _hash(wf):
    bp, options, _ = wf.build()
    return graph_hash(bp, options, task_fingerprints(bp))


def _workflow(literal, alias="x"):
    @workflow(name="Hash Me")
    def wf():
        add(add(1, literal), {"k", "j", "i"}).alias(alias)

    return wf


def test_hash_is_the_same_for_the_same_definition_and_changes_with_literals_and_names():
    assert _hash(_workflow(2)) == _hash(_workflow(2))
    assert _hash(_workflow(2)) != _hash(_workflow(3))
    assert _hash(_workflow(2)) != _hash(_workflow(2, alias="y"))


def test_fingerprint_follows_source_and_falls_back_to_bytecode():
    namespace: dict = {}
    exec(compile("def f(x):\n    return x + 1\n", "<no source>", "exec"), namespace)
    first = fingerprint_function(namespace["f"])
    exec(compile("def f(x):\n    return x + 2\n", "<no source>", "exec"), namespace)
    assert fingerprint_function(namespace["f"]) != first
    exec(compile("def f(x):\n    return x + 1\n", "<no source>", "exec"), namespace)
    assert fingerprint_function(namespace["f"]) == first
    assert fingerprint_function(add) == fingerprint_function(add.func)


def test_hash_is_stable_across_processes_with_different_hash_seeds():
    code = textwrap.dedent(
        """
        from tests.engine.test_versions import _hash, _workflow
        print(_hash(_workflow(2)))
        """
    )
    outs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        outs.add(out.stdout.strip())
    assert outs == {_hash(_workflow(2))}


def test_code_round_trips_and_runs_the_same_functions():
    bp, _, _ = _workflow(2).build()
    restored = load_code(dump_code(bp, [t.function for t in bp.tasks]), trusted=True)
    assert [t.name for t in restored.tasks] == [t.name for t in bp.tasks]
    assert restored.tasks[0].function.call({"a": 1, "b": 2}) == 3


def test_notebook_functions_are_shipped_by_value():
    namespace = {"__name__": "__main__", "task": task}
    exec("@task\ndef triple(x):\n    return 3 * x\n", namespace)
    blob = dump_code(namespace["triple"], [namespace["triple"]])
    out = subprocess.run(
        [sys.executable, "-c", "import pickle,sys; f = pickle.loads(sys.stdin.buffer.read()); print(f.func(4))"],
        input=blob,
        capture_output=True,
        check=True,
    )
    assert out.stdout.strip() == b"12"


@task()
def subtract(a, b):
    return a - b


def _flow(literal, fn=add):
    @workflow(name="Versioned Flow")
    def wf():
        fn(1, literal).alias("step")

    return wf


def test_runs_register_a_new_version_only_when_the_definition_changes(store):
    def version_of(wf):
        return wf(local_run=True, store=store, executor="inline").detail().run.job_version

    assert version_of(_flow(2)) == 1
    assert version_of(_flow(2)) == 1
    assert version_of(_flow(3)) == 2
    assert version_of(_flow(3, subtract)) == 3
    assert version_of(_flow(2)) == 4, "going back to earlier code is a change too"
    versions = store.list_versions("Versioned Flow")
    assert [v.version for v in versions] == [1, 2, 3, 4]
    step = versions[2].definition["tasks"][0]
    assert step["name"] == "step" and step["function"].endswith(":subtract") and step["arguments"] == {"a": 1, "b": 3}
    old = load_code(store.get_code("Versioned Flow", 3), trusted=True)
    assert old.tasks[0].function.call(old.tasks[0].arguments) == -2


def test_stored_code_whose_module_no_longer_imports_is_one_clear_error(tmp_path, monkeypatch):
    import pickle

    import pytest

    from datatailr_jupyter.errors import CodeLoadError

    (tmp_path / "gone_helpers.py").write_text("def compute(x):\n    return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import gone_helpers  # type: ignore[import-not-found]

    code = pickle.dumps(gone_helpers.compute)  # by reference, as cloudpickle ships importable modules
    monkeypatch.delitem(sys.modules, "gone_helpers")
    sys.path.remove(str(tmp_path))
    with pytest.raises(CodeLoadError) as caught:
        load_code(code, trusted=True)
    message = str(caught.value)
    assert "ModuleNotFoundError: No module named 'gone_helpers'" in message
    assert "PYTHONPATH" in message  # says what to do
    with pytest.raises(CodeLoadError, match="not a workflow blueprint"):
        load_code(pickle.dumps({"not": "a blueprint"}), trusted=True)
