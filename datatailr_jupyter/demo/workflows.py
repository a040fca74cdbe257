"""The demo's workflows: Daily Sales Report (3 versions), Simple Data Pipeline, Complex Pipeline (2 versions),
Stock Lake Hourly Compaction and Regime Sweep (a 100-task diamond). Their tasks log like batch jobs and fail the
way real ones do: a service that does not answer in time, a record without a field, a bad row, a full disk."""

from __future__ import annotations

import json
import math
from typing import Any

from ..engine import Schedule, task, workflow
from ..engine.decorators import WorkflowFunction
from .services import Log, ObjectStore, ScratchDisk, market_data, number_service, run_clock, sales_api, wait

# ---------------------------------------------------------------- Daily Sales Report (3 versions)


def parse_order(record: dict[str, Any]) -> dict[str, Any]:
    """One order of the sales API's answer as a typed row."""
    return {
        "order_id": int(record["order_id"]),
        "store": str(record["store"]),
        "sku": int(record["sku"]),
        "amount": float(record["amount"]),
    }


@task(memory="256m")
def fetch_data(region: str, rundate: str = "") -> Any:
    import pandas as pd

    clock = run_clock()
    log = Log("fetch_data", clock)
    day = rundate or clock.now().date().isoformat()
    api = sales_api(clock)
    log.info(f"requesting orders for {region} on {day} from {api.base_url}/orders (timeout {api.timeout:.0f} s)")
    t0 = clock.now()
    records = api.get("/orders", region=region, date=day)
    size = len(json.dumps(records)) / 1024
    log.info(f"received {len(records)} records ({size:.1f} KiB) in {(clock.now() - t0).total_seconds():.2f} s")
    frame = pd.DataFrame([parse_order(r) for r in records])
    late = int(frame["order_id"].mod(97).eq(0).sum())
    if late:
        log.warning(f"{late} orders were booked after the cut-off; they are counted today")
    by_store = ", ".join(f"{k}={v}" for k, v in frame.groupby("store").size().items())
    log.info(f"parsed {len(frame)} orders ({by_store}); gross {frame['amount'].sum():,.2f}")
    return frame


@task()
def calculate_total(data: Any) -> float:
    log = Log("calculate_total")
    total = float(data["amount"].sum())
    log.info(f"summed {len(data)} orders: {total:,.2f}")
    return total


def check_amounts(data: Any) -> None:
    """Sales amounts are positive; a negative one is a refund in the wrong feed, and the total would be wrong."""
    negative = data.index[data["amount"] < 0]
    if len(negative):
        row = negative[0]
        raise ValueError(
            f"row {row} (order {data.at[row, 'order_id']}, store {data.at[row, 'store']}): amount "
            f"{data.at[row, 'amount']:,.2f} is negative; refunds belong in the returns feed"
        )


@task()
def calculate_total_with_tax(data: Any, tax_rate: float = 0.2) -> float:
    log = Log("calculate_total")
    log.info(f"validating {len(data)} orders")
    check_amounts(data)
    total = float(data["amount"].sum())
    log.info(f"net {total:,.2f}, tax rate {tax_rate:.0%}, gross {total * (1 + tax_rate):,.2f}")
    return round(total * (1 + tax_rate), 2)


@task()
def publish_report(total: float, region: str, rundate: str = "") -> dict[str, Any]:
    clock = run_clock()
    log = Log("publish_report", clock)
    key = f"s3://reports/daily-sales/{region}/{rundate or clock.now().date().isoformat()}.json"
    body = json.dumps({"region": region, "total": total})
    ObjectStore(clock).put(key, len(body))
    print(f"\x1b[1mDaily sales {region}\x1b[0m: \x1b[32m{total:,.2f}\x1b[0m")
    log.info(f"published {key} ({len(body)} bytes)")
    return {"region": region, "total": total, "published": key}


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
    Log("get_data").info("loaded 3 columns from the feature table")
    return {"a": 1, "b": 2, "c": 3}


@task()
def process_data(data: dict[str, int], rundate: str = "") -> dict[str, int]:
    clock = run_clock()
    log = Log("process_data", clock)
    log.info(f"processing columns {sorted(data)}")
    log.warning("column 'c' has 3% missing values; filled with 0")
    spill = 180 * 2**20
    path = ScratchDisk(clock).write(f"process_data-{rundate or 'today'}.parquet", spill)
    log.info(f"spilled {spill / 2**20:.0f} MiB to {path}")
    return {**data, "sum": sum(data.values())}


