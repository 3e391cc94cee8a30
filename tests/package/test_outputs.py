"""A downstream stack reads the outputs through a StackReference: no parsing of `bq://` or of keys."""

from __future__ import annotations

from pathlib import Path

import yaml

from dicomstream.capture import run_program
from tests.package.conftest import REPO

CONSUMER = '''
import pulumi
import pulumi_gcp as gcp

imaging = pulumi.StackReference("acme/dicomstream/prod")
stores, tables = imaging.require_output("stores"), imaging.require_output("tables")
datasets = imaging.require_output("datasets")

# Radiologists may read the radiology store, by its resource name.
gcp.healthcare.DicomStoreIamMember("radiologists", dicom_store_id=stores["radiology"]["name"],
                                   role="roles/healthcare.dicomViewer", member="group:radiologists@acme.example")
# A view over the first table the radiology store streams into, in SQL's spelling.
home = datasets["dicom_metadata"]
gcp.bigquery.Table("latest", project=home["project"], dataset_id=home["datasetId"], table_id="latest",
                   view=gcp.bigquery.TableViewArgs(use_legacy_sql=False, query=stores["radiology"]["streams"][0]["table"]
                                                   .apply(lambda t: f"SELECT * FROM `{t}`")))
# The agent may read the staging bucket, by its IAM member.
gcp.storage.BucketIAMMember("agent-reads", bucket="acme-staging", role="roles/storage.objectViewer",
                            member=imaging.require_output("serviceAgentMember"))
pulumi.export("shared", tables.apply(lambda t: sorted(k for k, v in t.items() if len(v) > 1)))
pulumi.export("dicomweb", stores["radiology"]["dicomwebUrl"])
pulumi.export("metric", imaging.require_output("errorMetricType"))
pulumi.export("alerts", imaging.require_output("alertPolicyId"))
'''


def test_a_downstream_stack_uses_the_outputs_as_they_are(tmp_path):
    document = yaml.safe_load((REPO / "tests" / "fixtures" / "stacks" / "Pulumi.prod.yaml").read_text())["config"]
    producer = run_program(document, stack="prod")
    assert producer.error is None, producer.error
    program = tmp_path / "__main__.py"
    program.write_text(CONSUMER)
    consumer = run_program({}, stack="prod", project="analytics", program=program,
                           stack_outputs={"acme/dicomstream/prod": producer.outputs})
    assert consumer.error is None, consumer.error
    (member,) = consumer.of_type("gcp:healthcare/dicomStoreIamMember:DicomStoreIamMember")
    assert member.inputs["dicomStoreId"] == (
        "projects/acme-imaging-prod/locations/us-central1/datasets/imaging/dicomStores/radiology")
    (view,) = consumer.of_type("gcp:bigquery/table:Table")
    assert view.inputs["view"]["query"] == "SELECT * FROM `acme-imaging-prod.dicom_metadata.instances`"
    assert view.inputs["project"] == "acme-imaging-prod" and view.inputs["datasetId"] == "dicom_metadata"
    (grant,) = consumer.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
    assert grant.inputs["member"] == producer.outputs["serviceAgentMember"]
    assert grant.inputs["member"].startswith("serviceAccount:service-")
    outputs = consumer.outputs
    assert outputs["shared"] == ["acme-imaging-prod.dicom_metadata.instances"]
    assert outputs["dicomweb"] == ("https://healthcare.googleapis.com/v1/projects/acme-imaging-prod/locations/"
                                   "us-central1/datasets/imaging/dicomStores/radiology/dicomWeb")
    assert outputs["metric"] == "logging.googleapis.com/user/dicomstream/stream_errors"
    assert outputs["alerts"].startswith("projects/acme-imaging-prod/alertPolicies/")
    assert Path(program).read_text().count("split(") == 0  # nothing is parsed out of a string
