"""DICOMweb through Google's client (store, search, metadata, delete), and the rows that streaming
writes for each destination layout: flattened (+ includeSourceStore), schemaJson, v1beta1 change
data capture, the 1 MB row limit."""

from __future__ import annotations

import json
from io import BytesIO

import pytest
from google_client import PROJECT
from pydicom import dcmwrite
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dicomstream.sandbox import synthetic

BOUNDARY = "conformance-boundary"


def _part10(ds: Dataset) -> bytes:
    buf = BytesIO()
    dcmwrite(buf, ds, enforce_file_format=True)
    return buf.getvalue()


def store_instances(google, store: str, datasets: list[Dataset]) -> dict:
    """STOW-RS through the client: the request is built by the discovery document, the body is the
    multipart/related payload (a raw HttpBody, as Google's own samples send it)."""
    request = google.stores().storeInstances(parent=store, dicomWebPath="studies", body=None)
    parts = b"".join(
        f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode() + _part10(ds) + b"\r\n" for ds in datasets
    )
    request.body = parts + f"--{BOUNDARY}--\r\n".encode()
    request.headers["content-type"] = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'
    request.headers["content-length"] = str(len(request.body))
    return google.call(request)


@pytest.fixture
def instances():
    return list(synthetic.generate(4, patients_count=2, seed=23))


def _rows(bigquery_client, sql: str) -> list[dict]:
    from dicomstream.gcp.bigquery import retry

    return [dict(r) for r in bigquery_client.query(sql, job_retry=None, retry=retry(10)).result(retry=retry(10))]


def test_dicomweb_methods_through_googles_client(google, dataset, instances):
    store = google.call(google.stores().create(parent=dataset, dicomStoreId="web", body={}))["name"]
    response = store_instances(google, store, instances)
    assert len(response["00081199"]["Value"]) == 4
    ds = instances[0]
    stores = google.stores()
    # every system parameter the client adds (alt=json) or a caller may add is accepted by QIDO-RS
    found = google.call(stores.searchForInstances(parent=store, dicomWebPath="instances", quotaUser="q", prettyPrint=False))
    assert {i["00080018"]["Value"][0] for i in found} == {i.SOPInstanceUID for i in instances}
    studies = google.call(stores.searchForStudies(parent=store, dicomWebPath="studies"))
    assert {s["0020000D"]["Value"][0] for s in studies} == {i.StudyInstanceUID for i in instances}
    series = google.call(stores.searchForSeries(parent=store, dicomWebPath="series"))
    assert {s["0020000E"]["Value"][0] for s in series} == {i.SeriesInstanceUID for i in instances}
    in_study = google.call(stores.studies().searchForSeries(parent=store, dicomWebPath=f"studies/{ds.StudyInstanceUID}/series"))
    assert {s["0020000E"]["Value"][0] for s in in_study} == {i.SeriesInstanceUID for i in instances if i.StudyInstanceUID == ds.StudyInstanceUID}
    in_study_instances = google.call(stores.studies().searchForInstances(parent=store, dicomWebPath=f"studies/{ds.StudyInstanceUID}/instances"))
    assert {i["00080018"]["Value"][0] for i in in_study_instances} == {i.SOPInstanceUID for i in instances if i.StudyInstanceUID == ds.StudyInstanceUID}
    in_series = google.call(stores.studies().series().searchForInstances(
        parent=store, dicomWebPath=f"studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances"))
    assert {i["00080018"]["Value"][0] for i in in_series} == {i.SOPInstanceUID for i in instances if i.SeriesInstanceUID == ds.SeriesInstanceUID}
    meta = google.call(stores.studies().retrieveMetadata(parent=store, dicomWebPath=f"studies/{ds.StudyInstanceUID}/metadata"))
    assert meta[0]["00100010"]["Value"][0]["Alphabetic"] == str(ds.PatientName).split("=")[0]
    path = f"studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"
    series_meta = google.call(stores.studies().series().retrieveMetadata(
        parent=store, dicomWebPath=f"studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/metadata"))
    assert ds.SOPInstanceUID in {m["00080018"]["Value"][0] for m in series_meta}
    one = google.call(stores.studies().series().instances().retrieveMetadata(parent=store, dicomWebPath=f"{path}/metadata"))
    assert [m["00080018"]["Value"][0] for m in one] == [ds.SOPInstanceUID]
    assert google.call(stores.studies().series().instances().delete(parent=store, dicomWebPath=path)) == {}
    op = google.call(stores.studies().series().delete(parent=store, dicomWebPath=f"studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"))
    assert op["done"] is True
    op = google.call(stores.studies().delete(parent=store, dicomWebPath=f"studies/{ds.StudyInstanceUID}"))
    assert op["done"] is True
    err = google.error(stores.studies().delete(parent=store, dicomWebPath=f"studies/{ds.StudyInstanceUID}"))
    assert err["status"] == "NOT_FOUND"


