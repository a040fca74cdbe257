"""Names that print as something else, or that fold to another workflow's key, are refused where they are given."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from datatailr_jupyter import connect
from datatailr_jupyter.client import Client
from datatailr_jupyter.engine import task, workflow
from datatailr_jupyter.errors import InvalidNameError
from datatailr_jupyter.models import RunQuery
from datatailr_jupyter.store.protocols import RunStore
from tests.test_models import HIDDEN


@task()
def step(x):
    return x + 1


def make_workflow(name: str):
    @workflow(name=name)
    def wf():
        step(1)

    return wf


# ---------------------------------------------------------------- hidden characters


@pytest.mark.parametrize(("char", "code_point"), HIDDEN)
def test_workflow_names_with_hidden_characters_are_refused_when_decorated(char, code_point):
    for name in (f"invoice{char}txt", f"{char}Daily", f"Daily{char}"):
        with pytest.raises(InvalidNameError, match=re.escape(code_point)):
            make_workflow(name)
        with pytest.raises(InvalidNameError, match=re.escape(code_point)):
            workflow(name)(lambda: None)


@pytest.mark.parametrize(("char", "code_point"), HIDDEN)
def test_task_aliases_with_hidden_characters_are_refused(char, code_point):
    @workflow(name="Aliases")
    def wf():
        step(1).alias(f"load{char}data")

    with pytest.raises(InvalidNameError, match=re.escape(code_point)):
        wf(to_json=True)


@pytest.mark.parametrize(("char", "code_point"), HIDDEN)
@pytest.mark.parametrize("call", ["local_run", "deploy", "to_json"])
def test_envs_with_hidden_characters_are_refused_by_runs_deploys_and_json(store, char, code_point, call):
    wf = make_workflow("Env check")
    options = {"local_run": {"local_run": True, "executor": "inline"}, "deploy": {}, "to_json": {"to_json": True}}
    with pytest.raises(InvalidNameError, match=re.escape(code_point)):
        wf(env=f"prod{char}", store=store, **options[call])
    assert store.list_workflows() == [], "nothing is registered for a refused env"


@pytest.mark.parametrize(("char", "code_point"), HIDDEN)
def test_connect_and_client_filters_refuse_hidden_characters_in_envs(store, store_dir, char, code_point):
    make_workflow("Filtered")(local_run=True, store=store, executor="inline", env="prod")
    with pytest.raises(InvalidNameError, match=re.escape(code_point)):
        connect(str(store_dir), env=f"prod{char}")
    client = Client(store, env="prod")
    with pytest.raises(InvalidNameError, match=re.escape(code_point)):
        client.runs(env=f"prod{char}")
    with pytest.raises(InvalidNameError, match=re.escape(code_point)):
        client.activity(env=f"prod{char}")
    assert len(client.runs(env="prod")) == 1


@pytest.mark.parametrize("name", ["!!!", "---", "  ..  "])
def test_a_workflow_name_without_a_letter_or_digit_is_refused_when_decorated(name):
    with pytest.raises(InvalidNameError, match="no letter or digit"):
        make_workflow(name)


# ---------------------------------------------------------------- one display name per key


@pytest.mark.parametrize(
    "other", ["daily-report", "DAILY_REPORT!!", "daily report", " Daily  Report ", "Ｄaily Report"]
)
@pytest.mark.parametrize("how", ["deploy", "local_run"])
def test_a_second_workflow_folding_to_the_same_key_is_refused_not_merged(store: RunStore, other, how, capsys):
    make_workflow("Daily Report")(store=store, env="prod")
    second = make_workflow(other)
    call = {"deploy": {}, "local_run": {"local_run": True, "executor": "inline"}}[how]
    expected = "a workflow 'Daily Report' already uses the key 'daily-report'"
    with pytest.raises(InvalidNameError, match=re.escape(expected)) as caught:
        second(store=store, env="prod", **call)
    assert "rename this one or use that exact name" in str(caught.value)
    [info] = store.list_workflows()
    assert (info.name, info.latest_version) == ("Daily Report", 1), "the first workflow keeps its name and versions"
    assert not store.list_runs(RunQuery(limit=10)).runs, "no run was started under the other name"


def test_the_same_display_name_keeps_registering_versions(store: RunStore):
    make_workflow("Daily Report")(store=store, env="prod")

    @workflow(name="Daily Report")
    def changed():
        step(2)

    changed(store=store, env="prod")
    changed(local_run=True, store=store, executor="inline", env="prod")
    assert [v.version for v in store.list_versions("daily-report")] == [1, 2]


def test_the_key_check_reads_the_store_not_only_this_process(store_dir: Path):
    from datatailr_jupyter.store.registry import open_store

    first = open_store(f"sqlite://{store_dir}")
    try:
        make_workflow("Daily Report")(store=first, env="dev")
    finally:
        first.close()
    again = open_store(f"sqlite://{store_dir}")
    try:
        with pytest.raises(InvalidNameError, match="already uses the key 'daily-report'"):
            make_workflow("DAILY_REPORT!!")(local_run=True, store=again, executor="inline")
        assert [v.version for v in again.list_versions("daily-report")] == [1]
    finally:
        again.close()
