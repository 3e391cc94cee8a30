"""Streaming into BigQuery (1 and 5 tables, schema, evolution, deletes), export LROs, failures."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import pytest
from google.api_core import exceptions as gexc
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid
from sandbox_world import make_bq_dataset, query

from dicomstream.gcp.healthcare import OperationFailed


@pytest.fixture
def store(world, healthcare):
    healthcare.create_dicom_store(world.dataset_name, "s", {})
    return world.store("s")


def _schema(bigquery_client, world, table: str) -> dict:
    return {f.name: f for f in bigquery_client.get_table(f"{world.project}.{world.bq_dataset}.{table}").schema}


def test_one_row_per_instance_in_each_of_five_tables(world, healthcare, bigquery_client, store, instances):
    tables = [f"t{i}" for i in range(5)]
    healthcare.set_stream_configs(store, [world.table_uri(t) for t in tables])
    healthcare.store_instances(store, instances[:4])
    healthcare.store_instances(store, instances[4:6])
    for table in tables:
        rows = query(bigquery_client, f"SELECT SOPInstanceUID FROM {world.sql(table)}")
        assert sorted(r["SOPInstanceUID"] for r in rows) == sorted(ds.SOPInstanceUID for ds in instances[:6])


def test_generated_schema_types(world, healthcare, bigquery_client, store, instances):
    healthcare.set_stream_configs(store, [world.table_uri("typed")])
    healthcare.store_instances(store, [instances[0]])
    schema = _schema(bigquery_client, world, "typed")
    assert schema["PatientName"].field_type == "RECORD"
    assert [f.name for f in schema["PatientName"].fields] == ["Alphabetic", "Ideographic", "Phonetic"]
    assert schema["StudyDate"].field_type == "DATE"
    assert schema["StudyTime"].field_type == "TIME"
    assert schema["AcquisitionDateTime"].field_type == "TIMESTAMP"
    assert (schema["ImageType"].field_type, schema["ImageType"].mode) == ("STRING", "REPEATED")
    seq = schema["ProcedureCodeSequence"]
    assert (seq.field_type, seq.mode) == ("RECORD", "REPEATED") and {f.name for f in seq.fields} >= {"CodeValue", "CodeMeaning"}
    assert schema["DroppedTags"].mode == "REPEATED" and [f.name for f in schema["DroppedTags"].fields] == ["TagName", "TagReference"]
    assert schema["LastUpdated"].field_type == "TIMESTAMP" and schema["Type"].field_type == "STRING"
    assert "PixelData" not in schema
    row = query(bigquery_client, f"SELECT * FROM {world.sql('typed')}")[0]
    ds = instances[0]
    assert isinstance(row["StudyDate"], date) and row["StudyDate"].strftime("%Y%m%d") == ds.StudyDate
    assert isinstance(row["StudyTime"], time)
    assert row["AcquisitionDateTime"].tzinfo is not None
    assert row["ImageType"] == list(ds.ImageType)
    assert row["ProcedureCodeSequence"][0]["CodeValue"] == ds.ProcedureCodeSequence[0].CodeValue
    assert [d["TagName"] for d in row["DroppedTags"]] == ["PixelData"]


def _odd_instance(study: str, series: str) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.PatientName = "Evolve^Schema"
    ds.Laterality = "L"  # a keyword no earlier instance had
    item = Dataset()
    item.CodeValue = "X1"
    item.CodeMeaning = "new"
    item.ContextUID = "1.2.3"  # a new field inside an existing sequence
    ds.ProcedureCodeSequence = Sequence([item])
    ds.is_little_endian, ds.is_implicit_VR = True, False
    return ds


def test_later_instances_widen_the_schema(world, healthcare, bigquery_client, store, instances):
    healthcare.set_stream_configs(store, [world.table_uri("evolving")])
    healthcare.store_instances(store, [instances[0]])
    assert "Laterality" not in _schema(bigquery_client, world, "evolving")
    odd = _odd_instance(instances[0].StudyInstanceUID, instances[0].SeriesInstanceUID)
    healthcare.store_instances(store, [odd])
    schema = _schema(bigquery_client, world, "evolving")
    assert "Laterality" in schema and "ContextUID" in {f.name for f in schema["ProcedureCodeSequence"].fields}
    healthcare.store_instances(store, instances[1:3])  # and streaming goes on after the change
    rows = query(bigquery_client, f"SELECT SOPInstanceUID, Laterality FROM {world.sql('evolving')} ORDER BY Laterality")
    assert len(rows) == 4 and rows[-1] == {"SOPInstanceUID": odd.SOPInstanceUID, "Laterality": "L"}


def test_a_value_whose_type_conflicts_with_the_table_goes_to_dropped_tags(world, healthcare, bigquery_client, store,
                                                                        sandbox_admin, instances):
    """The table's type wins: the instance is still streamed, the conflicting value in DroppedTags."""
    from google.cloud import bigquery

    table = bigquery.Table(f"{world.project}.{world.bq_dataset}.clash", schema=[
        bigquery.SchemaField("SOPInstanceUID", "STRING"), bigquery.SchemaField("PatientID", "INTEGER")])
    bigquery_client.create_table(table)
    healthcare.set_stream_configs(store, [world.table_uri("clash")])
    healthcare.store_instances(store, [instances[0]])
    assert sandbox_admin.stream_errors() == []
    rows = query(bigquery_client, f"SELECT SOPInstanceUID, PatientID, DroppedTags FROM {world.sql('clash')}")
    assert [(r["SOPInstanceUID"], r["PatientID"]) for r in rows] == [(instances[0].SOPInstanceUID, None)]
    assert "PatientID" in {d["TagName"] for d in rows[0]["DroppedTags"]}


