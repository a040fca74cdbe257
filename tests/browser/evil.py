"""A workflow whose names, logs, errors and results carry HTML and script payloads, for the XSS browser test."""

from __future__ import annotations

import pandas as pd

from datatailr_jupyter import task, workflow

IMG = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=2</script>"
LINK = "javascript:window.__xss=3"


@task()
def shout() -> pd.DataFrame:
    print(f"plain {SCRIPT} and {IMG}")
    print(f'\x1b[31mred {IMG}\x1b[0m \x1b]8;;{LINK}\x07click me\x1b]8;;\x07 <a href="{LINK}">link</a>')
    return pd.DataFrame({SCRIPT: [IMG, LINK]})


@task()
def explode(frame: pd.DataFrame) -> None:
    raise RuntimeError(f"bad {IMG} {SCRIPT}")


def fill(store_url: str) -> int:
    from datatailr_jupyter.store.registry import open_store

    @workflow(name="Evil <b>Flow</b>")
    def evil() -> None:
        explode(shout().alias(f"shout {IMG}")).alias(f"explode {SCRIPT}")

    store = open_store(store_url)
    try:
        return int(evil(local_run=True, env="dev", store=store, executor="thread").run_id)  # type: ignore[operator]
    finally:
        store.close()
