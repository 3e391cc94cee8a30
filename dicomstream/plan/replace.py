"""Which input changes make the provider replace a resource, for the types this project declares.

pulumi-gcp bridges the Terraform Google provider: a property marked `ForceNew` there is a
replace-on-change property in Pulumi. The table below was taken from the provider's resource
schemas (terraform-provider-google `google/services/*/resource_*.go`, and the pulumi-gcp 10.2.0
docstrings "Changing this forces a new resource"): e.g. `google_healthcare_dicom_store` has
`dataset` and `name` ForceNew ("Changing this property may recreate the Dicom store (removing all
data)"), `google_healthcare_dataset` `name`, `location`, `project`, `encryption_spec`. IAM member
resources replace on any change of their identity (parent, role, member, condition).
A type not listed here is updated in place.
"""

from __future__ import annotations

REPLACE_ON_CHANGES: dict[str, frozenset[str]] = {
    "gcp:healthcare/dicomStore:DicomStore": frozenset({"dataset", "name"}),
    "gcp:healthcare/dataset:Dataset": frozenset({"name", "location", "project", "encryptionSpec"}),
    "gcp:bigquery/dataset:Dataset": frozenset({"datasetId", "project", "location"}),
    "gcp:bigquery/datasetIamMember:DatasetIamMember": frozenset({"datasetId", "project", "role", "member", "condition"}),
    "gcp:projects/iAMMember:IAMMember": frozenset({"project", "role", "member", "condition"}),
    "gcp:projects/serviceIdentity:ServiceIdentity": frozenset({"project", "service"}),
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": frozenset({"cryptoKeyId", "role", "member", "condition"}),
    "gcp:logging/metric:Metric": frozenset({"project"}),
    "gcp:monitoring/alertPolicy:AlertPolicy": frozenset({"project"}),
    "gcp:projects/service:Service": frozenset({"project", "service"}),
    # components/propagation.py: a new trigger (grant) replaces the delay, so it waits again.
    "pulumi-python:dynamic:Resource": frozenset({"triggers"}),
}

# Replacing or deleting these deletes the DICOM instances they hold: flagged in every plan.
IMAGING_DATA_TYPES = frozenset({"gcp:healthcare/dicomStore:DicomStore", "gcp:healthcare/dataset:Dataset"})


def replace_reasons(type_: str, changed_paths: list[str]) -> list[str]:
    """The changed input paths that force `type_` to be replaced (top-level property match)."""
    keys = REPLACE_ON_CHANGES.get(type_, frozenset())
    return [path for path in changed_paths if _top_level(path) in keys]


def _top_level(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]
