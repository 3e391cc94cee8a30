"""The validated, resolved desired state that every consumer reads (no YAML, no validation here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from dicomstream.core.config.diagnostics import Issue
from dicomstream.core.naming import TableRef, dicom_store_name, healthcare_dataset_name
from dicomstream.core.roles import RequiredRole, agent_roles
from dicomstream.core.stream_options import V1, V1BETA1, StreamOptions


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
class StreamConfig:
    """One destination of a store: its table and its options (`schema`, `includeSourceStore`,
    `changeDataCapture`), with Google's defaults for what the stack file does not say."""

    table: TableRef
    options: StreamOptions = StreamOptions()

    @property
    def uri(self) -> str:
        return self.table.uri

    @property
    def schema(self) -> str:
        """`flattened` or `json`."""
        return self.options.schema

    @property
    def include_source_store(self) -> bool:
        return self.options.include_source_store

    @property
    def change_data_capture(self) -> bool:
        return self.options.change_data_capture

    def stream_config(self) -> dict:
        """The store's `streamConfigs[]` entry as Google's API names it (every option written out)."""
        return {"bigqueryDestination": self.options.destination(self.table.uri)}


@dataclass(frozen=True)
class DicomStoreConfig:
    name: str
    labels: Mapping[str, str]
    stream_configs: tuple[StreamConfig, ...]

    @property
    def streams(self) -> tuple[TableRef, ...]:
        """The destination tables, in the order written (what most consumers need)."""
        return tuple(s.table for s in self.stream_configs)

    def stream(self, table: TableRef) -> StreamConfig | None:
        return next((s for s in self.stream_configs if s.table == table), None)

    @property
    def api_version(self) -> str:
        """The Healthcare API version that carries every option of this store's streams."""
        return V1BETA1 if any(s.change_data_capture for s in self.stream_configs) else V1


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
    # A Cloud Storage bucket (in the stores' project) where `reconcile` writes the export
    # `filterConfig` files that limit a snapshot to the studies that changed; None: whole stores.
    staging_bucket: str | None = None

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

    def store(self, name: str) -> DicomStoreConfig:
        return next(s for s in self.dicom_stores if s.name == name)

    def stream(self, store: str, table: TableRef) -> StreamConfig | None:
        """The stream of store `store` into `table` (None when that store does not stream there)."""
        return self.store(store).stream(table)

    def table_options(self, table: TableRef) -> StreamOptions:
        """What the stores streaming into `table` agree on: its `schema` and `change_data_capture`
        (validation refuses disagreement). `include_source_store` is per store: see `stream`."""
        first = next(s for store in self.dicom_stores for s in store.stream_configs if s.table == table)
        return StreamOptions(first.schema, change_data_capture=first.change_data_capture)

    def table_schema(self, table: TableRef) -> str:
        """`flattened` or `json`."""
        return self.table_options(table).schema

    def table_cdc(self, table: TableRef) -> bool:
        """Whether `table` is kept current by change data capture (one row per instance, no `Type`)."""
        return self.table_options(table).change_data_capture

    def includes_source_store(self, store: str, table: TableRef) -> bool:
        """Whether the rows that `store` streams into `table` carry `SourceDicomStore`."""
        stream = self.stream(store, table)
        return bool(stream and stream.include_source_store)

    def required_roles(self) -> list[RequiredRole]:
        """What the Healthcare Service Agent must hold for every stream to write."""
        return agent_roles(d.key for d in self.destination_datasets())
