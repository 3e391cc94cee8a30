"""Synthetic resources (camelCase inputs, as the engine sends them) for the policy pack tests."""

from __future__ import annotations

import copy
from pathlib import Path

from policies.testing import UNKNOWN

REPO = Path(__file__).resolve().parents[2]
PACK_DIR = REPO / "policies"

STORE = "gcp:healthcare/dicomStore:DicomStore"
STREAMS = "pulumi-python:dynamic/dicomstream:DicomStoreStreams"  # ours: a store's streamConfigs with every option
HC_DATASET = "gcp:healthcare/dataset:Dataset"
BQ_DATASET = "gcp:bigquery/dataset:Dataset"
BQ_TABLE = "gcp:bigquery/table:Table"
DATASET_MEMBER = "gcp:bigquery/datasetIamMember:DatasetIamMember"
DATASET_BINDING = "gcp:bigquery/datasetIamBinding:DatasetIamBinding"
DATASET_POLICY = "gcp:bigquery/datasetIamPolicy:DatasetIamPolicy"
DATASET_ACCESS = "gcp:bigquery/datasetAccess:DatasetAccess"
TABLE_MEMBER = "gcp:bigquery/iamMember:IamMember"
TABLE_BINDING = "gcp:bigquery/iamBinding:IamBinding"
TABLE_POLICY = "gcp:bigquery/iamPolicy:IamPolicy"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"
COMPONENT = "dicomstream:index:DicomStreaming"

HC_PROJECT = "acme-imaging-dev"
BQ_PROJECT = "acme-analytics-dev"
AGENT_EMAIL = "service-123456789012@gcp-sa-healthcare.iam.gserviceaccount.com"
AGENT = f"serviceAccount:{AGENT_EMAIL}"
HC_DATASET_ID = f"projects/{HC_PROJECT}/locations/us-central1/datasets/imaging"

# The contract: every policy of the pack and its default enforcement level.
EXPECTED_LEVELS = {
    "dicom-store-max-five-destinations": "mandatory",
    "dicom-store-unique-destinations": "mandatory",
    "bigquery-table-uri-format": "mandatory",
    "stream-cdc-needs-json-schema": "mandatory",
    "stream-table-one-shape": "mandatory",
    "shared-table-source-store": "advisory",
    "bigquery-table-name": "mandatory",
    "bigquery-dataset-name": "mandatory",
    "bigquery-dataset-not-public": "mandatory",
    "bigquery-dataset-cmek": "advisory",
    "healthcare-dataset-cmek": "advisory",
    "stateful-resources-protected": "advisory",
    "required-labels": "advisory",
    "service-agent-grants-before-streams": "mandatory",
    "locations-co-located": "advisory",
    "healthcare-iam-not-public": "mandatory",
    "project-data-roles-not-public": "mandatory",
    "storage-bucket-not-public": "mandatory",
    "destinations-in-allowed-projects": "advisory",
    "checked-at-up": "advisory",
    "existing-datasets-unseen": "advisory",
}


def urn(type_: str, name: str) -> str:
    return f"urn:pulumi:dev::dicomstream::{type_}::{name}"


def resource(type_: str, name: str, inputs: dict, **extra) -> dict:
    return {"type": type_, "name": name, "urn": urn(type_, name), "inputs": inputs, **extra}


def uri(table: str, dataset: str = "dicom_metadata", project: str = BQ_PROJECT) -> str:
    return f"bq://{project}.{dataset}.{table}"


def store_inputs(*uris: str, labels: dict | None = None) -> dict:
    return {
        "dataset": HC_DATASET_ID,
        "name": "radiology",
        "labels": {"environment": "dev"} if labels is None else labels,
        "streamConfigs": [{"bigqueryDestination": {"tableUri": u}} for u in uris],
    }


def good_stack(*, tables=("instances",), bq_location="US", cross_project=True) -> list[dict]:
    """A compliant stack: agent, grants on each destination, a store created after them."""
    project = BQ_PROJECT if cross_project else HC_PROJECT
    identity = resource(IDENTITY, "agent", {"project": HC_PROJECT, "service": "healthcare.googleapis.com",
                                            "email": AGENT_EMAIL, "member": AGENT})
    hc = resource(HC_DATASET, "imaging", {"name": "imaging", "location": "us-central1", "project": HC_PROJECT})
    ds = resource(BQ_DATASET, "dicom_metadata", {"datasetId": "dicom_metadata", "project": project,
                                                  "location": bq_location, "labels": {"environment": "dev"}})
    editor = resource(DATASET_MEMBER, "editor", {"datasetId": "dicom_metadata", "project": project,
                                                 "role": "roles/bigquery.dataEditor", "member": AGENT},
                      property_dependencies={"member": [identity["urn"]], "datasetId": [ds["urn"]]},
                      dependencies=[identity["urn"], ds["urn"]])
    job_user = resource(PROJECT_MEMBER, "jobuser", {"project": project, "role": "roles/bigquery.jobUser",
                                                    "member": AGENT},
                        property_dependencies={"member": [identity["urn"]]}, dependencies=[identity["urn"]])
    store = resource(STORE, "radiology", store_inputs(*(uri(t, project=project) for t in tables)),
                     dependencies=[hc["urn"], editor["urn"], job_user["urn"]],
                     property_dependencies={"dataset": [hc["urn"]]})
    return [identity, hc, ds, editor, job_user, store]


def by_name(resources: list[dict], name: str) -> dict:
    return next(r for r in resources if r["name"] == name)


def as_preview(resources: list[dict]) -> list[dict]:
    """The same stack as `pulumi preview` sees it before the agent exists: its email unknown."""
    out = copy.deepcopy(resources)
    for r in out:
        for key, value in r["inputs"].items():
            if value in (AGENT, AGENT_EMAIL):
                r["inputs"][key] = UNKNOWN
        if r["type"] == STORE:
            r["inputs"]["dataset"] = UNKNOWN
    return out
