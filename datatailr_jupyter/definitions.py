"""What a version of a workflow is, for people: each task's code as stored, the workflow as a body of task calls, its
schedule, resources and environment variables, and a unified diff against the version before it.

Task code comes from the version's stored code (the pickled task functions and the source lines recorded with them,
engine/sources.py), so it is that version's code, not the file as it is now. The pickle is loaded only from a
trusted store; from any other the recorded source lines are read without unpickling it (stored_code.py). The
workflow function itself is not stored, so the workflow is shown rebuilt from the definition: one call per task,
with its arguments.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import json
import textwrap
import types
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import DatatailrJupyterError
from .models import Version

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client
    from .engine.graph import Blueprint

__all__ = ["TaskCode", "definition_details", "definition_diff", "definition_text", "function_source", "load_blueprint"]


@dataclass(frozen=True)
class TaskCode:
    """A task function's source text and where it came from ("recorded": shipped with the version; "file": read from
    its module's file here, which may have changed since), or why there is none."""

    source: str | None
    origin: str
    reason: str = ""


def load_blueprint(client: Client, workflow: str, version: int) -> tuple[Blueprint | None, str]:
    """The version's stored Blueprint (its task callables and argument maps), or None and why not."""
    if client.distrust() is not None:
        return None, f"the store is not trusted, so its pickled code is not loaded ({client.distrust()})"
    from .engine.versions import blueprint_for

    try:
        return blueprint_for(client.store, workflow, version), ""
    except DatatailrJupyterError as exc:
        return None, str(exc)


def function_source(function: Any) -> TaskCode:
    """The source of a task function (a ``@task`` or a plain function), its decorators left out."""
    from .engine import sources

    target = getattr(function, "func", function)
    if not isinstance(target, types.FunctionType):
        return TaskCode(None, "", f"{type(target).__name__} objects have no source text")
    recorded = target in sources._SHIPPED
    try:
        with sources.shipped_sources(target):
            text = inspect.getsource(target)
    except (OSError, TypeError) as exc:
        return TaskCode(None, "", f"its source was not recorded and cannot be read here ({exc})")
    return TaskCode(strip_decorators(text), "recorded" if recorded else "file")


def strip_decorators(text: str) -> str:
    """A function's source from its ``def`` line on (dedented), without the decorators above it."""
    body = textwrap.dedent(text)
    try:
        tree = ast.parse(body)
    except SyntaxError:
        return body
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = body.splitlines(keepends=True)
            return "".join(lines[node.lineno - 1 : node.end_lineno]).rstrip() + "\n"
    return body


# ---------------------------------------------------------------- the workflow rebuilt from its definition


def _argument_code(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"task"} and isinstance(value["task"], int):
        return f"t{value['task']}"
    if isinstance(value, list):
        return "[" + ", ".join(_argument_code(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_argument_code(v)}" for k, v in value.items()) + "}"
    return repr(value)


def workflow_code(definition: dict[str, Any]) -> str:
    """The workflow body as task calls (``t2 = divide(a=t1, b=0).alias('div')``), from a stored definition."""
    name = definition.get("workflow", "")
    options = [f"name={name!r}"]
    if definition.get("schedule"):
        options.append(f"schedule={definition['schedule']!r}")
    lines = [f"@workflow({', '.join(options)})", "def body():"]
    for t in definition.get("tasks", []):
        function = str(t.get("function", "?"))
        called = function.rpartition(":")[2].rpartition(".")[2] or "task"
        args = ", ".join(f"{k}={_argument_code(v)}" for k, v in (t.get("arguments") or {}).items())
        alias = "" if t.get("name") == called else f".alias({t.get('name')!r})"
        lines.append(f"    t{t.get('id')} = {called}({args}){alias}  # {function}")
    if len(lines) == 2:
        lines.append("    pass")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- details and diff


