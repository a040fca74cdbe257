"""The explorer's request handlers: one pure function of (Client, payload) per message kind of docs/protocol.md."""

from __future__ import annotations

import json
import keyword
import logging
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from ..client import Client
from ..errors import (
    DatatailrJupyterError,
    InvalidArgumentError,
    ResultNotFoundError,
    VersionNotFoundError,
    known,
)
from ..models import RunQuery, RunState, TaskRun
from ..store._logs import compile_pattern
from . import cells, previews
from .getrun import handle_get_run
from .payloads import MAX_MESSAGE, MAX_TRACEBACK, Context, Payload
from .payloads import clamp as _clamp
from .payloads import cut as _cut
from .payloads import date_range as _range
from .payloads import get as _get
from .payloads import run_id as _run_id
from .payloads import summary as _summary
from .payloads import task_id as _task_id
from .payloads import text as _text

__all__ = ["HANDLERS", "MAX_MESSAGE", "MAX_RESPONSE", "MAX_TRACEBACK", "Context", "dispatch", "dispatch_json"]

log = logging.getLogger(__name__)

MAX_RESPONSE = 8_000_000  # bytes of JSON per response (kernel -> browser; the 10 MiB cap is the other way)
MAX_LOG_READ = 1 << 20
MAX_MATCHES = 1000
MAX_PAGE = 200


def _find_task(client: Client, run_id: int, task_id: int) -> TaskRun:
    return client.task(run_id, task_id)


# ---------------------------------------------------------------- handlers


def handle_list_workflows(client: Client, payload: Payload, context: Context | None = None) -> dict[str, Any]:
    infos = client.workflow_infos(_text(payload, "env") or None)
    return {"workflows": [w.to_dict() for w in sorted(infos, key=lambda w: (w.name.lower(), w.name, w.env))]}


def handle_list_runs(client: Client, payload: Payload, context: Context | None = None) -> dict[str, Any]:
    start, end = _range(payload)
    states = _get(payload, "states", list, "a list of states", [])
    limit = _clamp(_get(payload, "limit", int, "a number of runs", 25), 1, MAX_PAGE)
    query = RunQuery(
        workflow=_text(payload, "workflow") or None,
        env=_text(payload, "env") or None,
        start=start,
        end=end,
        states=tuple(RunState.parse(s) for s in states),
        limit=limit,
        cursor=_text(payload, "cursor") or None,
        roots_only=True,
    )
    page = client.run_page(query)
    return {"runs": [_summary(r) for r in page.runs], "total": page.total, "next_cursor": page.next_cursor}


def handle_rerun_family(client: Client, payload: Payload, context: Context | None = None) -> dict[str, Any]:
    return {"runs": [_summary(r) for r in client.rerun_family(_run_id(payload))]}


def _stream(payload: Payload) -> str:
    stream = _text(payload, "stream", "stdout")
    if stream not in ("stdout", "stderr"):
        raise InvalidArgumentError(f"stream must be 'stdout' or 'stderr', not {stream!r}")
    return stream


def handle_read_log(client: Client, payload: Payload, context: Context | None = None) -> dict[str, Any]:
    offset = max(0, _get(payload, "offset", int, "a byte offset", 0) or 0)
    limit = _clamp(_get(payload, "limit", int, "a number of bytes", MAX_LOG_READ) or MAX_LOG_READ, 1, MAX_LOG_READ)
    tail = _get(payload, "tail", int, "a number of bytes", None)
    tail = None if tail is None else _clamp(tail, 1, MAX_LOG_READ)
    # the store checks the run and the task (Client.read_log would read every task of the run to find it)
    chunk = client.store.read_log(_run_id(payload), _task_id(payload), _stream(payload), offset, limit, tail)
    return chunk.to_dict()


def handle_search_log(client: Client, payload: Payload, context: Context | None = None) -> dict[str, Any]:
    pattern = _text(payload, "pattern")
    if not pattern:
        raise InvalidArgumentError("type something to search for")
    regex = bool(_get(payload, "regex", bool, "true or false", False))
    if regex:
        compile_pattern(pattern, True)  # refused before the task is looked up, as the store's search compiles it
    run_id, task_id = _run_id(payload), _task_id(payload)
    matches = client.store.search_log(run_id, task_id, _stream(payload), pattern, regex, MAX_MATCHES + 1)
    return {"matches": [m.to_dict() for m in matches[:MAX_MATCHES]], "truncated": len(matches) > MAX_MATCHES}


