"""Workflow graphs: the nodes that task calls create inside a workflow body, their names and their edges.

Inside a ``@workflow`` body a call of a ``@task`` function does not run it: it adds a :class:`Task` node to the
:class:`Graph` being built (found through a context variable) and returns that node. Any node found in the call's
arguments -- directly, or inside lists, tuples, sets and dict values at any depth -- becomes a dependency and is
replaced in the stored argument map by a :class:`Ref` to its id, so a literal string can never be mistaken for a
task output. Ids follow creation order (arguments are evaluated first, so inner calls get lower ids).

Automatic names are ``f``, ``f-1``, ``f-2``, ...: the first of that sequence not used by *any* task, so an alias
frees its old name and no two tasks ever share a name. ``.alias()`` on a taken name raises DefinitionError.
"""

from __future__ import annotations

import contextvars
import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import DefinitionError
from ..models import check_name
from .resources import Resources, check_env_vars, merge_resources

if TYPE_CHECKING:  # pragma: no cover
    from .decorators import TaskFunction

__all__ = ["SYSTEM_PARAMS", "Blueprint", "Graph", "Ref", "Task", "TaskBlueprint", "current_graph", "building"]

SYSTEM_PARAMS = ("rundate", "scheduled_time", "started_at", "batch_name", "job_name")
"""Parameters the engine fills at run time when a task declares them and the call does not pass them."""

_CURRENT: contextvars.ContextVar[Graph | None] = contextvars.ContextVar("datatailr_jupyter_graph", default=None)


def current_graph() -> Graph | None:
    """The graph a workflow body is building in this context, or None outside a workflow body."""
    return _CURRENT.get()


@dataclass(frozen=True)
class Ref:
    """The output of task ``id``, as it appears in a stored argument map."""

    id: int

    def __repr__(self) -> str:
        return f"Ref({self.id})"


@dataclass
class TaskBlueprint:
    """Everything needed to execute one task of a definition, detached from the building context."""

    id: int
    name: str
    function: TaskFunction
    arguments: dict[str, Any]
    dependencies: tuple[int, ...]
    resources: dict[str, Any] = field(default_factory=dict)
    env_vars: dict[str, str] = field(default_factory=dict)

    @property
    def entrypoint(self) -> str:
        return self.function.entrypoint


@dataclass
class Blueprint:
    """A finished workflow definition: what a run executes and what a version stores as its code."""

    workflow: str
    tasks: list[TaskBlueprint]
    options: dict[str, Any] = field(default_factory=dict)

    def task(self, ref: int | str) -> TaskBlueprint:
        for t in self.tasks:
            if t.id == ref or t.name == ref:
                return t
        from ..errors import TaskNotFoundError, known

        raise TaskNotFoundError(
            f"{self.workflow!r} has no task {ref!r}; its tasks are {known(t.name for t in self.tasks)}"
        )

    def downstream(self, ids: set[int]) -> set[int]:
        """``ids`` and every task that depends on one of them, directly or not."""
        out = set(ids)
        for t in self.tasks:  # ids are topological: dependencies always have lower ids
            if any(d in out for d in t.dependencies):
                out.add(t.id)
        return out


