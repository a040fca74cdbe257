"""Calls inside a workflow body build the graph: dependencies, names, aliases, options and the definition JSON."""

from __future__ import annotations

import json
import os
from collections import namedtuple
from datetime import timedelta

import pytest

from datatailr_jupyter.engine import Resources, Schedule, task, workflow
from datatailr_jupyter.engine.graph import Ref, Task
from datatailr_jupyter.errors import DefinitionError, InvalidNameError


@task()
def add(a, b):
    return a + b


@task
def one():
    return 1


@task(memory="512m", cpu=0.5)
def combine(*values, scale=1, **extra):
    return sum(values) * scale


@task()
def with_system(x, rundate, job_name):
    return (x, rundate, job_name)


def build(wf, *args, **kwargs):
    blueprint, options, params = wf.build(args, kwargs)
    return blueprint, options, params


def test_ids_follow_creation_order_with_inner_calls_first():
    @workflow(name="Order")
    def wf():
        add(one(), add(one(), 2))

    bp, _, _ = build(wf)
    assert [(t.id, t.name) for t in bp.tasks] == [(0, "one"), (1, "one-1"), (2, "add"), (3, "add-1")]
    assert bp.tasks[2].dependencies == (1,)
    assert bp.tasks[3].dependencies == (0, 2)
    assert bp.tasks[3].arguments == {"a": Ref(0), "b": Ref(2)}


def test_outputs_inside_containers_at_any_depth_are_dependencies():
    Pair = namedtuple("Pair", "x y")

    @workflow(name="Containers")
    def wf():
        a, b, c, d, e = one(), one(), one(), one(), one()
        combine([a, (b, {"k": [c]})], {d}, scale=1, pair=Pair(e, 3), literal="one")

    bp, _, _ = build(wf)
    last = bp.tasks[-1]
    assert last.dependencies == (0, 1, 2, 3, 4)
    values = last.arguments["values"]
    assert values[0] == [Ref(0), (Ref(1), {"k": [Ref(2)]})]
    assert values[1] == {Ref(3)}
    assert last.arguments["extra"]["pair"] == Pair(Ref(4), 3)
    assert last.arguments["extra"]["literal"] == "one"


def test_varargs_fan_in_keeps_literals_in_place():
    @workflow(name="Fan in")
    def wf():
        combine("header", *[one() for _ in range(3)], scale=2)

    bp, _, _ = build(wf)
    fan_in = bp.tasks[-1]
    assert fan_in.arguments["values"] == ("header", Ref(0), Ref(1), Ref(2))
    assert fan_in.arguments["scale"] == 2
    assert fan_in.dependencies == (0, 1, 2)


def test_seed_collision_scenario_gives_distinct_names_and_keeps_every_edge():
    @workflow(name="Collision")
    def wf():
        a = add(1, 2)
        b = add(3, 4)
        a.alias("first")
        c = add(5, 6)
        combine(b, c)

    bp, _, _ = build(wf)
    names = [t.name for t in bp.tasks]
    assert len(set(names)) == len(names) == 4
    assert names[:3] == ["first", "add-1", "add"]
    assert bp.tasks[3].dependencies == (1, 2)


def test_automatic_names_skip_explicit_aliases_already_taken():
    @workflow(name="Skips")
    def wf():
        one().alias("one-1")
        one()
        one()

    bp, _, _ = build(wf)
    assert [t.name for t in bp.tasks] == ["one-1", "one", "one-2"]


def test_alias_on_a_taken_name_names_both_tasks():
    @workflow(name="Taken")
    def wf():
        one().alias("x")
        add(1, 2).alias("x")

    with pytest.raises(DefinitionError, match=r"task #1 \(add.*'x'.*task #0 \(one\)"):
        build(wf)


def test_alias_rejects_empty_and_multiline_names():
    @workflow(name="Bad alias")
    def wf():
        one().alias("line\nbreak")

    with pytest.raises(InvalidNameError, match="U\\+000A LINE FEED"):
        build(wf)


def test_modifiers_chain_in_any_order():
    @workflow(name="Chains", env_vars={"A": "1"}, resources=Resources(memory="1g", cpu=2))
    def wf():
        add(1, 2).set_resources(memory="2g", cpu=0.5).alias("first").update_env_vars({"MODE": "fast"})
        add(3, 4).update_env_vars({"B": 2}).alias("second").set_resources(Resources(vram="8g"))
        combine(1)

    bp, _, _ = build(wf)
    first, second, third = bp.tasks
    assert first.name == "first" and first.resources == {"memory": "2g", "cpu": 0.5}
    assert first.env_vars == {"A": "1", "MODE": "fast"}
    assert second.resources == {"memory": "1g", "cpu": 2.0, "vram": "8g"} and second.env_vars == {"A": "1", "B": "2"}
    assert third.resources == {"memory": "512m", "cpu": 0.5}


def test_unknown_options_name_the_known_ones():
    with pytest.raises(DefinitionError, match="known options: memory, cpu, vram"):
        task(gpu=1)
    with pytest.raises(DefinitionError, match="known options: name, schedule"):
        workflow(name="X", retries=3)