def handle_get_result(client: Client, payload: Payload, context: Context | None = None) -> dict[str, Any]:
    task = _find_task(client, _run_id(payload), _task_id(payload))
    meta = task.result
    if meta is None:
        return {"meta": None, "preview": previews.preview_none()}
    if not previews.safe_to_decode(meta):  # a preview never unpickles, whatever the trust: shown as recorded
        refused = client.distrust()
        reason = (
            previews.PICKLE_NOTE if refused is None else f"{previews.PICKLE_NOTE}; loading it is refused: {refused}"
        )
        return {"meta": meta.to_dict(), "preview": previews.preview_meta(meta, reason)}
    value = client.result(task.run_id, task.id)
    return {"meta": meta.to_dict(), "preview": previews.preview_value(value)}


def handle_load_code(client: Client, payload: Payload, context: Context | None = None) -> dict[str, Any]:
    detail = client.run(_run_id(payload)).detail
    task = detail.task(_task_id(payload))
    same_name = [t for t in detail.tasks if t.name == task.name]
    ref: str | int = task.name if len(same_name) == 1 else task.id
    store, trust = (context.store_url, context.trust) if context else (None, False)
    variable, code = cells.load_code(detail.run.workflow, detail.run.run_id, ref, detail.run.env, store, trust)
    return {"code": code, "variable": variable}


def _user_namespace(context: Context | None) -> MutableMapping[str, Any]:
    if context is not None and context.namespace is not None:
        return context.namespace
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise InvalidArgumentError("there is no IPython shell to bind the result in; use load_result() instead")
    namespace: MutableMapping[str, Any] = shell.user_ns
    return namespace


def handle_bind_result(client: Client, payload: Payload, context: Context | None = None) -> dict[str, Any]:
    variable = _text(payload, "variable")
    if not (variable.isidentifier() and variable.isascii()) or keyword.iskeyword(variable):
        raise InvalidArgumentError(f"{variable!r} is not a valid Python variable name")
    namespace = _user_namespace(context)
    task = _find_task(client, _run_id(payload), _task_id(payload))
    if task.result is None:
        raise ResultNotFoundError(f"task {task.name!r} of run {task.run_id} stored no result")
    namespace[variable] = client.result(task.run_id, task.id)
    return {"variable": variable, "python_type": task.result.python_type}


def handle_list_versions(client: Client, payload: Payload, context: Context | None = None) -> dict[str, Any]:
    workflow = _text(payload, "workflow")
    if not workflow:
        raise InvalidArgumentError("the request needs 'workflow' (a workflow key)")
    versions = sorted(client.versions(client.find_workflow(workflow).key), key=lambda v: v.version)
    rows = [
        {"version": v.version, "created_at": v.to_dict()["created_at"], "n_tasks": len(v.definition.get("tasks", []))}
        for v in versions
    ]
    return {"versions": rows, "latest": versions[-1].version if versions else 0}


def _rerun_args(client: Client, payload: Payload) -> dict[str, Any]:
    """Validated rerun arguments: the run exists, the version exists, the task is one of the run's."""
    run_id = _run_id(payload)
    detail = client.run(run_id).detail
    version = _get(payload, "version", int, "a version number", None)
    if version is not None:
        numbers = sorted(v.version for v in client.versions(detail.run.workflow_key))
        if version not in numbers:
            raise VersionNotFoundError(
                f"workflow {detail.run.workflow!r} has no version {version}; "
                f"its versions are {', '.join(map(str, numbers)) or '(none)'}"
            )
    from_task = _get(payload, "from_task", (int, str), "a task id or name", None)
    if from_task is not None:  # by name: the engine matches it in the version that runs
        from_task = detail.task(from_task).name
    full = bool(_get(payload, "full", bool, "true or false", False))
    if full and from_task is not None:
        raise InvalidArgumentError("choose either a full rerun or a rerun from a task, not both")
    return {"run_id": run_id, "version": version, "full": full, "from_task": from_task}


def handle_plan_rerun(client: Client, payload: Payload, context: Context | None = None) -> dict[str, Any]:
    return client.plan_rerun(**_rerun_args(client, payload))