def definition_details(client: Client, workflow: str, version: int) -> dict[str, Any]:
    """A version as plain data: schedule (deployed and declared), resources, env vars, limits, options, each task's
    function, arguments, resources, env and code, and the workflow body rebuilt from the definition."""
    from .store.overview import describe_schedule

    record: Version = client.store.get_version(workflow, int(version))
    d = record.definition
    blueprint, why = load_blueprint(client, workflow, record.version)
    functions = {t.id: t.function for t in blueprint.tasks} if blueprint is not None else {}
    deployment = d.get("deployment") if isinstance(d.get("deployment"), dict) else None
    schedule = (deployment or {}).get("schedule") or d.get("schedule")
    inert = _sources_read_inert(client, workflow, record.version) if blueprint is None else {}
    tasks = []
    for t in d.get("tasks", []):
        if t.get("id") in functions:
            code = function_source(functions[t["id"]])
        else:
            code = _recorded(inert, str(t.get("function", "")), why)
        tasks.append(
            {
                "id": t.get("id"), "name": t.get("name"), "function": t.get("function", ""),
                "dependencies": list(t.get("dependencies", [])), "arguments": t.get("arguments", {}),
                "resources": t.get("resources", {}), "env_vars": t.get("env", {}), "code": code.source,
                "code_origin": code.origin, "code_reason": code.reason,
            }
        )  # fmt: skip
    return {
        "workflow": d.get("workflow", workflow),
        "key": record.workflow_key,
        "version": record.version,
        "created_at": record.created_at,
        "definition_hash": record.definition_hash,
        "deployment": deployment,
        "schedule": schedule,
        "schedule_text": describe_schedule(schedule),
        "timezone": d.get("timezone"),
        "resources": d.get("resources", {}),
        "env_vars": d.get("env_vars", {}),
        "fail_after_us": d.get("fail_after"),
        "expire_after_us": d.get("expire_after"),
        "options": d.get("options", {}),
        "tasks": tasks,
        "workflow_code": workflow_code(d),
        "code_note": why,
    }


def _sources_read_inert(client: Client, workflow: str, version: int) -> dict[str, list[str]]:
    """The source lines recorded with a version's code, read without unpickling it (safe from any store)."""
    from .stored_code import recorded_sources

    code = client.store.get_code(workflow, version)
    return {} if code is None else recorded_sources(code)


def _recorded(sources: dict[str, list[str]], function: str, why: str) -> TaskCode:
    from .stored_code import function_source as source_in

    text = source_in(sources, function) if sources else None
    if text is None:
        return TaskCode(None, "", why)
    return TaskCode(strip_decorators(text), "recorded")


def definition_text(details: dict[str, Any]) -> str:
    """The details as one text that diffs well: settings, the workflow body, then each task and its code."""
    settings = {
        k: details.get(k)
        for k in ("schedule", "timezone", "deployment", "resources", "env_vars", "fail_after_us", "expire_after_us",
                  "options")
    }  # fmt: skip
    out = [f"# workflow {details['workflow']} -- settings", json.dumps(settings, indent=2, sort_keys=True, default=str)]
    out += ["", "# workflow body (rebuilt from the definition)", details["workflow_code"].rstrip()]
    for t in details["tasks"]:
        out += ["", f"# task {t['name']} (id {t['id']}): {t['function']}"]
        extra = {"dependencies": t["dependencies"], "resources": t["resources"], "env_vars": t["env_vars"]}
        out.append(json.dumps(extra, sort_keys=True, default=str))
        out.append(t["code"].rstrip() if t["code"] else f"# code not available: {t['code_reason']}")
    return "\n".join(out) + "\n"


def definition_diff(client: Client, workflow: str, version: int) -> str:
    """A unified diff of ``version`` against the version before it (against nothing for the first version)."""
    numbers = [v.version for v in client.store.list_versions(workflow)]
    earlier = [n for n in numbers if n < int(version)]
    new = definition_text(definition_details(client, workflow, version))
    if earlier:
        old = definition_text(definition_details(client, workflow, earlier[-1]))
        before = f"{workflow} v{earlier[-1]}"
    else:
        old, before = "", "(no earlier version)"
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=before, tofile=f"{workflow} v{version}"
    )
    return "".join(lines)
