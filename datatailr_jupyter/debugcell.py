"""The "Debug in cell" code: a notebook cell that calls one task of a run again, with the inputs that run passed it.

The cell loads each upstream result from the store with ``load_result(...)``, writes literal arguments as Python
literals and the system parameters (rundate, started_at, ...) as the run computed them, sets the task's environment
variables, and defines the task's function as the version stored it: its recorded source pasted in (with imports of
the modules and functions it refers to) when that is complete, else loaded from the version's stored code with
:func:`task_function`, else imported by ``module:qualname``. Its last line calls the function, so running the cell
reproduces what the task did -- its exception included.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import keyword
import re
import types
import unicodedata
from typing import TYPE_CHECKING, Any

from .definitions import function_source, load_blueprint
from .errors import DatatailrJupyterError
from .models import RunDetail, TaskRun

if TYPE_CHECKING:  # pragma: no cover
    from .client import Client

__all__ = ["debug_code", "stored_argument", "task_function"]

_NOT_IDENT = re.compile(r"[^0-9A-Za-z_]+")
_RESERVED = frozenset(dir(builtins)) | {"load_result", "task_function", "stored_argument", "os", "STORE"}


def _identifier(text: str, taken: set[str], fallback: str = "value") -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    name = _NOT_IDENT.sub("_", plain).strip("_")[:60] or fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in _RESERVED:
        name += "_"
    base, n = name, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _literal(value: Any) -> str | None:
    """``repr(value)`` when it reads back as an equal value of the same type, else None."""
    text = repr(value)
    try:
        back = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    try:
        same = type(back) is type(value) and bool(back == value)
    except Exception:
        return None
    return text if same else None


def _client_for(store: str | None, trust: bool) -> Client:
    from .client import connect

    return connect(store, trust=trust)


# ---------------------------------------------------------------- helpers the cell calls


def task_function(workflow: str, version: int, task: str | int, store: str | None = None, trust: bool = False) -> Any:
    """The function of ``task`` as version ``version`` of ``workflow`` stored it (from a trusted store)."""
    client = _client_for(store, trust)
    try:
        blueprint, why = load_blueprint(client, workflow, int(version))
        if blueprint is None:
            raise DatatailrJupyterError(f"the code of version {version} of {workflow!r} cannot be loaded: {why}")
        return blueprint.task(task).function
    finally:
        client.close()


def stored_argument(
    workflow: str, version: int, task: str | int, argument: str, store: str | None = None, trust: bool = False
) -> Any:
    """One literal argument of ``task`` as version ``version`` stored it (for values that have no literal form)."""
    client = _client_for(store, trust)
    try:
        blueprint, why = load_blueprint(client, workflow, int(version))
        if blueprint is None:
            raise DatatailrJupyterError(f"the arguments of version {version} of {workflow!r} cannot be loaded: {why}")
        return blueprint.task(task).arguments[argument]
    finally:
        client.close()


# ---------------------------------------------------------------- the cell


def _store_url(client: Client) -> str:
    url = getattr(client.store, "url", None)
    if isinstance(url, str):
        return url
    path = getattr(client.store, "path", None)
    return f"sqlite://{path}" if path is not None else client.label


def _system_values(detail: RunDetail, task: TaskRun) -> dict[str, str]:
    """The system parameters as the run loop computed them for this run (runner.py ``_begin``)."""
    run = detail.run
    start = run.start_time or run.submit_time
    scheduled = run.scheduled_time
    values = {"batch_name": run.workflow, "job_name": task.name}
    if start is not None:
        values.update(
            rundate=(scheduled or start).date().isoformat(),
            scheduled_time=scheduled.isoformat() if scheduled else "",
            started_at=start.isoformat(),
        )
    return values


def _globals_code(func: types.FunctionType, defined: str) -> list[str] | None:
    """Import or assignment lines for the global names ``func`` uses, or None when one of them has no such line."""
    names: set[str] = set()

    def walk(code: types.CodeType) -> None:
        names.update(code.co_names)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                walk(const)

    walk(func.__code__)
    lines: list[str] = []
    for name in sorted(names):
        if name == defined or name not in func.__globals__:
            continue
        value = func.__globals__[name]
        if isinstance(value, types.ModuleType):
            lines.append(f"import {value.__name__}" + ("" if value.__name__ == name else f" as {name}"))
            continue
        module, qualname = getattr(value, "__module__", None), getattr(value, "__qualname__", None)
        if isinstance(module, str) and isinstance(qualname, str) and module != "__main__" and "." not in qualname:
            try:
                found = getattr(importlib.import_module(module), qualname, None)
            except Exception:
                found = None
            if found is value or (found is not None and getattr(found, "func", None) is getattr(value, "func", 0)):
                lines.append(f"from {module} import {qualname}" + ("" if qualname == name else f" as {name}"))
                continue
        literal = _literal(value)
        if literal is None:
            return None
        lines.append(f"{name} = {literal}")
    return lines


def _render(value: Any, refs: dict[int, str]) -> str | None:
    """Python source for an argument: upstream outputs by variable, containers element by element, literals."""
    from .engine.graph import Ref

    if isinstance(value, Ref):
        return refs[value.id]
    if type(value) in (list, tuple, set, frozenset) and value:
        parts = [_render(v, refs) for v in value]
        if any(p is None for p in parts):
            return None
        inner = ", ".join(p for p in parts if p is not None)
        if isinstance(value, list):
            return f"[{inner}]"
        if isinstance(value, tuple):
            return f"({inner},)" if len(parts) == 1 else f"({inner})"
        return f"{{{inner}}}" if isinstance(value, set) else f"frozenset({{{inner}}})"
    if type(value) is dict and value:
        items = [(_literal(k), _render(v, refs)) for k, v in value.items()]
        if any(k is None or v is None for k, v in items):
            return None
        return "{" + ", ".join(f"{k}: {v}" for k, v in items) + "}"
    return _literal(value)


def _refs_in(value: Any, found: list[int]) -> None:
    from .engine.graph import Ref

    if isinstance(value, Ref):
        if value.id not in found:
            found.append(value.id)
    elif isinstance(value, dict):
        for v in value.values():
            _refs_in(v, found)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            _refs_in(v, found)


def _from_definition(value: Any) -> Any:
    """A stored definition's argument (JSON, upstream outputs as {"task": id}) with Refs for the outputs."""
    from .engine.graph import Ref

    if isinstance(value, dict) and set(value) == {"task"} and isinstance(value["task"], int):
        return Ref(value["task"])
    if isinstance(value, dict):
        return {k: _from_definition(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_definition(v) for v in value]
    return value


def _call(name: str, signature: inspect.Signature | None, arguments: dict[str, str]) -> str:
    """The call of the task function with an argument map, in the order TaskFunction.call passes it."""
    if signature is None:
        return f"{name}({', '.join(f'{k}={v}' for k, v in arguments.items())})"
    parts: list[str] = []
    positional = True
    for p in signature.parameters.values():
        if p.name not in arguments:
            positional = positional and p.kind is not p.POSITIONAL_OR_KEYWORD
            continue
        var = arguments[p.name]
        if p.kind is p.VAR_POSITIONAL:
            parts.append(f"*{var}")
        elif p.kind is p.VAR_KEYWORD:
            parts.append(f"**{var}")
        elif p.kind is p.KEYWORD_ONLY or (p.kind is p.POSITIONAL_OR_KEYWORD and not positional):
            parts.append(f"{p.name}={var}")
        else:
            parts.append(var)
    return f"{name}({', '.join(parts)})"


def _imported(entrypoint: str) -> Any:
    module, _, qualname = entrypoint.partition(":")
    if not module or not qualname or module == "__main__" or "<" in qualname:
        return None
    try:
        value: Any = importlib.import_module(module)
        for part in qualname.split("."):
            value = getattr(value, part)
    except Exception:
        return None
    return value


def debug_code(client: Client, run_id: int, task: int | str, store_url: str | None = None) -> str:
    """The text of a cell that calls ``task`` of run ``run_id`` with the inputs that run passed it."""
    detail = client.store.get_run(int(run_id))
    target = detail.task(task)
    run = detail.run
    version = client.store.get_version(run.workflow_key, run.job_version)
    spec: dict[str, Any] = next((t for t in version.definition.get("tasks", []) if t.get("id") == target.id), {})
    blueprint, why = load_blueprint(client, run.workflow_key, run.job_version)
    function = blueprint.task(target.id).function if blueprint is not None else _imported(target.function)
    func = getattr(function, "func", function)
    if blueprint is not None:
        arguments = dict(blueprint.task(target.id).arguments)
    else:
        arguments = {k: _from_definition(v) for k, v in (spec.get("arguments") or {}).items()}
    signature = inspect.signature(func) if callable(func) else None
    store = store_url or _store_url(client)
    trust = client.distrust() is None  # this kernel loads the store's pickles: so may the cell's own connection
    by_id = {t.id: t for t in detail.tasks}
    taken: set[str] = set()

    what = f"task {target.name!r} (id {target.id}) of run {run.run_id} of {run.workflow!r} [{run.env}], "
    what += f"version {run.job_version}"
    outcome = target.state.value + (f": {target.error.type}: {target.error.message}" if target.error else "")
    head = [f"# Debug {what}", f"# it ended {outcome}"[:300].replace("\n", " ")]
    head.append("from datatailr_jupyter import load_result")
    head.append(f"STORE = {_literal(store)}")

    # the function
    code: list[str] = []
    name = _identifier(getattr(func, "__name__", target.name), taken, "task_function")
    source = function_source(function) if function is not None else None
    pasted = False
    if isinstance(func, types.FunctionType) and source is not None and source.source and not func.__code__.co_freevars:
        defined = func.__name__
        globals_lines = _globals_code(func, defined) if "<" not in func.__qualname__ else None
        if globals_lines is not None and name == defined:
            if source.origin == "recorded":
                code.append(f"# the code of {target.function} in version {run.job_version}, as recorded with it")
            else:
                code.append(f"# the code of {target.function} as its file reads now ({why or 'not recorded'})")
            code += globals_lines + [source.source.rstrip()]
            pasted = True
    if not pasted and blueprint is not None:
        head.append("from datatailr_jupyter.debugcell import task_function")
        code.append(f"# the code of {target.function} as version {run.job_version} stored it")
        if source is not None and source.source:
            code += ["#   " + line for line in source.source.rstrip().splitlines()]
        trust_arg = ", trust=True" if trust else ""
        code.append(
            f"{name} = task_function({_literal(run.workflow)}, version={run.job_version}, "
            f"task={target.id}, store=STORE{trust_arg})"
        )
    elif not pasted:
        module, _, qualname = target.function.partition(":")
        if function is not None and "." not in qualname:
            code.append(f"# {target.function} imported as it is now (the version's stored code is not loaded: {why})")
            code.append(f"from {module} import {qualname}" + ("" if qualname == name else f" as {name}"))
        else:
            code.append(f"# the code of {target.function} is not available here: {why}")
            code.append(f"raise NotImplementedError({_literal(f'define {target.function} to debug it')})")

    # the inputs
    inputs: list[str] = [f"# the inputs run {run.run_id} passed"]
    refs: dict[int, str] = {}
    order: list[int] = []
    for value in arguments.values():
        _refs_in(value, order)
    direct = {k: v.id for k, v in arguments.items() if type(v).__name__ == "Ref"}
    for ref in order:
        upstream = by_id.get(ref)
        label = upstream.name if upstream is not None else str(ref)
        wanted = next((k for k, r in direct.items() if r == ref), None)
        var = _identifier(wanted or f"{label}_result", taken)
        refs[ref] = var
        needs_trust = (
            ", trust=True" if trust and upstream and upstream.result and upstream.result.codec == "pickle" else ""
        )
        note = f"  # the result of task {label!r} (id {ref})"
        if upstream is not None and upstream.result is None:
            note += f" -- it has none: it is {upstream.state.value}"
        task_arg = _literal(upstream.name) if upstream is not None else str(ref)
        inputs.append(
            f"{var} = load_result({_literal(run.workflow)}, run={run.run_id}, task={task_arg}, "
            f"env={_literal(run.env)}, store=STORE{needs_trust}){note}"
        )
    passed: dict[str, str] = {}
    for arg, value in arguments.items():
        if arg in direct:
            passed[arg] = refs[direct[arg]]
            continue
        var = _identifier(arg, taken)
        text = _render(value, refs)
        if text is None:
            if blueprint is None:
                text = f"None  # {arg!r} was not plain data and the stored code is not loaded"
            else:
                if "from datatailr_jupyter.debugcell import stored_argument" not in head:
                    head.append("from datatailr_jupyter.debugcell import stored_argument")
                trust_arg = ", trust=True" if trust else ""
                text = (
                    f"stored_argument({_literal(run.workflow)}, version={run.job_version}, task={target.id}, "
                    f"argument={_literal(arg)}, store=STORE{trust_arg})"
                )
        inputs.append(f"{var} = {text}")
        passed[arg] = var
    system = _system_values(detail, target)
    params = signature.parameters if signature is not None else {}
    for key in ("rundate", "scheduled_time", "started_at", "batch_name", "job_name"):
        if key in params and key not in arguments and key in system:
            var = _identifier(key, taken)
            inputs.append(f"{var} = {_literal(system[key])}  # system parameter")
            passed[key] = var
    env_vars = spec.get("env") or {}
    if env_vars:
        head.insert(2, "import os")
        inputs.append(f"os.environ.update({_literal(dict(env_vars))})  # the task's environment variables")

    lines = head + [""] + code + [""] + inputs + ["", _call(name, signature, passed)]
    return "\n".join(lines) + "\n"
