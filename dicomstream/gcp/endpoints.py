"""Endpoint overrides, defined once: the names `dicomstream sandbox up` prints and every client reads."""

from __future__ import annotations

import os
from dataclasses import dataclass

HEALTHCARE_ENDPOINT_ENV = "DICOMSTREAM_HEALTHCARE_ENDPOINT"
BIGQUERY_ENDPOINT_ENV = "DICOMSTREAM_BIGQUERY_ENDPOINT"
RESOURCEMANAGER_ENDPOINT_ENV = "DICOMSTREAM_RESOURCEMANAGER_ENDPOINT"

HEALTHCARE_DEFAULT = "https://healthcare.googleapis.com"
RESOURCEMANAGER_DEFAULT = "https://cloudresourcemanager.googleapis.com"


@dataclass(frozen=True)
class Endpoints:
    """Where the clients send requests. `None` means the real Google endpoint with real credentials."""

    healthcare: str | None = None
    bigquery: str | None = None
    resourcemanager: str | None = None

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
        )
        return [f"export {name}={value}" for name, value in pairs if value]

    def as_env(self) -> dict[str, str]:
        pairs = (
            (HEALTHCARE_ENDPOINT_ENV, self.healthcare),
            (BIGQUERY_ENDPOINT_ENV, self.bigquery),
            (RESOURCEMANAGER_ENDPOINT_ENV, self.resourcemanager),
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

        The Resource Manager endpoint defaults to the Healthcare override: the sandbox serves both.
        """
        env = os.environ if environ is None else environ
        hc = healthcare or env.get(HEALTHCARE_ENDPOINT_ENV) or None
        bq = bigquery or env.get(BIGQUERY_ENDPOINT_ENV) or None
        rm = resourcemanager or env.get(RESOURCEMANAGER_ENDPOINT_ENV) or hc
        return cls(
            healthcare=hc.rstrip("/") if hc else None,
            bigquery=bq.rstrip("/") if bq else None,
            resourcemanager=rm.rstrip("/") if rm else None,
        )