def test_deleting_instances_streams_delete_rows_and_leaves_earlier_rows(world, healthcare, bigquery_client, store, sandbox_admin, instances):
    healthcare.set_stream_configs(store, [world.table_uri("kept")])
    sandbox_admin.set_clock(datetime(2030, 1, 1, tzinfo=timezone.utc))
    healthcare.store_instances(store, instances[:3])
    ds = instances[0]
    sandbox_admin.set_clock(datetime(2030, 1, 2, tzinfo=timezone.utc))
    healthcare.delete_instance(store, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID)
    sandbox_admin.set_clock(datetime(2030, 1, 3, tzinfo=timezone.utc))
    healthcare.delete_study(store, ds.StudyInstanceUID)
    assert healthcare.instance_uids(store) == set()
    rows = query(bigquery_client, f"SELECT StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID, Type, LastUpdated, "
                                  f"Modality, StorageClass FROM {world.sql('kept')} ORDER BY LastUpdated, SOPInstanceUID")
    inserts, deletes = rows[:3], rows[3:]
    assert [(r["Type"], r["Modality"], r["StorageClass"]) for r in inserts] == [("INSERT", ds.Modality, "STANDARD")] * 3
    day = {r["SOPInstanceUID"]: r["LastUpdated"].day for r in deletes}
    assert day == {ds.SOPInstanceUID: 2, **{i.SOPInstanceUID: 3 for i in instances[1:3]}}  # LastUpdated = deletion time
    assert {(r["Type"], r["Modality"], r["StorageClass"]) for r in deletes} == {("DELETE", None, None)}
    assert {(r["StudyInstanceUID"], r["SeriesInstanceUID"]) for r in deletes} == {(ds.StudyInstanceUID, ds.SeriesInstanceUID)}


