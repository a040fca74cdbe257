"""The Explorer anywidget: the traits the view shares with Python, and dispatch of its requests to the handlers."""

from __future__ import annotations

import json
import logging
import threading
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ..client import Client
from ..errors import InvalidArgumentError
from ..models import RunState
from .assets import ASSET_KINDS, asset_message
from .handlers import Context, dispatch, dispatch_json
from .live import Answer, LiveFeed, parse_subscription
from .selection import MAX_PAGE_SIZE, Selection, When, open_client, select

__all__ = ["SLOW_KINDS", "Explorer", "pack_answers", "unpack_answers"]

log = logging.getLogger(__name__)

ESM_PATH = Path(__file__).parent.parent / "static" / "widget.js"
FRONTEND_MISSING = (
    f"The explorer's front end is not built ({ESM_PATH} is missing): run `npm run build` in the "
    "datatailr_jupyter source checkout, or reinstall the package from a wheel."
)
_MISSING_ESM = "export default { render({ el }) { el.textContent = " + json.dumps(FRONTEND_MISSING) + "; } };"

SLOW_KINDS = frozenset(
    {"search-log", "get-result", "bind-result", "plan-rerun", "rerun", "activity", "overview", "compare", "definition"}
    | {"debug-code", "chart"}
)
"""Request kinds answered on a worker thread, so that a big log or result never blocks the kernel."""

_POOL_LOCK = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _worker_pool() -> ThreadPoolExecutor:
    global _pool
    with _POOL_LOCK:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="datatailr-explorer")
        return _pool


def _first_answers(client: Client, context: Context, chosen: Selection, page_size: int) -> list[Answer]:
    """What the view asks first, with the payloads it sends (js/header, js/runs/runtable.ts, js/dag/dag.ts), and the
    JSON text of each response (the live feed counts them as pushed)."""
    requests: list[tuple[str, dict[str, Any]]] = [("list-workflows", {"env": chosen.env})]
    if chosen.workflow:
        query = {"workflow": chosen.workflow, "env": chosen.env, "start": chosen.start, "end": chosen.end}
        requests.append(("list-runs", {**query, "states": list(chosen.states), "cursor": None, "limit": page_size}))
    if chosen.selected_run:
        requests.append(("get-run", {"run_id": chosen.selected_run}))
    answers = []
    for kind, payload in requests:
        response, text = dispatch_json(client, kind, payload, None, context)
        if "payload" in response:  # an error: the view's own request says it
            answers.append(({"kind": kind, "payload": payload, "answer": response["payload"]}, text))
    return answers


def pack_answers(answers: list[Answer]) -> bytes:
    """The first answers as one UTF-8 JSON array of ``{kind, payload, response}``, ``response`` being the JSON text
    :func:`dispatch_json` made for each, pasted in as it is: sent as one binary buffer, so neither ipywidgets (which
    walks a trait's lists for buffers) nor the kernel's message packer encodes a big run's tasks a second time."""
    parts = [
        '{"kind":' + json.dumps(answer["kind"]) + ',"payload":' + json.dumps(answer["payload"])
        + ',"response":' + text + "}"
        for answer, text in answers
    ]  # fmt: skip
    return ("[" + ",".join(parts) + "]").encode("utf-8")


def unpack_answers(data: bytes) -> list[dict[str, Any]]:
    """The ``{kind, payload, answer}`` answers :func:`pack_answers` packed (what js/widget.ts reads); [] for none."""
    if not data:
        return []
    return [{"kind": a["kind"], "payload": a["payload"], "answer": a["response"]["payload"]} for a in json.loads(data)]


