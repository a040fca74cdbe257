"""The seed SDK's documented workflows run unchanged (import line aside) with the documented DAG and values."""

from __future__ import annotations

import json
import math

from datatailr_jupyter import task, workflow
from datatailr_jupyter.models import RunState
from tests.engine.seed_examples import complex_workflow, complex_workflow_overrides, daily_sales_report


def edges(detail):
    names = {t.id: t.name for t in detail.tasks}
    return {(names[d], t.name) for t in detail.tasks for d in t.dependencies}


def test_daily_sales_report_runs_as_documented(store, executor_kind):
    handle = daily_sales_report.sales_pipeline(local_run=True, store=store, executor=executor_kind)
    detail = handle.detail()
    assert detail.run.workflow == "daily_sales_report" and handle.state is RunState.COMPLETED
    assert edges(detail) == {("fetch_data", "calculate_total")}
    assert handle.results["calculate_total"] == 450


def test_complex_workflow_reference_gives_the_documented_dag_and_values(store):
    handle = complex_workflow.complex_workflow(local_run=True, store=store)
    detail = handle.detail()
    assert handle.state is RunState.COMPLETED
    assert [t.name for t in detail.tasks] == [
        "my number", "first addition", "num_0", "num_1", "num_2", "num_3", "num_4", "reduce_list",
        "add one", "add two", "add three", "add four", "add five",
    ]  # fmt: skip
    expected = {("my number", "first addition")}
    expected |= {(f"num_{i}", "reduce_list") for i in range(5)}
    expected |= {("reduce_list", f"add {w}") for w in ("one", "two", "three", "four", "five")}
    assert edges(detail) == expected
    results = handle.results
    assert results["first addition"] == 55 and results["reduce_list"] == 210
    assert [results[f"add {w}"] for w in ("one", "two", "three", "four", "five")] == [211, 212, 213, 214, 215]
    assert "Reducing list: (42, 42, 42, 42, 42)" in handle.logs("reduce_list")


def test_complex_workflow_per_call_overrides_reach_the_definition_and_the_run(store):
    definition = json.loads(complex_workflow_overrides.complex_workflow(to_json=True))
    jobs = {j["name"]: j for j in definition["jobs"]}
    assert jobs["add one"]["memory"] == "512m" and jobs["add one"]["num_cpus"] == 0.5
    assert jobs["add two"]["env"] == [{"DATATAILR_JOB_ENV_MODE": "fast"}]
    assert jobs["add three"]["memory"] == "100m"
    handle = complex_workflow_overrides.complex_workflow(local_run=True, store=store, executor="thread")
    assert [handle.results[f"add {w}"] for w in ("one", "two", "three")] == [211, 212, 213]
    assert handle.detail().task("add one").resources == {"memory": "512m", "cpu": 0.5}


# ---------------------------------------------------------------- generated shapes (seed-sdk §5 items 3 and 5)


@task(memory="150m", cpu=0.1)
def make_data(seed):
    return {"seed": seed, "value": seed * 7 + 3}


@task(memory="150m", cpu=0.1)
def scale(data, factor):
    return {k: v * factor for k, v in data.items()}


@task(memory="150m", cpu=0.1)
def forward(data):
    return data


@task(memory="150m", cpu=0.1)
def summarise(*values):
    return {"total": sum(sum(v.values()) for v in values), "count": len(values)}


def diamond_layers(n):
    width = int(math.sqrt(n - 1))
    layers, left = [width], n - 1 - width
    while left > 0:
        layers.append(min(width, left))
        left -= layers[-1]
    return [*layers, 1]


def diamond_body(n, plain=False):
    """The diamond's calls; with ``plain`` the same functions are called directly (the expected values)."""

    def call(fn, *args, name):
        return fn.func(*args) if plain else fn(*args).alias(name)

    layers = diamond_layers(n)
    previous = [call(make_data, i, name=f"generate_{i}") for i in range(layers[0])]
    for level, size in enumerate(layers[1:-1], start=1):
        current = []
        for i in range(size):
            up = previous[i % len(previous)]
            if i % 2 == 0:
                current.append(call(scale, up, level + 1, name=f"transform_L{level}_{i}"))
            else:
                current.append(call(forward, up, name=f"passthrough_L{level}_{i}"))
        previous = current
    return call(summarise, *previous, name="aggregate_final")


def test_generated_100_task_diamond_runs_with_correct_values(store):
    assert diamond_layers(100) == [9] + [9] * 10 + [1]

    @workflow(name="Generated DAG (100 tasks)")
    def generated():
        diamond_body(100)

    handle = generated(local_run=True, store=store)
    detail = handle.detail()
    assert len(detail.tasks) == 100 and handle.state is RunState.COMPLETED
    assert handle.results["aggregate_final"] == diamond_body(100, plain=True)


@task()
def cell(regime, tenor, spread, param):
    return regime * 1000 + tenor * 100 + spread * 10 + param


@task()
def aggregate_results(label, *cells):
    return {"label": label, "n": len(cells), "sum": sum(cells)}


def test_193_task_fan_in_with_a_literal_first_argument(store):
    @workflow(name="Regime Sweep")
    def sweep():
        cells = [
            cell(r, t, s, p).alias(f"r{r}_t{t}_s{s}_p{p}")
            for r in range(4)
            for t in range(8)
            for s in range(3)
            for p in range(2)
        ]
        aggregate_results("sweep-1", *cells)

    handle = sweep(local_run=True, store=store)
    detail = handle.detail()
    assert len(detail.tasks) == 193 and handle.state is RunState.COMPLETED
    assert detail.task("aggregate_results").dependencies == tuple(range(192))
    expected = sum(
        r * 1000 + t * 100 + s * 10 + p for r in range(4) for t in range(8) for s in range(3) for p in range(2)
    )
    assert handle.results["aggregate_results"] == {"label": "sweep-1", "n": 192, "sum": expected}
