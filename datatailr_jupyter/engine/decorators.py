"""The SDK's decorators: ``@task`` (a node inside a workflow body, a plain call outside) and ``@workflow``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, overload

from ..errors import DefinitionError
from ..models import check_name
from .definition import WORKFLOW_OPTIONS, WorkflowOptions, describe_value, to_json
from .graph import SYSTEM_PARAMS, Blueprint, Graph, Task, building, current_graph
from .naming import check_workflow_key, workflow_key
from .resources import merge_resources

if TYPE_CHECKING:  # pragma: no cover
    from ..store.protocols import RunStore
    from .handle import RunHandle

__all__ = ["TASK_OPTIONS", "TaskFunction", "WorkflowFunction", "task", "workflow"]

TASK_OPTIONS = ("memory", "cpu", "vram")
_IGNORED_CALL_OPTIONS = ("instant_run_mode", "instant_run_embed", "instant_run_workstation_image")


def _rebuild_task_function(func: Callable[..., Any], resources: dict[str, Any]) -> TaskFunction:
    return TaskFunction(func, resources)


class TaskFunction:
    """A ``@task`` function. Inside a workflow body a call adds a Task node; elsewhere it just runs the function."""

    def __init__(self, func: Callable[..., Any], resources: dict[str, Any]) -> None:
        if not callable(func) or isinstance(func, TaskFunction):
            raise DefinitionError(f"@task decorates a function, not {func!r}")
        functools.update_wrapper(self, func)
        self.func = func
        self.name: str = check_name(getattr(func, "__name__", type(func).__name__), "task function name")
        self.resources = resources

    @property
    def entrypoint(self) -> str:
        """``module:qualname`` of the function."""
        return f"{getattr(self.func, '__module__', '?')}:{getattr(self.func, '__qualname__', self.name)}"

    @functools.cached_property
    def signature(self) -> inspect.Signature:
        return inspect.signature(self.func)

    @functools.cached_property
    def _bind_signature(self) -> inspect.Signature:
        params = [p for p in self.signature.parameters.values() if p.name not in SYSTEM_PARAMS]
        return self.signature.replace(parameters=params)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        graph = current_graph()
        if graph is None:
            return self.func(*args, **kwargs)
        return graph.add(self, self.bind(args, kwargs))

    @functools.cached_property
    def _positional(self) -> tuple[str, ...] | str | None:
        """How a call with positional arguments only binds without ``Signature.bind`` (a graph of thousands of
        calls): the parameter names when all are positional without defaults, the name of a lone ``*args``."""
        params = list(self._bind_signature.parameters.values())
        if len(params) == 1 and params[0].kind is params[0].VAR_POSITIONAL:
            return params[0].name
        plain = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        if all(p.kind in plain and p.default is p.empty for p in params):
            return tuple(p.name for p in params)
        return None

    def bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The argument map of a call: parameter name -> value, defaults applied (``*args`` as a tuple)."""
        fast = self._positional
        if not kwargs and fast is not None:
            if isinstance(fast, str):
                return {fast: args}
            if len(args) == len(fast):
                return dict(zip(fast, args, strict=True))
        system = {k: kwargs.pop(k) for k in list(kwargs) if k in SYSTEM_PARAMS and k in self.signature.parameters}
        try:
            bound = self._bind_signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise DefinitionError(f"{self.name}{self._bind_signature}: {exc}") from None
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        arguments.update(system)
        return arguments

    def call(self, arguments: dict[str, Any]) -> Any:
        """Call the function with an argument map (system parameters already filled in)."""
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        positional = True
        for p in self.signature.parameters.values():
            if p.name not in arguments:
                positional = positional and p.kind is not p.POSITIONAL_OR_KEYWORD
                continue
            value = arguments[p.name]
            if p.kind is p.VAR_POSITIONAL:
                args.extend(value)
            elif p.kind is p.VAR_KEYWORD:
                kwargs.update(value)
            elif p.kind is p.KEYWORD_ONLY or (p.kind is p.POSITIONAL_OR_KEYWORD and not positional):
                kwargs[p.name] = value
            else:
                args.append(value)
        return self.func(*args, **kwargs)

    def __reduce__(self) -> Any:
        # By name when the module attribute is this object and the module is shipped by reference, so workers
        # import it; otherwise by value (notebook cells, closures, user modules shipped by value).
        from .versions import ships_by_value

        module = getattr(self.func, "__module__", None)
        qualname = getattr(self.func, "__qualname__", "")
        if module and not ships_by_value(module) and "." not in qualname and "<" not in qualname:
            import sys

            if getattr(sys.modules.get(module), qualname, None) is self:
                return qualname
        return (_rebuild_task_function, (self.func, self.resources))

    def __repr__(self) -> str:
        return f"<task {self.entrypoint}>"


