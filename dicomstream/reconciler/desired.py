"""The desired state, derived once from a validated `StackConfig` (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from components.naming import TableRef

if TYPE_CHECKING:  # pragma: no cover
    from components.config import BigQueryDatasetConfig, StackConfig

DATA_EDITOR = "roles/bigquery.dataEditor"
JOB_USER = "roles/bigquery.jobUser"


@dataclass(frozen=True)
class DesiredStore:
    name: str
    resource: str  # projects/P/locations/L/datasets/D/dicomStores/S
    streams: tuple[TableRef, ...]

    @property
    def uris(self) -> tuple[str, ...]:
        return tuple(ref.uri for ref in self.streams)

    @property
    def path(self) -> str:
        """How differences name this store: `dicomStores[radiology]`."""
        return f"dicomStores[{self.name}]"


@dataclass(frozen=True, order=True)
class RequiredRole:
    """A role the Healthcare Service Agent needs: on a dataset, or (dataset None) on a project."""

    role: str
    project: str
    dataset: str | None = None

    @property
    def scope(self) -> str:
        return f"dataset {self.project}.{self.dataset}" if self.dataset else f"project {self.project}"


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

    @property
    def healthcare_dataset_name(self) -> str:
        return f"projects/{self.healthcare_project}/locations/{self.location}/datasets/{self.healthcare_dataset}"

    @property
    def destination_keys(self) -> tuple[tuple[str, str], ...]:
        """Datasets some store streams into, in declaration order."""
        used = {ref.dataset_key for store in self.stores for ref in store.streams}
        return tuple(d.key for d in self.datasets if d.key in used)

    @property
    def destination_projects(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(project for project, _ in self.destination_keys))

    def dataset(self, key: tuple[str, str]) -> "BigQueryDatasetConfig":
        return next(d for d in self.datasets if d.key == key)

    def tables(self) -> dict[TableRef, tuple[DesiredStore, ...]]:
        """Each destination table and the stores that stream into it (a table may have several)."""
        out: dict[TableRef, list[DesiredStore]] = {}
        for store in self.stores:
            for ref in store.streams:
                out.setdefault(ref, []).append(store)
        return {ref: tuple(stores) for ref, stores in out.items()}

    def dataset_label(self, project: str, dataset: str) -> str:
        """`dicom_metadata` when it lives in the Healthcare project, else `project.dataset`."""
        return dataset if project == self.healthcare_project else f"{project}.{dataset}"

    def store(self, name: str) -> DesiredStore:
        return next(s for s in self.stores if s.name == name)


def store_resource(project: str, location: str, dataset: str, store: str) -> str:
    return f"projects/{project}/locations/{location}/datasets/{dataset}/dicomStores/{store}"


def desired_from_config(cfg: "StackConfig") -> DesiredState:
    """Resource names, destinations and the agent's required roles for one validated stack."""
    hc = cfg.healthcare
    stores = tuple(
        DesiredStore(s.name, store_resource(hc.project, hc.location, hc.dataset, s.name), tuple(s.streams))
        for s in cfg.dicom_stores
    )
    roles = [RequiredRole(DATA_EDITOR, d.project, d.id) for d in cfg.destination_datasets()]
    roles += [RequiredRole(JOB_USER, p) for p in cfg.destination_projects()]
    return DesiredState(
        file=cfg.file,
        environment=cfg.environment,
        healthcare_project=hc.project,
        location=hc.location,
        healthcare_dataset=hc.dataset,
        stores=stores,
        datasets=cfg.bigquery_datasets,
        roles=tuple(roles),
    )
