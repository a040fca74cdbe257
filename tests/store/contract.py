"""The run-store contract: every RunReader/RunWriter behaviour, through the protocol methods only.

A store implementation passes it by subclassing RunStoreContract and providing a ``store`` fixture (a fresh,
empty, writable store per test). Nothing here knows how a store keeps its data.
"""

from __future__ import annotations

import os
import random
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
import pytest

from datatailr_jupyter.errors import (
    InvalidArgumentError,
    InvalidNameError,
    ResultNotFoundError,
    RunNotFoundError,
    TaskNotFoundError,
    VersionNotFoundError,
    WorkflowNotFoundError,
)
from datatailr_jupyter.models import RunQuery, RunState, RunSummary, TaskError, Trigger, Version
from datatailr_jupyter.store.codecs import decode, encode, encode_to_file
from datatailr_jupyter.store.protocols import (
    NewRun,
    RunReader,
    RunStore,
    RunUpdate,
    RunWriter,
    TaskSpec,
    TaskUpdate,
    VersionSpec,
)

T0 = datetime(2026, 3, 2, tzinfo=timezone.utc)  # a Monday, 00:00 UTC
SALES = "Daily Sales Report"
OTHER = 'Other/Flow "quoted" ..'
TASKS = (
    TaskSpec(0, "fetch_data", "flows:fetch_data", (), {"cpu": 1}),
    TaskSpec(1, "calculate_total", "flows:calculate_total", (0,)),
    TaskSpec(2, "write report", "flows:write_report", (1,)),
)


def _alive_owner() -> str:
    with open(f"/proc/{os.getpid()}/stat", encoding="ascii") as fh:
        started = fh.read().rsplit(")", 1)[1].split()[19]
    return f"{socket.gethostname()}:{os.getpid()}:{started}"


ALIVE = _alive_owner()  # this test process: a store must never recover its runs


def definition(tasks: tuple[TaskSpec, ...]) -> dict[str, Any]:
    return {"tasks": [{"id": t.id, "name": t.name, "function": t.function, "dependencies": list(t.dependencies)}
                      for t in tasks]}  # fmt: skip


def register(
    store: RunWriter, name: str = SALES, tasks: tuple[TaskSpec, ...] = TASKS, digest: str = "h1", **kw: Any
) -> Version:
    return store.register_version(
        VersionSpec(workflow=name, definition=definition(tasks), definition_hash=digest, **kw)
    )


def new_run(
    store: RunWriter,
    *,
    workflow: str = SALES,
    env: str = "dev",
    submit: datetime = T0,
    tasks: tuple[TaskSpec, ...] = TASKS,
    rerun_of: int | None = None,
    version: int = 1,
    **kw: Any,
) -> RunSummary:
    return store.create_run(
        NewRun(workflow=workflow, env=env, job_version=version, tasks=tasks, submit_time=submit, rerun_of=rerun_of,
               trigger=Trigger.RERUN if rerun_of else Trigger.LOCAL, owner=kw.pop("owner", ALIVE), **kw)
    )  # fmt: skip


def finish(store: RunWriter, run_id: int, state: RunState, start: datetime, error: str | None = None) -> None:
    store.update_run(run_id, RunUpdate(state=state, start_time=start, end_time=start + timedelta(minutes=5),
                                       error_message=error))  # fmt: skip


@dataclass(frozen=True)
class Made:
    run_id: int
    key: str
    env: str
    t: datetime
    state: RunState
    root: bool


