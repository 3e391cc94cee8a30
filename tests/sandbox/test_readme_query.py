"""The SQL docs/sandbox.md shows runs against a table the sandbox streamed (Google's shape)."""

from __future__ import annotations

from sandbox_world import query

from tests.docs.pages import example


def test_readme_query_runs_on_a_streamed_table(world, healthcare, bigquery_client, instances):
    sql = example("streamed-query")
    assert "`acme-imaging-dev.dicom_metadata.instances`" in sql
    healthcare.create_dicom_store(world.dataset_name, "readme", {})
    store = world.store("readme")
    healthcare.set_stream_configs(store, [world.table_uri("instances")])
    healthcare.store_instances(store, instances[:3])
    gone = instances[0]
    healthcare.delete_instance(store, gone.StudyInstanceUID, gone.SeriesInstanceUID, gone.SOPInstanceUID)
    rows = query(bigquery_client, sql.replace("acme-imaging-dev.dicom_metadata.instances", f"{world.project}.{world.bq_dataset}.instances"))
    assert sorted((r["FamilyName"], r["SOPInstanceUID"]) for r in rows) == sorted(
        (ds.PatientName.family_name, ds.SOPInstanceUID) for ds in instances[:3])