class Task:
    """A task call inside a workflow body: a node of the graph. Chain ``.alias()``, ``.set_resources()``, ..."""

    __slots__ = ("_graph", "arguments", "dependencies", "env_vars", "function", "id", "name", "resources")

    def __init__(
        self, graph: Graph, id: int, name: str, function: TaskFunction, arguments: dict[str, Any], deps: list[int]
    ) -> None:
        self._graph = graph
        self.id = id
        self.name = name
        self.function = function
        self.arguments = arguments
        self.dependencies: list[int] = deps
        self.resources: dict[str, Any] = dict(function.resources)
        self.env_vars: dict[str, str] = {}

    def alias(self, name: str) -> Task:
        """Rename this task (display names may contain spaces); returns the task so calls chain."""
        self._graph.rename(self, check_name(name, "task alias"))
        return self

    def set_resources(
        self,
        resources: Resources | None = None,
        memory: str | None = None,
        cpu: float | None = None,
        vram: str | None = None,
    ) -> Task:
        """Override this call's memory / cpu / vram (a Resources object, or the fields)."""
        self._graph.check_open(f"set_resources() on task {self.name!r}")
        if resources is not None and not isinstance(resources, Resources | dict):
            raise DefinitionError(
                f"set_resources(resources=...) takes a Resources(memory=, cpu=, vram=), not {type(resources).__name__}"
            )
        self.resources = merge_resources(self.resources, resources, memory=memory, cpu=cpu, vram=vram)
        return self

    def update_env_vars(self, env_vars: dict[str, Any]) -> Task:
        """Merge environment variables into this call's environment."""
        self._graph.check_open(f"update_env_vars() on task {self.name!r}")
        self.env_vars.update(check_env_vars(env_vars, f"update_env_vars() on task {self.name!r}"))
        return self

    def __rshift__(self, other: Task | list[Task]) -> Task | list[Task]:
        """Legacy ordering: ``a >> b`` makes ``b`` wait for ``a`` (also with a list of tasks)."""
        for t in other if isinstance(other, list) else [other]:
            self._graph.add_edge(self, t)
        return other

    def __lshift__(self, other: Task | list[Task]) -> Task | list[Task]:
        for t in other if isinstance(other, list) else [other]:
            self._graph.add_edge(t, self)
        return other

    def __rrshift__(self, other: list[Task]) -> Task:
        for t in other:
            self._graph.add_edge(t, self)
        return self

    def __rlshift__(self, other: list[Task]) -> Task:
        for t in other:
            self._graph.add_edge(self, t)
        return self

    def __bool__(self) -> bool:
        raise DefinitionError(
            f"task {self.name!r} has no value while the workflow is being defined, so it cannot be used in an "
            "'if' or 'while'; move the decision into a task"
        )

    def __iter__(self) -> Iterator[Any]:
        raise DefinitionError(
            f"task {self.name!r} has no value while the workflow is being defined, so it cannot be unpacked or "
            "iterated; pass the whole output to the next task and index it there"
        )

    def __getitem__(self, key: Any) -> Any:
        raise DefinitionError(
            f"task {self.name!r} has no value while the workflow is being defined, so {self.name!r}[{key!r}] is "
            "not possible; pass the whole output to the next task and index it there"
        )

    def __reduce__(self) -> Any:
        raise DefinitionError(
            f"task {self.name!r} was passed inside an object the engine does not look into; task outputs may be "
            "passed directly or inside lists, tuples, sets and dict values"
        )

    def __repr__(self) -> str:
        return f"<Task #{self.id} {self.name!r} ({self.function.entrypoint})>"


