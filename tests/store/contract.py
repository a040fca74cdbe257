"""The run-store contract: subclass RunStoreContract and provide a ``store`` fixture (a fresh, empty, writable
store per test); every test goes through the RunReader/RunWriter protocol methods only."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

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
from datatailr_jupyter.models import RunQuery, RunState, TaskError, Trigger
from datatailr_jupyter.store.codecs import encode
from datatailr_jupyter.store.protocols import (
    RunReader,
    RunStore,
    RunUpdate,
    RunWriter,
    TaskSpec,
    TaskUpdate,
)

from .contract_data import (
    ALIVE,
    OTHER,
    SALES,
    T0,
    TASKS,
    all_pages,
    definition,
    expected,
    finish,
    new_run,
    populate,
    register,
)
from .contract_files import ResultsAndLogsContract
from .contract_tables import TaskTableContract

__all__ = ["ResultsAndLogsContract", "RunStoreContract", "TaskTableContract"]


class RunStoreContract(ResultsAndLogsContract, TaskTableContract):
    """Every RunReader/RunWriter behaviour; subclasses provide ``store``."""

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

    @pytest.mark.parametrize("other", ["daily-sales-report", "DAILY_SALES_REPORT!!", "daily sales report"])
    def test_a_second_display_name_for_a_key_is_refused_not_a_rename(self, store: RunStore, other: str) -> None:
        register(store)
        with pytest.raises(InvalidNameError, match="rename this one or use that exact name") as caught:
            register(store, other, digest="h2")
        assert f"a workflow {SALES!r} already uses the key 'daily-sales-report'" in str(caught.value)
        [info] = store.list_workflows()
        assert (info.name, info.latest_version) == (SALES, 1)
        assert [v.version for v in store.list_versions(SALES)] == [1]
        assert register(store, digest="h2").version == 2, "the same display name still registers versions"

    @pytest.mark.parametrize("env", ["prod\n", "no/slashes", "", " prod"])
    def test_list_workflows_refuses_a_bad_env_instead_of_finding_nothing(self, store: RunStore, env: str) -> None:
        register(store)
        new_run(store, env="prod")
        with pytest.raises(InvalidNameError, match="environment"):
            store.list_workflows(env)

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
