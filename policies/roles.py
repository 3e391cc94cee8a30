# GENERATED from dicomstream/core/roles.py by `make sync-naming`: edit that file, not this copy.
# The policy pack is published alone (`pulumi policy publish` archives policies/ only).
"""The roles a stack grants and checks, defined once for the program, the reconciler, the sandbox
and (as a generated copy, `make sync-naming`) the policy pack.

The Healthcare Service Agent writes rows into each destination dataset (`dataEditor`, on the
dataset or its project) and runs load jobs in each destination project (`jobUser`). A grant of a
role that includes those permissions satisfies the need as well (`SATISFIED_BY`); dataset access
entries may still carry the legacy names (`WRITER` is what dataEditor maps to on a dataset).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

BIGQUERY_DATA_EDITOR = "roles/bigquery.dataEditor"
BIGQUERY_JOB_USER = "roles/bigquery.jobUser"
HEALTHCARE_SERVICE_AGENT = "roles/healthcare.serviceAgent"
KMS_ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
#: On the stack's staging bucket: the agent reads the export `filterConfig` files the reconciler writes there.
STORAGE_OBJECT_VIEWER = "roles/storage.objectViewer"

_BASIC = frozenset({"roles/editor", "roles/owner"})
#: Roles whose permissions include the required one's, by where they are granted.
SATISFIED_ON_DATASET: dict[str, frozenset[str]] = {
    BIGQUERY_DATA_EDITOR: frozenset({BIGQUERY_DATA_EDITOR, "roles/bigquery.dataOwner", "roles/bigquery.admin",
                                     "WRITER", "OWNER"}) | _BASIC,
}
SATISFIED_ON_PROJECT: dict[str, frozenset[str]] = {
    BIGQUERY_DATA_EDITOR: frozenset({BIGQUERY_DATA_EDITOR, "roles/bigquery.dataOwner", "roles/bigquery.admin"}) | _BASIC,
    BIGQUERY_JOB_USER: frozenset({BIGQUERY_JOB_USER, "roles/bigquery.user", "roles/bigquery.admin"}) | _BASIC,
}


@dataclass(frozen=True, order=True)
class RequiredRole:
    """A role the Healthcare Service Agent needs: on a dataset, or (dataset None) on a project."""

    role: str
    project: str
    dataset: str | None = None

    @property
    def scope(self) -> str:
        return f"dataset {self.project}.{self.dataset}" if self.dataset else f"project {self.project}"

    def satisfied_by(self, granted: str, *, on_project: bool = False) -> bool:
        """Whether `granted` (on this dataset, or with `on_project` on its project) covers this role."""
        table = SATISFIED_ON_PROJECT if on_project or self.dataset is None else SATISFIED_ON_DATASET
        return granted in table.get(self.role, frozenset({self.role}))


def agent_roles(destination_datasets: "Iterable[tuple[str, str]]") -> list[RequiredRole]:
    """dataEditor on each destination dataset `(project, id)`, then jobUser on each of their projects."""
    datasets = list(dict.fromkeys(destination_datasets))
    return ([RequiredRole(BIGQUERY_DATA_EDITOR, project, dataset) for project, dataset in datasets]
            + [RequiredRole(BIGQUERY_JOB_USER, project) for project in dict.fromkeys(p for p, _ in datasets)])