class Graph:
    """The tasks of one workflow definition, built by calls inside the workflow body."""

    def __init__(self, workflow: str) -> None:
        self.workflow = workflow
        self.tasks: list[Task] = []
        self.names: dict[str, Task] = {}
        self.closed = False
        self._next: dict[str, int] = {}  # per function name: the next automatic number to try
        self._freed: dict[str, list[int]] = {}  # per function name: numbers freed by an alias (a heap)

    # ------------------------------------------------------------ building

    def check_open(self, what: str) -> None:
        if self.closed:
            raise DefinitionError(
                f"{what}: the definition of {self.workflow!r} is complete; call it inside the workflow body"
            )

    def add(self, function: TaskFunction, arguments: dict[str, Any]) -> Task:
        """A new node for a call of ``function``; task outputs in ``arguments`` become Refs and dependencies."""
        self.check_open(f"calling {function.name}()")
        deps: list[int] = []
        converted = {k: self._to_refs(v, deps) for k, v in arguments.items()}
        node = Task(self, len(self.tasks), self._auto_name(function.name), function, converted, sorted(set(deps)))
        self.tasks.append(node)
        self.names[node.name] = node
        return node

    def _to_refs(self, value: Any, deps: list[int]) -> Any:
        if isinstance(value, Task):
            if value._graph is not self:
                raise DefinitionError(
                    f"task {value.name!r} belongs to workflow {value._graph.workflow!r}; outputs cannot cross "
                    f"into {self.workflow!r}"
                )
            deps.append(value.id)
            return Ref(value.id)
        if not isinstance(value, list | tuple | set | frozenset | dict) or not _contains_task(value):
            return value
        if isinstance(value, dict):
            items = {k: self._to_refs(v, deps) for k, v in value.items()}
            return items if type(value) is dict else type(value)(items)
        converted = [self._to_refs(v, deps) for v in value]
        if isinstance(value, tuple) and hasattr(value, "_fields"):  # namedtuple
            return type(value)(*converted)
        if type(value) in (list, tuple, set, frozenset):
            return type(value)(converted)
        return type(value)(converted)

    def _auto_name(self, base: str) -> str:
        """The first of ``base``, ``base-1``, ``base-2``, ... that no task uses (freed names first)."""
        freed = self._freed.get(base)
        while freed:
            n = heapq.heappop(freed)
            if _numbered(base, n) not in self.names:
                return _numbered(base, n)
        n = self._next.get(base, 0)
        while _numbered(base, n) in self.names:
            n += 1
        self._next[base] = n + 1
        return _numbered(base, n)

    def rename(self, node: Task, name: str) -> None:
        self.check_open(f"alias({name!r}) on task {node.name!r}")
        if name == node.name:
            return
        other = self.names.get(name)
        if other is not None:
            raise DefinitionError(
                f"cannot name task #{node.id} ({node.function.name}, now {node.name!r}) {name!r}: task #{other.id} "
                f"({other.function.name}) already has that name; choose another alias"
            )
        del self.names[node.name]
        base = node.function.name
        if node.name == base or node.name.startswith(base + "-") and node.name[len(base) + 1 :].isdigit():
            number = 0 if node.name == base else int(node.name[len(base) + 1 :])
            heapq.heappush(self._freed.setdefault(base, []), number)
        node.name = name
        self.names[name] = node

    def add_edge(self, upstream: Task, downstream: Task) -> None:
        self.check_open(f"ordering {upstream.name!r} before {downstream.name!r}")
        for t in (upstream, downstream):
            if not isinstance(t, Task) or t._graph is not self:
                raise DefinitionError(f"'>>' and '<<' connect tasks of {self.workflow!r}, not {t!r}")
        if upstream.id >= downstream.id:
            raise DefinitionError(
                f"task {upstream.name!r} (#{upstream.id}) was created after {downstream.name!r} (#{downstream.id}) "
                f"so it cannot run before it; create tasks in the order they run (this would risk a cycle)"
            )
        if upstream.id not in downstream.dependencies:
            downstream.dependencies = sorted({*downstream.dependencies, upstream.id})

    # ------------------------------------------------------------ finishing

    def freeze(self, env_vars: dict[str, str], resources: dict[str, Any], options: dict[str, Any]) -> Blueprint:
        """Close the graph and detach its tasks into a Blueprint (workflow defaults applied)."""
        self.closed = True
        if not self.tasks:
            raise DefinitionError(f"workflow {self.workflow!r} defines no tasks: call @task functions inside its body")
        tasks = [
            TaskBlueprint(
                id=t.id,
                name=t.name,
                function=t.function,
                arguments=t.arguments,
                dependencies=tuple(t.dependencies),
                resources={**resources, **t.resources},
                env_vars={**env_vars, **t.env_vars},
            )
            for t in self.tasks
        ]
        return Blueprint(workflow=self.workflow, tasks=tasks, options=options)


def _numbered(base: str, n: int) -> str:
    return base if n == 0 else f"{base}-{n}"


def _contains_task(value: Any) -> bool:
    if isinstance(value, Task):
        return True
    if isinstance(value, dict):
        return any(_contains_task(v) for v in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_contains_task(v) for v in value)
    return False


class building:
    """Context manager: make ``graph`` the one task calls add to."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._token: contextvars.Token[Graph | None] | None = None

    def __enter__(self) -> Graph:
        if _CURRENT.get() is not None:
            outer = _CURRENT.get()
            assert outer is not None
            raise DefinitionError(
                f"workflow {self.graph.workflow!r} was called inside the body of {outer.workflow!r}; "
                "define workflows side by side, not nested"
            )
        self._token = _CURRENT.set(self.graph)
        return self.graph

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _CURRENT.reset(self._token)
