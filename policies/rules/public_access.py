"""No PHI for everyone: no Healthcare or BigQuery grant, and no project-level data role, may name
the public (`allUsers`, `allAuthenticatedUsers`, `principalSet://goog/public:all`) or a whole
domain (`domain:gmail.com`, an access entry's `domain`).

Covers what Checkov (CKV_GCP_15), Trivy (AVD-GCP-0046) and the CIS benchmark (7.1) check, and the
IAM resources they miss: every Member, Binding and Policy resource pulumi-gcp has on Healthcare
datasets and stores (the stores hold the images themselves) and on BigQuery datasets, tables,
routines, connections, data policies and Analytics Hub exchanges/listings; `accesses` entries,
DatasetAccess and row access policies' `grantees`; and project IAM with BigQuery, Healthcare,
basic or custom roles. These are resource policies, so `pulumi up` checks each grant, with every
value known, before creating it; a member unknown at preview is named by `checked-at-up`.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

from ..base import describe, for_types
from ..members import broad_access_entry, broad_member, iam_grants, is_data_role
from ..tokens import (
    BIGQUERY_IAM,
    BQ_DATASET,
    BQ_DATASET_ACCESS,
    BQ_ROW_ACCESS_POLICY,
    HEALTHCARE_IAM,
    PROJECT_IAM,
    ROW_ACCESS_GRANTEES,
)
from ..values import is_unknown, known_list

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
_REFUSED = "grant the role to named users, groups or service accounts instead"


def _access_problems(entry: object, where: str) -> list[str]:
    if not isinstance(entry, dict):
        return []
    problems = [f"{where}.{field} is {entry[field]!r}: the dataset would be readable by {who}; {_REFUSED}"
                for field, who in broad_access_entry(entry)]
    principal_set = any(entry.get(f) not in (None, "", [], {}) for f in _PRINCIPAL_FIELDS)
    if entry.get("role") and not is_unknown(entry.get("role")) and not principal_set:
        problems.append(
            f"{where} grants {entry['role']!r} with no principal (userByEmail, groupByEmail, "
            "domain, specialGroup, iamMember, view, dataset or routine); name who gets the role"
        )
    return problems


def _grant_problems(kind: str, props: dict, only_data_roles: bool = False) -> list[str]:
    problems = []
    for role, member, path in iam_grants(kind, props):
        who = broad_member(member)
        if who is None or (only_data_roles and not is_data_role(role)):
            continue
        role_text = role if isinstance(role, str) and not is_unknown(role) else "a role"
        if path == "policyData":
            problems.append(f"policyData binds {role_text} to {member!r}: it would be granted to {who}; {_REFUSED}")
        else:
            problems.append(f"{path} is {member!r}: {role_text} would be granted to {who}; {_REFUSED}")
    return problems


def _report(args, report_violation, problems: list[str]) -> None:
    subject = f"{args.resource_type.rsplit(':', 1)[-1]} {describe(args)}"
    for problem in problems:
        report_violation(f"{subject}: {problem}", None)


@for_types(BQ_DATASET, BQ_DATASET_ACCESS, BQ_ROW_ACCESS_POLICY, *BIGQUERY_IAM)
def _bigquery_not_public(props, args, report_violation) -> None:
    type_ = args.resource_type
    problems: list[str] = []
    if type_ == BQ_DATASET:
        for index, entry in enumerate(known_list(props.get("accesses")) or []):
            problems += _access_problems(entry, f"accesses[{index}]")
    elif type_ == BQ_DATASET_ACCESS:
        problems += _access_problems(props, "access")
    elif type_ == BQ_ROW_ACCESS_POLICY:
        problems += _grant_problems(ROW_ACCESS_GRANTEES, props)
    else:
        problems += _grant_problems(BIGQUERY_IAM[type_], props)
    _report(args, report_violation, problems)


@for_types(*HEALTHCARE_IAM)
def _healthcare_not_public(props, args, report_violation) -> None:
    _report(args, report_violation, _grant_problems(HEALTHCARE_IAM[args.resource_type], props))


@for_types(*PROJECT_IAM)
def _project_data_roles_not_public(props, args, report_violation) -> None:
    _report(args, report_violation, _grant_problems(PROJECT_IAM[args.resource_type], props, only_data_roles=True))


POLICIES = [
    ResourceValidationPolicy(
        name="bigquery-dataset-not-public",
        description=(
            "BigQuery datasets, tables, routines, connections, data policies and row access policies "
            "are never granted to allUsers, allAuthenticatedUsers or a whole domain, and every access "
            "entry names its principal."
        ),
        validate=_bigquery_not_public,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="healthcare-iam-not-public",
        description=(
            "Healthcare datasets and DICOM (FHIR, HL7v2, consent) stores are never granted to allUsers, "
            "allAuthenticatedUsers or a whole domain."
        ),
        validate=_healthcare_not_public,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="project-data-roles-not-public",
        description=(
            "No project-level BigQuery, Healthcare, basic or custom role is granted to allUsers, "
            "allAuthenticatedUsers or a whole domain."
        ),
        validate=_project_data_roles_not_public,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