def test_each_destination_gets_its_layout(google, dataset, bq_dataset, bigquery_client, instances):
    uri = f"bq://{PROJECT}.{bq_dataset}"
    body = {"streamConfigs": [
        {"bigqueryDestination": {"tableUri": f"{uri}.flat", "includeSourceStore": True}},
        {"bigqueryDestination": {"tableUri": f"{uri}.as_json", "schemaJson": {}}},
    ]}
    store = google.call(google.stores().create(parent=dataset, dicomStoreId="layouts", body=body))["name"]
    store_instances(google, store, instances[:2])
    ds = instances[0]
    path = f"studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"
    google.call(google.stores().studies().series().instances().delete(parent=store, dicomWebPath=path))

    flat = _rows(bigquery_client, f"SELECT SOPInstanceUID, Type, SourceDicomStore, PatientName.Alphabetic.FamilyName AS family, "
                                  f"TransferSyntaxUID, BlobStorageSize FROM `{PROJECT}.{bq_dataset}.flat` ORDER BY LastUpdated, Type DESC")
    assert sorted((r["SOPInstanceUID"], r["Type"]) for r in flat) == sorted([
        (instances[0].SOPInstanceUID, "INSERT"), (instances[1].SOPInstanceUID, "INSERT"), (ds.SOPInstanceUID, "DELETE")])
    assert flat[-1]["Type"] == "DELETE"  # the latest event
    assert {r["SourceDicomStore"] for r in flat} == {store}
    inserted = [r for r in flat if r["Type"] == "INSERT"]
    assert {r["family"] for r in inserted} == {i.PatientName.family_name for i in instances[:2]}
    assert {r["TransferSyntaxUID"] for r in inserted} == {str(i.file_meta.TransferSyntaxUID) for i in instances[:2]}
    assert all(r["BlobStorageSize"] > 1000 for r in inserted)

    js = _rows(bigquery_client, f"SELECT SOPInstanceUID, Type, JSON_VALUE(Metadata, '$.\"00100020\".Value[0]') AS pid, "
                                f"StructuredStorageSize, DroppedTags, StorageClass FROM `{PROJECT}.{bq_dataset}.as_json`")
    by_type = {(r["SOPInstanceUID"], r["Type"]): r for r in js}
    assert set(by_type) == {(instances[0].SOPInstanceUID, "INSERT"), (instances[1].SOPInstanceUID, "INSERT"), (ds.SOPInstanceUID, "DELETE")}
    insert = by_type[(ds.SOPInstanceUID, "INSERT")]
    assert insert["pid"] == ds.PatientID and insert["StructuredStorageSize"] > 0 and insert["StorageClass"] == "STANDARD"
    assert insert["DroppedTags"] == ["FileMetaInformationVersion", "PixelData"]  # OB: excluded VR
    schema = {f.name: (f.field_type, f.mode) for f in bigquery_client.get_table(f"{PROJECT}.{bq_dataset}.as_json").schema}
    assert schema["Metadata"] == ("JSON", "NULLABLE") and schema["DroppedTags"] == ("STRING", "REPEATED")
    assert "SourceDicomStore" not in schema and "PatientName" not in schema