def handle_rerun(client: Client, payload: Payload, context: Context | None = None) -> dict[str, Any]:
    """Start the rerun through the Client: this kernel's engine for a local store, the server's for a remote one."""
    key = _text(payload, "request_key")
    if not key:
        raise InvalidArgumentError("the request needs a 'request_key' so that a repeated click makes one run")
    context = context or Context()
    with context.lock:  # one rerun at a time per explorer: a repeated key must see the first one's run
        if key not in context.reruns:
            started = client.rerun(**_rerun_args(client, payload), request_key=key, wait=False)
            context.reruns[key] = started.run_id
        new_run = context.reruns[key]
    return {"run": _summary(client.run(new_run).summary)}


def handle_activity(client: Client, payload: Payload, context: Context | None = None) -> dict[str, Any]:
    start, end = _range(payload)
    grid = client.activity(_text(payload, "workflow") or None, _text(payload, "env") or None, start, end)
    return grid.to_dict()


def handle_overview(client: Client, payload: Payload, context: Context | None = None) -> dict[str, Any]:
    """One page of the workflows overview of an env, computed by the store (cursor paging)."""
    sort = _text(payload, "sort", "name") or "name"
    limit = _clamp(_get(payload, "limit", int, "a number of workflows", 50), 1, MAX_PAGE)
    days = _clamp(_get(payload, "days", int, "a number of days", 30), 1, 366)
    page = client.overview_page(
        env=_text(payload, "env") or None,
        name_filter=_text(payload, "filter") or None,
        sort=sort,
        limit=limit,
        cursor=_text(payload, "cursor") or None,
        days=days,
    )
    data = page.to_dict()
    for row in data.get("workflows", []):
        for run in row.get("recent", []):
            run.pop("error_message", None)
    return data


def _jsonable(value: Any) -> Any:
    """``value`` with NaN / infinities as None and numpy scalars as Python numbers (the wire is strict JSON)."""
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, str | bytes):
        try:
            return _jsonable(value.item())
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(value)


def handle_compare(client: Client, payload: Payload, context: Context | None = None) -> dict[str, Any]:
    """Two runs task by task: states, durations and their change, executed or reused, result differences."""
    from ..compare import compare_runs

    a = _get(payload, "a", int, "a run id")
    b = _get(payload, "b", int, "a run id")
    results = bool(_get(payload, "results", bool, "true or false", True))
    run_a, run_b = client.run(a).summary, client.run(b).summary
    rows = compare_runs(client, a, b, results=results)
    for row in rows:
        row["result_change"] = _cut(row.get("result_change"), MAX_MESSAGE)
    return {"a": _summary(run_a), "b": _summary(run_b), "tasks": _jsonable(rows)}


def handle_definition(client: Client, payload: Payload, context: Context | None = None) -> dict[str, Any]:
    """A version of a workflow as data (task code, schedule, resources, env vars) and its diff to the one before."""
    workflow = _text(payload, "workflow")
    if not workflow:
        raise InvalidArgumentError("the request needs 'workflow' (a workflow key)")
    key = client.find_workflow(workflow).key
    version = _get(payload, "version", int, "a version number", None)
    details = client.definition(key, version)
    number = int(details["version"])
    diff = client.definition_diff(key, number) if number > 1 else ""
    return {"definition": _jsonable(details), "diff": diff, "previous": number - 1 if number > 1 else None}


def handle_debug_code(client: Client, payload: Payload, context: Context | None = None) -> dict[str, Any]:
    """The text of a cell that calls a task again with the inputs its run passed it (Client.debug_code)."""
    task = _find_task(client, _run_id(payload), _task_id(payload))
    store = context.store_url if context else None
    return {"code": client.debug_code(task.run_id, task.id, store_url=store)}


CHARTS = ("timeline", "durations", "heatmap", "task_durations")


