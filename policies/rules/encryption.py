"""Customer-managed encryption keys (CMEK) on the datasets that hold imaging data and metadata."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

from ..base import describe, for_types
from ..tokens import BQ_DATASET, HEALTHCARE_DATASET
from ..values import dig, is_unknown


def _has_key(props: dict, *path: str) -> bool:
    key = dig(props, *path)
    return is_unknown(key) or (isinstance(key, str) and bool(key.strip()))


@for_types(BQ_DATASET)
def _bigquery_cmek(props, args, report_violation) -> None:
    if not _has_key(props, "defaultEncryptionConfiguration", "kmsKeyName"):
        report_violation(
            f"BigQuery dataset {describe(args)} has no defaultEncryptionConfiguration.kmsKeyName; "
            "set kmsKeyName for it in the stack (dicomstream:bigquery.datasets[].kmsKeyName)",
            None,
        )


@for_types(HEALTHCARE_DATASET)
def _healthcare_cmek(props, args, report_violation) -> None:
    if not _has_key(props, "encryptionSpec", "kmsKeyName"):
        report_violation(
            f"Healthcare dataset {describe(args)} has no encryptionSpec.kmsKeyName; set "
            "dicomstream:healthcare.kmsKeyName (it can only be chosen when the dataset is created)",
            None,
        )


POLICIES = [
    ResourceValidationPolicy(
        name="bigquery-dataset-cmek",
        description="BigQuery datasets are encrypted with a customer-managed key (defaultEncryptionConfiguration.kmsKeyName).",
        validate=_bigquery_cmek,
        enforcement_level=EnforcementLevel.ADVISORY,
    ),
    ResourceValidationPolicy(
        name="healthcare-dataset-cmek",
        description="Healthcare datasets are encrypted with a customer-managed key (encryptionSpec.kmsKeyName).",
        validate=_healthcare_cmek,
        enforcement_level=EnforcementLevel.ADVISORY,
    ),
]