@task()
def get_number() -> int:
    clock = run_clock()
    value = int(number_service(clock).get("/number")["value"])
    Log("get_number", clock).info(f"number-service answered {value}")
    return value


@task()
def add(a: int, b: int) -> int:
    return a + b


@task()
def get_number_from_service(low: int, high: int) -> int:
    clock = run_clock()
    log = Log("get_number_from_service", clock)
    service = number_service(clock)
    log.info(f"GET {service.base_url}/random for [{low}, {high}]")
    value = int(service.get("/random", low=low, high=high)["value"])
    log.info(f"service returned {value}")
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
def reduce_list_checked(*numbers: int) -> int:
    log = Log("reduce_list")
    log.info(f"reducing {len(numbers)} counts")
    for i, n in enumerate(numbers):
        if n < 0:
            raise ValueError(f"input {i} is {n}: counts cannot be negative")
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
    parts = [f"{prefix}/{d}/hour={h:02d}" for d in datasets for h in range(hours)]
    Log("list_candidate_partitions").info(f"{len(parts)} partitions under {prefix} in the last {hours} hours")
    return parts


@task()
def compact_partitions(parts: list[str], min_files: int, dry_run: bool) -> list[dict[str, Any]]:
    clock = run_clock()
    log = Log("compact_partitions", clock)
    lake = ObjectStore(clock)
    results = []
    for i, part in enumerate(parts):
        files = 3 + (len(part) * 7 + i) % 20
        if files < min_files:
            print(f"\x1b[2mskip {part}: {files} files\x1b[0m")
            continue
        size = files * 11 * 2**20
        t0 = clock.now()
        if not dry_run:
            lake.put(f"{part}/part-0000.parquet", size)
        seconds = (clock.now() - t0).total_seconds()
        print(f"\x1b[36mcompact\x1b[0m {part}: {files} files -> 1 (\x1b[32m{files * 11} MB\x1b[0m in {seconds:.1f} s)")
        results.append({"partition": part, "files": files})
    log.info(f"compacted {len(results)} of {len(parts)} partitions")
    return results


@task()
def summarize(results: list[dict[str, Any]]) -> dict[str, int]:
    Log("summary").info(f"compacted {len(results)} partitions, {sum(r['files'] for r in results)} files")
    return {"partitions": len(results), "files": sum(r["files"] for r in results)}


@workflow(name="Stock Lake Hourly Compaction", schedule=Schedule(at_minutes=[0]), env_vars={"LAKE": "stock"})
def stock_lake_compaction() -> None:
    parts = list_candidate_partitions("s3://lake/stock", ["trades", "quotes"], 4)
    results = compact_partitions(parts, 5, False).set_resources(memory="2g", cpu=1)
    summarize(results).alias("summary")


# ---------------------------------------------------------------- Regime Sweep (a 100-task diamond)


@task(memory="150m", cpu=0.1)
def simulate_regime(seed: int) -> dict[str, float]:
    clock = run_clock()
    params = market_data(clock).get("/regimes", seed=seed)
    Log(f"regime_{seed}", clock).info(f"mean {params['mean']:.3f}, variance {params['variance']:.5f}")
    return {"seed": seed, "value": seed * 7 + 3, "variance": params["variance"]}


@task(memory="150m", cpu=0.1)
def transform(data: dict[str, float], factor: int) -> dict[str, float]:
    volatility = math.sqrt(data["variance"])
    return {**data, "value": data["value"] * factor, "volatility": volatility}


@task(memory="150m", cpu=0.1)
def passthrough(data: dict[str, float]) -> dict[str, float]:
    return data


@task(memory="1g")
def aggregate(*values: dict[str, float]) -> dict[str, float]:
    clock = run_clock()
    colours = ["31", "32", "33", "34", "35", "36"]
    n = 3000
    for i in range(n):
        level = ("INFO", "32") if i % 50 else ("WARN", "33")
        stamp = clock.now().strftime("%H:%M:%S.%f")[:-3]
        print(
            f"\x1b[2m{stamp} {i:05d}\x1b[0m \x1b[{level[1]}m{level[0]}\x1b[0m cell "
            f"\x1b[{colours[i % 6]}m{i % 97:02d}\x1b[0m ok"
        )
        if i % 300 == 0:
            done = i * 40 // n
            print(f"\r[{'#' * done}{'.' * (40 - done)}] {i * 100 // n:3d}%", end="", flush=True)
            print()
            wait(clock, 0.5)
    print(f"\r[{'#' * 40}] 100%")
    return {"total": sum(v["value"] for v in values), "cells": len(values)}


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
