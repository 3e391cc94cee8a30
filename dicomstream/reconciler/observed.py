"""A typed snapshot of what the APIs returned (built by `observe`, read by `plan`; no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from dicomstream.core.naming import TableRef

from dicomstream.core.roles import SATISFIED_ON_DATASET, SATISFIED_ON_PROJECT
from dicomstream.core.stream_options import StreamOptions


def member_of_email(email: str) -> str:
    """IAM member form of an e-mail found in a dataset access entry (`userByEmail`)."""
    kind = "serviceAccount" if email.endswith(".gserviceaccount.com") else "user"
    return f"{kind}:{email}"


@dataclass(frozen=True)
class ObservedStore:
    resource: str
    stream_uris: tuple[str, ...]
    destinations: Mapping[str, Mapping] = field(default_factory=dict)  # uri → its bigqueryDestination

    def option(self, uri: str, name: str) -> bool:
        """A destination's option as set (`includeSourceStore`, `schemaJson`, `changeDataCaptureConfig`)."""
        value = (self.destinations.get(uri) or {}).get(name)
        return value is not None and value is not False

    def options(self, uri: str) -> StreamOptions:
        """The destination's options as Google returned them (an absent field is its default)."""
        return StreamOptions.of_destination(self.destinations.get(uri) or {})


@dataclass(frozen=True)
class ObservedDataset:
    project: str
    dataset: str
    location: str | None
    grants: frozenset[tuple[str, str]] = frozenset()  # (role, member), members as `serviceAccount:x`

    @property
    def key(self) -> tuple[str, str]:
        return (self.project, self.dataset)


@dataclass(frozen=True)
class ObservedTable:
    ref: TableRef
    type: str = "TABLE"  # TABLE | VIEW
    view_query: str | None = None


@dataclass
class Observed:
    """Everything read in one run. Keys absent from a mapping were not read; `None` means not found."""

    healthcare_dataset_exists: bool = True
    stores: dict[str, ObservedStore | None] = field(default_factory=dict)  # by resource name
    datasets: dict[tuple[str, str], ObservedDataset | None] = field(default_factory=dict)
    project_roles: dict[str, Mapping[str, frozenset[str]]] = field(default_factory=dict)  # project → role → members
    agent_member: str | None = None  # serviceAccount:service-N@gcp-sa-healthcare.iam.gserviceaccount.com
    tables: dict[tuple[str, str], Mapping[str, ObservedTable]] = field(default_factory=dict)  # by dataset key
    listed: dict[str, list] = field(default_factory=dict)  # dataset resource name → its stores as listed

    def stream_option(self, uri: str, name: str) -> bool:
        """Whether any store streaming into `uri` sets that option on its destination."""
        return any(s is not None and s.option(uri, name) for s in self.stores.values())

    def table(self, ref: TableRef) -> ObservedTable | None:
        return self.tables.get(ref.dataset_key, {}).get(ref.table)

    def has_role(self, member: str, role: str, project: str, dataset: str | None = None) -> bool:
        """Effective: a dataset-level role, or a project-level one that includes it (unconditional)."""
        roles = self.project_roles.get(project, {})
        if any(member in roles.get(r, frozenset()) for r in SATISFIED_ON_PROJECT.get(role, frozenset({role}))):
            return True
        if dataset is not None:
            ds = self.datasets.get((project, dataset))
            accepted = SATISFIED_ON_DATASET.get(role, frozenset({role}))
            if ds is not None and any((r, member) in ds.grants for r in accepted):
                return True
        return False
