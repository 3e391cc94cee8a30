"""The staging bucket's rule on its own (policies.testing.run_policy): never public."""

from __future__ import annotations

import pytest

from policies import POLICIES_BY_NAME
from policies.testing import UNKNOWN, run_policy

RULE = POLICIES_BY_NAME["storage-bucket-not-public"]
BUCKET = "gcp:storage/bucket:Bucket"
MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
BINDING = "gcp:storage/bucketIAMBinding:BucketIAMBinding"
POLICY = "gcp:storage/bucketIAMPolicy:BucketIAMPolicy"
AGENT = "serviceAccount:service-1@gcp-sa-healthcare.iam.gserviceaccount.com"
PRIVATE = {"name": "acme-imaging-dev-reconcile", "location": "US-CENTRAL1", "uniformBucketLevelAccess": True,
           "publicAccessPrevention": "enforced"}


def test_the_bucket_the_program_declares_passes_and_the_rule_blocks():
    assert RULE.enforcement_level.value == "mandatory"
    assert run_policy(RULE, BUCKET, PRIVATE, name="staging-bucket") == []


@pytest.mark.parametrize("field, value, words", [
    ("uniformBucketLevelAccess", False, "uniformBucketLevelAccess is False"),
    ("uniformBucketLevelAccess", None, "uniformBucketLevelAccess is None"),
    ("publicAccessPrevention", "inherited", "publicAccessPrevention is 'inherited'"),
    ("publicAccessPrevention", None, "publicAccessPrevention is None"),
])
def test_a_bucket_without_uniform_access_or_public_access_prevention_is_refused(field, value, words):
    props = {**PRIVATE, field: value} if value is not None else {k: v for k, v in PRIVATE.items() if k != field}
    (message,) = run_policy(RULE, BUCKET, props, name="staging-bucket")
    assert message.startswith("Bucket 'staging-bucket': ") and words in message


def test_unknown_settings_are_left_to_up():
    assert run_policy(RULE, BUCKET, {**PRIVATE, "uniformBucketLevelAccess": UNKNOWN,
                                     "publicAccessPrevention": UNKNOWN}) == []


@pytest.mark.parametrize("type_, props", [
    (MEMBER, {"bucket": "b", "role": "roles/storage.objectViewer", "member": "allUsers"}),
    (MEMBER, {"bucket": "b", "role": "roles/storage.objectViewer", "member": " AllAuthenticatedUsers "}),
    (MEMBER, {"bucket": "b", "role": "roles/storage.objectViewer", "member": "domain:gmail.com"}),
    (BINDING, {"bucket": "b", "role": "roles/storage.objectViewer", "members": [AGENT, "allUsers"]}),
    (POLICY, {"bucket": "b", "policyData": '{"bindings": [{"role": "roles/storage.admin", "members": ["allUsers"]}]}'}),
])
def test_a_public_or_domain_wide_bucket_grant_is_refused(type_, props):
    (message,) = run_policy(RULE, type_, props, name="grant")
    assert "would be granted to" in message and "grant the role to named users" in message


def test_the_agents_grant_passes():
    assert run_policy(RULE, MEMBER, {"bucket": "b", "role": "roles/storage.objectViewer", "member": AGENT}) == []
    assert run_policy(RULE, MEMBER, {"bucket": "b", "role": "roles/storage.objectViewer", "member": UNKNOWN}) == []
