"""The local workflow engine: the SDK's ``@task`` / ``@workflow`` API, a parallel run loop, versions, reruns, schedules.

- ``decorators`` / ``graph``: calls inside a workflow body build a graph of Task nodes (see graph.py).
- ``runner``: a ready-queue loop over an injected executor (``executors``: thread, inline; ``procpool``: worker
  processes), recording every state, time, log and result in a run store; ``launch`` creates and starts runs.
- ``workers``: what runs in a worker -- the call and result encoding; ``capture``: log capture at the
  file-descriptor level. Lines the engine writes into task logs start with :data:`SYSTEM_LINE_PREFIX` (``"⟦dt⟧ "``).
- ``versions``: definition hashing, pickled code, registration and deploy; ``reruns``: plans and reruns;
  ``schedule`` / ``scheduler``: cron schedules and the loop that starts scheduled runs.
"""

from __future__ import annotations

from .clock import Clock, ScaledClock, SystemClock
from .decorators import TaskFunction, WorkflowFunction, task, workflow
from .executors import Executor, InlineExecutor, ThreadExecutor
from .graph import Task
from .handle import RunHandle
from .procpool import ProcessExecutor
from .reruns import RerunPlan, TaskPlan, plan_rerun, rerun
from .resources import Resources
from .schedule import Schedule
from .scheduler import run_scheduler
from .workers import SYSTEM_LINE_PREFIX

__all__ = [
    "SYSTEM_LINE_PREFIX",
    "Clock",
    "Executor",
    "InlineExecutor",
    "ProcessExecutor",
    "RerunPlan",
    "Resources",
    "RunHandle",
    "ScaledClock",
    "Schedule",
    "SystemClock",
    "Task",
    "TaskFunction",
    "TaskPlan",
    "ThreadExecutor",
    "WorkflowFunction",
    "plan_rerun",
    "rerun",
    "run_scheduler",
    "task",
    "workflow",
]
