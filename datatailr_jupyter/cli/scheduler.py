"""``dt scheduler``: start the scheduled runs of deployed workflows until interrupted (they execute here)."""

from __future__ import annotations

import argparse
from typing import Any

from ..client import Client
from ..terminal import clean
from .args import add_common, seconds
from .output import Output

__all__ = ["add_scheduler"]

Sub = Any


def add_scheduler(sub: Sub) -> None:
    p = sub.add_parser("scheduler", help="start scheduled runs of deployed workflows until interrupted")
    p.add_argument("--poll", type=seconds, default=5.0, help="seconds between checks (default 5)")
    add_common(p)
    p.set_defaults(handler=scheduler)


def scheduler(args: argparse.Namespace, client: Client, out: Output) -> int:
    print(f"dt scheduler: watching {client.label} (Ctrl+C to stop)", flush=True)
    try:
        client.run_scheduler(poll_interval=args.poll, log=lambda line: print(clean(line), flush=True))
    except KeyboardInterrupt:
        print("dt scheduler: stopped")
    return 0