def test_change_data_capture_keeps_the_latest_row_per_instance(google, dataset, bq_dataset, bigquery_client, instances):
    table = f"{PROJECT}.{bq_dataset}.latest"
    body = {"streamConfigs": [{"bigqueryDestination": {"tableUri": f"bq://{table}", "schemaJson": {}, "changeDataCaptureConfig": {}}}]}
    store = google.call(google.stores("v1beta1").create(parent=dataset, dicomStoreId="cdc", body=body))["name"]
    store_instances(google, store, instances[:3])
    ds = instances[0]
    google.call(google.stores().studies().series().instances().delete(
        parent=store, dicomWebPath=f"studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"))
    store_instances(google, store, [ds])  # stored again: one row, not two
    rows = _rows(bigquery_client, f"SELECT SOPInstanceUID FROM `{table}`")
    assert sorted(r["SOPInstanceUID"] for r in rows) == sorted(i.SOPInstanceUID for i in instances[:3])
    assert "Type" not in {f.name for f in bigquery_client.get_table(table).schema}  # omitted with CDC


def _big(template: Dataset) -> Dataset:
    """An instance whose tags are each under 1 MB but whose row is over 1 MB."""
    ds = template.copy()
    ds.SOPInstanceUID = template.SOPInstanceUID + ".9"
    ds.file_meta = template.file_meta.copy()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    items = []
    for i in range(3):
        item = Dataset()
        item.TextValue = f"{i}" * 400_000
        items.append(item)
    ds.ContentSequence = Sequence(items)
    return ds


def test_an_instance_over_one_megabyte_is_not_streamed_and_is_logged(google, dataset, bq_dataset, bigquery_client, sandbox_admin, instances):
    table = f"{PROJECT}.{bq_dataset}.limited"
    body = {"streamConfigs": [{"bigqueryDestination": {"tableUri": f"bq://{table}"}}]}
    store = google.call(google.stores().create(parent=dataset, dicomStoreId="limits", body=body))["name"]
    big = _big(instances[0])
    response = store_instances(google, store, [instances[1], big])
    assert len(response["00081199"]["Value"]) == 2  # both stored
    rows = _rows(bigquery_client, f"SELECT SOPInstanceUID FROM `{table}`")
    assert [r["SOPInstanceUID"] for r in rows] == [instances[1].SOPInstanceUID]
    entries = [e for e in sandbox_admin.stream_errors() if big.SOPInstanceUID in e["jsonPayload"]["resourceName"]]
    assert len(entries) == 1 and "1 MB" in entries[0]["jsonPayload"]["error"]["message"]
    assert entries[0]["labels"] == {"healthcare.googleapis.com/dicom_stream": f"bq://{table}"}
    assert json.dumps(entries[0])  # a JSON log entry


def test_storage_class_changes_stream_update_rows_and_show_in_storage_info(google, dataset, bq_dataset, bigquery_client, instances):
    table = f"{PROJECT}.{bq_dataset}.classes"
    body = {"streamConfigs": [{"bigqueryDestination": {"tableUri": f"bq://{table}"}}]}
    store = google.call(google.stores().create(parent=dataset, dicomStoreId="classes", body=body))["name"]
    store_instances(google, store, instances)
    study = instances[0].StudyInstanceUID
    in_study = [i for i in instances if i.StudyInstanceUID == study]
    op = google.call(google.stores().dicomWeb().studies().setBlobStorageSettings(
        resource=f"{store}/dicomWeb/studies/{study}", body={"blobStorageSettings": {"blobStorageClass": "ARCHIVE"}}))
    assert op["done"] is True and op["metadata"]["counter"]["success"] == str(len(in_study))
    ds = in_study[0]
    info = google.call(google.stores().dicomWeb().studies().series().instances().getStorageInfo(
        resource=f"{store}/dicomWeb/studies/{study}/series/{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}"))
    assert info["blobStorageInfo"]["storageClass"] == "ARCHIVE" and int(info["blobStorageInfo"]["sizeBytes"]) > 1000
    op = google.call(google.stores().setBlobStorageSettings(
        resource=store, body={"blobStorageSettings": {"blobStorageClass": "ARCHIVE"}}))  # only the others change
    rows = _rows(bigquery_client, f"SELECT SOPInstanceUID, Type, StorageClass FROM `{table}` WHERE Type = 'UPDATE'")
    assert sorted(r["SOPInstanceUID"] for r in rows) == sorted(i.SOPInstanceUID for i in instances)
    assert {r["StorageClass"] for r in rows} == {"ARCHIVE"}
    err = google.error(google.stores().setBlobStorageSettings(
        resource=store, body={"blobStorageSettings": {"blobStorageClass": "BLOB_STORAGE_CLASS_UNSPECIFIED"}}))
    assert err["code"] == 400


