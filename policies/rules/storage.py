"""Cloud Storage buckets are never public: the reconciler's staging bucket holds export filter
files that list study UIDs of the stores.

A bucket must have uniform bucket-level access (no object ACLs, which IAM alone cannot see) and
public access prevention `enforced` (Google then refuses any allUsers / allAuthenticatedUsers grant,
whoever makes it, in or out of the stack); no bucket IAM resource may name the public or a whole
domain. Checkov's CKV_GCP_29 (uniform access) and CKV_GCP_114 (public access prevention) ask the
same of every bucket. Unknown values are left to `pulumi up`, when they are known.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

from ..base import describe, for_types
from ..tokens import STORAGE_BUCKET, STORAGE_IAM
from ..values import is_unknown
from .public_access import _grant_problems

ENFORCED = "enforced"


def _bucket_problems(props: dict) -> list[str]:
    problems = []
    uniform = props.get("uniformBucketLevelAccess")
    if not is_unknown(uniform) and uniform is not True:
        problems.append(f"uniformBucketLevelAccess is {uniform!r}: set it to true, so that access is IAM only "
                        "(object ACLs could make single objects public)")
    prevention = props.get("publicAccessPrevention")
    if not is_unknown(prevention) and (not isinstance(prevention, str) or prevention.strip().lower() != ENFORCED):
        problems.append(f"publicAccessPrevention is {prevention!r}: set it to 'enforced', so that no grant to "
                        "allUsers or allAuthenticatedUsers can ever take effect")
    return problems


@for_types(STORAGE_BUCKET, *STORAGE_IAM)
def _storage_not_public(props, args, report_violation) -> None:
    type_ = args.resource_type
    problems = _bucket_problems(props) if type_ == STORAGE_BUCKET else _grant_problems(STORAGE_IAM[type_], props)
    subject = f"{type_.rsplit(':', 1)[-1]} {describe(args)}"
    for problem in problems:
        report_violation(f"{subject}: {problem}", None)


POLICIES = [
    ResourceValidationPolicy(
        name="storage-bucket-not-public",
        description=(
            "Cloud Storage buckets have uniform bucket-level access and public access prevention enforced, "
            "and no bucket IAM grant names allUsers, allAuthenticatedUsers or a whole domain."
        ),
        validate=_storage_not_public,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
]