def test_rows_take_last_updated_from_the_sandbox_clock(world, healthcare, bigquery_client, store, sandbox_admin, instances):
    healthcare.set_stream_configs(store, [world.table_uri("clocked")])
    sandbox_admin.set_clock(datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    healthcare.store_instances(store, [instances[0]])
    row = query(bigquery_client, f"SELECT LastUpdated FROM {world.sql('clocked')}")[0]
    assert row["LastUpdated"].replace(microsecond=0) == datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def test_streaming_failure_is_logged_not_raised(world, healthcare, bigquery_client, store, sandbox, sandbox_admin, instances):
    healthcare.set_stream_configs(store, [world.table_uri("revoked")])
    dataset = bigquery_client.get_dataset(f"{world.project}.{world.bq_dataset}")
    dataset.access_entries = []  # the grant disappears after the store was configured
    bigquery_client.update_dataset(dataset, ["access_entries"])
    response = healthcare.store_instances(store, [instances[0]])
    assert len(response["00081199"]["Value"]) == 1  # the instance is stored anyway
    entries = sandbox_admin.stream_errors()
    assert len(entries) == 1
    entry = entries[0]
    assert entry["labels"] == {"healthcare.googleapis.com/dicom_stream": world.table_uri("revoked")}
    assert entry["logName"].endswith("/logs/healthcare.googleapis.com%2Fdicom_stream")
    assert entry["jsonPayload"]["error"]["status"] == "PERMISSION_DENIED"
    assert instances[0].SOPInstanceUID in entry["jsonPayload"]["resourceName"]
    assert world.table_uri("revoked") in sandbox.stream_log_path.read_text()


def test_export_backfills_with_each_write_disposition(world, healthcare, resourcemanager, bigquery_client, store, instances):
    healthcare.store_instances(store, instances[:5])
    uri = world.table_uri("backfill")
    # export is a batch job: without jobUser on the destination project it is refused
    with pytest.raises(gexc.Forbidden) as err:
        healthcare.export_to_bigquery(store, uri, "WRITE_APPEND")
    assert "roles/bigquery.jobUser" in err.value.message
    resourcemanager.add_binding(world.project, "roles/bigquery.jobUser", f"serviceAccount:{world.agent}")

    op = healthcare.export_to_bigquery(store, uri, "WRITE_EMPTY")
    assert op["name"].startswith(f"{world.dataset_name}/operations/")
    done = healthcare.wait_operation(op, timeout=600)
    assert done["done"] and done["metadata"]["counter"] == {"success": "5"}
    assert done["response"]["@type"].endswith("ExportDicomDataResponse")
    count = f"SELECT COUNT(*) AS n FROM {world.sql('backfill')}"
    assert query(bigquery_client, count) == [{"n": 5}]

    with pytest.raises(OperationFailed) as failed:  # WRITE_EMPTY into a non-empty table
        healthcare.wait_operation(healthcare.export_to_bigquery(store, uri, "WRITE_EMPTY"), timeout=600)
    assert failed.value.status == "FAILED_PRECONDITION"

    healthcare.wait_operation(healthcare.export_to_bigquery(store, uri, "WRITE_APPEND"), timeout=600)
    assert query(bigquery_client, count) == [{"n": 10}]
    healthcare.wait_operation(healthcare.export_to_bigquery(store, uri, "WRITE_TRUNCATE"), timeout=600)
    assert query(bigquery_client, count) == [{"n": 5}]


def test_export_validates_its_destination(world, healthcare, store, bigquery_client, unique_id):
    with pytest.raises(gexc.BadRequest):
        healthcare.export_to_bigquery(store, "not-a-uri", "WRITE_APPEND")
    with pytest.raises(gexc.BadRequest):
        healthcare.export_to_bigquery(store, world.table_uri("t"), "WRITE_SOMETIMES")
    make_bq_dataset(bigquery_client, world.project, f"locked_{unique_id}", grant_to=None)
    with pytest.raises(gexc.Forbidden):
        healthcare.export_to_bigquery(store, world.table_uri("t", dataset=f"locked_{unique_id}"), "WRITE_APPEND")