class Explorer(anywidget.AnyWidget):
    """Browse the runs of a store: workflows, the run table, each run's DAG, logs and results, and reruns.

    Parameters
    ----------
    workflow : display name or internal key of the workflow to select (else none is selected)
    env : environment (default: the client's, i.e. DT_RUNS_ENV, the config file, or ``dev``)
    store : store URL or directory (default: DT_RUNS_STORE, the config file, or the local store); a
        ``http(s)://host:port`` store is a ``dt serve`` server, whose engine runs the reruns started here
    token : access token of a remote store (default: DT_RUNS_TOKEN, or the config file's ``token``)
    since, until : date range of the run table: dates, date-times, or spans like ``7d``, ``24h``
    run : a run id to open; selects its workflow and env
    states : state filter, e.g. ``["failed"]`` or ``"failed,running"``
    client : an open ``Client`` to use instead of ``store``
    trust : load pickled results of ``store`` even when it is not among the user's trusted stores (as
        ``connect(store, trust=True)``); the "load into cell" code then says ``trust=True`` too
    page_size : rows per page of the run table
    """

    _esm = ESM_PATH if ESM_PATH.is_file() else _MISSING_ESM

    store_label = traitlets.Unicode("").tag(sync=True)
    envs = traitlets.List(traitlets.Unicode()).tag(sync=True)
    env = traitlets.Unicode("dev").tag(sync=True)
    workflow = traitlets.Unicode("").tag(sync=True)
    start = traitlets.Unicode("").tag(sync=True)
    end = traitlets.Unicode("").tag(sync=True)
    states = traitlets.List(traitlets.Unicode()).tag(sync=True)
    selected_run = traitlets.Int(0).tag(sync=True)
    selected_task = traitlets.Int(-1).tag(sync=True)
    page_size = traitlets.Int(25).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    initial_answers = traitlets.Bytes(b"").tag(sync=True)
    """Answers to the view's first requests (:func:`pack_answers`: JSON, one binary buffer), sent with the widget's
    state so that the run table and the selected run's DAG need no round trip to the kernel; empty once the view
    has read them."""

    def __init__(
        self,
        workflow: str | None = None,
        env: str | None = None,
        store: str | None = None,
        since: When = None,
        until: When = None,
        run: int | str | None = None,
        client: Client | None = None,
        states: Iterable[str | RunState] | str | None = None,
        page_size: int = 25,
        token: str | None = None,
        trust: bool = False,
        **kwargs: Any,
    ) -> None:
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise InvalidArgumentError(f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}, not {page_size!r}")
        opened, owned, store_url = open_client(store, client, token, trust=bool(trust))
        context = Context(store_url=store_url, trust=bool(trust))
        live = LiveFeed(opened, self._push, context)
        try:
            chosen = select(opened, workflow, env, since, until, run, states)
            version = live.data_version()  # before the first answers: a change after them is pushed
            first = _first_answers(opened, context, chosen, page_size)  # in the comm's first message
            live.prime(first, version)
        except BaseException:
            live.stop()
            if owned:
                opened.close()
            raise
        message = chosen.message
        if not ESM_PATH.is_file():
            warnings.warn(FRONTEND_MISSING, stacklevel=2)
            message = FRONTEND_MISSING
        super().__init__(
            store_label=opened.label,
            envs=chosen.envs,
            env=chosen.env,
            workflow=chosen.workflow,
            start=chosen.start,
            end=chosen.end,
            states=chosen.states,
            selected_run=chosen.selected_run,
            page_size=page_size,
            message=message,
            initial_answers=pack_answers(first),
            **kwargs,
        )
        self._client = opened
        self._owns_client = owned
        self._context = context
        self._live = live
        self.on_msg(self._on_custom_message)

    @property
    def client(self) -> Client:
        """The Client this explorer reads."""
        return self._client

    def refresh(self) -> None:
        """Read the store's environments again and tell the view to fetch everything it shows again."""
        envs = self._client.envs()
        self.envs = envs if self.env in envs else [*envs, self.env]
        self.send({"kind": "refresh"})

    def close(self) -> None:
        live = getattr(self, "_live", None)
        if live is not None:
            live.stop()
        super().close()
        if getattr(self, "_owns_client", False):
            self._owns_client = False
            self._client.close()

    def __repr__(self) -> str:
        shown = f"workflow {self.workflow!r}" if self.workflow else "all workflows"
        run = f", run {self.selected_run}" if self.selected_run else ""
        return (
            f"<datatailr_jupyter.Explorer: {shown} in env {self.env!r}{run}, store {self.store_label!r}; "
            "an interactive run explorer, shown by Jupyter's widget display>"
        )

    # ------------------------------------------------------------ requests from the view

    def _push(self, notice: dict[str, Any]) -> None:
        if self.comm is None:  # closed: the feed stops at its next round
            return
        self.send(notice)

    def _on_custom_message(self, _widget: object, content: Any, _buffers: object) -> None:
        if isinstance(content, dict) and content.get("kind") == "live-subscribe":
            if self.initial_answers:  # the view has read them: a notebook saved with widget state need not keep them
                self.initial_answers = b""
            try:
                self._live.subscribe(parse_subscription(content.get("payload")))
            except InvalidArgumentError as exc:
                log.warning("ignoring a live-subscribe message: %s", exc)
            return
        if not isinstance(content, dict) or "id" not in content or "kind" not in content:
            log.warning("ignoring a message from the explorer view without kind and id: %.200r", content)
            return
        kind, request_id, payload = content["kind"], content["id"], content.get("payload")
        if kind in ASSET_KINDS:  # code the view loads on demand, as a binary buffer
            self.send(*asset_message(kind, request_id))
        elif kind in SLOW_KINDS:
            _worker_pool().submit(self._answer, kind, payload, request_id)
        else:
            self._answer(kind, payload, request_id)

    def _answer(self, kind: Any, payload: Any, request_id: Any) -> None:
        try:
            self.send(dispatch(self._client, kind, payload, request_id, self._context))
        except Exception:  # the comm is gone or broken: nobody is left to tell but the log
            log.exception("could not send the answer to %s request %r", kind, request_id)