def test_metrics_and_exported_last_updated_through_googles_client(google, dataset, bq_dataset, bigquery_client, instances,
                                                                  sandbox):
    """The cheap questions the reconciler asks first, and the instance's own LastUpdated in an export."""
    table = f"{PROJECT}.{bq_dataset}.versions"
    body = {"streamConfigs": [{"bigqueryDestination": {"tableUri": f"bq://{table}"}}]}
    store = google.call(google.stores().create(parent=dataset, dicomStoreId="metrics", body=body))["name"]
    empty = google.call(google.stores().getDICOMStoreMetrics(name=store))
    assert empty["name"] == store and empty.get("instanceCount", "0") == "0"
    store_instances(google, store, instances)
    metrics = google.call(google.stores().getDICOMStoreMetrics(name=store))
    assert metrics["instanceCount"] == str(len(instances))
    assert metrics["studyCount"] == str(len({i.StudyInstanceUID for i in instances}))
    study = instances[0].StudyInstanceUID
    in_study = [i for i in instances if i.StudyInstanceUID == study]
    sm = google.call(google.stores().dicomWeb().studies().getStudyMetrics(study=f"{store}/dicomWeb/studies/{study}"))
    assert sm["instanceCount"] == str(len(in_study)) and int(sm["blobStorageSizeBytes"]) > 0
    series = in_study[0].SeriesInstanceUID
    se = google.call(google.stores().dicomWeb().studies().series().getSeriesMetrics(
        series=f"{store}/dicomWeb/studies/{study}/series/{series}"))
    assert se["instanceCount"] == str(sum(i.SeriesInstanceUID == series for i in in_study))
    assert google.error(google.stores().dicomWeb().studies().getStudyMetrics(
        study=f"{store}/dicomWeb/studies/1.2.3.4"))["code"] == 404
    locations = google.call(google.locations().list(name=f"projects/{PROJECT}"))
    assert "us-central1" in {loc["locationId"] for loc in locations["locations"]}

    from dicomstream.sandbox.identity import fake_service_agent_email

    snapshot = f"{PROJECT}.{bq_dataset}.versions_export"
    sandbox.resourcemanager_client().add_binding(PROJECT, "roles/bigquery.jobUser",
                                                 f"serviceAccount:{fake_service_agent_email(PROJECT)}")
    op = google.call(google.stores().export(name=store, body={"bigqueryDestination": {"tableUri": f"bq://{snapshot}"}}))
    import time

    deadline = time.monotonic() + 600  # a hang guard, not a timing
    while not op.get("done"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
        op = google.call(google.operations().get(name=op["name"]))
    streamed = {r["SOPInstanceUID"]: r["LastUpdated"] for r in _rows(bigquery_client, f"SELECT SOPInstanceUID, LastUpdated FROM `{table}`")}
    exported = {r["SOPInstanceUID"]: r["LastUpdated"] for r in _rows(bigquery_client, f"SELECT SOPInstanceUID, LastUpdated FROM `{snapshot}`")}
    assert exported == streamed  # the instance's version, not the export's time
