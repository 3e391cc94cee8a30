"""Each component constructed through the SDK's component provider, as a program in another language
gets it (schema names in, a dict of args), under the stack and under a component of the user's."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


PROGRAM = '''
import pulumi
from pulumi.provider.experimental.component import ComponentProvider
from dicomstream.components import COMPONENTS

provider = ComponentProvider(COMPONENTS, "dicomstream")
agent = "serviceAccount:service-1@gcp-sa-healthcare.iam.gserviceaccount.com"
INPUTS = {
    "DicomStreaming": {"environment": "dev",
                       "healthcare": {"project": "acme-imaging-dev", "location": "us-central1", "datasetId": "imaging"},
                       "bigqueryDatasets": [{"datasetId": "dicom_metadata", "location": "US"}],
                       "dicomStores": [{"storeId": "radiology", "streams": [{"table": "dicom_metadata.instances"}]}]},
    "BigQueryDataset": {"datasetId": "dicom_metadata", "project": "acme-imaging-dev", "location": "US",
                        "iam": {"roles/bigquery.dataEditor": {"agent": agent}}},
    "HealthcareDataset": {"project": "acme-imaging-dev", "location": "us-central1", "datasetId": "imaging",
                          "stores": [{"storeId": "radiology",
                                      "streams": [{"table": "bq://acme-imaging-dev.dicom_metadata.instances"}]}]},
    "HealthcareServiceAgent": {"project": "acme-imaging-dev"},
    "ProjectIamGrants": {"project": "acme-imaging-dev", "iam": {"roles/bigquery.jobUser": {"agent": agent}}},
    "ProjectApis": {"projects": {"acme-imaging-dev": {"project": "acme-imaging-dev",
                                                      "services": ["bigquery.googleapis.com"]}}},
    "StreamMonitoring": {"project": "acme-imaging-dev"},
    "StagingBucket": {"bucketName": "acme-imaging-dev-reconcile", "project": "acme-imaging-dev", "location": "us-central1",
                      "iam": {"roles/storage.objectViewer": {"agent": agent}}},
}


class Platform(pulumi.ComponentResource):  # the user's own component, in the user's own package
    def __init__(self, name):
        super().__init__("acme:platform:Platform", name)


platform = Platform("platform")
for component, inputs in INPUTS.items():
    for parent, suffix in ((None, "root"), (platform, "nested")):
        result = provider.construct(f"{component.lower()}-{suffix}", f"dicomstream:index:{component}", inputs,
                                    pulumi.ResourceOptions(parent=parent))
        pulumi.export(f"{component}-{suffix}", result.state)
'''


@pytest.fixture(scope="module")
def constructed(tmp_path_factory):
    project = tmp_path_factory.mktemp("construct")
    (project / "__main__.py").write_text(PROGRAM)
    result = subprocess.run([sys.executable, "-m", "dicomstream.capture", str(project), "--stack", "dev",
                             "--project", "platform"], cwd=project, capture_output=True, text=True, timeout=180,
                            env={**__import__("os").environ, "PULUMI_CONFIG": "{}"})
    assert result.stdout, result.stderr
    run = json.loads(result.stdout)
    assert run["error"] is None, run["error"]
    return run


COMPONENTS = ["DicomStreaming", "BigQueryDataset", "HealthcareDataset", "HealthcareServiceAgent", "ProjectIamGrants",
              "ProjectApis", "StreamMonitoring", "StagingBucket"]


@pytest.mark.parametrize("component", COMPONENTS)
def test_each_component_constructs_under_the_stack_and_under_a_foreign_component(constructed, component):
    resources = constructed["resources"]
    token = f"dicomstream:index:{component}"
    roots = {r["name"]: r for r in resources if r["type"] == token and r["name"].startswith(component.lower())}
    root, nested = roots[f"{component.lower()}-root"], roots[f"{component.lower()}-nested"]
    assert root["parent"].endswith("pulumi:pulumi:Stack::platform-dev")
    assert nested["parent"].endswith("acme:platform:Platform::platform")
    assert nested["urn"].split("::")[2] == f"acme:platform:Platform${token}"
    for top in (root, nested):
        children = [r for r in resources if r["parent"] == top["urn"]]
        assert children, f"{top['urn']} registered nothing"
        assert all(r["urn"].split("::")[2].startswith(top["urn"].split("::")[2] + "$") for r in children)


def test_the_state_carries_the_schema_names_of_the_outputs(constructed):
    streaming = constructed["outputs"]["DicomStreaming-nested"]
    assert streaming["stores"]["radiology"]["streams"] == [
        {"uri": "bq://acme-imaging-dev.dicom_metadata.instances", "table": "acme-imaging-dev.dicom_metadata.instances"}]
    assert streaming["tables"] == {"acme-imaging-dev.dicom_metadata.instances": ["radiology"]}
    assert constructed["outputs"]["BigQueryDataset-root"]["fullId"] == "acme-imaging-dev.dicom_metadata"
    stores = [r for r in constructed["resources"] if r["type"] == "pulumi-python:dynamic/dicomstream:DicomStoreStreams"]
    assert len(stores) == 4 and all(
        s["inputs"]["streamConfigs"] == [{"bigqueryDestination": {
            "tableUri": "bq://acme-imaging-dev.dicom_metadata.instances", "schemaFlattened": {}, "includeSourceStore": False}}]
        for s in stores)


def test_no_alias_is_written_under_a_parent_that_is_not_ours(constructed):
    """Only dicomstream's own program deployed 0.1.0 names; under a foreign parent there is nothing to alias."""
    for r in constructed["resources"]:
        if "acme:platform:Platform$" in r["urn"]:
            assert not r.get("aliases"), r["urn"]
