"""Definition versions: fingerprints and hashes of a graph and its code, the pickled code, registration and deploy.

A version is registered only when the definition changed. Its hash covers the graph (names, edges, resources,
env vars, literal arguments), the workflow options, and each task function's code: its source text when
``inspect.getsource`` finds it, else its bytecode and constants (nested code objects included). A version's
``code`` is the cloudpickled :class:`Blueprint` (task callables + argument map), so a rerun of version N executes
N's code. Functions from ``__main__`` and from the user's own modules (not installed packages) are pickled by
value, with their file names and source text (sources.py), so a rerun in another process still shows them in
tracebacks; installed packages by reference.

Local runs register plain versions. ``wf()`` (deploy) registers a *deployed* version: its definition carries
``deployment = {"env", "schedule"}``; the scheduler starts runs of the latest deployed version of each workflow.
A local run whose graph equals the latest version's reuses that version, deployed or not.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import pickle
import shlex
import sys
import sysconfig
import threading
import types
import weakref
from functools import lru_cache
from typing import Any

import cloudpickle

from ..errors import CodeLoadError, DatatailrJupyterError, UntrustedPickleError
from ..models import Version, normalize_name
from ..store.protocols import RunStore, VersionSpec
from ..store.registry import distrust
from . import sources
from .definition import WorkflowOptions, describe_value, stored_definition
from .graph import Blueprint, Ref

__all__ = [
    "deploy",
    "dump_code",
    "fingerprint_function",
    "graph_hash",
    "load_code",
    "register",
    "ships_by_value",
    "blueprint_for",
]

_LOCK = threading.RLock()
_INSTALLED = tuple(p for p in {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")} if p)
_OWN_PACKAGE = __name__.split(".")[0]


# ---------------------------------------------------------------- shipping code


def ships_by_value(module: str) -> bool:
    """Whether functions of ``module`` are being pickled by value right now (``__main__`` always is)."""
    return module == "__main__" or module in cloudpickle.list_registry_pickle_by_value()


@lru_cache(maxsize=1024)
def _is_user_module(module: str) -> bool:
    if module == "__main__" or module.split(".")[0] == _OWN_PACKAGE:
        return False
    mod = sys.modules.get(module)
    path = getattr(mod, "__file__", None)
    if mod is None or path is None:
        return False
    return not any(str(path).startswith(root) for root in _INSTALLED)


def dump_code(obj: Any, functions: list[Any]) -> bytes:
    """cloudpickle ``obj``, shipping the user modules of ``functions`` by value (falls back to by reference), with
    the file names and sources of what goes by value; ``pickle.loads`` restores both."""
    modules = {getattr(f, "__module__", "") for f in functions}
    with _LOCK:
        registered = set(cloudpickle.list_registry_pickle_by_value())
        added = [m for m in modules if m and m not in registered and _is_user_module(m)]
        for m in added:
            cloudpickle.register_pickle_by_value(sys.modules[m])
        try:
            return sources.dumps(obj)
        except DatatailrJupyterError:
            raise
        except Exception:
            for m in added:
                cloudpickle.unregister_pickle_by_value(sys.modules[m])
            added = []
            return sources.dumps(obj)
        finally:
            for m in added:
                cloudpickle.unregister_pickle_by_value(sys.modules[m])


def load_code(code: bytes, trusted: bool) -> Blueprint:
    """The Blueprint a version stored; refuses when the store is not trusted (unpickling runs code)."""
    if not trusted:
        raise UntrustedPickleError(
            "this version's code is pickled and the store is not trusted; rerun from a store you trust "
            "(the local store is), or run the workflow again from its source"
        )
    try:
        blueprint = pickle.loads(code)
    except Exception as exc:  # unpickling imports the task modules and runs their top level: anything can fail
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        if isinstance(exc, ImportError):
            advice = (
                "run it where the workflow's modules import (its project directory, or with that directory on "
                "PYTHONPATH), or install them here"
            )
        else:
            advice = "run the workflow again from its source, which records a new version"
        raise CodeLoadError(f"the stored code of this version does not load here ({reason}); {advice}") from exc
    if not isinstance(blueprint, Blueprint):
        raise CodeLoadError(f"stored code is a {type(blueprint).__name__}, not a workflow blueprint")
    return blueprint


# ---------------------------------------------------------------- fingerprints and hashes


def _code_digest(code: types.CodeType, h: Any) -> None:
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code_digest(const, h)
        else:
            h.update(repr(const).encode())


_FINGERPRINTS: weakref.WeakKeyDictionary[Any, tuple[types.CodeType | None, str]] = weakref.WeakKeyDictionary()


def fingerprint_function(func: Any) -> str:
    """A digest of a function's code: its source when available, else bytecode and constants (recursively)."""
    target = getattr(func, "func", func)
    code = getattr(target, "__code__", None)
    try:
        cached = _FINGERPRINTS.get(target)
    except TypeError:  # not weak-referenceable
        cached = None
    if cached is not None and cached[0] is code:
        return cached[1]
    digest = _fingerprint(target)
    try:
        _FINGERPRINTS[target] = (code, digest)
    except TypeError:
        pass
    return digest