def test_bad_option_values_say_what_to_use():
    with pytest.raises(DefinitionError, match="size such as"):
        task(memory="lots")
    with pytest.raises(DefinitionError, match="not a duration"):
        workflow(name="X", fail_after="1 fortnight")
    with pytest.raises(DefinitionError, match="cron"):
        workflow(name="X", schedule="every day")
    with pytest.raises(DefinitionError, match="environment variable name"):
        workflow(name="X", env_vars={"1BAD": "x"})


def test_wrong_call_arguments_are_definition_errors():
    @workflow(name="Wrong call")
    def wf():
        add(1)

    with pytest.raises(DefinitionError, match="missing a required argument: 'b'"):
        build(wf)


def test_a_task_output_has_no_value_while_defining():
    @workflow(name="No value")
    def wf():
        x = one()
        if x:
            pass

    with pytest.raises(DefinitionError, match="cannot be used in an 'if'"):
        build(wf)


def test_empty_workflow_is_rejected():
    @workflow(name="Empty")
    def wf():
        pass

    with pytest.raises(DefinitionError, match="defines no tasks"):
        build(wf)


def test_task_called_outside_a_workflow_just_runs_without_side_effects():
    before = dict(os.environ)
    assert add(2, 3) == 5
    assert combine(1, 2, scale=3) == 9
    assert dict(os.environ) == before
    assert not isinstance(add(1, 1), Task)


def test_system_parameters_are_not_bound_from_call_arguments():
    @workflow(name="System")
    def wf():
        with_system(5)

    bp, _, _ = build(wf)
    assert bp.tasks[0].arguments == {"x": 5}


def test_workflow_parameters_reach_the_body_and_are_recorded():
    @workflow(name="Params")
    def wf(n, label="x"):
        for i in range(n):
            add(i, label)

    bp, _, params = build(wf, 3, label="y")
    assert len(bp.tasks) == 3 and bp.tasks[2].arguments == {"a": 2, "b": "y"}
    assert params == {"n": 3, "label": "y"}


def test_default_workflow_name_is_title_cased_and_positional_name_works():
    @workflow
    def daily_sales_report():
        one()

    @workflow("Complex Workflow")
    def other():
        one()

    assert daily_sales_report.name == "Daily Sales Report"
    assert other.name == "Complex Workflow"


def test_to_json_has_the_sdk_fields_and_exact_microseconds():
    @workflow(
        name="Json Flow",
        schedule=Schedule(at_minutes=[0]),
        fail_after=timedelta(seconds=1, microseconds=5),
        expire_after="1d 2h",
        env_vars={"K": "v"},
        python_requirements=["requests"],
    )
    def wf():
        add(one(), 13).alias("first addition").set_resources(vram="2g")

    data = json.loads(wf(to_json=True))
    assert data["display_name"] == "Json Flow" and data["name"] == "json-flow" and data["type"] == "batch"
    assert data["schedule"] == "0 0 * * * *"
    assert data["fail_after"] == 1_000_005
    assert data["expire_after"] == (26 * 3600) * 1_000_000
    assert data["memory"] == "100m" and data["num_cpus"] == 1.0
    assert data["image"]["python_requirements"] == ["requests"]
    jobs = data["jobs"]
    assert [j["child_number"] for j in jobs] == [0, 1]
    assert jobs[1]["name"] == jobs[1]["display_name"] == "first addition"
    assert jobs[1]["depends_on"] == [0]
    assert jobs[1]["entrypoint"].endswith(":add")
    assert jobs[1]["vram"] == "2g" and "vram" not in jobs[0]
    assert jobs[0]["env"] == [{"DATATAILR_JOB_ENV_K": "v"}]


def test_call_time_overrides_replace_decorator_values_even_when_falsy():
    @workflow(name="Override", env_vars={"A": "1"})
    def wf():
        one()

    data = json.loads(wf(to_json=True, env_vars={}))
    assert data["jobs"][0]["env"] == []


def test_outputs_cannot_cross_between_workflows():
    leaked = []

    @workflow(name="First")
    def first():
        leaked.append(one())

    @workflow(name="Second")
    def second():
        add(leaked[0], 1)

    build(first)
    with pytest.raises(DefinitionError, match="belongs to workflow 'First'"):
        build(second)


def test_legacy_shift_operators_add_ordering_edges():
    @workflow(name="Legacy")
    def wf():
        a = one()
        b = one()
        c = add(1, 2)
        [a, b] >> c

    bp, _, _ = build(wf)
    assert bp.tasks[2].dependencies == (0, 1)


def test_unaliased_repeated_calls_are_numbered_like_the_sdk():
    @workflow(name="Sum Of Squares")
    def wf(n=10):
        combine(*[add(i, i) for i in range(n)])

    bp, _, _ = build(wf)
    assert [t.name for t in bp.tasks[:10]] == ["add"] + [f"add-{i}" for i in range(1, 10)]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("0 0 30 2 *", "never ticks"),
        ("0 0 31 2 *", "never ticks"),
        ("0 0 31 4 *", "never ticks"),
        ("R * * * *", "random or hashed"),
        ("0 H * * *", "random or hashed"),
    ],
)
def test_a_schedule_that_cannot_run_as_written_is_refused_when_the_workflow_is_defined(schedule, message):
    with pytest.raises(DefinitionError, match=message):
        workflow(name="X", schedule=schedule)
    with pytest.raises(DefinitionError, match=message):
        Schedule(cron_expression=schedule)