def handle_chart(client: Client, payload: Payload, context: Context | None = None) -> dict[str, Any]:
    """A plotly figure of datatailr_jupyter.charts as JSON (``fig.to_plotly_json()`` through plotly's encoder)."""
    from .. import charts

    chart = _text(payload, "chart")
    env = _text(payload, "env") or None
    workflow = _text(payload, "workflow") or None
    since = _text(payload, "since") or None
    if chart == "timeline":
        fig = charts.timeline(_run_id(payload), client=client)
    elif chart == "durations":
        if not workflow:
            raise InvalidArgumentError("the durations chart needs 'workflow'")
        fig = charts.durations(workflow, env=env, since=since, client=client)
    elif chart == "heatmap":
        fig = charts.heatmap(workflow, env=env, since=since, client=client)
    elif chart == "task_durations":
        task = _text(payload, "task")
        if not workflow or not task:
            raise InvalidArgumentError("the task_durations chart needs 'workflow' and 'task'")
        fig = charts.task_durations(workflow, task, env=env, since=since, client=client)
    else:
        raise InvalidArgumentError(f"chart must be one of {', '.join(CHARTS)}, not {chart!r}")
    figure: dict[str, Any] = json.loads(fig.to_json())
    return {"chart": chart, "figure": figure}


Handler = Callable[[Client, Payload, Context | None], dict[str, Any]]

HANDLERS: dict[str, Handler] = {
    "list-workflows": handle_list_workflows,
    "list-runs": handle_list_runs,
    "rerun-family": handle_rerun_family,
    "get-run": handle_get_run,
    "read-log": handle_read_log,
    "search-log": handle_search_log,
    "get-result": handle_get_result,
    "load-code": handle_load_code,
    "bind-result": handle_bind_result,
    "list-versions": handle_list_versions,
    "plan-rerun": handle_plan_rerun,
    "rerun": handle_rerun,
    "activity": handle_activity,
    "overview": handle_overview,
    "compare": handle_compare,
    "definition": handle_definition,
    "debug-code": handle_debug_code,
    "chart": handle_chart,
}


# ---------------------------------------------------------------- dispatch


def _error(exc_type: str, message: str) -> dict[str, str]:
    return {"type": exc_type, "message": _cut(message, MAX_MESSAGE) or ""}


def dispatch(
    client: Client, kind: str, payload: Any, request_id: Any = None, context: Context | None = None
) -> dict[str, Any]:
    """``{kind: kind + "-response", id, payload}``, or ``{..., error: {type, message}}`` when the handler failed."""
    return dispatch_json(client, kind, payload, request_id, context)[0]


def dispatch_json(
    client: Client, kind: str, payload: Any, request_id: Any = None, context: Context | None = None
) -> tuple[dict[str, Any], str]:
    """:func:`dispatch`'s response and its JSON text, made once to bound its size (the live feed hashes the text
    instead of encoding the answer again)."""
    response: dict[str, Any] = {"kind": f"{kind}-response", "id": request_id}
    handler = HANDLERS.get(kind) if isinstance(kind, str) else None
    try:
        if handler is None:
            response["error"] = _error("UnknownKind", f"unknown request kind {kind!r}; known kinds: {known(HANDLERS)}")
            return _bounded(response)
        if payload is None:
            payload = {}
        if not isinstance(payload, Mapping):
            raise InvalidArgumentError(f"the payload of {kind!r} must be an object, not {type(payload).__name__}")
        response["payload"] = handler(client, payload, context)
    except DatatailrJupyterError as exc:
        log.debug("%s request %r failed: %s", kind, request_id, exc)
        response["error"] = _error(type(exc).__name__, str(exc))
    except Exception as exc:
        log.exception("%s request %r failed unexpectedly", kind, request_id)
        response["error"] = _error(type(exc).__name__, f"unexpected error: {exc}")
    return _bounded(response)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, check_circular=False)


def _bounded(response: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The response unchanged if it is JSON under MAX_RESPONSE bytes, else an error response saying why; and its
    JSON text."""
    try:
        text = _json(response)
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return _bounded(_replace_surrogates(response))
    except (TypeError, ValueError, RecursionError) as exc:
        log.exception("%s response %r is not JSON", response["kind"], response["id"])
        failed = {**_header(response), "error": _error(type(exc).__name__, f"the answer is not JSON: {exc}")}
        return failed, _json(failed)
    if size > MAX_RESPONSE:
        message = f"the answer is {size:,} bytes, more than the {MAX_RESPONSE:,} a widget message may carry"
        failed = {**_header(response), "error": _error("ResponseTooLarge", message)}
        return failed, _json(failed)
    return response, text


def _header(response: Mapping[str, Any]) -> dict[str, Any]:
    return {"kind": response["kind"], "id": response["id"]}


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_replace_surrogates(v) for v in value]
    return value
