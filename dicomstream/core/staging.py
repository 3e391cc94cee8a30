"""The reconciler's staging bucket (`dicomstream:stagingBucket`): the settings the program declares
and the sandbox provisions, defined once.

The bucket holds only the export `filterConfig` files `reconcile` writes (lists of study paths,
deleted after each export): never public, and anything left behind by a killed run is gone a day
later. It sits in the Healthcare dataset's location: the export that reads the file runs there,
and the study UIDs it lists stay in the stores' region.
"""

from __future__ import annotations

from typing import Any, Mapping

#: Lifecycle rule: objects are deleted this many days after creation.
OBJECT_AGE_DAYS = 1
#: Cloud Storage's `iamConfiguration.publicAccessPrevention` value that refuses any public grant.
PUBLIC_ACCESS_PREVENTION = "enforced"
#: Soft delete off: a deleted filter file is worth nothing, and the default keeps it 7 days.
SOFT_DELETE_RETENTION_S = 0


def bucket_location(healthcare_location: str) -> str:
    """The bucket's location: the Healthcare dataset's (Cloud Storage takes region names as they are)."""
    return healthcare_location


def bucket_body(name: str, location: str, labels: Mapping[str, Any]) -> dict[str, Any]:
    """`buckets.insert`'s body with the settings the program declares (the sandbox's provision)."""
    return {
        "name": name,
        "location": bucket_location(location).upper(),
        "labels": dict(labels),
        "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True},
                             "publicAccessPrevention": PUBLIC_ACCESS_PREVENTION},
        "lifecycle": {"rule": [{"action": {"type": "Delete"}, "condition": {"age": OBJECT_AGE_DAYS}}]},
        "softDeletePolicy": {"retentionDurationSeconds": str(SOFT_DELETE_RETENTION_S)},
    }
