"""Issue 20's scenarios through the CLI on the sandbox: a store outside the stack streaming into the
stack's table, a destination named like another's view, a missed storage-class change, mixed
BigQuery locations and a missing snapshot dataset. Each ends on: every live instance has exactly
one current row in every table, and no row of a store outside the stack was touched."""

from __future__ import annotations

from datetime import timedelta

from tests.reconciler.conftest import PROJECT, utcnow

LATER = timedelta(hours=1)  # rows of deleted instances are then out of the streaming buffer


def uids(instances) -> set[str]:
    return {ds.SOPInstanceUID for ds in instances}


def _outsider(world, streams: list[dict]) -> str:
    """A DICOM store of no stack (another Healthcare dataset of the project) streaming into our tables."""
    project_location = f"projects/{PROJECT}/locations/us-central1"
    world.healthcare.create_dataset(PROJECT, "us-central1", "elsewhere")
    world.healthcare.create_dicom_store(f"{project_location}/datasets/elsewhere", "outsider",
                                        {"streamConfigs": [{"bigqueryDestination": d} for d in streams]})
    return f"{project_location}/datasets/elsewhere/dicomStores/outsider"


def test_a_foreign_store_in_a_table_without_source_column_blocks_its_deletes(world, instances):
    world.write_stack({"radiology": [f"{world.dataset}.instances"]})
    world.provision()
    outsider = _outsider(world, [{"tableUri": world.table("instances").uri}])
    world.store("radiology", instances[:6])
    world.healthcare.store_instances(outsider, instances[6:9])
    world.delete("radiology", instances[0])
    foreign_before = [r for r in world.table_rows("instances") if r["uid"] in uids(instances[6:9])]

    code, out = world.run_json("reconcile", "--stack", "dev", "--apply", "--max-delete-share", "1", now=utcnow() + LATER)
    assert code == 5, out  # refused for safety: nothing of the outsider's rows may go
    (refusal,) = [a for a in out["actions"] if a["action"] == "refuse_unattributed"]
    assert outsider in refusal["description"] and "includeSourceStore" in refusal["description"]
    assert not [o for o in out["outcomes"] if o["action"] in ("delete_rows", "deduplicate")]
    assert [r for r in world.table_rows("instances") if r["uid"] in uids(instances[6:9])] == foreign_before
    live = uids(instances[1:9])
    assert world.current("instances") == {uid: 1 for uid in live}


def test_with_source_store_only_the_stacks_rows_are_deleted(world, instances):
    world.write_stack({"radiology": [f"{world.dataset}.shared"]})
    world.provision()
    table = world.table("shared").uri
    world.set_streams("radiology", [{"tableUri": table, "includeSourceStore": True}])
    outsider = _outsider(world, [{"tableUri": table, "includeSourceStore": True}])
    world.store("radiology", instances[:5])
    world.healthcare.store_instances(outsider, instances[:2] + instances[5:8])  # two instances in both stores
    world.delete("radiology", instances[0])  # still in the outsider's store: its rows there stay live
    world.healthcare.delete_instance(outsider, instances[6].StudyInstanceUID, instances[6].SeriesInstanceUID,
                                     instances[6].SOPInstanceUID)  # the outsider's own business
    foreign_before = [r for r in world.table_rows("shared") if r["src"] == outsider]

    code, out = world.run_json("reconcile", "--stack", "dev", "--apply", "--max-delete-share", "1", now=utcnow() + LATER)
    assert code == 0, out
    removed = [o.get("rows_deleted", o.get("duplicates_removed")) for o in out["outcomes"]
               if o["action"] in ("deduplicate", "delete_rows")]
    assert sum(removed) == 2  # the deleted instance's INSERT row (older than its DELETE row) and the DELETE row
    assert [r for r in world.table_rows("shared") if r["src"] == outsider] == foreign_before
    rad = world.stores["radiology"]
    assert world.current("shared", rad) == {uid: 1 for uid in uids(instances[1:5])}
    assert {r["uid"] for r in world.table_rows("shared") if r["src"] == rad} == uids(instances[1:5])


def test_validate_refuses_a_table_named_like_another_destinations_view(world):
    world.write_stack({"radiology": [f"{world.dataset}.t", f"{world.dataset}.t_current"]})
    result = world.run("validate", "--stack", "dev")
    assert result.exit_code == 1, result.output  # validate: 1 = the stack file has problems
    assert ("dicomStores[0].streams[1]: table 't_current' is the name `reconcile --deletes view` gives the view of 't'"
            in result.output)


