"""The query for each stream mode in docs/configuration.md, run against the sandbox's tables: a store
streaming one table in each mode (flattened, JSON, JSON + change data capture) and a table two stores
share with includeSourceStore."""

from __future__ import annotations

from pages import example

from dicomstream.gcp.bigquery import retry
from dicomstream.sandbox import synthetic
from dicomstream.sandbox.identity import fake_service_agent_email
from dicomstream.sandbox.provision import grant_dataset_editor

PROJECT = "docs-queries"
DOCS_DATASET = "acme-imaging-dev.dicom_metadata."


def dest(table: str, **options) -> dict:
    return {"bigqueryDestination": {"tableUri": f"bq://{table}", **options}}


def test_each_modes_query_runs_on_what_the_sandbox_streams(sandbox_admin, healthcare, bigquery_client, unique_id):
    from google.cloud import bigquery

    dataset = f"docs_{unique_id}"
    prefix = f"{PROJECT}.{dataset}."
    bigquery_client.create_dataset(bigquery.Dataset(f"{PROJECT}.{dataset}"), retry=retry(10))
    grant_dataset_editor(bigquery_client, PROJECT, dataset, fake_service_agent_email(PROJECT))
    healthcare.create_dataset(PROJECT, "us-central1", "imaging")
    hc = f"projects/{PROJECT}/locations/us-central1/datasets/imaging"
    radiology = healthcare.at_version("v1beta1").create_dicom_store(hc, "radiology", {"streamConfigs": [
        dest(prefix + "radiology_instances"),
        dest(prefix + "radiology_json", schemaJson={}),
        dest(prefix + "radiology_current", schemaJson={}, changeDataCaptureConfig={}),
        dest(prefix + "instances", includeSourceStore=True),
    ]})["name"]
    cardiology = healthcare.create_dicom_store(hc, "cardiology", {"streamConfigs": [
        dest(prefix + "instances", includeSourceStore=True)]})["name"]
    instances = list(synthetic.generate(5, patients_count=3, seed=190))
    healthcare.store_instances(radiology, instances[:3])
    healthcare.store_instances(cardiology, instances[3:])
    gone = instances[0]
    healthcare.delete_instance(radiology, gone.StudyInstanceUID, gone.SeriesInstanceUID, gone.SOPInstanceUID)

    statements = [s.strip() for s in example("stream-queries").replace(DOCS_DATASET, prefix).split(";") if s.strip()]
    assert len(statements) == 4
    flat, js, current, shared = ([dict(r) for r in bigquery_client.query(sql, job_retry=None, retry=retry(10)).result(
        retry=retry(10))] for sql in statements)

    # flattened: a history (three inserts and the delete's row), family names as columns
    assert sorted(r["Type"] for r in flat) == ["DELETE", "INSERT", "INSERT", "INSERT"]
    assert {r["family"] for r in flat if r["Type"] == "INSERT"} == {i.PatientName.family_name for i in instances[:3]}
    # JSON: the name read out of Metadata
    names = {r["SOPInstanceUID"]: r["patient_name"] for r in js if r["patient_name"] is not None}
    assert names == {i.SOPInstanceUID: str(i.PatientName) for i in instances[:3]}
    # change data capture: the deleted instance has no row
    assert current == [{"live_instances": 2}]
    # the shared table: rows attributed to each store
    assert {r["SourceDicomStore"]: r["row_count"] for r in shared} == {radiology: 4, cardiology: 2}
