"""BigQuery client factory with an endpoint override (the sandbox's emulator) and bounded retries."""

from __future__ import annotations

from google.api_core.retry import Retry

# The emulator (and a wrong endpoint) can make the library's default retry spin for 600 s.
DEFAULT_DEADLINE_S = 30.0


def retry(deadline: float = DEFAULT_DEADLINE_S) -> Retry:
    """The library's default retry predicate with a short, bounded deadline."""
    from google.cloud.bigquery.retry import DEFAULT_RETRY

    return DEFAULT_RETRY.with_deadline(deadline)


def make_client(project: str, endpoint: str | None = None, location: str | None = None):
    """A `bigquery.Client` for `project`; anonymous against `endpoint` when one is given."""
    from google.cloud import bigquery

    if endpoint:
        from google.auth.credentials import AnonymousCredentials

        return bigquery.Client(
            project=project,
            location=location,
            client_options={"api_endpoint": endpoint},
            credentials=AnonymousCredentials(),
        )
    return bigquery.Client(project=project, location=location)
