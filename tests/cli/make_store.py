"""Makes the store the CLI tests read: run as a script, so its tasks are shipped by value with their source.

Usage: python make_store.py STORE_DIR. "CLI Flow" runs once and is deployed without a schedule; "CLI Consumer"
runs once, and its task loads "CLI Flow"'s latest result by name (DT_RUNS_STORE names the store)."""

from __future__ import annotations

import sys

from datatailr_jupyter import load_result, task, workflow


@task()
def numbers():
    print("numbers ready")
    return [1, 2, 3, 4]


@task()
def total(xs):
    print(f"total of {xs}")
    print("a warning on stderr", file=sys.stderr)
    return sum(xs)


@workflow(name="CLI Flow")
def cli_flow():
    total(numbers())


@task()
def borrow():
    value = load_result("CLI Flow", task="total")  # the latest completed run of CLI Flow, in this env
    print(f"borrowed {value}")
    return value * 10


@workflow(name="CLI Consumer")
def consumer():
    borrow()


if __name__ == "__main__":
    store = sys.argv[1]
    first = cli_flow(local_run=True, store=store, executor="thread")
    assert first.state.value == "completed", first.state
    cli_flow(store=store)  # deployed to dev, no schedule
    used = consumer(local_run=True, store=store, executor="process")
    assert used.state.value == "completed", used.state
    print(first.run_id, used.run_id)
