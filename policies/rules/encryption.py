"""Customer-managed encryption keys (CMEK) on the datasets that hold imaging data and metadata.

A key is a full Cloud KMS resource name (`projects/P/locations/L/keyRings/R/cryptoKeys/K`, the
stack model's rule): any other string (`"x"`) is no key at all. A key unknown at preview is
checked under `pulumi up`, when it is known (`checked-at-up` names it).
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

from ..base import describe, for_types
from ..naming import kms_key_problem
from ..tokens import BQ_DATASET, HEALTHCARE_DATASET
from ..values import dig, is_unknown


def _key_problem(props: dict, path: tuple[str, str], subject: str, fix: str) -> str | None:
    key = dig(props, *path)
    if is_unknown(key):
        return None
    field = ".".join(path)
    if key is None or (isinstance(key, str) and not key.strip()):
        return f"{subject} has no {field}; {fix}"
    problem = kms_key_problem(key)
    return f"{subject} {field}: {problem}" if problem else None


@for_types(BQ_DATASET)
def _bigquery_cmek(props, args, report_violation) -> None:
    problem = _key_problem(props, ("defaultEncryptionConfiguration", "kmsKeyName"), f"BigQuery dataset {describe(args)}",
                           "set kmsKeyName for it in the stack (dicomstream:bigquery.datasets[].kmsKeyName)")
    if problem:
        report_violation(problem, None)


@for_types(HEALTHCARE_DATASET)
def _healthcare_cmek(props, args, report_violation) -> None:
    problem = _key_problem(props, ("encryptionSpec", "kmsKeyName"), f"Healthcare dataset {describe(args)}",
                           "set dicomstream:healthcare.kmsKeyName (it can only be chosen when the dataset is created)")
    if problem:
        report_violation(problem, None)


POLICIES = [
    ResourceValidationPolicy(
        name="bigquery-dataset-cmek",
        description="BigQuery datasets are encrypted with a customer-managed key (defaultEncryptionConfiguration.kmsKeyName, a full key name).",
        validate=_bigquery_cmek,
        enforcement_level=EnforcementLevel.ADVISORY,
    ),
    ResourceValidationPolicy(
        name="healthcare-dataset-cmek",
        description="Healthcare datasets are encrypted with a customer-managed key (encryptionSpec.kmsKeyName, a full key name).",
        validate=_healthcare_cmek,
        enforcement_level=EnforcementLevel.ADVISORY,
    ),
]