def populate(store: RunStore, seed: int = 7) -> list[Made]:
    """60 runs of two workflows in three envs over four days, some started, some failed, some reruns."""
    register(store)
    register(store, OTHER, digest="o1")
    rng = random.Random(seed)
    made: list[Made] = []
    for i in range(60):
        name = SALES if i % 3 else OTHER
        env = ("dev", "pre", "prod")[i % 3 if i % 2 else (i // 2) % 3]
        submit = T0 + timedelta(minutes=rng.randrange(0, 4 * 24 * 60), seconds=rng.randrange(60))
        same = [m for m in made if m.key == made_key(name) and m.env == env]
        rerun_of = same[-1].run_id if same and rng.random() < 0.25 else None
        run = new_run(store, workflow=name, env=env, submit=submit, rerun_of=rerun_of)
        state, t = RunState.PENDING, submit
        if i % 4:
            t = submit + timedelta(minutes=rng.randrange(0, 180))
            state = rng.choice([RunState.COMPLETED, RunState.COMPLETED, RunState.FAILED, RunState.RUNNING])
            store.update_run(run.run_id, RunUpdate(state=state, start_time=t))
        made.append(Made(run.run_id, made_key(name), env, t, state, rerun_of is None))
    return made


def made_key(name: str) -> str:
    return {SALES: "daily-sales-report", OTHER: "other-flow-quoted"}[name]


def all_pages(store: RunReader, query: RunQuery) -> tuple[list[int], set[int]]:
    ids: list[int] = []
    totals: set[int] = set()
    page = store.list_runs(query)
    while True:
        ids += [r.run_id for r in page.runs]
        totals.add(page.total)
        if page.next_cursor is None:
            return ids, totals
        assert len(page.runs) == query.limit
        page = store.list_runs(RunQuery(**{**query.__dict__, "cursor": page.next_cursor}))


def expected(made: list[Made], query: RunQuery) -> list[int]:
    keep = [
        m for m in made
        if (query.workflow is None or m.key == query.workflow or made_key_of(query.workflow) == m.key)
        and (query.env is None or m.env == query.env)
        and (query.start is None or m.t >= query.start)
        and (query.end is None or m.t < query.end)
        and (not query.states or m.state in query.states)
        and (not query.roots_only or m.root)
    ]  # fmt: skip
    return [m.run_id for m in sorted(keep, key=lambda m: (m.t, m.run_id), reverse=True)]


def made_key_of(name: str) -> str:
    return {SALES: "daily-sales-report", OTHER: "other-flow-quoted"}.get(name, name)


class Marker:
    """A value only pickle can store."""

    def __init__(self, payload: str) -> None:
        self.payload = payload

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Marker) and other.payload == self.payload


class RunStoreContract:
    """Subclasses provide ``store``: a fresh, empty, writable RunStore."""

    @pytest.fixture()
    def store(self) -> RunStore:  # pragma: no cover - provided by subclasses
        raise NotImplementedError

    # ------------------------------------------------------------ protocol shape

    def test_store_implements_both_protocols_and_has_a_label(self, store: RunStore) -> None:
        assert isinstance(store, RunReader) and isinstance(store, RunWriter)
        assert isinstance(store.label, str) and store.label
        assert isinstance(store.trusted, bool)

    def test_an_empty_store_lists_nothing(self, store: RunStore) -> None:
        assert store.list_envs() == [] and store.list_workflows() == []
        page = store.list_runs(RunQuery())
        assert (page.runs, page.total, page.next_cursor) == ((), 0, None)
        assert store.activity(None, None).total == 0

    # ------------------------------------------------------------ versions

    def test_register_version_numbers_per_workflow_and_is_idempotent_on_the_same_hash(self, store: RunStore) -> None:
        first = register(store, digest="a", schedule="0 6 * * *", code=b"code-1")
        assert (first.workflow_key, first.version, first.schedule) == ("daily-sales-report", 1, "0 6 * * *")
        again = register(store, digest="a", code=b"other")
        assert again == first
        second = register(store, tasks=TASKS[:2], digest="b")
        assert second.version == 2 and second.definition == definition(TASKS[:2])
        assert register(store, OTHER, digest="a").version == 1
        assert [v.version for v in store.list_versions("daily-sales-report")] == [1, 2]
        assert store.get_version(SALES, 1) == first
        assert store.get_code(SALES, 1) == b"code-1" and store.get_code(SALES, 2) is None
        assert first.created_at is not None and first.created_at.tzinfo is not None

    def test_unknown_workflow_and_version_errors_list_what_exists(self, store: RunStore) -> None:
        register(store)
        register(store, OTHER, digest="x")
        with pytest.raises(WorkflowNotFoundError, match="Daily Sales Report") as info:
            store.list_versions("nope")
        assert "nope" in str(info.value)
        with pytest.raises(VersionNotFoundError, match=r"versions are 1"):
            store.get_version(SALES, 9)
        with pytest.raises(VersionNotFoundError):
            store.get_code("daily-sales-report", 0)
        with pytest.raises(WorkflowNotFoundError):
            store.list_runs(RunQuery(workflow="nope"))
        with pytest.raises(WorkflowNotFoundError):
            store.activity("nope", None)

    def test_names_with_quotes_slashes_and_dots_are_kept_and_bad_names_refused(self, store: RunStore) -> None:
        version = register(store, OTHER, tasks=(TaskSpec(0, "../../etc/passwd \"x\" 'y'", "m:f"),))
        assert version.workflow_key == "other-flow-quoted"
        run = new_run(store, workflow=OTHER, tasks=(TaskSpec(0, "../../etc/passwd \"x\" 'y'", "m:f"),))
        assert store.get_run(run.run_id).tasks[0].name == "../../etc/passwd \"x\" 'y'"
        assert run.workflow == OTHER
        store.append_log(run.run_id, 0, "stdout", b"inside\n")
        assert store.read_log(run.run_id, 0, "stdout").text == "inside\n"
        for bad in ("two\nlines", "x" * 1000, "", "tab\there"):
            with pytest.raises(InvalidNameError):
                register(store, bad, digest=bad)
            with pytest.raises(InvalidNameError):
                new_run(store, workflow=OTHER, tasks=(TaskSpec(0, bad, "m:f"),))
        with pytest.raises(InvalidNameError):
            new_run(store, env="no/slashes")

    # ------------------------------------------------------------ runs and tasks

    def test_create_run_records_the_run_and_its_tasks_in_created_state(self, store: RunStore) -> None:
        register(store)
        run = new_run(store, env="prod", params={"day": "2026-03-02", "n": 3}, scheduled_time=T0)
        assert (run.workflow, run.workflow_key, run.env, run.job_version) == (SALES, "daily-sales-report", "prod", 1)
        assert run.state is RunState.PENDING and run.n_tasks == 3 and run.task_counts == {"created": 3}
        assert run.submit_time == T0 and run.scheduled_time == T0 and run.params == {"day": "2026-03-02", "n": 3}
        assert run.original_run_id is None and run.rerun_of is None and run.trigger is Trigger.LOCAL
        detail = store.get_run(run.run_id)
        assert detail.run == run
        assert [(t.id, t.name, t.state) for t in detail.tasks] == [
            (0, "fetch_data", RunState.CREATED), (1, "calculate_total", RunState.CREATED),
            (2, "write report", RunState.CREATED)]  # fmt: skip
        assert detail.tasks[1].dependencies == (0,) and detail.tasks[0].resources == {"cpu": 1}
        assert detail.tasks[2].function == "flows:write_report"
        assert new_run(store).run_id > run.run_id

    def test_create_run_refuses_unknown_workflow_version_and_parent(self, store: RunStore) -> None:
        register(store)
        with pytest.raises(WorkflowNotFoundError, match="Daily Sales Report"):
            new_run(store, workflow="Never Registered")
        with pytest.raises(VersionNotFoundError, match="versions are 1"):
            new_run(store, version=5)
        with pytest.raises(RunNotFoundError, match="12345"):
            new_run(store, rerun_of=12345)
        assert store.list_runs(RunQuery()).total == 0

    def test_updates_move_states_times_counts_and_keep_the_first_error(self, store: RunStore) -> None:
        register(store)
        run = new_run(store)
        start = T0 + timedelta(hours=1)
        store.update_run(run.run_id, RunUpdate(state=RunState.RUNNING, start_time=start))
        store.update_tasks(run.run_id, [
            TaskUpdate(0, state=RunState.COMPLETED, start_time=start, end_time=start + timedelta(seconds=3),
                       attempt=1, exit_code=0, host="h1", result=encode([1, 2, 3])),
            TaskUpdate(1, state=RunState.RUNNING, start_time=start, attempt=1),
        ])  # fmt: skip
        assert store.get_run(run.run_id).run.task_counts == {"completed": 1, "running": 1, "created": 1}
        boom = TaskError("ValueError", "amount must be positive", "Traceback ...\nValueError")
        store.update_tasks(run.run_id, [TaskUpdate(1, state=RunState.FAILED, error=boom, exit_code=1,
                                                   end_time=start + timedelta(seconds=9))])  # fmt: skip
        store.update_tasks(run.run_id, [TaskUpdate(2, state=RunState.DID_NOT_RUN, error=TaskError("X", "later"))])
        store.update_run(run.run_id, RunUpdate(state=RunState.FAILED, end_time=start + timedelta(seconds=10)))
        detail = store.get_run(run.run_id)
        assert detail.run.state is RunState.FAILED and detail.run.start_time == start
        assert detail.run.duration == 10.0
        assert detail.run.task_counts == {"completed": 1, "failed": 1, "did_not_run": 1}
        assert detail.run.error_message is not None and detail.run.error_message.startswith("ValueError")
        t0, t1 = detail.tasks[0], detail.tasks[1]
        assert (t0.attempt, t0.exit_code, t0.host, t0.end_time) == (1, 0, "h1", start + timedelta(seconds=3))
        assert t0.result is not None and t0.result.codec == "json" and t0.result.length == 3
        assert t1.error == boom and t1.exit_code == 1 and t1.result is None

    def test_get_run_returns_every_task_of_a_large_run_in_id_order(self, store: RunStore) -> None:
        tasks = tuple(TaskSpec(i, f"t{i}", "m:f", (i - 1,) if i else ()) for i in reversed(range(250)))
        register(store, "Wide", tasks=tasks)
        run = new_run(store, workflow="Wide", tasks=tasks)
        detail = store.get_run(run.run_id)
        assert [t.id for t in detail.tasks] == list(range(250))
        assert detail.task(249).dependencies == (248,) and detail.task("t7").id == 7

    def test_unknown_run_and_task_errors_name_the_run_and_list_the_tasks(self, store: RunStore) -> None:
        register(store)
        run = new_run(store)
        with pytest.raises(RunNotFoundError, match=r"run 99999 does not exist"):
            store.get_run(99999)
        calls: list[Callable[[], object]] = [
            lambda: store.read_result(99999, 0), lambda: store.rerun_family(99999),
            lambda: store.read_log(99999, 0, "stdout"), lambda: store.update_run(99999, RunUpdate()),
            lambda: store.update_tasks(99999, [TaskUpdate(0)])]  # fmt: skip
        for call in calls:
            with pytest.raises(RunNotFoundError):
                call()
        calls = [
            lambda: store.read_result(run.run_id, 7), lambda: store.read_log(run.run_id, 7, "stdout"),
            lambda: store.search_log(run.run_id, 7, "stdout", "x"),
            lambda: store.update_tasks(run.run_id, [TaskUpdate(7, state=RunState.RUNNING)])]  # fmt: skip
        for call in calls:
            with pytest.raises(TaskNotFoundError, match="fetch_data") as info:
                call()
            assert "7" in str(info.value)
        assert store.get_run(run.run_id).run.task_counts == {"created": 3}

    def test_a_task_without_a_result_says_so(self, store: RunStore) -> None:
        register(store)
        run = new_run(store)
        with pytest.raises(ResultNotFoundError, match="no result"):
            store.read_result(run.run_id, 0)

    # ------------------------------------------------------------ listing runs

    @pytest.mark.parametrize(
        "query",
        [
            RunQuery(limit=7),
            RunQuery(workflow=SALES, env="prod", limit=3),
            RunQuery(workflow="daily-sales-report", limit=5),
            RunQuery(env="pre", limit=4),
            RunQuery(
                start=T0 + timedelta(days=1, hours=13, minutes=30),
                end=T0 + timedelta(days=3, hours=7, minutes=15),
                limit=6,
            ),
            RunQuery(workflow=SALES, start=T0 + timedelta(hours=5, minutes=1), limit=2),
            RunQuery(end=T0 + timedelta(days=2), states=(RunState.FAILED, RunState.RUNNING), limit=3),
            RunQuery(roots_only=True, limit=8),
            RunQuery(workflow=OTHER, env="dev", roots_only=True, states=(RunState.COMPLETED,), limit=1),
            RunQuery(start=T0 + timedelta(days=1, minutes=7), end=T0 + timedelta(days=1, minutes=50), limit=1),
        ],
    )
    def test_pages_follow_cursors_without_overlap_and_count_every_match(self, store: RunStore, query: RunQuery) -> None:
        made = populate(store)
        ids, totals = all_pages(store, query)
        want = expected(made, query)
        assert ids == want
        assert totals == {len(want)}

    def test_roots_only_rows_carry_their_rerun_counts_and_the_family_lists_reruns_oldest_first(
        self, store: RunStore
    ) -> None:
        register(store)
        root = new_run(store, submit=T0)
        first = new_run(store, submit=T0 + timedelta(hours=1), rerun_of=root.run_id, partial_rerun=True)
        second = new_run(store, submit=T0 + timedelta(hours=2), rerun_of=first.run_id)
        other = new_run(store, submit=T0 + timedelta(hours=3))
        assert (first.original_run_id, first.rerun_of, first.partial_rerun) == (root.run_id, root.run_id, True)
        assert (second.original_run_id, second.rerun_of) == (root.run_id, first.run_id)
        page = store.list_runs(RunQuery(roots_only=True))
        assert [(r.run_id, r.n_reruns) for r in page.runs] == [(other.run_id, 0), (root.run_id, 2)]
        assert page.total == 2
        for member in (root, first, second):
            assert [r.run_id for r in store.rerun_family(member.run_id)] == [root.run_id, first.run_id, second.run_id]
        assert [r.run_id for r in store.rerun_family(other.run_id)] == [other.run_id]

    def test_a_malformed_cursor_is_refused_with_advice(self, store: RunStore) -> None:
        populate(store)
        for cursor in ("garbage!", "bm90LWEtY3Vyc29y", "", "MTox:2"):
            with pytest.raises(InvalidArgumentError, match="cursor"):
                store.list_runs(RunQuery(cursor=cursor))

    def test_a_run_moves_from_its_submit_time_to_its_start_time(self, store: RunStore) -> None:
        register(store)
        run = new_run(store, submit=T0 + timedelta(hours=23, minutes=59))
        window = RunQuery(start=T0 + timedelta(days=1), end=T0 + timedelta(days=2))
        assert store.list_runs(window).total == 0
        store.update_run(run.run_id, RunUpdate(state=RunState.RUNNING, start_time=T0 + timedelta(days=1, minutes=2)))
        page = store.list_runs(window)
        assert page.total == 1 and page.runs[0].run_id == run.run_id
        assert store.list_runs(RunQuery(end=T0 + timedelta(days=1))).total == 0

    # ------------------------------------------------------------ envs, workflows, activity

    def test_envs_and_workflows_with_their_recent_states_newest_first(self, store: RunStore) -> None:
        register(store, schedule="0 6 * * *")
        register(store, tasks=TASKS[:2], digest="h2", schedule="0 7 * * *")
        register(store, OTHER, digest="o")
        register(store, "Only Registered", digest="r")
        states = [RunState.COMPLETED, RunState.FAILED] * 7
        ids = []
        for i, state in enumerate(states):
            run = new_run(store, env="prod", submit=T0 + timedelta(hours=i))
            finish(store, run.run_id, state, T0 + timedelta(hours=i, minutes=1))
            ids.append(run.run_id)
        dev = new_run(store, workflow=OTHER, env="dev", submit=T0)
        assert store.list_envs() == ["dev", "prod"]
        prod = {w.name: w for w in store.list_workflows("prod")}
        assert set(prod) == {SALES, "Only Registered"}
        sales = prod[SALES]
        assert (sales.key, sales.env, sales.n_tasks, sales.schedule, sales.latest_version) == (
            "daily-sales-report", "prod", 2, "0 7 * * *", 2)  # fmt: skip
        assert sales.n_runs == 14 and sales.last_run_id == ids[-1] and sales.last_state is RunState.FAILED
        assert sales.last_start_time == T0 + timedelta(hours=13, minutes=1)
        assert list(sales.recent_states) == states[::-1][:10]
        assert prod["Only Registered"].n_runs == 0 and prod["Only Registered"].last_run_id is None
        everywhere = {w.name: w for w in store.list_workflows()}
        assert list(everywhere) == sorted(everywhere, key=str.lower)
        assert everywhere[OTHER].n_runs == 1 and everywhere[OTHER].env == "dev"
        assert everywhere[OTHER].last_run_id == dev.run_id and everywhere[SALES].env == "prod"

    def test_activity_counts_runs_per_weekday_and_utc_hour(self, store: RunStore) -> None:
        register(store)
        register(store, OTHER, digest="o")
        when = [T0 + timedelta(hours=9, minutes=5), T0 + timedelta(hours=9, minutes=55),
                T0 + timedelta(days=2, hours=17), T0 + timedelta(days=6, hours=23, minutes=59),
                T0 + timedelta(days=7, hours=9, minutes=30)]  # fmt: skip
        for w in when:
            run = new_run(store, env="prod", submit=w - timedelta(minutes=1))
            store.update_run(run.run_id, RunUpdate(state=RunState.RUNNING, start_time=w))
        new_run(store, workflow=OTHER, env="dev", submit=T0 + timedelta(hours=9))
        grid = store.activity(SALES, "prod")
        assert len(grid.counts) == 7 and all(len(row) == 24 for row in grid.counts)
        assert grid.total == 5 and grid.counts[0][9] == 3 and grid.counts[2][17] == 1 and grid.counts[6][23] == 1
        assert store.activity(None, None).total == 6 and store.activity(None, None).counts[0][9] == 4
        assert store.activity(None, "dev").total == 1 and store.activity("other-flow-quoted", "prod").total == 0
        window = store.activity(SALES, "prod", T0 + timedelta(hours=9, minutes=30), T0 + timedelta(days=6))
        assert window.total == 2 and window.counts[0][9] == 1 and window.counts[2][17] == 1

    def test_counts_and_heatmaps_match_the_runs_for_random_windows(self, store: RunStore) -> None:
        made = populate(store, seed=11)
        rng = random.Random(11)
        for _ in range(30):
            a = T0 + timedelta(minutes=rng.randrange(-600, 5 * 24 * 60))
            b = a + timedelta(minutes=rng.randrange(1, 4 * 24 * 60))
            name = rng.choice([None, SALES, OTHER])
            env = rng.choice([None, "dev", "prod"])
            start, end = rng.choice([(a, b), (a, None), (None, b)])
            query = RunQuery(workflow=name, env=env, start=start, end=end)
            want = [m for m in made if m.run_id in set(expected(made, query))]
            assert store.list_runs(query).total == len(want)
            grid = store.activity(name, env, start, end)
            cells = [[0] * 24 for _ in range(7)]
            for m in want:
                cells[m.t.weekday()][m.t.hour] += 1
            assert [list(row) for row in grid.counts] == cells and grid.total == len(want)

    def test_claim_schedule_is_true_exactly_once_per_tick(self, store: RunStore) -> None:
        register(store)
        tick = T0 + timedelta(hours=6)
        assert store.claim_schedule(SALES, "prod", tick) is True
        assert store.claim_schedule("daily-sales-report", "prod", tick) is False
        assert store.claim_schedule(SALES, "dev", tick) is True
        assert store.claim_schedule(SALES, "prod", tick + timedelta(days=1)) is True

    # ------------------------------------------------------------ results

    @pytest.mark.parametrize(
        "value",
        [
            {"rows": 3, "names": ["a", "b"], "ratio": 0.5, "none": None},
            pd.DataFrame({"region": ["north", "south"] * 50, "amount": np.arange(100) * 1.5}),
            np.arange(60_000, dtype=np.float64).reshape(300, 200),
            ("a", "tuple", 3),
            Marker("x" * 100_000),
            "é" * 200_000,
        ],
        ids=["json", "parquet", "npy-large", "pickle-tuple", "pickle-large", "json-large"],
    )
    def test_results_round_trip_byte_for_byte_with_their_meta(self, store: RunStore, value: Any) -> None:
        register(store)
        run = new_run(store)
        encoded = encode(value)
        store.update_tasks(run.run_id, [TaskUpdate(0, state=RunState.COMPLETED, result=encoded)])
        meta, data = store.read_result(run.run_id, 0)
        assert data == encoded.data and meta.sha256 == encoded.meta.sha256 and meta.bytes == len(data)
        assert meta.codec == encoded.meta.codec and store.get_run(run.run_id).tasks[0].result == meta
        back: Any = decode(meta, data, trusted=True)
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(back, value)
        elif isinstance(value, np.ndarray):
            np.testing.assert_array_equal(back, value)
        else:
            assert back == value

    def test_a_result_written_to_the_staging_dir_is_moved_into_the_store(self, store: RunStore) -> None:
        staging = store.staging_dir()
        if staging is None:
            pytest.skip("this store takes results as bytes only")
        register(store)
        run = new_run(store)
        frame = pd.DataFrame({"x": np.arange(200_000)})
        encoded = encode_to_file(frame, staging)
        assert encoded.path is not None and os.path.exists(encoded.path)
        store.update_tasks(run.run_id, [TaskUpdate(0, state=RunState.COMPLETED, result=encoded)])
        assert not os.path.exists(encoded.path)
        meta, data = store.read_result(run.run_id, 0)
        assert meta.sha256 == encoded.meta.sha256
        back: Any = decode(meta, data, trusted=False)
        pd.testing.assert_frame_equal(back, frame)

    def test_results_are_never_overwritten(self, store: RunStore) -> None:
        register(store)
        run = new_run(store)
        store.update_tasks(run.run_id, [TaskUpdate(0, state=RunState.COMPLETED, result=encode(1))])
        with pytest.raises(Exception, match="never overwritten"):
            store.update_tasks(run.run_id, [TaskUpdate(0, result=encode(2))])
        assert decode(*store.read_result(run.run_id, 0), trusted=True) == 1

    def test_reuse_points_at_the_run_that_owns_the_bytes(self, store: RunStore) -> None:
        register(store)
        root = new_run(store)
        big = encode(np.arange(100_000))
        store.update_tasks(root.run_id, [TaskUpdate(0, state=RunState.COMPLETED, result=big),
                                         TaskUpdate(1, state=RunState.COMPLETED, result=encode("small"))])  # fmt: skip
        first = new_run(store, rerun_of=root.run_id)
        reuse = [TaskUpdate(i, state=RunState.COMPLETED, reused_from_run=root.run_id) for i in (0, 1)]
        store.update_tasks(first.run_id, reuse)
        second = new_run(store, rerun_of=first.run_id)
        reuse = [TaskUpdate(i, state=RunState.COMPLETED, reused_from_run=first.run_id) for i in (0, 1)]
        store.update_tasks(second.run_id, reuse)
        for task_id in (0, 1):
            original = store.read_result(root.run_id, task_id)
            for run in (first, second):
                task = store.get_run(run.run_id).tasks[task_id]
                assert task.reused_from_run == root.run_id and task.result == original[0]
                assert store.read_result(run.run_id, task_id) == original
        assert store.get_run(root.run_id).tasks[0].reused_from_run is None
        with pytest.raises(RunNotFoundError):
            store.update_tasks(second.run_id, [TaskUpdate(2, reused_from_run=424242)])

    # ------------------------------------------------------------ logs

    def test_log_ranges_cover_the_log_exactly_and_end_on_lines(self, store: RunStore) -> None:
        register(store)
        run = new_run(store)
        lines = [f"line {i} {'é' * (i % 5)} {'x' * (i % 37)}\n" for i in range(3000)]
        blob = "".join(lines).encode()
        for i in range(0, len(blob), 7001):
            store.append_log(run.run_id, 0, "stdout", blob[i : i + 7001])
        offset, parts = 0, []
        while True:
            chunk = store.read_log(run.run_id, 0, "stdout", offset=offset, limit=999)
            assert chunk.offset == offset and chunk.size == len(blob)
            if chunk.next_offset == offset:
                break
            assert chunk.text.endswith("\n")
            parts.append(chunk.text)
            offset = chunk.next_offset
        assert "".join(parts) == "".join(lines)
        tail = store.read_log(run.run_id, 0, "stdout", tail=100)
        assert tail.text == lines[-1] or "".join(lines).endswith(tail.text)
        assert tail.text.endswith(lines[-1]) and tail.next_offset == len(blob)
        assert tail.text.startswith("line ") and "\ufffd" not in tail.text
        assert store.get_run(run.run_id).tasks[0].stdout_bytes == len(blob)
        assert store.read_log(run.run_id, 0, "stderr").text == ""

    def test_a_range_never_splits_a_utf8_character(self, store: RunStore) -> None:
        register(store)
        run = new_run(store)
        store.append_log(run.run_id, 1, "stderr", ("€" * 1000).encode())  # no newline: cut on characters
        seen, offset = [], 0
        while True:
            chunk = store.read_log(run.run_id, 1, "stderr", offset=offset, limit=100)
            if chunk.next_offset == offset:
                break
            assert "\ufffd" not in chunk.text
            seen.append(chunk.text)
            offset = chunk.next_offset
        assert "".join(seen) == "€" * 1000
        assert "\ufffd" not in store.read_log(run.run_id, 1, "stderr", offset=1, limit=10).text

    def test_a_growing_log_is_read_incrementally_and_complete_when_the_task_ends(self, store: RunStore) -> None:
        register(store)
        run = new_run(store)
        store.update_tasks(run.run_id, [TaskUpdate(0, state=RunState.RUNNING)])
        store.append_log(run.run_id, 0, "stdout", b"first line\nsecond li")
        chunk = store.read_log(run.run_id, 0, "stdout")
        assert chunk.text == "first line\n" and chunk.complete is False and chunk.size == 20
        store.append_log(run.run_id, 0, "stdout", b"ne\nthird\n")
        more = store.read_log(run.run_id, 0, "stdout", offset=chunk.next_offset)
        assert more.text == "second line\nthird\n"
        store.update_tasks(run.run_id, [TaskUpdate(0, state=RunState.COMPLETED)])
        assert store.read_log(run.run_id, 0, "stdout", offset=more.next_offset).complete is True

    def test_search_finds_lines_by_substring_ignoring_case_or_by_regex(self, store: RunStore) -> None:
        register(store)
        run = new_run(store)
        text = "".join(f"row {i} {'NEEDLE' if i % 250 == 0 else 'hay'} é\n" for i in range(2000))
        store.append_log(run.run_id, 0, "stdout", text.encode())
        found = store.search_log(run.run_id, 0, "stdout", "needle")
        assert [m.line for m in found] == list(range(0, 2000, 250))
        data = text.encode()
        for m in found:
            assert data[m.offset :].startswith(m.text.encode()) and m.text.startswith(f"row {m.line} NEEDLE")
        assert [m.line for m in store.search_log(run.run_id, 0, "stdout", r"^row 1\d{3} NEEDLE", regex=True)] == [
            1000, 1250, 1500, 1750]  # fmt: skip
        assert len(store.search_log(run.run_id, 0, "stdout", "hay", max_matches=5)) == 5
        assert store.search_log(run.run_id, 0, "stdout", "absent") == []
        with pytest.raises(InvalidArgumentError, match="regular expression"):
            store.search_log(run.run_id, 0, "stdout", "([unclosed", regex=True)

    def test_only_stdout_and_stderr_are_streams(self, store: RunStore) -> None:
        register(store)
        run = new_run(store)
        for call in (lambda: store.read_log(run.run_id, 0, "../runs.db"),
                     lambda: store.append_log(run.run_id, 0, "stdin", b"x"),
                     lambda: store.search_log(run.run_id, 0, "STDOUT", "x")):  # fmt: skip
            with pytest.raises(InvalidArgumentError, match="stdout, stderr"):
                call()

    # ------------------------------------------------------------ recovery

    def test_recover_ends_the_runs_of_dead_engines_and_leaves_live_ones(self, store: RunStore) -> None:
        register(store)
        dead = new_run(store, owner=None)
        live = new_run(store, owner=ALIVE)
        for run in (dead, live):
            store.update_run(run.run_id, RunUpdate(state=RunState.RUNNING, start_time=T0))
            store.update_tasks(run.run_id, [TaskUpdate(0, state=RunState.COMPLETED, result=encode(1)),
                                            TaskUpdate(1, state=RunState.RUNNING)])  # fmt: skip
        assert store.recover() == [dead.run_id]
        detail = store.get_run(dead.run_id)
        assert detail.run.state is RunState.FAILED and detail.run.end_time is not None
        assert detail.run.error_message is not None and "ended before this run finished" in detail.run.error_message
        assert [t.state for t in detail.tasks] == [RunState.COMPLETED, RunState.FAILED, RunState.DID_NOT_RUN]
        lost = detail.tasks[1].error
        assert lost is not None and lost.type == "EngineLost"
        assert detail.run.task_counts == {"completed": 1, "did_not_run": 1, "failed": 1}
        assert store.get_run(live.run_id).run.state is RunState.RUNNING
        assert store.recover() == []
        assert store.list_runs(RunQuery(states=(RunState.FAILED,))).total == 1
