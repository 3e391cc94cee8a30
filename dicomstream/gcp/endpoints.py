"""Endpoint overrides, defined once: the names `dicomstream sandbox up` prints and every client reads."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

HEALTHCARE_ENDPOINT_ENV = "DICOMSTREAM_HEALTHCARE_ENDPOINT"
BIGQUERY_ENDPOINT_ENV = "DICOMSTREAM_BIGQUERY_ENDPOINT"
RESOURCEMANAGER_ENDPOINT_ENV = "DICOMSTREAM_RESOURCEMANAGER_ENDPOINT"
STORAGE_ENDPOINT_ENV = "DICOMSTREAM_STORAGE_ENDPOINT"

HEALTHCARE_DEFAULT = "https://healthcare.googleapis.com"
RESOURCEMANAGER_DEFAULT = "https://cloudresourcemanager.googleapis.com"
STORAGE_DEFAULT = "https://storage.googleapis.com"


@dataclass(frozen=True)
class Endpoints:
    """Where the clients send requests. `None` means the real Google endpoint with real credentials."""

    healthcare: str | None = None
    bigquery: str | None = None
    resourcemanager: str | None = None
    storage: str | None = None  # Cloud Storage (an export's filterConfig file); the sandbox serves it too

    @property
    def is_local(self) -> bool:
        """True when any override is set: clients then use anonymous credentials."""
        return any((self.healthcare, self.bigquery, self.resourcemanager))

    def export_lines(self) -> list[str]:
        """Shell lines that make other `dicomstream` commands use these endpoints."""
        pairs = (
            (HEALTHCARE_ENDPOINT_ENV, self.healthcare),
            (BIGQUERY_ENDPOINT_ENV, self.bigquery),
            (RESOURCEMANAGER_ENDPOINT_ENV, self.resourcemanager),
            (STORAGE_ENDPOINT_ENV, self.storage),
        )
        return [f"export {name}={value}" for name, value in pairs if value]

    def as_env(self) -> dict[str, str]:
        pairs = (
            (HEALTHCARE_ENDPOINT_ENV, self.healthcare),
            (BIGQUERY_ENDPOINT_ENV, self.bigquery),
            (RESOURCEMANAGER_ENDPOINT_ENV, self.resourcemanager),
            (STORAGE_ENDPOINT_ENV, self.storage),
        )
        return {name: value for name, value in pairs if value}

    @classmethod
    def from_env(
        cls,
        healthcare: str | None = None,
        bigquery: str | None = None,
        resourcemanager: str | None = None,
        environ: dict[str, str] | None = None,
    ) -> "Endpoints":
        """Explicit values (e.g. command-line flags) win over the environment variables.

        The Resource Manager and Cloud Storage endpoints default to the Healthcare override: the
        sandbox serves all three.
        """
        env = os.environ if environ is None else environ
        hc = _checked(healthcare, "--healthcare-endpoint") or _checked(env.get(HEALTHCARE_ENDPOINT_ENV), HEALTHCARE_ENDPOINT_ENV)
        bq = _checked(bigquery, "--bigquery-endpoint") or _checked(env.get(BIGQUERY_ENDPOINT_ENV), BIGQUERY_ENDPOINT_ENV)
        rm = (_checked(resourcemanager, "--resourcemanager-endpoint")
              or _checked(env.get(RESOURCEMANAGER_ENDPOINT_ENV), RESOURCEMANAGER_ENDPOINT_ENV) or hc)
        gcs = _checked(env.get(STORAGE_ENDPOINT_ENV), STORAGE_ENDPOINT_ENV) or hc
        return cls(
            healthcare=hc.rstrip("/") if hc else None,
            bigquery=bq.rstrip("/") if bq else None,
            resourcemanager=rm.rstrip("/") if rm else None,
            storage=gcs.rstrip("/") if gcs else None,
        )


class EndpointError(ValueError):
    """An endpoint override that is not an http(s) URL: a configuration error, told before any call."""


def _checked(value: str | None, source: str) -> str | None:
    """`value` when it is an http(s) URL with a host and a valid port; `None` when unset or empty."""
    if not value:
        return None
    from dicomstream.gcp.rest import redact

    shown = redact(value)
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError when out of range or not a number
    except ValueError as exc:
        raise EndpointError(f"{source}: {shown!r} is not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError(f"{source}: {shown!r} is not an http(s) URL such as http://127.0.0.1:8080 "
                            "(`dicomstream sandbox up` prints the sandbox's)")
    if parts.path.strip("/") or parts.query or parts.fragment:
        # The clients add /v1/projects/...: a base ending in /v1 asks for /v1/v1/..., which every
        # API answers 404, and drift then reported every dataset missing.
        extra = parts.path.rstrip("/") + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")
        raise EndpointError(f"{source}: {shown!r} has a path ({redact(extra)!r}); give the base URL alone, such as "
                            f"{parts.scheme}://{parts.netloc.rpartition('@')[2]} (the clients add each API's own path)")
    return value
