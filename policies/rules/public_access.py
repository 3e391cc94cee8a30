"""No public BigQuery data: the dataset ACL, dataset IAM and table IAM may not name everyone.

Covers what Checkov (CKV_GCP_15), Trivy (AVD-GCP-0046) and the CIS benchmark (7.1) check, and the
IAM resources they miss: `accesses` entries (`specialGroup` or `iamMember`), DatasetAccess,
Dataset/Table IamMember, IamBinding and IamPolicy (`policyData` bindings).
"""

from __future__ import annotations


from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

from ..base import describe, for_types
from ..tokens import (
    BQ_DATASET,
    BQ_DATASET_ACCESS,
    BQ_DATASET_IAM_BINDING,
    BQ_DATASET_IAM_MEMBER,
    BQ_DATASET_IAM_POLICY,
    BQ_TABLE_IAM_BINDING,
    BQ_TABLE_IAM_MEMBER,
    BQ_TABLE_IAM_POLICY,
)
from ..values import is_unknown, known_list, known_str, policy_bindings

PUBLIC_PRINCIPALS = frozenset({"allusers", "allauthenticatedusers", "principalset://goog/public:all"})

# An access entry grants its role to exactly one of these; with none, the role is granted to no
# one the API can name (Checkov CKV_GCP_15 rejects such an entry).
_PRINCIPAL_FIELDS = (
    "userByEmail",
    "groupByEmail",
    "domain",
    "specialGroup",
    "iamMember",
    "view",
    "dataset",
    "routine",
)


def is_public(member: object) -> bool:
    """Whether an IAM member or special group means "anyone" (unknowns are not public)."""
    text = known_str(member)
    return text is not None and text.strip().lower() in PUBLIC_PRINCIPALS


def _access_problems(entry: object, where: str) -> list[str]:
    if not isinstance(entry, dict):
        return []
    problems = []
    for field in ("specialGroup", "iamMember"):
        if is_public(entry.get(field)):
            problems.append(
                f"{where}.{field} is {entry[field]!r}: the dataset would be readable by anyone; "
                "grant the role to named users, groups or service accounts instead"
            )
    principal_set = any(entry.get(f) not in (None, "", [], {}) for f in _PRINCIPAL_FIELDS)
    if entry.get("role") and not is_unknown(entry.get("role")) and not principal_set:
        problems.append(
            f"{where} grants {entry['role']!r} with no principal (userByEmail, groupByEmail, "
            "domain, specialGroup, iamMember, view, dataset or routine); name who gets the role"
        )
    return problems


def _policy_data_members(policy_data: object) -> list[tuple[str, str]]:
    """(role, member) pairs of an IAM policy JSON document; unknown or malformed gives none."""
    return [(str(role or ""), member) for role, member in policy_bindings(policy_data) or []]


@for_types(
    BQ_DATASET,
    BQ_DATASET_ACCESS,
    BQ_DATASET_IAM_MEMBER,
    BQ_DATASET_IAM_BINDING,
    BQ_DATASET_IAM_POLICY,
    BQ_TABLE_IAM_MEMBER,
    BQ_TABLE_IAM_BINDING,
    BQ_TABLE_IAM_POLICY,
)
def _not_public(props, args, report_violation) -> None:
    kind = args.resource_type.rsplit(":", 1)[-1]
    subject = f"{kind} {describe(args)}"
    problems: list[str] = []
    if args.resource_type == BQ_DATASET:
        for index, entry in enumerate(known_list(props.get("accesses")) or []):
            problems += _access_problems(entry, f"accesses[{index}]")
    elif args.resource_type == BQ_DATASET_ACCESS:
        problems += _access_problems(props, "access")
    elif args.resource_type in (BQ_DATASET_IAM_MEMBER, BQ_TABLE_IAM_MEMBER):
        if is_public(props.get("member")):
            problems.append(f"member is {props['member']!r}: {props.get('role', 'the role')} would be granted to anyone")
    elif args.resource_type in (BQ_DATASET_IAM_BINDING, BQ_TABLE_IAM_BINDING):
        for index, member in enumerate(known_list(props.get("members")) or []):
            if is_public(member):
                problems.append(f"members[{index}] is {member!r}: {props.get('role', 'the role')} would be granted to anyone")
    else:
        for role, member in _policy_data_members(props.get("policyData")):
            if is_public(member):
                problems.append(f"policyData binds {role or 'a role'} to {member!r}: it would be granted to anyone")
    for problem in problems:
        report_violation(f"{subject}: {problem}", None)


POLICIES = [
    ResourceValidationPolicy(
        name="bigquery-dataset-not-public",
        description=(
            "BigQuery datasets and tables holding DICOM metadata are never granted to allUsers or "
            "allAuthenticatedUsers, and every access entry names its principal."
        ),
        validate=_not_public,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
