"""The reconciler's staging bucket as the real program declares it (`dicomstream:stagingBucket`),
captured under recording mocks: one private bucket per stack in the stores' project and location,
objects gone after a day, the agent may read, the storage API first."""

from __future__ import annotations

import pytest

from dicomstream.capture import PROJECT_ROOT, run_program
from dicomstream.core.config import load_stack, read_stack_document, stack_file
from tests.ordering import resource_waits_for

FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
SERVICE = "gcp:projects/service:Service"
IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"
COMPONENT = "dicomstream:index:StagingBucket"
NAME = "acme-imaging-reconcile"


def document(stack: str, **extra) -> dict:
    return {**read_stack_document(stack_file(stack, FIXTURES)), **{f"dicomstream:{k}": v for k, v in extra.items()}}


def captured(stack: str, **extra):
    capture = run_program(document(stack, **extra), stack=stack)
    assert capture.error is None, capture.error
    return capture


@pytest.fixture(scope="module", params=["dev", "prod"])
def with_bucket(request):
    return load_stack(request.param, FIXTURES), captured(request.param, stagingBucket=NAME)


def test_one_private_bucket_in_the_stores_project_and_location(with_bucket):
    config, capture = with_bucket
    (bucket,) = capture.of_type(BUCKET)
    assert bucket.inputs == {
        "name": NAME,
        "project": config.healthcare.project,
        "location": config.healthcare.location.upper(),  # us-central1: where the export that reads the file runs
        "uniformBucketLevelAccess": True,
        "publicAccessPrevention": "enforced",
        "lifecycleRules": [{"action": {"type": "Delete"}, "condition": {"age": 1}}],
        "softDeletePolicy": {"retentionDurationSeconds": 0},
        "forceDestroy": False,
        "labels": {"environment": config.environment, "managed-by": "dicomstream"},
    }
    assert bucket.protect == config.protect  # prod protects it like its datasets, dev does not
    (component,) = capture.of_type(COMPONENT)
    assert bucket.parent == component.urn
    assert capture.outputs["stagingBucketUrl"] == f"gs://{NAME}"


def test_the_agent_may_read_the_filter_files_and_nothing_more(with_bucket):
    _, capture = with_bucket
    (bucket,) = capture.of_type(BUCKET)
    (identity,) = capture.of_type(IDENTITY)
    (grant,) = capture.of_type(BUCKET_MEMBER)
    assert grant.inputs == {"bucket": NAME, "role": "roles/storage.objectViewer", "member": identity.outputs["member"]}
    assert grant.name == "staging-bucket-storage-objectViewer-agent"
    assert bucket.urn in grant.dependencies and not grant.protect


def test_the_storage_api_is_enabled_first(with_bucket):
    config, capture = with_bucket
    (bucket,) = capture.of_type(BUCKET)
    services = {s.inputs["service"]: s for s in capture.of_type(SERVICE) if s.inputs["project"] == config.healthcare.project}
    assert "storage.googleapis.com" in services
    assert services["storage.googleapis.com"].urn in resource_waits_for(bucket, capture.by_urn())


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_without_the_key_no_bucket_and_no_storage_api(stack):
    capture = captured(stack)
    assert not capture.of_type(BUCKET) and not capture.of_type(BUCKET_MEMBER) and not capture.of_type(COMPONENT)
    assert "storage.googleapis.com" not in {s.inputs["service"] for s in capture.of_type(SERVICE)}
    assert "stagingBucketUrl" not in capture.outputs


def test_with_apis_enabled_centrally_the_bucket_is_still_declared():
    capture = captured("dev", stagingBucket=NAME, enableApis=False)
    assert not capture.of_type(SERVICE)
    (bucket,) = capture.of_type(BUCKET)
    assert bucket.inputs["name"] == NAME and capture.of_type(BUCKET_MEMBER)


def test_a_bad_bucket_name_fails_before_any_resource_with_the_file_and_the_key():
    capture = run_program(document("dev", stagingBucket="gs://Acme"), stack="dev")
    assert capture.error is not None and capture.resources == []
    assert "stacks/Pulumi.dev.yaml: stagingBucket: 'gs://Acme' is not a Cloud Storage bucket name" in capture.error