def test_the_view_mode_never_replaces_a_table_by_a_view(world, instances):
    from google.cloud import bigquery

    world.write_stack({"radiology": [f"{world.dataset}.radiology"]})
    world.provision()
    world.store("radiology", instances[:3])
    world.delete("radiology", instances[0])
    client = world.sandbox.bigquery_client(PROJECT)
    client.create_table(bigquery.Table(world.table("radiology_current").sql_id,  # someone's table, not a view
                                       schema=[bigquery.SchemaField("SOPInstanceUID", "STRING")]))
    client.insert_rows_json(world.table("radiology_current").sql_id, [{"SOPInstanceUID": "kept"}])

    result = world.run("reconcile", "--stack", "dev", "--apply", "--deletes", "view", now=utcnow() + LATER)
    assert result.exit_code == 1, result.output
    assert "exists and is a table, not the view: it is never replaced by a view" in result.output
    assert client.get_table(world.table("radiology_current").sql_id).table_type == "TABLE"
    assert world.rows("radiology_current") == {"kept": 1}
    assert world.current("radiology") == {uid: 1 for uid in uids(instances[1:3])}


def test_a_storage_class_change_missed_while_streaming_was_off_is_repaired(world, instances):
    world.write_stack({"radiology": [f"{world.dataset}.radiology"]})
    world.provision()
    world.store("radiology", instances[:4])
    rad = world.stores["radiology"]
    configured = world.stream_uris("radiology")
    world.healthcare.set_stream_configs(rad, [])
    study = instances[0].StudyInstanceUID
    moved = {ds.SOPInstanceUID for ds in instances[:4] if ds.StudyInstanceUID == study}
    world.healthcare.call("POST", f"v1/{rad}/dicomWeb/studies/{study}:setBlobStorageSettings",
                          json_body={"blobStorageSettings": {"blobStorageClass": "ARCHIVE"}})  # an UPDATE nobody saw
    world.healthcare.set_stream_configs(rad, configured)

    result = world.run("reconcile", "--stack", "dev")
    assert result.exit_code == 3, result.output
    assert f"the current version of {len(moved)} instances whose row there is outdated" in result.stdout
    assert world.run("reconcile", "--stack", "dev", "--apply").exit_code == 0
    assert world.current("radiology") == {uid: 1 for uid in uids(instances[:4])}
    classes = {r["uid"]: r["sc"] for r in world.table_rows("radiology") if r["type"] != "DELETE"}
    current = {r["uid"]: r["sc"] for r in world.table_rows("radiology")}  # sorted by LastUpdated: the last wins
    assert {uid for uid, sc in current.items() if sc == "ARCHIVE"} == moved and set(classes) == uids(instances[:4])
    code, out = world.run_json("reconcile", "--stack", "dev", "--apply", now=utcnow() + LATER)  # the old versions go
    assert code == 0 and [o["duplicates_removed"] for o in out["outcomes"] if o["action"] == "deduplicate"] == [len(moved)]
    world.assert_converged({"radiology": uids(instances[:4])})


def test_tables_in_two_locations_are_compared_with_snapshots_in_their_own_location(world, instances):
    regional = f"{world.dataset}_c"
    world.write_stack({"radiology": [f"{world.dataset}.instances", f"{regional}.radiology"]},
                      extra_datasets=f"- {{id: {regional}, location: us-central1}}")
    world.provision()
    configured = world.stream_uris("radiology")
    world.healthcare.set_stream_configs(world.stores["radiology"], [])
    world.store("radiology", instances[:3])  # a gap in both tables
    world.healthcare.set_stream_configs(world.stores["radiology"], configured)

    code, out = world.run_json("reconcile", "--stack", "dev", "--apply")
    assert code == 0, out
    added = {o["table"]: o["rows_added"] for o in out["outcomes"] if o["action"] == "add_rows"}
    assert added == {world.table("instances").uri: 3, f"bq://{PROJECT}.{regional}.radiology": 3}
    assert len(world.exports()) == 2  # one snapshot per location
    world.assert_converged({"instances": uids(instances[:3])})
    rows = world.sandbox.bigquery_client(PROJECT).query_and_wait(
        f"SELECT SOPInstanceUID AS uid FROM `{PROJECT}.{regional}.radiology`", job_retry=None)
    assert sorted(row["uid"] for row in rows) == sorted(uids(instances[:3]))


