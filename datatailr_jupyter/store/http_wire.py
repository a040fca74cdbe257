"""The wire under HttpRunStore: urllib3 keep-alive connections with retries and timeouts, the lean GET lane
(http_lane.py) in front of them, and fast decoding of records (run pages and lists: what explorers poll most).

``Transport.send`` turns every way of not getting an answer into one StoreUnavailableError that says why; answers
are read whole (``Answer``). requests was dropped here: its session machinery cost about 1 ms of CPU a call,
more than the server takes to answer a kept page. Plain-http GETs take the lane, retried with the same urllib3
``Retry`` objects, and go through urllib3 when the lane cannot read an answer. Run pages and record lists are
decoded with msgspec straight into the frozen records (several times faster than ``json.loads`` and
``from_dict``), and the general way when it objects.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import msgspec
import urllib3
from urllib3.exceptions import HTTPError as TransportError
from urllib3.exceptions import MaxRetryError, NewConnectionError, ReadTimeoutError
from urllib3.exceptions import TimeoutError as TransportTimeout
from urllib3.util.retry import Retry

from ..errors import InvalidArgumentError, StoreUnavailableError
from ..models import RunPage, _Record
from .http_lane import Lane, LaneError, LaneTimeout

__all__ = ["Answer", "Transport", "decode_list", "decode_page"]

_RETRY_STATUS = (429, 502, 503, 504)
_KEYED_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST"})
_USER_AGENT = "datatailr_jupyter-HttpRunStore"


def _retry(methods: frozenset[str] | None, attempts: int, backoff: float) -> Retry:
    options: dict[str, Any] = dict(
        total=attempts, connect=attempts, read=1, status=attempts, other=0, redirect=0, backoff_factor=backoff,
        backoff_max=10.0, status_forcelist=_RETRY_STATUS, respect_retry_after_header=True, raise_on_status=False,
    )  # fmt: skip
    if methods is not None:
        options["allowed_methods"] = methods
    try:
        return Retry(**options, retry_after_max=30)  # a Retry-After beyond 30 s is not waited for
    except TypeError:  # pragma: no cover - urllib3 before retry_after_max
        return Retry(**options)


class Answer:
    """An answer of the server, read whole: its status, reason, headers and body."""

    __slots__ = ("data", "headers", "reason", "status")

    def __init__(self, status: int, reason: str, headers: Mapping[str, str], data: bytes) -> None:
        self.status, self.reason, self.headers, self.data = status, reason, headers, data

    @classmethod
    def of(cls, response: urllib3.BaseHTTPResponse) -> Answer:
        return cls(response.status, response.reason or "", response.headers, response.data)

    def json(self) -> Any:
        return json.loads(self.data)


class Transport:
    """Requests to one server (``url`` without query): up to 32 keep-alive connections, through the proxy the
    environment names for it (HTTP(S)_PROXY, NO_PROXY), TLS verified against REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE
    or certifi's roots. Plain calls are retried when idempotent (or when they never reached the server); keyed
    calls (an Idempotency-Key) are retried whatever their method."""

    def __init__(
        self, url: str, token: str | None, timeout: tuple[float, float], attempts: int, backoff: float
    ) -> None:
        self.url, self.timeout = url, timeout
        self._plain = _retry(None, attempts, backoff)
        self._keyed = _retry(_KEYED_METHODS, attempts, backoff)
        self._headers = {"User-Agent": _USER_AGENT}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        options: dict[str, Any] = dict(
            maxsize=32, block=False, timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1])
        )
        if url.startswith("https:"):
            options.update(cert_reqs="CERT_REQUIRED", ca_certs=_ca_bundle())
        self._options = options
        self._open_pool()

    def _open_pool(self) -> None:
        proxy = _proxy_for(self.url)
        parts = urlsplit(self.url)
        self._lane: tuple[Lane, urllib3.HTTPConnectionPool] | None = None
        if proxy:
            manager = urllib3.ProxyManager(proxy, num_pools=2, **self._options)
            self._open: Callable[..., urllib3.BaseHTTPResponse] = manager.urlopen
            self._base = self.url
            self._close: Callable[[], None] = manager.clear
        else:  # the server's own pool, asked with paths: no per-call URL parsing nor pool lookup
            pool = urllib3.connection_from_url(self.url, **self._options)
            self._open = pool.urlopen
            self._base = parts.path
            self._close = pool.close
            if parts.scheme == "http" and Lane.usable(parts.path, self._headers):
                lane = Lane(parts.hostname or "", parts.port or 80, self._headers, self.timeout)
                self._lane = (lane, pool)

    def _lane_get(self, lane: Lane, pool: urllib3.HTTPConnectionPool, target: str) -> Answer | None:
        """``GET target`` through the lane, retried as urllib3 would (Retry: backoff, Retry-After, one more read
        after a timeout); None when the lane gave up and the request must go the general way."""
        retries = self._plain
        while True:
            try:
                status, reason, headers, data = lane.get(target)
            except LaneTimeout as exc:  # MaxRetryError once no read retry is left: send() says "did not answer"
                retries = retries.increment("GET", target, error=ReadTimeoutError(pool, target, str(exc)))
                retries.sleep()
                continue
            except LaneError:
                return None
            if not retries.is_retry("GET", status, "Retry-After" in headers):
                return Answer(status, reason, headers, data)
            response = urllib3.HTTPResponse(body=data, headers=headers, status=status, reason=reason)
            try:
                retries = retries.increment("GET", target, response=response)
            except MaxRetryError:
                return Answer(status, reason, headers, data)  # still busy after every retry: the caller says so
            retries.sleep(response)

    def send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        keyed: bool = False,
    ) -> Answer:
        """The server's answer (any status) to ``method path``; StoreUnavailableError when there is none.
        ``params``: the query (None values left out, lists repeated); ``body``: sent as JSON."""
        target = self._base + path
        if params:
            query = urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
            target = f"{target}?{query}" if query else target
        sent = self._headers if headers is None and body is None else {**self._headers, **(headers or {})}
        if body is not None:
            try:
                data = json.dumps(body, allow_nan=False, separators=(",", ":")).encode()
            except (TypeError, ValueError) as exc:
                raise InvalidArgumentError(f"the request cannot be sent as JSON: {exc}") from None
            sent["Content-Type"] = "application/json"
        retries = self._keyed if keyed else self._plain
        try:
            if self._lane is not None and method == "GET" and data is None and sent is self._headers:
                answer = self._lane_get(*self._lane, target)
                if answer is not None:
                    return answer
            response = self._open(method, target, body=data, headers=sent, retries=retries, redirect=False)
            return Answer.of(response)
        except (TransportError, OSError) as exc:
            if _timed_out(exc):
                raise StoreUnavailableError(
                    f"the run store server at {self.url} did not answer within {self.timeout[1]:g} s "
                    f"({_reason(exc)}); is it overloaded? try again"
                ) from None
            raise StoreUnavailableError(
                f"the run store server at {self.url} is not reachable ({_reason(exc)}): is `dt serve` running?"
            ) from None

    def close(self) -> None:
        """Close the connections; a later call opens new ones (as a requests session did)."""
        close, lane = self._close, self._lane
        self._open_pool()
        close()
        if lane is not None:
            lane[0].close()


def _proxy_for(url: str) -> str | None:
    parts = urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return urllib.request.getproxies().get(parts.scheme)


def _ca_bundle() -> str | None:
    found = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if found:
        return found
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi comes with requests
        return None  # the system's roots
    return str(certifi.where())


def _timed_out(exc: BaseException) -> bool:
    """Whether a transport error is a timeout (urllib3 counts a refused connection as a connect timeout: not here)."""
    cause = getattr(exc, "reason", None) or exc
    return isinstance(cause, TransportTimeout) and not isinstance(cause, NewConnectionError)


def _reason(exc: BaseException) -> str:
    """The innermost cause of a transport error, in a few words (connection refused, name not known, ...)."""
    seen = exc
    while True:
        inner = getattr(seen, "reason", None) or seen.__context__ or (seen.args[0] if seen.args else None)
        if not isinstance(inner, BaseException) or inner is seen:
            break
        seen = inner
    text = str(getattr(seen, "strerror", None) or seen)
    return " ".join(text.split())[:200]


# ------------------------------------------------------------ records

R = TypeVar("R", bound=_Record)
_PAGE = msgspec.json.Decoder(RunPage)
_LISTS: dict[type, msgspec.json.Decoder[Any]] = {}


def decode_page(data: bytes) -> RunPage:
    """A run page's JSON as RunPage, equal to ``RunPage.from_dict(json.loads(data))``, whose errors it raises for an
    answer msgspec refuses (a state this version does not know, a value of another type)."""
    try:
        return _PAGE.decode(data)
    except msgspec.ValidationError:
        return RunPage.from_dict(json.loads(data))


def decode_list(record: type[R]) -> Callable[[bytes], list[R]]:
    """A decoder of a JSON list of ``record`` (RunSummary, WorkflowInfo, ...), like decode_page."""
    if record not in _LISTS:
        _LISTS[record] = msgspec.json.Decoder(list[record])  # type: ignore[valid-type]

    def decode(data: bytes) -> list[R]:
        try:
            found: list[R] = _LISTS[record].decode(data)
        except msgspec.ValidationError:
            return [record.from_dict(r) for r in json.loads(data)]
        return found

    return decode
