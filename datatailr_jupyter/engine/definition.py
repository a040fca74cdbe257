"""Workflow options (validated once) and the two JSON views of a definition: the SDK's to_json and the stored one."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from ..errors import DefinitionError
from ..models import normalize_name
from .graph import Blueprint, Ref
from .resources import (
    DEFAULT_WORKFLOW_RESOURCES,
    Resources,
    check_env_vars,
    duration_microseconds,
    merge_resources,
    parse_duration,
)
from .schedule import Schedule, check_cron

__all__ = ["WORKFLOW_OPTIONS", "WorkflowOptions", "describe_value", "stored_definition", "to_json"]

WORKFLOW_OPTIONS = (
    "name",
    "schedule",
    "image",
    "run_as",
    "resources",
    "acl",
    "python_version",
    "python_requirements",
    "build_script_pre",
    "build_script_post",
    "build_secret_keys",
    "env_vars",
    "fail_after",
    "expire_after",
    "budget",
)
"""The SDK's @workflow options. Locally, resources and env_vars apply; the others are recorded in the definition."""


@dataclass(frozen=True)
class WorkflowOptions:
    """The validated options of one workflow (decorator values, possibly overridden at call time)."""

    name: str
    schedule: str | None = None
    timezone: str | None = None
    resources: dict[str, Any] = field(default_factory=lambda: DEFAULT_WORKFLOW_RESOURCES.to_dict())
    env_vars: dict[str, str] = field(default_factory=dict)
    fail_after: timedelta | None = None
    expire_after: timedelta | None = None
    recorded: dict[str, Any] = field(default_factory=dict)  # image, run_as, acl, python_*, build_*, budget

    @classmethod
    def build(cls, name: str, values: dict[str, Any]) -> WorkflowOptions:
        return cls(name=name).override(values)

    def override(self, values: dict[str, Any]) -> WorkflowOptions:
        """These options with ``values`` applied (a value of None keeps the current one; {} or '' clear it)."""
        unknown = sorted(set(values) - set(WORKFLOW_OPTIONS))
        if unknown:
            raise DefinitionError(
                f"unknown workflow option(s) {', '.join(unknown)}; known options: {', '.join(WORKFLOW_OPTIONS)}"
            )
        out = self
        recorded = dict(self.recorded)
        for key, value in values.items():
            if value is None:
                continue
            where = f"workflow {self.name!r}: {key}"
            if key == "name":
                raise DefinitionError("the workflow name is set by @workflow(name=...), not when calling it")
            if key == "schedule":
                cron, tz = _schedule(value, where)
                out = replace(out, schedule=cron, timezone=tz)
            elif key == "resources":
                if not isinstance(value, Resources | dict):
                    raise DefinitionError(f"{where} must be Resources(memory=, cpu=, vram=), not {value!r}")
                out = replace(out, resources=merge_resources(DEFAULT_WORKFLOW_RESOURCES.to_dict(), value))
            elif key == "env_vars":
                out = replace(out, env_vars=check_env_vars(value, where))
            elif key == "fail_after":
                out = replace(out, fail_after=parse_duration(value, where))
            elif key == "expire_after":
                out = replace(out, expire_after=parse_duration(value, where))
            elif key == "build_secret_keys":
                if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                    raise DefinitionError(f"{where} must be a list of secret names, not {value!r}")
                recorded[key] = list(value)
            elif key == "python_requirements":
                if not isinstance(value, str | list | tuple) or (
                    not isinstance(value, str) and not all(isinstance(v, str) for v in value)
                ):
                    raise DefinitionError(
                        f"{where} must be a string (a path, 'auto', or requirements) or a list of requirement strings"
                    )
                recorded[key] = value if isinstance(value, str) else list(value)
            else:
                recorded[key] = describe_value(value)
        return replace(out, recorded=recorded)


def _schedule(value: object, where: str) -> tuple[str, str | None]:
    if isinstance(value, Schedule):
        return value.expression, value.timezone
    if isinstance(value, str):
        return check_cron(value, where), None
    raise DefinitionError(f"{where} must be a cron string such as '0 6 * * *' or a Schedule(...), not {value!r}")


def describe_value(value: Any) -> Any:
    """A JSON-safe description of an option or literal argument (objects become their repr)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Ref):
        return {"task": value.id}
    if isinstance(value, dict):
        return {str(k): describe_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [describe_value(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((describe_value(v) for v in value), key=repr)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        try:
            return describe_value(to_dict())
        except Exception:
            pass
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _env_list(env_vars: dict[str, str]) -> list[dict[str, str]]:
    return [{f"DATATAILR_JOB_ENV_{k}": v} for k, v in env_vars.items()]


def to_json(blueprint: Blueprint, options: WorkflowOptions, env: str = "dev") -> str:
    """The SDK-shaped definition JSON (``wf(to_json=True)``): workflow fields and its ``jobs``."""
    rec = options.recorded
    wf_res = options.resources
    data: dict[str, Any] = {
        "environment": env,
        "image": {
            "python_version": rec.get("python_version", "auto"),
            "python_requirements": rec.get("python_requirements", ""),
            "build_script_pre": rec.get("build_script_pre", ""),
            "build_script_post": rec.get("build_script_post", ""),
            "build_secret_keys": rec.get("build_secret_keys", []),
            "image": rec.get("image"),
        },
        "type": "batch",
        "display_name": options.name,
        "name": normalize_name(options.name),
        "run_as": rec.get("run_as"),
        "memory": wf_res.get("memory"),
        "num_cpus": wf_res.get("cpu"),
        "acl": rec.get("acl"),
        "schedule": options.schedule,
        "timezone": options.timezone,
        "fail_after": duration_microseconds(options.fail_after),
        "expire_after": duration_microseconds(options.expire_after),
        "jobs": [],
    }
    if "vram" in wf_res:
        data["vram"] = wf_res["vram"]
    if "budget" in rec:
        data["budget_id"] = rec["budget"]
    for t in blueprint.tasks:
        job: dict[str, Any] = {
            "display_name": t.name,
            "name": t.name,
            "child_number": t.id,
            "entrypoint": t.entrypoint,
            "memory": t.resources.get("memory"),
            "num_cpus": t.resources.get("cpu"),
            "depends_on": list(t.dependencies),
            "env": _env_list(t.env_vars),
        }
        if "vram" in t.resources:
            job["vram"] = t.resources["vram"]
        data["jobs"].append(job)
    return json.dumps(data, indent=4)


def stored_definition(blueprint: Blueprint, options: WorkflowOptions, fingerprints: dict[int, str]) -> dict[str, Any]:
    """The definition a version stores: tasks with ids, names, functions, edges, resources and literals."""
    return {
        "workflow": options.name,
        "key": normalize_name(options.name),
        "tasks": [
            {
                "id": t.id,
                "name": t.name,
                "function": t.entrypoint,
                "dependencies": list(t.dependencies),
                "resources": t.resources,
                "env": t.env_vars,
                "arguments": describe_value(t.arguments),
                "fingerprint": fingerprints.get(t.id, ""),
            }
            for t in blueprint.tasks
        ],
        "schedule": options.schedule,
        "timezone": options.timezone,
        "resources": options.resources,
        "env_vars": options.env_vars,
        "fail_after": duration_microseconds(options.fail_after),
        "expire_after": duration_microseconds(options.expire_after),
        "options": options.recorded,
    }
