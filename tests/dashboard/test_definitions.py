"""Definition details of a version and the diff against the version before it."""

from __future__ import annotations

from datatailr_jupyter.client import Client
from datatailr_jupyter.store.sqlite import SqliteRunStore
from tests.dashboard.flows import arithmetic, shifted_flow


def test_definition_lists_each_task_with_its_stored_code(client: Client, store: SqliteRunStore) -> None:
    arithmetic(b=0, local_run=True, store=store, executor="inline")
    details = client.definition("Arithmetic <b>&</b> co")
    assert details["version"] == 1 and details["workflow"] == "Arithmetic <b>&</b> co"
    div = next(t for t in details["tasks"] if t["name"] == "div")
    assert div["function"] == "tests.dashboard.flows:divide" and div["arguments"] == {"a": {"task": 1}, "b": 0}
    assert div["code"] == "def divide(a, b):\n    return a / b\n" and div["code_origin"] in ("recorded", "file")
    assert "t2 = divide(a=t1, b=0).alias('div')" in details["workflow_code"]
    assert details["resources"] and details["schedule"] is None


def test_definition_shows_schedule_and_env_vars_of_a_deployment(client: Client, store: SqliteRunStore) -> None:
    shifted_flow(store=store, schedule="0 6 * * *", env="prod")
    details = client.definition("Shifted")
    assert details["deployment"] == {"env": "prod", "schedule": "0 6 * * *"}
    assert details["schedule_text"] == "At 06:00 (UTC)" and details["env_vars"] == {"DEBUG_SHOULD_FAIL": "yes"}
    assert details["tasks"][-1]["env_vars"] == {"DEBUG_SHOULD_FAIL": "yes"}


def test_definition_diff_shows_what_changed_against_the_previous_version(client: Client, store: SqliteRunStore) -> None:
    arithmetic(b=0, local_run=True, store=store, executor="inline")
    arithmetic(b=3, local_run=True, store=store, executor="inline")
    diff = client.definition_diff("Arithmetic <b>&</b> co")
    assert diff.startswith("--- Arithmetic <b>&</b> co v1\n+++ Arithmetic <b>&</b> co v2\n")
    assert "-    t2 = divide(a=t1, b=0).alias('div')" in diff and "+    t2 = divide(a=t1, b=3).alias('div')" in diff
    first = client.definition_diff("Arithmetic <b>&</b> co", 1)
    assert first.startswith("--- (no earlier version)") and "+def divide(a, b):" in first


def test_untrusted_store_shows_recorded_code_without_unpickling_it(store: SqliteRunStore) -> None:
    arithmetic(b=0, local_run=True, store=store, executor="inline")
    untrusted = SqliteRunStore(store.path, trusted=False)
    try:
        details = Client(untrusted).definition("Arithmetic <b>&</b> co", 1)
    finally:
        untrusted.close()
    assert "not trusted" in details["code_note"]
    div = next(t for t in details["tasks"] if t["name"] == "div")
    assert div["code"] == "def divide(a, b):\n    return a / b\n" and div["code_origin"] == "recorded"
