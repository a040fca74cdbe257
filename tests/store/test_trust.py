"""Pickles load only from a trusted store, a preview never unpickles, and a refusal says how to trust the store."""

from __future__ import annotations

import grp
import os
import pathlib
import pwd
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from datatailr_jupyter import connect, load_result
from datatailr_jupyter.cli import main
from datatailr_jupyter.client import Client
from datatailr_jupyter.engine import rerun, task, workflow
from datatailr_jupyter.errors import UntrustedPickleError
from datatailr_jupyter.explorer.handlers import HANDLERS, dispatch
from datatailr_jupyter.explorer.magic import dt_runs
from datatailr_jupyter.explorer.previews import PICKLE_NOTE
from datatailr_jupyter.models import RunState
from datatailr_jupyter.store.codecs import encode
from datatailr_jupyter.store.protocols import NewRun, RunUpdate, TaskSpec, TaskUpdate, VersionSpec
from datatailr_jupyter.store.registry import open_store

NOBODY = 65534


class Evil:
    """A result whose unpickling creates a marker file: proof that code from the store ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))

    def __repr__(self) -> str:
        return "Evil()"


@pytest.fixture(autouse=True)
def no_trust_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DT_RUNS_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.delenv("DT_RUNS_TRUSTED_STORES", raising=False)
    monkeypatch.delenv("DT_RUNS_STORE", raising=False)


@pytest.fixture()
def marker(tmp_path: Path) -> Path:
    return tmp_path / "code-ran"


@pytest.fixture()
def evil_store(tmp_path: Path, marker: Path) -> Iterator[Path]:
    """A store (written through the RunWriter protocol) whose run 1 task 0 'evil' returned an Evil."""
    root = tmp_path / "stranger-store"
    store = open_store(f"sqlite://{root}")
    try:
        store.register_version(VersionSpec("Evil Flow", {"tasks": [{"id": 0, "name": "evil"}]}, "evil"))
        run = store.create_run(NewRun("Evil Flow", "dev", 1, (TaskSpec(0, "evil", "flows:evil"),)))
        store.update_tasks(run.run_id, [TaskUpdate(0, state=RunState.COMPLETED, result=encode(Evil(marker)))])
        store.update_run(run.run_id, RunUpdate(state=RunState.COMPLETED))
    finally:
        store.close()
    assert not marker.exists()
    yield root


def _preview(client: Client) -> dict[str, Any]:
    answer: dict[str, Any] = HANDLERS["get-result"](client, {"run_id": 1, "task_id": 0}, None)
    return answer


@pytest.mark.parametrize("trust", [False, True])
def test_previewing_a_pickled_result_never_unpickles_it_whatever_the_trust(
    evil_store: Path, marker: Path, trust: bool
) -> None:
    for client in (
        connect(str(evil_store), trust=trust),
        Client(open_store(f"sqlite://{evil_store}"), allow_pickle=True),
    ):
        try:
            answer = _preview(client)
        finally:
            client.close()
        assert answer["meta"]["codec"] == "pickle"
        text = answer["preview"]["text"]
        assert text.startswith("Evil()") and PICKLE_NOTE in text
        assert not marker.exists(), "previewing a result ran code from the store"


def test_the_preview_of_an_untrusted_pickle_says_loading_it_is_refused(evil_store: Path) -> None:
    client = connect(str(evil_store))
    try:
        text = _preview(client)["preview"]["text"]
    finally:
        client.close()
    assert "loading it is refused" in text and "not trusted" in text


def test_an_untrusted_store_refuses_to_unpickle_and_says_how_to_trust_it(evil_store: Path, marker: Path) -> None:
    client = connect(str(evil_store))
    try:
        assert not client.store.trusted
        with pytest.raises(UntrustedPickleError) as info:
            client.result(1, "evil")
    finally:
        client.close()
    message = str(info.value)
    assert message.startswith(f"refused to unpickle the {__name__}.Evil result of task 'evil' of run 1: ")
    assert f"the store {evil_store} is not trusted (unpickling runs code chosen by whoever wrote it)" in message
    assert f"connect({str(evil_store)!r}, trust=True)" in message
    assert "trusted_stores in " in message and "no-config.toml" in message and "$DT_RUNS_TRUSTED_STORES" in message
    with pytest.raises(UntrustedPickleError, match="is not trusted"):
        load_result("Evil Flow", 1, "evil", store=str(evil_store))
    assert not marker.exists()


@pytest.mark.parametrize("how", ["argument", "load_result", "env", "config", "config-url", "config-relative"])
def test_a_trusted_store_loads_its_pickles(
    evil_store: Path, marker: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    config = tmp_path / "no-config.toml"
    if how == "env":
        monkeypatch.setenv("DT_RUNS_TRUSTED_STORES", os.pathsep.join(["/elsewhere", str(evil_store)]))
    elif how == "config":
        config.write_text(f'trusted_stores = ["/elsewhere", "{evil_store}"]\n')
    elif how == "config-url":
        config.write_text(f'trusted_stores = ["sqlite://{evil_store}/"]\n')
    elif how == "config-relative":
        config.write_text(f'trusted_stores = ["./{evil_store.name}"]\n')
    if how == "load_result":
        load_result("Evil Flow", 1, "evil", store=str(evil_store), trust=True)
    else:
        client = connect(str(evil_store), trust=how == "argument")
        try:
            assert client.store.trusted
            client.result(1, "evil")
        finally:
            client.close()
    assert marker.exists()


def test_trust_belongs_to_the_handle_not_to_the_shared_database(evil_store: Path, marker: Path) -> None:
    trusting, wary = connect(str(evil_store), trust=True), connect(str(evil_store))
    try:
        assert trusting.store.trusted and not wary.store.trusted
        with pytest.raises(UntrustedPickleError):
            wary.result(1, "evil")
        trusting.result(1, "evil")
    finally:
        trusting.close()
        wary.close()
    assert marker.exists()


def test_the_default_store_is_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    client = connect()
    try:
        assert client.store.label.startswith(str(tmp_path / "data"))
        assert client.store.trusted and client.distrust() is None
    finally:
        client.close()


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ("other-writable", "is writable by others (mode 757)"),
        ("group-writable", f"is writable by group {NOBODY} (mode 775)"),
        ("results-other-writable", "is writable by others (its results) (mode 777)"),
        ("other-owner", f"is owned by uid {NOBODY}, not by you (uid {os.geteuid()})"),
        ("database-other-owner", f"is owned by uid {NOBODY} (its runs.db)"),
    ],
)
def test_a_store_others_own_or_can_write_is_never_trusted(
    evil_store: Path, marker: Path, monkeypatch: pytest.MonkeyPatch, change: str, said: str
) -> None:
    if change == "other-writable":
        evil_store.chmod(0o757)
    elif change == "group-writable":
        os.chown(evil_store, -1, NOBODY)
        evil_store.chmod(0o775)
    elif change == "results-other-writable":
        (evil_store / "results").chmod(0o777)
    elif change == "other-owner":
        os.chown(evil_store, NOBODY, -1)
    else:
        os.chown(evil_store / "runs.db", NOBODY, -1)
    monkeypatch.setenv("DT_RUNS_TRUSTED_STORES", str(evil_store))
    for client in (
        connect(str(evil_store), trust=True),
        Client(open_store(f"sqlite://{evil_store}"), allow_pickle=True),
    ):
        try:
            assert not client.store.trusted
            with pytest.raises(UntrustedPickleError) as info:
                client.result(1, "evil")
        finally:
            client.close()
        message = str(info.value)
        assert f"the store {evil_store} {said}" in message
        assert (
            "it cannot be trusted, even with trust=True" in message
            and "store directory into one of your own" in message
        )
    assert not marker.exists()


def test_a_group_writable_store_of_ones_own_private_group_stays_trusted(evil_store: Path) -> None:
    user = pwd.getpwuid(os.geteuid())
    if grp.getgrgid(user.pw_gid).gr_name != user.pw_name:
        pytest.skip("the user has no private group")
    os.chown(evil_store, -1, user.pw_gid)
    evil_store.chmod(0o775)  # a umask of 002 makes this
    client = connect(str(evil_store), trust=True)
    try:
        assert client.store.trusted
    finally:
        client.close()


@task()
def double(x: int) -> int:
    return 2 * x


@workflow(name="Trusted Rerun")
def doubling() -> None:
    double(21)


@pytest.fixture()
def run_store(tmp_path: Path) -> str:
    """A store with one completed run of 'Trusted Rerun' (its code stored as a pickle)."""
    url = f"sqlite://{tmp_path / 'runs'}"
    writer = open_store(url)
    try:
        handle = doubling(local_run=True, store=writer, executor="inline")
        assert handle.state is RunState.COMPLETED and handle.run_id == 1
    finally:
        writer.close()
    return url


def test_a_rerun_in_an_untrusted_store_is_refused_and_one_in_a_trusted_store_runs(run_store: str) -> None:
    wary = connect(run_store)
    try:
        with pytest.raises(UntrustedPickleError) as info:
            rerun(1, store=wary.store, executor="inline")
        assert wary.runs().shape[0] == 1, "a refused rerun recorded a run"
    finally:
        wary.close()
    assert str(info.value).startswith(f"refused to rerun run 1: the store {run_store.removeprefix('sqlite://')} is not")
    trusting = connect(run_store, trust=True)
    try:
        again = rerun(1, store=trusting.store, executor="inline", full=True)
        assert again.state is RunState.COMPLETED and again.results["double"] == 42
    finally:
        trusting.close()


def test_dt_refuses_an_untrusted_rerun_in_one_line_that_says_how_to_trust(
    run_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--store", run_store, "rerun", "1"]) == 1  # refused: exit 1 (2 is for usage errors)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("dt: error: refused to rerun run 1: the store ")
    assert "is not trusted" in err and "dt --trust" in err and "DT_RUNS_TRUSTED_STORES" in err
    assert main(["--store", run_store, "--trust", "rerun", "1", "--plan"]) == 0


def test_dt_trust_lets_a_rerun_load_the_stored_code(run_store: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--store", run_store, "--trust", "rerun", "1", "--full"]) == 0
    assert capsys.readouterr().out.strip() == "run 2: completed"


@pytest.mark.parametrize("trusted", [False, True])
def test_dt_runs_trust_loads_pickles_in_the_explorer_and_its_load_into_cell_code(
    evil_store: Path, marker: Path, trusted: bool
) -> None:
    explorer = dt_runs(f'--store "{evil_store}"' + (" --trust" if trusted else ""))
    assert explorer is not None
    try:
        answer = dispatch(explorer.client, "load-code", {"run_id": 1, "task_id": 0}, context=explorer._context)
        code = answer["payload"]["code"]
        assert ("trust=True" in code) is trusted
        into: dict[str, Any] = {}
        bound = dispatch(
            explorer.client,
            "bind-result",
            {"run_id": 1, "task_id": 0, "variable": "evil"},
            context=replace(explorer._context, namespace=into),
        )
        assert ("error" in bound) is not trusted, bound
        if not trusted:
            assert "is not trusted" in bound["error"]["message"]
        assert marker.exists() is trusted and ("evil" in into) is trusted
    finally:
        explorer.close()
    if trusted:
        marker.unlink()
        exec(code, {})  # the inserted cell, run as it is: it loads the pickle from the same store
        assert marker.exists()
    assert "--trust: load pickled results" in (dt_runs.__doc__ or "")  # what --help prints
