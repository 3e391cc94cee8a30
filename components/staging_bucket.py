"""The reconciler's staging bucket: where `dicomstream reconcile` writes the export `filterConfig`
files that limit a snapshot to the studies that changed, and the grant that lets the Healthcare
Service Agent read them.

Never public (uniform bucket-level access, public access prevention enforced), objects deleted a
day after creation (a killed run's file does not linger), no soft delete. Grants are additive
`BucketIAMMember`s through the same `{role: {key: member}}` interface as every component.
"""

import re
from typing import NotRequired, Optional, TypedDict

import pulumi
import pulumi_gcp as gcp

from dicomstream.core import naming
from dicomstream.core.staging import OBJECT_AGE_DAYS, PUBLIC_ACCESS_PREVENTION, SOFT_DELETE_RETENTION_S

from .bigquery_dataset import _checked_labels
from .iam import grants, iam_problems
from .inputs import Checks, derive
from .renames import Component

TYPE = "dicomstream:index:StagingBucket"
# Regions (`us-central1`), dual- and multi-regions (`nam4`, `US`, `EU`), in either case.
_LOCATION_RE = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+[0-9]+)?|[A-Za-z]+[0-9]+")


def _location_problem(value: object) -> Optional[str]:
    if not isinstance(value, str) or not _LOCATION_RE.fullmatch(value):
        return f"{naming.shown(value)} is not a Cloud Storage location; use e.g. us-central1, europe-west4, US or EU"
    return None


class StagingBucketArgs(TypedDict):
    """A private Cloud Storage bucket for the reconciler's export filter files."""

    bucket_name: str
    """The bucket's globally unique name (plain: it names the bucket, which cannot be renamed)."""
    project: pulumi.Input[str]
    """The project that owns the DICOM stores (the export reads the file from there)."""
    location: pulumi.Input[str]
    """A Cloud Storage location; dicomstream gives the Healthcare dataset's (e.g. `us-central1`)."""
    labels: NotRequired[dict[str, pulumi.Input[str]]]
    iam: NotRequired[dict[str, dict[str, pulumi.Input[str]]]]
    """Additive grants on the bucket, `{role: {key: member}}`; the key names the grant resource."""
    protect: NotRequired[bool]
    """Protect the bucket (not its grants) from deletion by Pulumi."""


class StagingBucket(Component):
    """A private bucket whose objects expire after a day, and its additive grants."""

    bucket_name: pulumi.Output[str]
    url: pulumi.Output[str]
    """`gs://NAME`."""

    def __init__(self, name: str, args: StagingBucketArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, None, opts)
        checks = Checks(f"StagingBucket {name}")
        bucket_name = args.get("bucket_name")
        if not isinstance(bucket_name, str):
            checks.problem("bucket_name", "required, as a plain string: it names the bucket")
        else:
            checks.value(bucket_name, "bucket_name", naming.bucket_name_problem)
        project = checks.value(args.get("project"), "project", naming.project_id_problem)
        location = args.get("location")
        if location is None:
            checks.problem("location", "required: a Cloud Storage location such as us-central1")
        location = checks.value(location, "location", _location_problem)
        labels = _checked_labels(args.get("labels") or {}, checks)
        iam = args.get("iam") or {}
        for path, reason in iam_problems(iam):
            checks.problem(path, reason)
        checks.raise_if_any()

        self.bucket = gcp.storage.Bucket(
            name,
            gcp.storage.BucketArgs(
                name=bucket_name,
                project=project,
                location=derive(location, str.upper),
                labels=labels,
                uniform_bucket_level_access=True,
                public_access_prevention=PUBLIC_ACCESS_PREVENTION,
                lifecycle_rules=[gcp.storage.BucketLifecycleRuleArgs(
                    action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=gcp.storage.BucketLifecycleRuleConditionArgs(age=OBJECT_AGE_DAYS),
                )],
                soft_delete_policy=gcp.storage.BucketSoftDeletePolicyArgs(
                    retention_duration_seconds=SOFT_DELETE_RETENTION_S),
                force_destroy=False,
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=bool(args.get("protect"))),
        )
        self.iam_members: list[gcp.storage.BucketIAMMember] = [
            gcp.storage.BucketIAMMember(
                grant.name(name),
                gcp.storage.BucketIAMMemberArgs(bucket=self.bucket.name, role=grant.role, member=grant.member),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for grant in grants(iam)
        ]
        self.bucket_name = self.bucket.name
        self.url = pulumi.Output.concat("gs://", self.bucket.name)
        self.register_outputs({"bucketName": self.bucket_name, "url": self.url})
