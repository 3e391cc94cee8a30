"""The desired state, derived once from a validated `StackConfig` (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

from dicomstream.core.naming import TableRef, dataset_label
from dicomstream.core.roles import RequiredRole
from dicomstream.core.stream_options import V1, V1BETA1, StreamOptions

if TYPE_CHECKING:  # pragma: no cover
    from dicomstream.core.config import BigQueryDatasetConfig, StackConfig


@dataclass(frozen=True)
class DesiredStore:
    name: str
    resource: str  # projects/P/locations/L/datasets/D/dicomStores/S
    streams: tuple[TableRef, ...]
    options: tuple[StreamOptions, ...] = ()  # per stream, in the order of `streams` (empty: Google's defaults)

    @property
    def uris(self) -> tuple[str, ...]:
        return tuple(ref.uri for ref in self.streams)

    def option(self, uri: str) -> StreamOptions:
        """The stack's options for this store's stream into `uri` (Google's defaults when unsaid)."""
        for ref, opts in zip(self.streams, self.options):
            if ref.uri == uri:
                return opts
        return StreamOptions()

    @property
    def api_version(self) -> str:
        """The Healthcare API version that carries every option of this store's streams (CDC: v1beta1)."""
        return V1BETA1 if any(self.option(u).change_data_capture for u in self.uris) else V1

    @property
    def path(self) -> str:
        """How differences name this store: `dicomStores[radiology]`."""
        return f"dicomStores[{self.name}]"


@dataclass(frozen=True)
class DesiredState:
    file: str
    environment: str
    healthcare_project: str
    location: str
    healthcare_dataset: str
    stores: tuple[DesiredStore, ...]
    datasets: tuple["BigQueryDatasetConfig", ...]  # every declared BigQuery dataset, as the stack model has it
    roles: tuple[RequiredRole, ...]
    healthcare_dataset_name: str
    destination_keys: tuple[tuple[str, str], ...]  # datasets some store streams into, in declaration order
    destination_projects: tuple[str, ...]
    table_stores: Mapping[TableRef, tuple[str, ...]]  # StackConfig.tables()
    staging_bucket: str | None = None  # for export filter files (`localise.py`); None: whole stores

    def dataset(self, key: tuple[str, str]) -> "BigQueryDatasetConfig":
        return next(d for d in self.datasets if d.key == key)

    def tables(self) -> dict[TableRef, tuple[DesiredStore, ...]]:
        """Each destination table and the stores that stream into it (a table may have several)."""
        return {ref: tuple(map(self.store, names)) for ref, names in self.table_stores.items()}

    def dataset_label(self, project: str, dataset: str) -> str:
        return dataset_label(project, dataset, self.healthcare_project)

    def store(self, name: str) -> DesiredStore:
        return next(s for s in self.stores if s.name == name)


def desired_from_config(cfg: "StackConfig") -> DesiredState:
    """The stack model's resource names, destinations and required roles, in the reconciler's terms."""
    hc = cfg.healthcare
    stores = tuple(DesiredStore(s.name, hc.store_name(s.name), tuple(s.streams),
                                tuple(c.options for c in s.stream_configs)) for s in cfg.dicom_stores)
    return DesiredState(
        file=cfg.file,
        environment=cfg.environment,
        healthcare_project=hc.project,
        location=hc.location,
        healthcare_dataset=hc.dataset,
        stores=stores,
        datasets=cfg.bigquery_datasets,
        roles=tuple(cfg.required_roles()),
        healthcare_dataset_name=hc.dataset_name,
        destination_keys=tuple(d.key for d in cfg.destination_datasets()),
        destination_projects=tuple(cfg.destination_projects()),
        table_stores=cfg.tables(),
        staging_bucket=cfg.staging_bucket,
    )
