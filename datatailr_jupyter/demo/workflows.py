"""The demo's workflows: Daily Sales Report (3 versions), Simple Data Pipeline, Complex Pipeline (2 versions),
Stock Lake Hourly Compaction and Regime Sweep (a 100-task diamond), with failures injected on demand."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from ..engine import Schedule, task, workflow
from ..engine.decorators import WorkflowFunction

CONTROL_ENV = "DT_DEMO_CONTROL"
"""Path of a JSON file {"fail": {task name: [exception type, message]}} read by the tasks of the next run."""


# ---------------------------------------------------------------- failures on demand


def _injected_failure(job_name: str) -> None:
    path = os.environ.get(CONTROL_ENV)
    if not path:
        return
    try:
        plan = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return
    failure = plan.get("fail", {}).get(job_name)
    if failure:
        kind, message = failure
        raise {"ConnectionError": ConnectionError, "OSError": OSError, "ValueError": ValueError}.get(
            kind, RuntimeError
        )(message)


def _work(seconds: float) -> None:
    time.sleep(seconds)


# ---------------------------------------------------------------- Daily Sales Report (3 versions)


@task(memory="256m")
def fetch_data(region: str, job_name: str) -> Any:
    import numpy as np
    import pandas as pd

    _injected_failure(job_name)
    import zlib

    rng = np.random.default_rng(zlib.crc32(region.encode()))
    print(f"fetching sales for {region} from https://sales.internal/v2/orders")
    frame = pd.DataFrame(
        {
            "store": rng.choice(["north", "south", "east", "west"], 240),
            "sku": rng.integers(1000, 1100, 240),
            "amount": rng.gamma(2.0, 40.0, 240).round(2),
        }
    )
    print(f"fetched {len(frame)} orders")
    _work(0.002)
    return frame


@task()
def calculate_total(data: Any) -> float:
    return float(data["amount"].sum())


@task()
def calculate_total_with_tax(data: Any, tax_rate: float = 0.2) -> float:
    total = float(data["amount"].sum())
    print(f"net {total:,.2f}, tax rate {tax_rate:.0%}")
    return round(total * (1 + tax_rate), 2)


@task()
def publish_report(total: float, region: str) -> dict[str, Any]:
    print(f"\x1b[1mDaily sales {region}\x1b[0m: \x1b[32m{total:,.2f}\x1b[0m")
    return {"region": region, "total": total, "published": True}


def daily_sales(version: int) -> WorkflowFunction:
    @workflow(name="Daily Sales Report", schedule="0 6 * * *", python_requirements=["pandas"])
    def daily_sales_report() -> None:
        data = fetch_data("emea")
        if version == 1:
            calculate_total(data)
        else:
            total = calculate_total_with_tax(data).alias("calculate_total")
            if version == 3:
                publish_report(total, "emea")

    return daily_sales_report


# ---------------------------------------------------------------- Simple Data Pipeline (the seed demo's shape)


@task()
def get_data() -> dict[str, int]:
    return {"a": 1, "b": 2, "c": 3}


@task()
def process_data(data: dict[str, int], job_name: str) -> dict[str, int]:
    _injected_failure(job_name)
    print("processing", sorted(data))
    print("warning: column 'c' has 3% missing values; filled with 0", file=sys.stderr)
    _work(0.001)
    return {**data, "sum": sum(data.values())}


@task()
def get_number() -> int:
    return 42


@task()
def add(a: int, b: int) -> int:
    return a + b


@task()
def get_number_from_service(low: int, high: int, job_name: str) -> int:
    _injected_failure(job_name)
    value = (low * 7 + high * 13) % (high - low + 1) + low
    print(f"service returned {value} for [{low}, {high}]")
    return value


@workflow(name="Simple Data Pipeline", python_requirements=["requests"])
def simple_data_pipeline() -> None:
    data = get_data()
    process_data(data)
    a = get_number().alias("a")
    b = get_number().alias("b")
    add(a, b).alias("Add a and b")
    add(a, 18).alias("Add a and 18")
    low = get_number_from_service(0, 10).alias("Random 0-10")
    high = get_number_from_service(90, 100).alias("Random 90-100")
    get_number_from_service(low, high).alias("Random between previous two")


# ---------------------------------------------------------------- Complex Pipeline (the SDK reference, 2 versions)


@task()
def reduce_list(*numbers: int) -> int:
    print(f"Reducing list: {numbers}")
    return sum(numbers)


@task()
def reduce_list_checked(*numbers: int, job_name: str = "reduce_list") -> int:
    _injected_failure(job_name)
    print(f"Reducing {len(numbers)} numbers")
    if any(n < 0 for n in numbers):
        raise ValueError("negative input")
    return sum(numbers)


def complex_pipeline(version: int) -> WorkflowFunction:
    @workflow(name="Complex Pipeline")
    def complex_workflow() -> None:
        add(get_number().alias("my number"), 13).alias("first addition")
        numbers = [get_number().alias(f"num_{i}") for i in range(5)]
        reduce = reduce_list if version == 1 else reduce_list_checked
        total = reduce(*numbers).alias("reduce_list")
        for i, word in enumerate(("one", "two", "three", "four", "five"), start=1):
            add(total, i).alias(f"add {word}")

    return complex_workflow


# ---------------------------------------------------------------- Stock Lake Hourly Compaction


@task()
def list_candidate_partitions(prefix: str, datasets: list[str], hours: int) -> list[str]:
    return [f"{prefix}/{d}/hour={h:02d}" for d in datasets for h in range(hours)]


@task()
def compact_partitions(parts: list[str], min_files: int, dry_run: bool, job_name: str) -> list[dict[str, Any]]:
    _injected_failure(job_name)
    results = []
    for i, part in enumerate(parts):
        files = 3 + (len(part) * 7 + i) % 20
        if files < min_files:
            print(f"\x1b[2mskip {part}: {files} files\x1b[0m")
            continue
        print(f"\x1b[36mcompact\x1b[0m {part}: {files} files -> 1 (\x1b[32m{files * 11} MB\x1b[0m)")
        results.append({"partition": part, "files": files})
    _work(0.003)
    return results


@task()
def summarize(results: list[dict[str, Any]]) -> dict[str, int]:
    print(f"compacted {len(results)} partitions")
    return {"partitions": len(results), "files": sum(r["files"] for r in results)}


@workflow(name="Stock Lake Hourly Compaction", schedule=Schedule(at_minutes=[0]), env_vars={"LAKE": "stock"})
def stock_lake_compaction() -> None:
    parts = list_candidate_partitions("s3://lake/stock", ["trades", "quotes"], 4)
    results = compact_partitions(parts, 5, False).set_resources(memory="2g", cpu=1)
    summarize(results).alias("summary")


# ---------------------------------------------------------------- Regime Sweep (a 100-task diamond)


@task(memory="150m", cpu=0.1)
def simulate_regime(seed: int) -> dict[str, int]:
    return {"seed": seed, "value": seed * 7 + 3}


@task(memory="150m", cpu=0.1)
def transform(data: dict[str, int], factor: int, job_name: str) -> dict[str, int]:
    _injected_failure(job_name)
    return {k: v * factor for k, v in data.items()}


@task(memory="150m", cpu=0.1)
def passthrough(data: dict[str, int]) -> dict[str, int]:
    return data


@task(memory="1g")
def aggregate(*values: dict[str, int]) -> dict[str, int]:
    colours = ["31", "32", "33", "34", "35", "36"]
    n = 3000
    for i in range(n):
        level = ("INFO", "32") if i % 50 else ("WARN", "33")
        print(
            f"\x1b[2m{i:05d}\x1b[0m \x1b[{level[1]}m{level[0]}\x1b[0m cell \x1b[{colours[i % 6]}m{i % 97:02d}\x1b[0m ok"
        )
        if i % 300 == 0:
            done = i * 40 // n
            print(f"\r[{'#' * done}{'.' * (40 - done)}] {i * 100 // n:3d}%", end="", flush=True)
            print()
    print(f"\r[{'#' * 40}] 100%")
    return {"total": sum(sum(v.values()) for v in values), "cells": len(values)}


@workflow(name="Regime Sweep")
def regime_sweep() -> None:
    width = 9
    previous = [simulate_regime(i).alias(f"regime_{i}") for i in range(width)]
    for level in range(1, 11):
        current = []
        for i in range(width):
            up = previous[i % len(previous)]
            if i % 2 == 0:
                current.append(transform(up, level + 1).alias(f"transform_L{level}_{i}"))
            else:
                current.append(passthrough(up).alias(f"passthrough_L{level}_{i}"))
        previous = current
    aggregate(*previous).alias("aggregate_final")
