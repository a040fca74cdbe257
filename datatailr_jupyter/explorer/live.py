"""Live updates of an explorer: a daemon thread that pushes, unsolicited, the answers the view shows when they change.

Requests from the browser reach the kernel on its shell channel, so while a cell runs nobody answers them; messages
the kernel sends (``Explorer.send``) go out on iopub even from a thread, and reach the browser while the kernel is
busy. The feed polls the store every ``fast`` seconds (``slow`` after ``idle_after`` seconds without a change;
paused while the view is hidden), and sends ``{"kind": "live", "answers": [{"kind", "payload", "answer"}, ...]}``
with each answer exactly as :func:`dispatch` gives it for that request, only those that changed since the last
push. What it covers is what the view subscribed (``live-subscribe``): its run page, the env's workflows, and for
the active runs on that page and the selected run (at most :data:`MAX_RUNS`) their ``get-run`` answer and the
tails of their running tasks' logs.

A SQLite store is checked cheaply first: ``PRAGMA data_version`` on a read-only connection of the feed's own
changes whenever anyone commits. Logs are files, so while a run is active its answers are recomputed every poll
and compared by hash, as they are for every other kind of store.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..client import Client
from ..errors import InvalidArgumentError
from ..models import RunState
from ..store.changes import DataVersion
from .columns import task_states
from .handlers import Context, dispatch_json

__all__ = ["MAX_RUNS", "MAX_TASKS", "TAIL_BYTES", "LiveFeed", "Subscription", "parse_subscription"]

log = logging.getLogger(__name__)

MAX_RUNS = 3
MAX_TASKS = 20
TAIL_BYTES = 64 * 1024  # the log view's first request: {run_id, task_id, stream, tail: 65536}
MAX_NOTICE = 2_000_000  # bytes of answers per notice; more are split over several notices
STREAMS = ("stdout", "stderr")

Send = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Subscription:
    """What the view shows: its run-page query (None: no run table), env, selected run (0: none), visibility, and
    which view it is (a new view has none of the answers pushed before: they are all pushed again)."""

    list_runs: Mapping[str, Any] | None = None
    env: str = ""
    run_id: int = 0
    visible: bool = True
    view: str = ""


def parse_subscription(payload: Any) -> Subscription:
    """The ``live-subscribe`` payload checked; a clear InvalidArgumentError when it is malformed."""
    if not isinstance(payload, Mapping):
        raise InvalidArgumentError(f"the live-subscribe payload must be an object, not {type(payload).__name__}")
    query = payload.get("list_runs")
    if query is not None and not isinstance(query, Mapping):
        raise InvalidArgumentError(f"'list_runs' must be a list-runs payload or null, not {query!r}")
    env = payload.get("env") or ""
    if not isinstance(env, str):
        raise InvalidArgumentError(f"'env' must be a string, not {env!r}")
    run_id = payload.get("run_id") or 0
    if isinstance(run_id, bool) or not isinstance(run_id, int) or run_id < 0:
        raise InvalidArgumentError(f"'run_id' must be a run id or 0, not {run_id!r}")
    visible = payload.get("visible", True)
    if not isinstance(visible, bool):
        raise InvalidArgumentError(f"'visible' must be true or false, not {visible!r}")
    view = payload.get("view") or ""
    if not isinstance(view, str):
        raise InvalidArgumentError(f"'view' must be a string, not {view!r}")
    return Subscription(dict(query) if query is not None else None, env, run_id, visible, view)


def key_of(kind: str, payload: Mapping[str, Any]) -> str:
    """The answer's identity: kind and canonical JSON payload (the front end's cache key has the same parts)."""
    return kind + " " + json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest(text: str) -> str:
    """The digest of an answer's JSON text as :func:`dispatch_json` made it (the same answer gives the same text)."""
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16).hexdigest()


Answer = tuple[dict[str, Any], str]
"""A pushed answer ``{kind, payload, answer}`` and the JSON text of the response it came from."""


def _active(state: Any) -> bool:
    try:
        return not RunState(state).is_terminal
    except ValueError:
        return False


