"""Which input changes make the provider replace a resource, for the types this project declares.

pulumi-gcp bridges the Terraform Google provider, its beta build (pulumi-gcp's go.mod replaces
terraform-provider-google-beta with its upstream; the SDK's DicomStore has the beta-only
`stream_configs`): a field marked `ForceNew` there is a
replace-on-change property in Pulumi. Sources: terraform-provider-google-beta v7.45.0
(3dc173a397749158369ea839a2890d89f8c9c370) `google-beta/services/*/resource_*.go`, the IAM parent
schemas in `services/*/iam_*.go` and `tpgiamresource/resource_iam_member.go`; the same at the tags
checked from v7.0.0, and no CustomizeDiff forces new. tests/fixtures/reference/terraform-forcenew.json
records them and tests/plan/test_replace_reference.py holds this table equal to it, e.g.
`google_healthcare_dicom_store` replaces on `dataset`/`name` only ("Changing this property may
recreate the Dicom store (removing all data)"), `google_bigquery_dataset` also on
`external_dataset_reference`. IAM members have no Update: any change of their identity replaces.
A type not listed here is updated in place.
"""

from __future__ import annotations

REPLACE_ON_CHANGES: dict[str, frozenset[str]] = {
    "gcp:healthcare/dicomStore:DicomStore": frozenset({"dataset", "name"}),
    "gcp:healthcare/dataset:Dataset": frozenset({"name", "location", "project", "encryptionSpec"}),
    "gcp:bigquery/dataset:Dataset": frozenset({"datasetId", "project", "location", "externalDatasetReference"}),
    "gcp:bigquery/datasetIamMember:DatasetIamMember": frozenset({"datasetId", "project", "role", "member", "condition"}),
    "gcp:projects/iAMMember:IAMMember": frozenset({"project", "role", "member", "condition"}),
    "gcp:projects/serviceIdentity:ServiceIdentity": frozenset({"project", "service"}),
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": frozenset({"cryptoKeyId", "role", "member", "condition"}),
    "gcp:logging/metric:Metric": frozenset({"project"}),
    "gcp:monitoring/alertPolicy:AlertPolicy": frozenset({"project"}),
    "gcp:projects/service:Service": frozenset({"project", "service"}),
    # components/staging_bucket.py (with dicomstream:stagingBucket): a new name or location is a new bucket.
    "gcp:storage/bucket:Bucket": frozenset({"name", "location", "project", "enableObjectRetention",
                                            "hierarchicalNamespace", "customPlacementConfig", "retentionPolicy"}),
    "gcp:storage/bucketIAMMember:BucketIAMMember": frozenset({"bucket", "role", "member", "condition"}),
    # components/propagation.py: a new trigger (grant) replaces the delay, so it waits again.
    "pulumi-python:dynamic:Resource": frozenset({"triggers"}),
    # components/stream_configs.py: the streams of another store are another resource; an option
    # or a table changes in place (one PATCH of the whole list).
    "pulumi-python:dynamic/dicomstream:DicomStoreStreams": frozenset({"store"}),
}

# Replacing or deleting these deletes the DICOM instances they hold: flagged in every plan.
IMAGING_DATA_TYPES = frozenset({"gcp:healthcare/dicomStore:DicomStore", "gcp:healthcare/dataset:Dataset"})


def replace_reasons(type_: str, changed_paths: list[str]) -> list[str]:
    """The changed input paths that force `type_` to be replaced (top-level property match)."""
    keys = REPLACE_ON_CHANGES.get(type_, frozenset())
    return [path for path in changed_paths if _top_level(path) in keys]


def _top_level(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]
