"""The REST transport shared by the Healthcare and Resource Manager clients.

google-auth's `AuthorizedSession` (application default credentials in the cloud, anonymous
credentials against the sandbox), google-api-core's retry on 429/500/503 and connection errors
with a bounded deadline, and errors raised as google-api-core exceptions (`NotFound`,
`Forbidden`, `BadRequest`, `Conflict`, `TooManyRequests`, ...) that carry Google's error body:
`exc.code`, `exc.message`, and `exc.status` (e.g. "PERMISSION_DENIED") via `google_status(exc)`.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any
from urllib.parse import urlparse

import requests
from google.api_core import exceptions as gexc
from google.api_core.retry import Retry, if_exception_type

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
DEFAULT_TIMEOUT_S = 30.0  # one HTTP request
DEFAULT_DEADLINE_S = 120.0  # all retries of one call

TRANSIENT = (
    gexc.TooManyRequests,
    gexc.InternalServerError,
    gexc.ServiceUnavailable,
    gexc.GatewayTimeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
)


log = logging.getLogger("dicomstream")


def default_retry(deadline: float = DEFAULT_DEADLINE_S, *, refused_is_final: bool = False, on_error=None) -> Retry:
    """Exponential backoff on transient errors (429, 500, 503, 504, connection, timeout).

    `refused_is_final`: a refused connection to a loopback endpoint means nothing listens there
    (the sandbox is not running); waiting out the deadline would only delay saying so.
    """
    transient = if_exception_type(*TRANSIENT)

    def predicate(exc: Exception) -> bool:
        return transient(exc) and not (refused_is_final and _refused(exc))

    return Retry(predicate=predicate, initial=0.25, maximum=8.0, multiplier=2.0, timeout=deadline, on_error=on_error)


def _refused(exc: BaseException) -> bool:
    return isinstance(exc, requests.exceptions.ConnectionError) and "refused" in str(exc).lower()


def is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host == "localhost" or host.startswith("127.") or host == "::1"


NO_RETRY = None


def google_status(exc: BaseException) -> str | None:
    """Google's status string of an API error (`PERMISSION_DENIED`, `NOT_FOUND`, ...)."""
    return getattr(exc, "status", None)


COLLECTIONS = frozenset({
    "projects", "locations", "datasets", "dicomStores", "operations", "dicomWeb", "studies", "series", "instances", "metadata",
})


def call_kind(method: str, path: str) -> str:
    """`"GET dicomStores"`, `"POST :export"`, `"GET instances"`: what `RestClient.calls` counts."""
    path = path.split("?")[0].rstrip("/")
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        return f"{method} :{last.rsplit(':', 1)[1]}"
    for segment in reversed(path.split("/")):
        if segment in COLLECTIONS:
            return f"{method} {segment}"
    return f"{method} {last}"


_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s:]*(?::[^/@\s]*)?@")
_TOKEN = re.compile(r"(?i)((?:access_token|token|key|password)=)[^&\s]+")


def redact(text: str) -> str:
    """`http://user:secret@host/x?access_token=abc` → `http://***@host/x?access_token=***`."""
    return _TOKEN.sub(r"\1***", _CREDENTIALS.sub(r"\1***@", text))


def is_google_error(exc: BaseException) -> bool:
    """The HTTP error carries Google's JSON error body (`{"error": {...}}`), not a plain web page.

    A plain web server answering 404 at a mistyped endpoint must not read as "does not exist".
    """
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        return bool(body)
    response = getattr(exc, "response", None)
    if response is None:
        return True  # not an HTTP answer we can check: trust its type
    try:
        return isinstance(response.json().get("error"), dict)
    except (ValueError, AttributeError):
        return False


def _raise_for(response: requests.Response) -> None:
    if response.status_code < 400:
        return
    exc = gexc.from_http_response(response)
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    exc.status = error.get("status")
    exc.body = error
    raise exc


def make_session(endpoint: str | None, credentials: Any = None) -> requests.Session:
    """An AuthorizedSession: anonymous against a local endpoint, ADC otherwise."""
    from google.auth.transport.requests import AuthorizedSession

    if credentials is None:
        if endpoint:
            from google.auth.credentials import AnonymousCredentials

            credentials = AnonymousCredentials()
        else:
            import google.auth

            credentials, _ = google.auth.default(scopes=SCOPES)
    return AuthorizedSession(credentials)


class RestClient:
    """JSON over an AuthorizedSession with retries; subclasses name the base URL."""

    def __init__(
        self,
        base_url: str,
        session: requests.Session | None = None,
        credentials: Any = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        deadline: float = DEFAULT_DEADLINE_S,
        local: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or make_session(base_url if local else None, credentials)
        self.timeout = timeout
        self.deadline = deadline
        self.calls: dict[str, int] = {}  # call_kind() -> count, for benchmarks and tests
        self._retry_noticed = False

    def _notice_retry(self, exc: BaseException) -> None:
        """Say once that calls are being retried, so a long wait is never silent."""
        if self._retry_noticed or (is_loopback(self.base_url) and _refused(exc)):
            return
        self._retry_noticed = True
        reason = getattr(exc, "message", None) or type(exc).__name__
        log.warning("%s: %s; retrying for up to %.0f s (--retry-deadline)",
                    urlparse(self.base_url).hostname, redact(str(reason).splitlines()[0][:200]), self.deadline)

    def _count(self, method: str, path: str) -> None:
        kind = call_kind(method, path)
        self.calls[kind] = self.calls.get(kind, 0) + 1

    def raw(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        data: bytes | None = None,
        json_body: Any = None,
        headers: dict | None = None,
        retry: Retry | None | bool = True,
    ) -> requests.Response:
        """One call (with retries unless `retry` is None/False); raises on 4xx/5xx."""
        url = path if path.startswith("http") else f"{self.base_url}/{path.lstrip('/')}"

        def once() -> requests.Response:
            self._count(method, path)
            body = data if json_body is None else json.dumps(json_body).encode()
            hdrs = dict(headers or {})
            if json_body is not None:
                hdrs.setdefault("Content-Type", "application/json; charset=utf-8")
            response = self.session.request(method, url, params=params, data=body, headers=hdrs, timeout=self.timeout)
            _raise_for(response)
            return response

        if retry is True:
            retry = default_retry(self.deadline, refused_is_final=is_loopback(self.base_url), on_error=self._notice_retry)
        if not retry:
            return once()
        return retry(once)()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """`raw` returning the decoded JSON body ({} when empty)."""
        response = self.raw(method, path, **kwargs)
        if not response.content:
            return {}
        return response.json()
