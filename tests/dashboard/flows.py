"""Workflows the dashboard tests run with the engine (a user module: its functions ship with their source)."""

from __future__ import annotations

import math
import os
import re
from datetime import date

import numpy as np
import pandas as pd

from datatailr_jupyter.engine import task, workflow

OFFSET = 10
DIGITS = re.compile(r"\d+")  # a global with no literal form: the debug cell loads the stored function instead


@task()
def numbers(n):
    return list(range(n))


@task()
def total(xs, scale=1):
    return sum(xs) * scale


@task()
def divide(a, b):
    return a / b


@task()
def frame(k):
    return pd.DataFrame({"x": np.arange(4) * k, "y": ["a", "b", "c", "d"]})


@task()
def array(k):
    return np.linspace(0.0, 1.0, 5) * k


@task()
def shifted(value, rundate, job_name):
    """Uses a module, a global constant and system parameters."""
    if os.environ.get("DEBUG_SHOULD_FAIL") == "yes":
        raise ValueError(f"{job_name} on {rundate}: {math.sqrt(value) + OFFSET:.1f} is out of range")
    return value + OFFSET


@workflow(name="Arithmetic <b>&</b> co")
def arithmetic(b=0, k=1):
    xs = numbers(5)
    t = total(xs, scale=2)
    divide(t, b).alias("div")
    frame(k)
    array(k)


@workflow(name="Shifted", env_vars={"DEBUG_SHOULD_FAIL": "yes"})
def shifted_flow(v=16):
    shifted(total(numbers(3), scale=v))


@task()
def count_digits(text, since):
    found = DIGITS.findall(text)
    if not found:
        raise LookupError(f"no digits in {text!r} since {since:%d %b %Y}")
    return len(found)


@workflow(name="Digits")
def digits_flow(text="none here"):
    count_digits(text, date(2026, 1, 2))
