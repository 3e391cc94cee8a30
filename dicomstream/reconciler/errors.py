"""Errors the commands turn into one line and an exit code, and the retry policies for them."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from google.api_core import exceptions as gexc
from google.api_core.retry import Retry

ADC_HINT = ("no application default credentials: run `gcloud auth application-default login` "
            "(or set GOOGLE_APPLICATION_CREDENTIALS), or point --healthcare-endpoint/--bigquery-endpoint at a sandbox")


class CannotRead(Exception):
    """The APIs could not be read (auth, network, permission): exit 4 with this one line."""


class ActionFailed(Exception):
    """One action could not be applied; the message says which and why."""


def is_quota(exc: BaseException) -> bool:
    """403/429 quota errors: Google's RESOURCE_EXHAUSTED status or BigQuery's rateLimitExceeded reason."""
    if not isinstance(exc, (gexc.Forbidden, gexc.TooManyRequests)):
        return False
    status = getattr(exc, "status", None) or ""
    reasons = {e.get("reason") for e in (getattr(exc, "errors", None) or []) if isinstance(e, dict)}
    text = str(exc)
    return (status == "RESOURCE_EXHAUSTED" or bool(reasons & {"rateLimitExceeded", "quotaExceeded"})
            or "RESOURCE_EXHAUSTED" in text or "rateLimitExceeded" in text or "Quota exceeded" in text)


def is_agent_not_ready(exc: BaseException) -> bool:
    """The service could not verify the destination for the Healthcare Service Agent (IAM not yet propagated)."""
    if not isinstance(exc, gexc.Forbidden) or is_quota(exc):
        return False
    text = str(exc).lower()
    return "failed to verify dataset" in text or "service agent" in text


@dataclass
class Waits:
    """Bounded waits in seconds (first interval, then exponential backoff); tests shorten them."""

    iam_propagation: float = 300.0
    iam_poll: float = 2.0
    quota: float = 120.0
    quota_poll: float = 1.0
    export: float = 3600.0
    export_poll: float = 0.1


def quota_retry(waits: Waits) -> Retry:
    """Quota errors recover in seconds to minutes: back off (bounded) before giving up."""
    return Retry(predicate=is_quota, initial=waits.quota_poll, maximum=30.0, multiplier=2.0, timeout=waits.quota)


def propagation_retry(waits: Waits) -> Retry:
    """After a grant, IAM takes minutes to reach the Healthcare API: wait (bounded) on its 403."""
    return Retry(predicate=is_agent_not_ready, initial=waits.iam_poll, maximum=30.0, multiplier=1.5,
                 timeout=waits.iam_propagation)


def describe_read_error(exc: BaseException, what: str) -> str:
    return describe_error(exc, what, "read")


def describe_error(exc: BaseException, what: str, verb: str = "read") -> str:
    """One line for a failed read (or apply); no traceback, no credentials."""
    from dicomstream.gcp.rest import redact

    return redact(_describe(exc, what, verb))


def _describe(exc: BaseException, what: str, verb: str) -> str:
    import requests
    from google.auth import exceptions as auth_exc

    from dicomstream.gcp.rest import is_google_error, is_loopback

    if isinstance(exc, auth_exc.InvalidOperation):  # a 401 with anonymous credentials (endpoint override)
        return (f"cannot {verb} {what}: not authenticated (401): the endpoint refused anonymous credentials; "
                "is it really a dicomstream sandbox?")
    if isinstance(exc, auth_exc.DefaultCredentialsError):
        return ADC_HINT
    if isinstance(exc, auth_exc.RefreshError):
        return f"cannot {verb} {what}: the credentials were refused ({_first_line(exc)}); run `gcloud auth application-default login`"
    if isinstance(exc, gexc.RetryError):
        cause = exc.cause
        if cause is None or isinstance(cause, gexc.RetryError):
            return f"cannot {verb} {what}: gave up after retrying"
        said = _describe(cause, what, verb).removeprefix(f"cannot {verb} {what}: ")
        return f"cannot {verb} {what}: gave up after retrying: {said}"
    if isinstance(exc, (requests.exceptions.ConnectionError, ConnectionError)):
        request = getattr(exc, "request", None)
        url = getattr(request, "url", "") or ""
        if "refused" in str(exc).lower() and is_loopback(url):
            return (f"cannot {verb} {what}: nothing listens at {urlparse(url).hostname}:{urlparse(url).port}; is the sandbox running? "
                    "(`dicomstream sandbox status`; `dicomstream sandbox up` prints the endpoints)")
        where = f" to {urlparse(url).hostname}" if urlparse(url).hostname else ""
        return f"cannot {verb} {what}: cannot connect{where}: {_connection_problem(exc)}"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"cannot {verb} {what}: the request timed out"
    if isinstance(exc, gexc.Unauthorized):
        return f"cannot {verb} {what}: not authenticated (401): check the credentials; run `gcloud auth application-default login`"
    if isinstance(exc, gexc.Forbidden):
        if is_quota(exc):
            return f"cannot {verb} {what}: quota exhausted even after backing off: {_message(exc)}"
        return f"cannot {verb} {what}: permission denied: {_message(exc)}"
    if isinstance(exc, gexc.NotFound) and not is_google_error(exc):
        return (f"cannot {verb} {what}: the endpoint answered 404 without a Google API error: is it really "
                "the API (check --healthcare-endpoint / --bigquery-endpoint)?")
    if isinstance(exc, gexc.GoogleAPICallError):
        return f"cannot {verb} {what}: {exc.code} {_message(exc)}"
    return f"cannot {verb} {what}: {type(exc).__name__}: {_first_line(exc)}"


_CONNECTION_PROBLEMS = (
    (("nameresolution", "name or service not known", "nodename nor servname", "getaddrinfo"),
     "the host name does not resolve (check the endpoint, the network, DNS)"),
    (("refused",), "the connection was refused"),
    (("timed out", "timeout"), "the connection timed out"),
    (("unreachable",), "the network is unreachable"),
    (("certificate", "ssl"), "the TLS handshake failed (certificate or proxy)"),
    (("remotedisconnected", "connection aborted", "reset by peer"), "the server closed the connection"),
)


def _connection_problem(exc: BaseException) -> str:
    """What went wrong, in words: requests' text ("HTTPSConnectionPool(host=...): Max retries
    exceeded with url: ... (Caused by NameResolutionError(...))") is the library's, not the user's."""
    text = str(exc).lower()
    return next((words for needles, words in _CONNECTION_PROBLEMS if any(n in text for n in needles)),
                "the connection failed")


def _message(exc: gexc.GoogleAPICallError) -> str:
    return _first_line(getattr(exc, "message", None) or exc)


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