class LiveFeed:
    """Pushes the subscribed answers of one explorer when they change; :meth:`poll` does one round (tests call it)."""

    def __init__(
        self,
        client: Client,
        send: Send,
        context: Context | None = None,
        *,
        fast: float = 2.0,
        slow: float = 10.0,
        idle_after: float = 60.0,
    ) -> None:
        self._client = client
        self._send = send
        self._context = context
        self.fast, self.slow, self.idle_after = fast, slow, idle_after
        self._lock = threading.Lock()  # one poll at a time; guards the fields below
        self._sub: Subscription | None = None
        self._pushed: dict[str, str] = {}  # key -> digest of the answer last pushed
        self._tailing: set[tuple[int, int]] = set()  # (run, task) whose logs were tailed last round
        self._version: int | None = None
        self._dirty = True  # the subscription changed: compute everything
        self._primed: tuple[int | None, frozenset[str], bool] | None = None  # (version, keys, any run active)
        self._last_change = time.monotonic()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._data_version = DataVersion(client.store)
        self.polls = 0  # rounds that computed answers (a cheap unchanged check does not count)

    # ------------------------------------------------------------ control

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def subscribe(self, sub: Subscription) -> None:
        """Follow what the view now shows; starts the thread on the first subscription."""
        with self._lock:
            if sub != self._sub:
                self._dirty = True
                self._last_change = time.monotonic()
            if self._sub is not None and sub.view != self._sub.view:
                self._pushed.clear()  # another view: it has none of the answers pushed so far
                self._primed = None
            elif self._sub is None and self._primed is None:
                self._pushed.clear()
            if self._primed is not None and self._covers(self._primed, sub):  # the view that got the first answers
                self._version, self._dirty = self._primed[0], False  # nothing to compute until the store changes
            self._sub = sub
        if self._stopped.is_set():
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="datatailr-explorer-live", daemon=True)
            self._thread.start()
        self._wake.set()

    def prime(self, answers: list[Answer], version: int | None) -> None:
        """Count ``answers`` as pushed: the explorer sent them with its state (``initial_answers``), computed after
        the store's change counter read ``version`` (:meth:`data_version`). The view that got them is then sent
        only what changes after them, and nothing is computed again while the store does not change."""
        with self._lock:
            if self._sub is not None:
                return
            keys = []
            active = False
            for answer, text in answers:
                keys.append(self._remember(answer, text))
                if answer["kind"] == "get-run":
                    active = active or _active(answer["answer"]["run"]["state"])
                elif answer["kind"] == "list-runs":
                    active = active or any(_active(r.get("state")) for r in answer["answer"]["runs"])
            self._primed = (version, frozenset(keys), active)

    def data_version(self) -> int | None:
        """The store's change counter now (None where the store has none): read before computing first answers."""
        with self._lock:
            return self._data_version.read()

    @staticmethod
    def _covers(primed: tuple[int | None, frozenset[str], bool], sub: Subscription) -> bool:
        """Whether the primed answers are all that ``sub`` needs: no active run, every answer it asks for primed."""
        version, keys, active = primed
        if version is None or active:
            return False
        wanted = [key_of("list-workflows", {"env": sub.env})]
        if sub.list_runs is not None:
            wanted.append(key_of("list-runs", sub.list_runs))
        if sub.run_id:
            wanted.append(key_of("get-run", {"run_id": sub.run_id}))
        return all(k in keys for k in wanted)

    def stop(self) -> None:
        """Stop the thread (within one poll) and close the feed's database connection."""
        self._stopped.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        with self._lock:
            self._data_version.close()

    def period(self) -> float:
        """Seconds to the next poll: ``fast``, or ``slow`` after ``idle_after`` seconds without a change."""
        return self.fast if time.monotonic() - self._last_change < self.idle_after else self.slow

    def _loop(self) -> None:
        while not self._stopped.is_set():
            sub = self._sub
            # hidden: sleep until the view subscribes again (or the explorer closes)
            self._wake.wait(self.period() if sub is None or sub.visible else None)
            self._wake.clear()
            if self._stopped.is_set():
                break
            try:
                self.poll()
            except Exception:  # a broken store or comm must not kill the feed: it tries again next round
                log.exception("live update of the explorer failed")

    # ------------------------------------------------------------ one round

    def poll(self) -> int:
        """Compute the subscribed answers if anything may have changed and push those that did; how many."""
        with self._lock:
            sub = self._sub
            if sub is None or not sub.visible or self._stopped.is_set():
                return 0
            version = self._data_version.read()
            if version is not None and version == self._version and not self._dirty and not self._tailing:
                return 0  # nothing committed, no run to follow, same subscription: nothing can have changed
            self._version = version
            self._dirty = False
            self._primed = None
            self.polls += 1
            changed = [a for a in self._answers(sub) if self._changed(*a)]
            if changed:
                self._last_change = time.monotonic()
        for notice in _notices(changed):
            self._send(notice)
        return len(changed)

    def _answer(self, kind: str, payload: dict[str, Any]) -> Answer | None:
        response, text = dispatch_json(self._client, kind, payload, None, self._context)
        if "payload" not in response:
            return None  # an error (a run deleted, a bad query): the view's own request says it
        return {"kind": kind, "payload": payload, "answer": response["payload"]}, text

    def _answers(self, sub: Subscription) -> list[Answer]:
        answers: list[Answer | None] = []
        runs: list[int] = []
        if sub.list_runs is not None:
            page = self._answer("list-runs", dict(sub.list_runs))
            answers.append(page)
            rows = page[0]["answer"]["runs"] if page else []
            runs = [r["run_id"] for r in rows if _active(r.get("state"))]
        answers.append(self._answer("list-workflows", {"env": sub.env}))
        if sub.run_id and sub.run_id not in runs:
            runs.insert(0, sub.run_id)
        tailing: set[tuple[int, int]] = set()
        for run_id in runs[:MAX_RUNS]:
            detail = self._answer("get-run", {"run_id": run_id})
            answers.append(detail)
            if detail is None:
                continue
            tasks = task_states(detail[0]["answer"])
            # running tasks, and those that ran last round (their last lines and the end of the log)
            follow = [t for t, state in tasks if state == "running" or (run_id, t) in self._tailing]
            for task_id in follow[:MAX_TASKS]:
                tailing.add((run_id, task_id))
                for stream in STREAMS:
                    payload = {"run_id": run_id, "task_id": task_id, "stream": stream, "tail": TAIL_BYTES}
                    answers.append(self._answer("read-log", payload))
        # a task still followed only because it ran last round is dropped next round
        self._tailing = {(r, t) for r, t in tailing if self._running(answers, r, t)}
        return [a for a in answers if a is not None]

    @staticmethod
    def _running(answers: list[Answer | None], run_id: int, task_id: int) -> bool:
        for a in answers:
            if a is not None and a[0]["kind"] == "get-run" and a[0]["payload"]["run_id"] == run_id:
                return (task_id, "running") in task_states(a[0]["answer"])
        return False

    def _changed(self, answer: dict[str, Any], text: str) -> bool:
        key = key_of(answer["kind"], answer["payload"])
        if self._pushed.get(key) == _digest(text):
            return False
        self._remember(answer, text)
        return True

    def _remember(self, answer: dict[str, Any], text: str) -> str:
        """Record ``answer`` as pushed; its key."""
        key = key_of(answer["kind"], answer["payload"])
        self._pushed[key] = _digest(text)
        if len(self._pushed) > 512:  # old selections and pages: forget the oldest half
            for old in list(self._pushed)[:256]:
                del self._pushed[old]
        return key


def _notices(answers: list[Answer]) -> list[dict[str, Any]]:
    """``live`` notices carrying ``answers``, split so that none is much over MAX_NOTICE bytes."""
    notices: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    size = 0
    for answer, text in answers:
        n = len(text) + len(json.dumps(answer["payload"], ensure_ascii=False))
        if batch and size + n > MAX_NOTICE:
            notices.append({"kind": "live", "answers": batch})
            batch, size = [], 0
        batch.append(answer)
        size += n
    if batch:
        notices.append({"kind": "live", "answers": batch})
    return notices
