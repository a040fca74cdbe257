"""Workflows the browser tests run with the engine: one fails until a flag file exists, one returns a DataFrame."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from datatailr_jupyter import task, workflow


@task()
def load_orders() -> pd.DataFrame:
    print("\x1b[32mloaded\x1b[0m 3 orders")
    return pd.DataFrame({"region": ["north", "south", "north"], "amount": [120.0, 80.5, 42.0]})


@task()
def check_totals(orders: pd.DataFrame, flag: str) -> float:
    total = float(orders["amount"].sum())
    if not Path(flag).exists():
        raise ValueError(f"totals not reconciled: create the flag file {flag}")
    return total


@task()
def check_totals_v2(orders: pd.DataFrame, flag: str) -> float:
    print("reconciling with version 2")
    if not Path(flag).exists():
        raise ValueError(f"totals not reconciled (v2): create the flag file {flag}")
    return float(orders["amount"].sum())


@task()
def publish(total: float) -> str:
    return f"published {total}"


def orders_v1(flag: str) -> object:
    @workflow(name="Orders Report")
    def orders_report() -> None:
        orders = load_orders()
        publish(check_totals(orders, flag))

    return orders_report


def orders_v2(flag: str) -> object:
    @workflow(name="Orders Report")
    def orders_report() -> None:
        orders = load_orders()
        publish(check_totals_v2(orders, flag).alias("check_totals"))

    return orders_report


def fill(store_url: str, flag: str) -> int:
    """Two versions and a history in dev and prod; returns the id of the last failed prod run of version 1."""
    from datatailr_jupyter.store.registry import open_store

    store = open_store(store_url)
    try:
        v1 = orders_v1(flag)
        for env in ("dev", "prod", "dev", "prod", "prod"):
            v1(local_run=True, env=env, store=store, executor="thread")  # type: ignore[operator]
        failed = v1(local_run=True, env="prod", store=store, executor="thread")  # type: ignore[operator]
        orders_v2(flag)(store=store)  # type: ignore[operator]  # deploy version 2 without running it
        return int(failed.run_id)
    finally:
        store.close()
