"""One IAM interface for every component: `{role: [member, ...]}`, additive bindings only.

Additive members (`*IamMember`) never remove grants made outside the stack, which matters in
hospital projects where security teams grant roles of their own. A BigQuery dataset's access list is
managed only through DatasetIamMember, never through the dataset's `accesses` field (the two fight
over the same ACL: pulumi-gcp issues 1898 and 3908).
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

import pulumi

IamBindings = Mapping[str, Sequence[pulumi.Input[str]]]

BIGQUERY_DATA_EDITOR = "roles/bigquery.dataEditor"
BIGQUERY_JOB_USER = "roles/bigquery.jobUser"
HEALTHCARE_SERVICE_AGENT = "roles/healthcare.serviceAgent"
KMS_ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"


def role_slug(role: str) -> str:
    """`roles/bigquery.dataEditor` -> `bigquery-dataEditor`, for resource names."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", role.removeprefix("roles/")).strip("-")


def iam_pairs(iam: IamBindings) -> list[tuple[str, int, pulumi.Input[str]]]:
    """(role, index, member) for each binding, in a stable order so names never shuffle."""
    return [(role, i, member) for role in sorted(iam) for i, member in enumerate(iam[role])]
