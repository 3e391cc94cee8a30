"""One IAM interface for every component: `{role: {member key: member}}`, additive grants only.

Additive members (`*IamMember`) never remove grants made outside the stack, which matters in
hospital projects where security teams grant roles of their own. A BigQuery dataset's access list is
managed only through DatasetIamMember, never through the dataset's `accesses` field (the two fight
over the same ACL: pulumi-gcp issues 1898 and 3908).
"""

import re
from dataclasses import dataclass
from typing import Mapping

import pulumi

from .renames import renamed_from

# {role: {member key: member}}. The key (e.g. "agent") names the grant, because the member itself
# is often an output not known when the program registers the resource.
IamBindings = Mapping[str, Mapping[str, pulumi.Input[str]]]

_KEY_RE = re.compile(r"[a-z][a-z0-9-]*")
_ROLE_RE = re.compile(r"(?:roles|projects/[^/]+/roles|organizations/[0-9]+/roles)/[A-Za-z0-9_.]+")


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
        return renamed_from(f"{prefix}-{role_slug(self.role)}-{self.legacy_index}", resource_type, parent)


def iam_problems(iam: IamBindings, path: str = "iam") -> list[tuple[str, str]]:
    """Roles must be role names and member keys lowercase slugs (they name the grants)."""
    problems = []
    for role, members in iam.items():
        if not isinstance(role, str) or not _ROLE_RE.fullmatch(role):
            problems.append((f"{path}.{role}", "not a role name; expected roles/NAME or projects/P/roles/NAME"))
        for key in members:
            if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
                problems.append((f"{path}.{role}.{key}", "a member key must be a lowercase slug such as 'agent'"))
    return problems


def grants(iam: IamBindings) -> list[Grant]:
    """Every (role, member) of `iam`, roles sorted (checked first with `iam_problems`)."""
    return [Grant(role, key, member, index)
            for role in sorted(iam) for index, (key, member) in enumerate(iam[role].items())]
