"""The validated, resolved desired state that every consumer reads (no YAML, no validation here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from dicomstream.core.config.diagnostics import Issue
from dicomstream.core.naming import TableRef, dicom_store_name, healthcare_dataset_name
from dicomstream.core.roles import RequiredRole, agent_roles


@dataclass(frozen=True)
class HealthcareConfig:
    project: str
    location: str
    dataset: str
    kms_key_name: str | None = None

    @property
    def dataset_name(self) -> str:
        """The Healthcare dataset's resource name, as the REST API spells it."""
        return healthcare_dataset_name(self.project, self.location, self.dataset)

    def store_name(self, store: str) -> str:
        return dicom_store_name(self.dataset_name, store)


@dataclass(frozen=True)
class BigQueryDatasetConfig:
    id: str
    project: str
    location: str | None
    kms_key_name: str | None = None
    existing: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.project, self.id)

    @property
    def full_id(self) -> str:
        return f"{self.project}.{self.id}"


@dataclass(frozen=True)
class DicomStoreConfig:
    name: str
    labels: Mapping[str, str]
    streams: tuple[TableRef, ...]


@dataclass(frozen=True)
class AlertsConfig:
    notification_channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class StackConfig:
    file: str
    environment: str
    gcp_project: str | None
    healthcare: HealthcareConfig
    bigquery_datasets: tuple[BigQueryDatasetConfig, ...]
    dicom_stores: tuple[DicomStoreConfig, ...]
    protect: bool
    alerts: AlertsConfig
    warnings: tuple[Issue, ...] = ()
    # False when the organisation enables APIs centrally: the program declares no projects.Service.
    enable_apis: bool = True

    def dataset(self, key: tuple[str, str]) -> BigQueryDatasetConfig:
        return next(d for d in self.bigquery_datasets if d.key == key)

    def destination_datasets(self) -> list[BigQueryDatasetConfig]:
        """Datasets that at least one store streams into, in declaration order."""
        used = {ref.dataset_key for store in self.dicom_stores for ref in store.streams}
        return [d for d in self.bigquery_datasets if d.key in used]

    def destination_projects(self) -> list[str]:
        """Projects that own a destination dataset (where the agent needs jobUser)."""
        return list(dict.fromkeys(d.project for d in self.destination_datasets()))

    def destinations(self) -> list[TableRef]:
        return list(self.tables())

    def tables(self) -> dict[TableRef, tuple[str, ...]]:
        """Each destination table and the stores streaming into it, in declaration order."""
        out: dict[TableRef, list[str]] = {}
        for store in self.dicom_stores:
            for ref in store.streams:
                out.setdefault(ref, []).append(store.name)
        return {ref: tuple(names) for ref, names in out.items()}

    def required_roles(self) -> list[RequiredRole]:
        """What the Healthcare Service Agent must hold for every stream to write."""
        return agent_roles(d.key for d in self.destination_datasets())