def _fingerprint(target: Any) -> str:
    h = hashlib.sha256(getattr(target, "__qualname__", "").encode())
    try:
        h.update(inspect.getsource(target).encode())
    except (OSError, TypeError):
        code = getattr(target, "__code__", None)
        if code is not None:
            _code_digest(code, h)
        else:
            h.update(repr(target).encode())
    return h.hexdigest()[:32]


_PLAIN = frozenset((int, str, bool, type(None)))
_ENCODER = json.JSONEncoder(sort_keys=True, default=str)  # json.dumps(..., sort_keys=True, default=str), made once


def _canonical(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is Ref:
        return ["ref", value.id]
    if kind is dict:
        return ["dict", [[_canonical(k), _canonical(v)] for k, v in value.items()]]
    if kind is tuple or kind is list:
        return [kind.__name__, [_canonical(v) for v in value]]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return ["float", repr(value)]
    if isinstance(value, Ref):
        return ["ref", value.id]
    if isinstance(value, list | tuple):
        return [type(value).__name__, [_canonical(v) for v in value]]
    if isinstance(value, set | frozenset):
        return ["set", sorted(json.dumps(_canonical(v), sort_keys=True) for v in value)]
    if isinstance(value, dict):
        return ["dict", [[_canonical(k), _canonical(v)] for k, v in value.items()]]
    if isinstance(value, bytes):
        return ["bytes", hashlib.sha256(value).hexdigest()]
    try:
        digest = hashlib.sha256(pickle.dumps(value, protocol=4)).hexdigest()
    except Exception:
        return ["repr", type(value).__qualname__, repr(value)]
    return ["object", type(value).__qualname__, digest]


def task_fingerprints(blueprint: Blueprint) -> dict[int, str]:
    """Per task: a digest of its function's code, its literal arguments, resources and env vars."""
    by_function: dict[int, str] = {}
    out: dict[int, str] = {}
    for t in blueprint.tasks:
        fid = id(t.function)
        if fid not in by_function:
            by_function[fid] = fingerprint_function(t.function)
        body = [t.entrypoint, by_function[fid], _canonical(t.arguments), t.resources, t.env_vars]
        out[t.id] = hashlib.sha256(_ENCODER.encode(body).encode()).hexdigest()[:32]
    return out


def graph_hash(blueprint: Blueprint, options: WorkflowOptions, fingerprints: dict[int, str]) -> str:
    """The hash of a definition (without its deployment): tasks, edges, names, code and options."""
    body = {
        "workflow": options.name,
        "tasks": [[t.id, t.name, list(t.dependencies), fingerprints[t.id]] for t in blueprint.tasks],
        "options": [
            options.schedule,
            options.resources,
            options.env_vars,
            str(options.fail_after),
            str(options.expire_after),
            describe_value(options.recorded),
        ],
    }
    return hashlib.sha256(_ENCODER.encode(body).encode()).hexdigest()


# ---------------------------------------------------------------- registration

_LAST: dict[tuple[int, str, str], tuple[str, Version]] = {}  # per store and workflow: the last hash used here
_BLUEPRINTS: dict[tuple[int, str, str, int], Blueprint] = {}


def register(
    store: RunStore, blueprint: Blueprint, options: WorkflowOptions, deployment: dict[str, Any] | None = None
) -> Version:
    """The version to run or deploy: the latest one when unchanged, else a newly registered one."""
    fingerprints = task_fingerprints(blueprint)
    ghash = graph_hash(blueprint, options, fingerprints)
    vhash = ghash if deployment is None else ghash + ":" + json.dumps(deployment, sort_keys=True)
    memo = (id(store), store.label, normalize_name(options.name))
    with _LOCK:
        last = _LAST.get(memo)
        if last is not None and last[0] == vhash:
            return last[1]
    versions = store.list_versions(options.name) if _has_workflow(store, options.name) else []
    latest = versions[-1] if versions else None
    if latest is not None and (
        latest.definition_hash == vhash or (deployment is None and latest.definition.get("graph_hash") == ghash)
    ):
        version = latest
    else:
        definition = stored_definition(blueprint, options, fingerprints)
        definition["graph_hash"] = ghash
        definition["deployment"] = deployment
        code = dump_code(blueprint, [t.function for t in blueprint.tasks])
        spec = VersionSpec(
            workflow=options.name,
            definition=definition,
            definition_hash=vhash,
            schedule=(deployment or {}).get("schedule"),
            code=code,
        )
        version = store.register_version(spec)
    with _LOCK:
        _LAST[memo] = (vhash, version)
        _BLUEPRINTS[(id(store), store.label, normalize_name(options.name), version.version)] = blueprint
    return version


def blueprint_for(store: RunStore, workflow: str, version: int) -> Blueprint:
    """The Blueprint of a version: the one this process registered or ran, else the version's stored code."""
    with _LOCK:
        known = _BLUEPRINTS.get((id(store), store.label, normalize_name(workflow), version))
    if known is not None:
        return known
    code = store.get_code(workflow, version)
    if code is None:
        raise DatatailrJupyterError(
            f"version {version} of {workflow!r} has no stored code, so it cannot be rerun; run the workflow "
            "again to register its code"
        )
    refused = distrust(store)
    if refused is not None:
        raise UntrustedPickleError(
            f"refused to unpickle the stored code of version {version} of {workflow!r}: {refused}"
        )
    blueprint = load_code(code, trusted=True)
    with _LOCK:
        _BLUEPRINTS[(id(store), store.label, normalize_name(workflow), version)] = blueprint
    return blueprint


def _has_workflow(store: RunStore, name: str) -> bool:
    from ..errors import NotFoundError

    try:
        store.list_versions(name)
    except NotFoundError:
        return False
    return True


def deploy(
    blueprint: Blueprint,
    options: WorkflowOptions,
    *,
    env: str | None = None,
    store: RunStore | str | None = None,
    activate: bool = True,
) -> Version:
    """Register a deployed version (with its schedule when ``activate``) and say where to see it."""
    from .launch import open_run_store, resolve_env

    env_name = resolve_env(env)
    run_store = open_run_store(store)
    schedule = options.schedule if activate else None
    version = register(run_store, blueprint, options, deployment={"env": env_name, "schedule": schedule})
    when = f"scheduled {schedule!r}" if schedule else ("saved, not scheduled" if not activate else "no schedule")
    quoted = f'"{options.name}"' if not set(options.name) & set('"$`\\!') else shlex.quote(options.name)
    print(
        f"Workflow {options.name!r} deployed as version {version.version} ({when}) to env {env_name!r} in "
        f"{run_store.label}; run it now with: dt job run {quoted} --env {env_name}; see its runs with "
        f"%dt_runs {quoted} --env {env_name}"
    )
    return version