@overload
def task(func: Callable[..., Any], /) -> TaskFunction: ...
@overload
def task(func: None = None, /, **options: Any) -> Callable[[Callable[..., Any]], TaskFunction]: ...


def task(func: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Mark a function as a workflow task: ``@task``, ``@task()`` or ``@task(memory="1g", cpu=2, vram="8g")``."""
    unknown = sorted(set(options) - set(TASK_OPTIONS))
    if unknown:
        raise DefinitionError(f"unknown @task option(s) {', '.join(unknown)}; known options: {', '.join(TASK_OPTIONS)}")
    resources = merge_resources({}, None, **options)

    def decorate(f: Callable[..., Any]) -> TaskFunction:
        return TaskFunction(f, resources)

    return decorate(func) if func is not None else decorate


class WorkflowFunction:
    """A ``@workflow`` function: a call builds the graph, then deploys, runs (``local_run=True``) or returns JSON."""

    def __init__(self, func: Callable[..., Any], options: WorkflowOptions) -> None:
        functools.update_wrapper(self, func)
        self.func = func
        self.options = options

    @property
    def name(self) -> str:
        return self.options.name

    def build(
        self, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None, overrides: dict[str, Any] | None = None
    ) -> tuple[Blueprint, WorkflowOptions, dict[str, Any]]:
        """Run the body on a fresh graph: the blueprint, the effective options and the recorded parameters."""
        kwargs = kwargs or {}
        options = self.options.override(overrides or {})
        graph = Graph(options.name)
        try:
            params = inspect.signature(self.func).bind(*args, **kwargs)
        except TypeError as exc:
            raise DefinitionError(f"workflow {options.name!r} parameters: {exc}") from None
        with building(graph):
            self.func(*args, **kwargs)
        limits = {"fail_after": options.fail_after, "expire_after": options.expire_after}  # enforced by the run loop
        blueprint = graph.freeze(options.env_vars, options.resources, {k: v for k, v in limits.items() if v})
        return blueprint, options, {k: describe_value(v) for k, v in params.arguments.items()}

    def __call__(
        self,
        *args: Any,
        local_run: bool = False,
        to_json: bool = False,
        save_only: bool = False,
        instant_run: bool = False,
        env: str | None = None,
        store: RunStore | str | None = None,
        executor: Any = None,
        max_workers: int | None = None,
        **kwargs: Any,
    ) -> RunHandle | str | None:
        overrides = {k: kwargs.pop(k) for k in list(kwargs) if k in WORKFLOW_OPTIONS}
        for k in _IGNORED_CALL_OPTIONS:
            kwargs.pop(k, None)
        blueprint, options, params = self.build(args, kwargs, overrides)
        from .launch import open_run_store, resolve_env

        env_name = resolve_env(env)
        if to_json:
            return _to_json(blueprint, options, env_name)
        run_store = open_run_store(store)
        check_workflow_key(run_store, options.name)
        if local_run or instant_run:
            from .launch import run_blueprint

            return run_blueprint(
                blueprint, options, env=env_name, store=run_store, executor=executor, max_workers=max_workers,
                params=params,
            )  # fmt: skip
        from .versions import deploy

        deploy(blueprint, options, env=env_name, store=run_store, activate=not save_only)
        return None

    def __repr__(self) -> str:
        return f"<workflow {self.options.name!r} ({getattr(self.func, '__module__', '?')}.{self.func.__name__})>"


_to_json = to_json


def workflow(name: str | Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Mark a function as a workflow: ``@workflow(name="Daily Report", schedule="0 6 * * *", ...)``.

    Options are the SDK's (name, schedule, image, run_as, resources, acl, python_version, python_requirements,
    build_script_pre, build_script_post, build_secret_keys, env_vars, fail_after, expire_after, budget).
    """
    if callable(name):
        return workflow()(name)
    if "name" in options:
        if name is not None:
            raise DefinitionError("give the workflow name once: @workflow('Name') or @workflow(name='Name')")
        name = options.pop("name")
    unknown = sorted(set(options) - set(WORKFLOW_OPTIONS))
    if unknown:
        raise DefinitionError(
            f"unknown @workflow option(s) {', '.join(unknown)}; known options: {', '.join(WORKFLOW_OPTIONS)}"
        )

    if name is not None:
        name = check_name(name, "workflow name")
        workflow_key(name)
    checked = WorkflowOptions.build(name if name is not None else "workflow", options)

    def decorate(func: Callable[..., Any]) -> WorkflowFunction:
        if isinstance(func, TaskFunction | Task) or not callable(func):
            raise DefinitionError(f"@workflow decorates a plain function, not {func!r}")
        display = name if name is not None else func.__name__.replace("_", " ").title()
        workflow_key(display)
        return WorkflowFunction(func, replace(checked, name=display))

    return decorate
