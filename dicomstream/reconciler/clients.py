"""The shared API clients wired for one run: endpoints (flags > env > Google), credentials,
and a count of HTTP calls by kind (for the benchmark and the tests)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from dicomstream.gcp.endpoints import Endpoints
from dicomstream.reconciler.errors import ADC_HINT, CannotRead
from dicomstream.reconciler.tables import Tables

_BQ_ID = re.compile(r"^/bigquery/v2/")


def _bigquery_kind(method: str, path: str) -> str:
    """`GET datasets`, `POST queries`, `POST insertAll`...: the collection, not the ids."""
    parts = _BQ_ID.sub("", path.split("?")[0]).strip("/").split("/")
    # projects/P/datasets/D/tables/T/insertAll → collections at even positions
    kinds = [p for i, p in enumerate(parts) if i % 2 == 0]
    return f"{method} {kinds[-1] if kinds else path}"


@dataclass
class Clients:
    healthcare: Any
    resourcemanager: Any
    tables: Tables
    endpoints: Endpoints
    bigquery_calls: Counter = field(default_factory=Counter)
    storage: Any = None  # gcp.storage.StorageClient (export filter files)

    def calls(self) -> dict[str, int]:
        """HTTP calls made so far, by service and kind (every retry counts)."""
        out: dict[str, int] = {}
        for service, counter in (("healthcare", self.healthcare.calls), ("resourcemanager", self.resourcemanager.calls),
                                 ("bigquery", self.bigquery_calls),
                                 ("storage", self.storage.calls if self.storage is not None else {})):
            for kind, n in sorted(counter.items()):
                out[f"{service} {kind}"] = n
        return out

    def total_calls(self) -> int:
        return sum(self.calls().values())


def _check_adc() -> None:
    import google.auth
    from google.auth import exceptions as auth_exc

    try:
        google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    except auth_exc.DefaultCredentialsError as exc:
        raise CannotRead(ADC_HINT) from exc


def connect(endpoints: Endpoints, default_project: str, *, timeout: float = 30.0, deadline: float = 120.0,
            bigquery_deadline: float = 30.0, bigquery_timeout: float | None = None) -> Clients:
    """Clients against the sandbox (anonymous) or Google (application default credentials)."""
    from dicomstream.gcp.bigquery import make_client
    from dicomstream.gcp.healthcare import HealthcareClient
    from dicomstream.gcp.resourcemanager import ResourceManagerClient
    from dicomstream.gcp.storage import StorageClient

    if not (endpoints.healthcare and endpoints.bigquery and endpoints.resourcemanager):
        _check_adc()
    healthcare = HealthcareClient(endpoints.healthcare, timeout=timeout, deadline=deadline)
    resourcemanager = ResourceManagerClient(endpoints.resourcemanager, timeout=timeout, deadline=deadline)
    counter: Counter = Counter()
    cache: dict[str, Any] = {}

    def count(response, *args, **kwargs):  # requests response hook
        counter[_bigquery_kind(response.request.method, response.request.path_url)] += 1

    def client_for(project: str):
        if project not in cache:
            client = make_client(project, endpoints.bigquery)
            client._http.hooks["response"].append(count)  # noqa: SLF001 - the library's requests session
            cache[project] = client
        return cache[project]

    client_for(default_project)
    storage = StorageClient(endpoints.storage, timeout=timeout, deadline=deadline)
    # Google answers a `jobs.query` within its `timeoutMs` (the request timeout minus 0.25 s) and the
    # client then polls, so 30 s per request is plenty. The sandbox's emulator answers only when the
    # statement is done: a caller whose statements take longer there (the benchmark's 50 stores on
    # a loaded machine) passes `bigquery_timeout` derived from its work.
    tables = Tables(client_for, deadline=bigquery_deadline, timeout=bigquery_timeout or 30.0)
    return Clients(healthcare, resourcemanager, tables, endpoints, counter, storage)
