"""One IAM interface for every component: `{role: [member, ...]}`, additive bindings only.

Additive members (`*IamMember`) never remove grants made outside the stack, which matters in
hospital projects where security teams grant roles of their own. A BigQuery dataset's access list is
managed only through DatasetIamMember, never through the dataset's `accesses` field (the two fight
over the same ACL: pulumi-gcp issues 1898 and 3908).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

import pulumi

from components.renames import renamed_from

# {role: {member key: member}}. The key (e.g. "agent") names the grant, because the member itself
# is often an output not known when the program registers the resource.
IamBindings = Mapping[str, Mapping[str, pulumi.Input[str]]]

BIGQUERY_DATA_EDITOR = "roles/bigquery.dataEditor"
BIGQUERY_JOB_USER = "roles/bigquery.jobUser"
HEALTHCARE_SERVICE_AGENT = "roles/healthcare.serviceAgent"
KMS_ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
_KEY_RE = re.compile(r"^[a-z][a-z0-9-]*$")


def role_slug(role: str) -> str:
    """`roles/bigquery.dataEditor` -> `bigquery-dataEditor`, for resource names."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", role.removeprefix("roles/")).strip("-")


@dataclass(frozen=True)
class Grant:
    """One additive grant: its logical name depends on the role and the member, never on a position."""

    role: str
    key: str
    member: pulumi.Input[str]
    # Its name in dicomstream 0.1.0, which numbered the members of a role (`...-dataEditor-0`).
    legacy_index: int

    def name(self, prefix: str) -> str:
        return f"{prefix}-{role_slug(self.role)}-{self.key}"

    def aliases(self, prefix: str, resource_type: type, parent: pulumi.Resource) -> list[str]:
        """The 0.1.0 name, so that a stack deployed by it updates in place (no delete-then-create gap)."""
        return [renamed_from(f"{prefix}-{role_slug(self.role)}-{self.legacy_index}", resource_type, parent)]


def grants(iam: IamBindings) -> list[Grant]:
    """Every (role, member) of `iam`, roles sorted; member keys must be lowercase slugs."""
    out = []
    for role in sorted(iam):
        for index, (key, member) in enumerate(iam[role].items()):
            if not _KEY_RE.match(key):
                raise ValueError(f"IAM member key {key!r} must be a lowercase slug such as 'agent'")
            out.append(Grant(role, key, member, index))
    return out
