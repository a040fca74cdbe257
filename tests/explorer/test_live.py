"""LiveFeed against a real SqliteRunStore: what it pushes, only on change, and its thread's life."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from datatailr_jupyter import Client, connect
from datatailr_jupyter.engine.launch import engine_owner
from datatailr_jupyter.errors import InvalidArgumentError
from datatailr_jupyter.explorer.handlers import dispatch
from datatailr_jupyter.explorer.live import TAIL_BYTES, LiveFeed, Subscription, parse_subscription
from datatailr_jupyter.explorer.widget import unpack_answers
from datatailr_jupyter.models import RunState
from datatailr_jupyter.store.protocols import NewRun, RunUpdate, TaskUpdate

from .conftest import SALES, SALES_TASKS, T0, Built

QUERY: dict[str, Any] = {
    "workflow": "daily-sales-report", "env": "prod", "start": "", "end": "", "states": [], "cursor": None, "limit": 25
}  # fmt: skip


class Sink:
    def __init__(self) -> None:
        self.notices: list[dict[str, Any]] = []
        self.event = threading.Event()

    def __call__(self, notice: dict[str, Any]) -> None:
        self.notices.append(notice)
        self.event.set()

    def answers(self) -> list[dict[str, Any]]:
        return [a for n in self.notices for a in n["answers"]]

    def kinds(self) -> list[str]:
        return [a["kind"] for a in self.answers()]


@pytest.fixture()
def client(fresh_store: Built) -> Iterator[Client]:
    opened = connect(fresh_store.url)
    yield opened
    opened.close()


@pytest.fixture()
def feed(client: Client) -> Iterator[tuple[LiveFeed, Sink]]:
    sink = Sink()
    live = LiveFeed(client, sink, fast=0.05, slow=0.05)
    yield live, sink
    live.stop()


def _start_run(client: Client) -> int:
    new = NewRun(workflow=SALES, env="prod", job_version=1, tasks=SALES_TASKS, submit_time=T0 + timedelta(days=30),
                 owner=engine_owner())  # fmt: skip  # this process: never taken for a dead engine's run
    run = client.store.create_run(new)
    return run.run_id


def _subscribe(live: LiveFeed, run_id: int = 0, visible: bool = True) -> None:
    with live._lock:  # the thread is not started: poll() is driven by the test
        live._sub = Subscription(QUERY, "prod", run_id, visible)
        live._dirty = True


def test_first_round_pushes_exactly_what_dispatch_answers(feed: tuple[LiveFeed, Sink], client: Client) -> None:
    live, sink = feed
    _subscribe(live)
    assert live.poll() == 2
    assert sink.kinds() == ["list-runs", "list-workflows"]
    page = sink.answers()[0]
    assert page["payload"] == QUERY
    assert page["answer"] == dispatch(client, "list-runs", QUERY)["payload"]


def test_nothing_is_pushed_while_nothing_changes(feed: tuple[LiveFeed, Sink]) -> None:
    live, sink = feed
    _subscribe(live)
    live.poll()
    computed = live.polls
    for _ in range(5):
        assert live.poll() == 0
    assert len(sink.notices) == 1
    assert live.polls == computed  # the data_version check alone said nothing changed


def test_a_new_run_pushes_the_page_and_the_active_runs_detail(feed: tuple[LiveFeed, Sink], client: Client) -> None:
    live, sink = feed
    _subscribe(live)
    live.poll()
    sink.notices.clear()
    run_id = _start_run(client)
    live.poll()
    answers = {a["kind"]: a for a in sink.answers()}
    assert [r["run_id"] for r in answers["list-runs"]["answer"]["runs"]][0] == run_id
    assert answers["get-run"]["payload"] == {"run_id": run_id}
    assert answers["get-run"]["answer"]["run"]["state"] == "pending"
    assert "list-workflows" in answers  # the picker's state of the workflow changed too


def test_a_state_change_is_pushed_once(feed: tuple[LiveFeed, Sink], client: Client) -> None:
    live, sink = feed
    run_id = _start_run(client)
    _subscribe(live, run_id)
    live.poll()
    sink.notices.clear()
    client.store.update_run(run_id, RunUpdate(state=RunState.RUNNING, start_time=T0 + timedelta(days=30)))
    live.poll()
    states = [a["answer"]["run"]["state"] for a in sink.answers() if a["kind"] == "get-run"]
    assert states == ["running"]
    sink.notices.clear()
    live.poll()
    assert sink.notices == []


def test_a_running_tasks_log_tail_follows_and_ends(feed: tuple[LiveFeed, Sink], client: Client) -> None:
    live, sink = feed
    run_id = _start_run(client)
    store = client.store
    store.update_run(run_id, RunUpdate(state=RunState.RUNNING, start_time=T0))
    store.update_tasks(run_id, [TaskUpdate(0, state=RunState.RUNNING, start_time=T0)])
    store.append_log(run_id, 0, "stdout", b"step 1\n")
    _subscribe(live)
    live.poll()
    logs = [a for a in sink.answers() if a["kind"] == "read-log"]
    payload = {"run_id": run_id, "task_id": 0, "stream": "stdout", "tail": TAIL_BYTES}
    assert [a["payload"] for a in logs] == [payload, {**payload, "stream": "stderr"}]
    assert logs[0]["answer"]["text"] == "step 1\n"
    sink.notices.clear()
    store.append_log(run_id, 0, "stdout", b"step 2\n")  # a log file grows without a commit
    live.poll()
    logs = [a for a in sink.answers() if a["kind"] == "read-log"]
    assert [a["answer"]["text"] for a in logs] == ["step 1\nstep 2\n"]
    sink.notices.clear()
    store.append_log(run_id, 0, "stdout", b"done\n")
    store.update_tasks(run_id, [TaskUpdate(0, state=RunState.COMPLETED, end_time=T0)])
    live.poll()  # the task ended: its last lines are pushed once more, complete
    last = [a["answer"] for a in sink.answers() if a["kind"] == "read-log" and a["payload"]["stream"] == "stdout"]
    assert last[0]["text"].endswith("done\n") and last[0]["complete"]
    sink.notices.clear()
    live.poll()
    assert not [a for a in sink.answers() if a["kind"] == "read-log"]


def test_hidden_view_gets_nothing(feed: tuple[LiveFeed, Sink], client: Client) -> None:
    live, sink = feed
    _subscribe(live, visible=False)
    _start_run(client)
    assert live.poll() == 0
    assert sink.notices == []


def test_the_thread_pushes_on_its_own_and_stops_on_stop(feed: tuple[LiveFeed, Sink], client: Client) -> None:
    live, sink = feed
    live.subscribe(Subscription(QUERY, "prod", 0, True))
    assert sink.event.wait(5)
    assert live.running
    sink.event.clear()
    run_id = _start_run(client)
    assert sink.event.wait(5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(a["kind"] == "get-run" for a in sink.answers()):
        time.sleep(0.02)
    assert any(a["kind"] == "get-run" and a["payload"]["run_id"] == run_id for a in sink.answers())
    live.stop()
    assert not live.running
    count = len(sink.notices)
    _start_run(client)
    time.sleep(0.2)
    assert len(sink.notices) == count


def test_hiding_pauses_the_thread(feed: tuple[LiveFeed, Sink], client: Client) -> None:
    live, sink = feed
    live.subscribe(Subscription(QUERY, "prod", 0, True))
    assert sink.event.wait(5)
    live.subscribe(Subscription(QUERY, "prod", 0, False))
    time.sleep(0.1)
    count = len(sink.notices)
    _start_run(client)
    time.sleep(0.3)
    assert len(sink.notices) == count
    live.subscribe(Subscription(QUERY, "prod", 0, True))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(sink.notices) == count:
        time.sleep(0.02)
    assert len(sink.notices) > count


def test_it_slows_down_after_a_quiet_minute(client: Client) -> None:
    live = LiveFeed(client, Sink(), fast=2, slow=10, idle_after=60)
    assert live.period() == 2
    live._last_change -= 61
    assert live.period() == 10
    live.subscribe(Subscription(QUERY, "prod", 5, True))  # the view changed: fast again
    assert live.period() == 2
    live.stop()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "must be an object"),
        ({"list_runs": 3}, "'list_runs'"),
        ({"env": 1}, "'env'"),
        ({"run_id": "7"}, "'run_id'"),
        ({"visible": "yes"}, "'visible'"),
    ],
)
def test_a_malformed_subscription_says_what_is_wrong(payload: Any, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        parse_subscription(payload)


def test_an_explorer_starts_its_feed_on_subscribe_and_stops_it_on_close(client: Client) -> None:
    from datatailr_jupyter.explorer.widget import Explorer

    explorer = Explorer(client=client, workflow=SALES, env="prod")
    payload = {"list_runs": QUERY, "env": "prod", "run_id": 0, "visible": True}
    explorer._on_custom_message(explorer, {"kind": "live-subscribe", "payload": payload}, [])
    feed = explorer._live
    assert feed.running
    explorer.close()
    assert not feed.running


def test_a_new_view_gets_every_answer_again(feed: tuple[LiveFeed, Sink]) -> None:
    live, sink = feed
    live.subscribe(Subscription(QUERY, "prod", 0, True, "view-1"))
    assert sink.event.wait(5)
    time.sleep(0.2)  # a few rounds with nothing new
    assert len(sink.notices) == 1
    sink.event.clear()
    live.subscribe(Subscription(QUERY, "prod", 0, True, "view-2"))  # the same things, shown by another view
    assert sink.event.wait(5)
    assert sorted(sink.kinds()[2:]) == ["list-runs", "list-workflows"]


def _primed(live: LiveFeed, client: Client, run_id: int, version: int | None) -> Subscription:
    """Prime ``live`` with an explorer's first answers for ``run_id`` as Explorer does; the view's subscription."""
    from datatailr_jupyter.explorer.handlers import Context
    from datatailr_jupyter.explorer.selection import select
    from datatailr_jupyter.explorer.widget import _first_answers

    chosen = select(client, run=run_id)
    first = _first_answers(client, Context(), chosen, 25)
    assert [a["kind"] for a, _ in first] == ["list-workflows", "list-runs", "get-run"]
    live.prime(first, version)
    return Subscription(first[1][0]["payload"], chosen.env, run_id, True, "view-1")


def test_the_first_answers_are_not_computed_or_pushed_again_when_their_view_subscribes(
    feed: tuple[LiveFeed, Sink], client: Client, fresh_store: Built
) -> None:
    live, sink = feed
    run_id = fresh_store.runs["ok"]
    live.subscribe(_primed(live, client, run_id, live.data_version()))
    time.sleep(0.3)  # several rounds of the thread
    assert sink.notices == [] and live.polls == 0
    new_run = _start_run(client)  # a change: pushed, and only what it changed
    assert sink.event.wait(5)
    kinds = sink.kinds()
    assert "list-runs" in kinds and {"run_id": run_id} not in [a["payload"] for a in sink.answers()]
    assert {"run_id": new_run} in [a["payload"] for a in sink.answers()]  # the new active run on the page


def test_first_answers_computed_again_unchanged_are_not_pushed(
    feed: tuple[LiveFeed, Sink], client: Client, fresh_store: Built
) -> None:
    live, sink = feed
    run_id = fresh_store.runs["failed"]
    live.subscribe(_primed(live, client, run_id, None))  # a store without a change counter: computed each round
    deadline = time.monotonic() + 5
    while live.polls < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    assert live.polls >= 1 and sink.notices == []


def test_an_explorer_opened_on_a_run_pushes_nothing_after_the_view_subscribes(
    client: Client, fresh_store: Built
) -> None:
    from datatailr_jupyter.explorer.widget import Explorer

    explorer = Explorer(client=client, run=fresh_store.runs["ok"])
    pushed: list[dict[str, Any]] = []
    explorer._live._send = pushed.append  # what would go to the view
    try:
        query = unpack_answers(explorer.initial_answers)[1]["payload"]
        payload = {"list_runs": query, "env": "prod", "run_id": explorer.selected_run, "visible": True, "view": "v"}
        explorer._on_custom_message(explorer, {"kind": "live-subscribe", "payload": payload}, [])
        assert explorer._live.poll() == 0 and explorer._live.polls == 0 and pushed == []
    finally:
        explorer.close()