def test_validate_refuses_a_location_without_a_snapshot_dataset(world):
    world.write_stack({"radiology": [f"{world.dataset}.instances", f"acme-analytics-dev.{world.dataset}_eu.t"]},
                      extra_datasets=f"- {{id: {world.dataset}_eu, project: acme-analytics-dev, location: EU}}")
    result = world.run("validate", "--stack", "dev")
    assert result.exit_code == 1, result.output  # validate: 1 = the stack file has problems
    assert f"bigquery.datasets[1].location: dataset acme-analytics-dev.{world.dataset}_eu is in EU, and no destination " \
           f"dataset of project {PROJECT} (the DICOM stores' project) is in EU" in result.output


def test_a_missing_snapshot_dataset_blocks_only_the_tables_of_its_location(world, instances):
    regional, other = f"{world.dataset}_c", f"{world.dataset}_x"
    world.write_stack({"radiology": [f"{world.dataset}.instances", f"acme-analytics-dev.{other}.radiology"],
                       "cardiology": [f"{regional}.cardiology"]},
                      extra_datasets=(f"- {{id: {regional}, location: us-central1}}\n"
                                      f"- {{id: {other}, project: acme-analytics-dev, location: us-central1}}"))
    world.provision()
    configured = world.stream_uris("radiology")
    world.healthcare.set_stream_configs(world.stores["radiology"], [])
    world.store("radiology", instances[:3])
    world.healthcare.set_stream_configs(world.stores["radiology"], configured)
    world.sandbox.bigquery_client(PROJECT).delete_dataset(f"{PROJECT}.{regional}", delete_contents=True)

    code, out = world.run_json("reconcile", "--stack", "dev", "--apply")
    assert code == 3, out  # the missing dataset is an operator's to fix
    blocked = [a["description"] for a in out["actions"] if a["action"] == "blocked"]
    assert any(f"the snapshot dataset {PROJECT}.{regional} does not exist" in line for line in blocked), blocked
    assert [o["table"] for o in out["outcomes"] if o["action"] == "add_rows"] == [world.table("instances").uri]
    world.assert_converged({"instances": uids(instances[:3])})


def _steady_run(world):
    exports = len(world.exports())
    code, out = world.run_json("reconcile", "--stack", "dev", "--apply")
    assert code == 0, out
    return len(world.exports()) - exports, out


def test_steady_state_costs_no_export_and_the_same_calls_whatever_the_size(world, instances):
    world.write_stack({"radiology": [f"{world.dataset}.radiology"]})
    world.provision()
    world.store("radiology", instances[:3])
    calls = {}
    for size in ("small", "large"):
        if size == "large":
            # 1,000 instances (the bench has the 50,000 row: same calls, no export)
            world.admin.clone_instances(world.stores["radiology"], instances[0].SOPInstanceUID, 997, prefix="7")
        exported, first = _steady_run(world)  # something changed since the last run: compared in full
        assert exported == 1 and first["steady"] == []
        exported, out = _steady_run(world)  # nothing changed: the counts and the watermark agree
        assert exported == 0 and out["steady"] == [world.table("radiology").uri], out
        calls[size] = out["calls"]
    assert calls["small"] == calls["large"]
    assert "healthcare POST :export" not in calls["large"] and calls["large"]["healthcare GET :getDICOMStoreMetrics"] == 1

    configured = world.stream_uris("radiology")  # a gap the counts see: an instance stored while streaming was off
    world.healthcare.set_stream_configs(world.stores["radiology"], [])
    world.store("radiology", instances[3:4])
    world.healthcare.set_stream_configs(world.stores["radiology"], configured)
    exported, out = _steady_run(world)
    assert exported == 1 and [o["rows_added"] for o in out["outcomes"] if o["action"] == "add_rows"] == [1]

    exported, out = _steady_run(world)  # compared after the change: nothing to do, the watermark is written
    exported, out = _steady_run(world)
    assert exported == 0
    code, full = world.run_json("reconcile", "--stack", "dev", "--full")  # --full compares anyway
    assert code == 0 and full["steady"] == [] and full["calls"].get("healthcare POST :export") == 1
