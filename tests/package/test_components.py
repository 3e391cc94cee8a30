"""DicomStreaming as a user's program calls it: Outputs where projects are created in the program,
every problem of the args at once, and nothing turned into text (PULUMI_ERROR_OUTPUT_STRING=1)."""

from __future__ import annotations

import json

from dicomstream.capture import run_program

OUTPUT_PROJECTS = '''
import pulumi
import pulumi_gcp as gcp
from dicomstream.components import DicomStreaming

imaging = gcp.organizations.Project("imaging", project_id="acme-imaging-9", name="Imaging", org_id="1")
analytics = gcp.organizations.Project("analytics", project_id="acme-analytics-9", name="Analytics", org_id="1")
streaming = DicomStreaming("dicomstream", {
    "environment": "dev",
    "healthcare": {"project": imaging.project_id, "location": "us-central1", "dataset_id": "imaging"},
    "bigquery_datasets": [{"dataset_id": "dicom_metadata", "location": "US"},
                          {"dataset_id": "analytics", "project": analytics.project_id, "location": "US"},
                          {"dataset_id": "audit", "project": analytics.project_id, "location": "US"}],
    "dicom_stores": [{"store_id": "radiology", "streams": [{"table": "dicom_metadata.instances"},
                                                           {"table": "analytics.instances"},
                                                           {"table": "audit.radiology"}]}],
})
for key, value in streaming.exports().items():
    pulumi.export(key, value)
'''


def test_projects_created_in_the_same_program_reach_every_input_as_values(tmp_path):
    capture = run_program({}, stack="dev", program=_write(tmp_path, OUTPUT_PROJECTS))
    assert capture.error is None, capture.error
    (store,) = capture.of_type("pulumi-python:dynamic/dicomstream:DicomStoreStreams")
    assert [c["bigqueryDestination"]["tableUri"] for c in store.inputs["streamConfigs"]] == [
        "bq://acme-imaging-9.dicom_metadata.instances", "bq://acme-analytics-9.analytics.instances",
        "bq://acme-analytics-9.audit.radiology"]
    job_users = sorted(m.inputs["project"] for m in capture.of_type("gcp:projects/iAMMember:IAMMember")
                       if m.inputs["role"] == "roles/bigquery.jobUser")
    assert job_users == ["acme-analytics-9", "acme-imaging-9"]  # one grant per project: the same Output
    (metric,) = capture.of_type("gcp:logging/metric:Metric")
    assert metric.inputs["filter"].startswith('logName="projects/acme-imaging-9/logs/')
    services = sorted((s.inputs["project"], s.inputs["service"]) for s in capture.of_type("gcp:projects/service:Service"))
    assert ("acme-analytics-9", "bigquery.googleapis.com") in services
    assert ("acme-imaging-9", "healthcare.googleapis.com") in services
    assert capture.outputs["tables"] == {"acme-imaging-9.dicom_metadata.instances": ["radiology"],
                                         "acme-analytics-9.analytics.instances": ["radiology"],
                                         "acme-analytics-9.audit.radiology": ["radiology"]}
    assert capture.outputs["datasets"]["analytics"]["project"] == "acme-analytics-9"
    assert "Calling __str__" not in json.dumps([r.as_dict() for r in capture.resources])


BAD_ARGS = '''
import pulumi
from dicomstream.components import DicomStreaming

DicomStreaming("dicomstream", {
    "environment": "Dev",
    "healthcare": {"project": "acme-imaging-dev", "location": "us-central1", "dataset_id": "imaging"},
    "bigquery_datasets": [{"dataset_id": "dicom_metadata", "labels": {"managed-by": "me"}}],
    "dicom_stores": [{"store_id": "radiology", "streams": [{"table": "dicom_metadata.instances-v2"},
                                                           {"table": "nowhere.instances"},
                                                           {"table": pulumi.Output.from_input("dicom_metadata.t")}]}],
})
'''


def test_every_problem_of_the_args_is_one_line_naming_the_path_and_the_rule(tmp_path):
    capture = run_program({}, stack="dev", program=_write(tmp_path, BAD_ARGS))
    lines = capture.error.splitlines()
    assert lines[0].startswith("DicomStreaming dicomstream: environment: 'Dev' is not an environment name")
    assert any("bigquery_datasets[0].labels.managed-by: label 'managed-by' is set by dicomstream itself" in line
               for line in lines)
    assert any("dicom_stores[0].streams[0].table: 'dicom_metadata.instances-v2': BigQuery table id" in line
               for line in lines)
    assert any("dicom_stores[0].streams[1].table: dataset 'nowhere' is not declared in bigquery_datasets" in line
               for line in lines)
    assert any("dicom_stores[0].streams[2].table: required, as a plain string" in line for line in lines)
    assert len(lines) == 5 and "Traceback" not in capture.error
    assert [r for r in capture.resources if r.custom] == []


def _write(folder, text: str):
    (folder / "__main__.py").write_text(text)
    return folder / "__main__.py"


BAD_BUCKET = '''
from dicomstream.components import DicomStreaming, StagingBucket

StagingBucket("staging", {"bucket_name": "Acme_Staging!", "project": "acme-imaging-dev", "location": "us central1",
                          "iam": {"storage.objectViewer": {"Agent": "serviceAccount:x@example.com"}}})
'''

DICOM_STREAMING_BAD_BUCKET = '''
from dicomstream.components import DicomStreaming

DicomStreaming("dicomstream", {
    "environment": "dev",
    "healthcare": {"project": "acme-imaging-dev", "location": "us-central1", "dataset_id": "imaging"},
    "staging_bucket": "goog-staging",
})
'''


def test_a_staging_bucket_with_bad_args_names_every_problem_and_creates_nothing(tmp_path):
    capture = run_program({}, stack="dev", program=_write(tmp_path, BAD_BUCKET))
    lines = capture.error.splitlines()
    assert lines[0].startswith("StagingBucket staging: bucket_name: 'Acme_Staging!' is not a Cloud Storage bucket name")
    assert any("location: 'us central1' is not a Cloud Storage location" in line for line in lines)
    assert any("iam.storage.objectViewer: not a role name" in line for line in lines)
    assert any("iam.storage.objectViewer.Agent: a member key must be a lowercase slug" in line for line in lines)
    assert len(lines) == 4 and "Traceback" not in capture.error
    assert [r for r in capture.resources if r.custom] == []


def test_dicom_streaming_checks_the_staging_bucket_name(tmp_path):
    capture = run_program({}, stack="dev", program=_write(tmp_path, DICOM_STREAMING_BAD_BUCKET))
    assert capture.error.splitlines() == [
        "DicomStreaming dicomstream: staging_bucket: 'goog-staging': bucket names may not start with 'goog', "
        "contain 'google' or '..'"]
