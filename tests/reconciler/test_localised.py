"""After a change, a run exports only the studies that changed (a filterConfig file in the stack's
stagingBucket, the sandbox's Cloud Storage stand-in), the whole store when counts cannot say
where; every statement reports the bytes it processed, and the snapshot-dependent ones grow with
the change, not with the table."""

from __future__ import annotations

from datetime import timedelta

from tests.reconciler.conftest import PROJECT, utcnow

LATER = timedelta(hours=1)


def _table_bytes(world, table: str) -> dict[str, int]:
    """The table's modelled bytes now: every column (what a DELETE bills whole) and its key columns."""
    from dicomstream.sandbox import bytes_model

    client = world.sandbox.bigquery_client(PROJECT)
    ref = world.table(table)
    schema = [f.to_api_repr() for f in client.get_table(ref.sql_id).schema]
    rows = list(client.query_and_wait(f"SELECT COUNT(*) AS n FROM `{ref.sql_id}`", job_retry=None))[0]["n"]
    keys = [f for f in schema if f["name"] in ("SOPInstanceUID", "LastUpdated", "SourceDicomStore", "StudyInstanceUID")]
    return {"all": rows * sum(map(bytes_model.field_bytes, schema)), "keys": rows * sum(map(bytes_model.field_bytes, keys))}


def uids(instances) -> set[str]:
    return {ds.SOPInstanceUID for ds in instances}


def _settle(world) -> None:
    """Compared in full once (no watermark yet), then steady."""
    code, out = world.run_json("reconcile", "--stack", "dev", "--apply")
    assert code == 0, out
    code, out = world.run_json("reconcile", "--stack", "dev", "--apply")
    assert code == 0 and out["steady"] == [world.table("radiology").uri], out


def _run(world, *args, now=None):
    before = len(world.exports())
    code, out = world.run_json("reconcile", "--stack", "dev", "--apply", *args, now=now)
    return code, out, len(world.exports()) - before


def _bytes(out, prefix: str) -> int:
    return sum(s["bytes_processed"] or 0 for s in out["statements"] if s["statement"].startswith(prefix))


def test_after_a_change_only_the_changed_study_is_exported(world, instances):
    from dicomstream.core.staging import bucket_body
    from dicomstream.gcp.storage import StorageClient

    bucket = world.dataset.replace("_", "-")
    world.write_stack({"radiology": [f"{world.dataset}.radiology"]}, bucket=bucket)
    world.provision()
    # provisioned with the settings the program declares (private, objects deleted after a day)
    got = StorageClient(world.healthcare.base_url).get_bucket(bucket)
    wanted = bucket_body(bucket, "us-central1", {"environment": "dev", "managed-by": "dicomstream"})
    assert {k: got.get(k) for k in wanted} == wanted
    world.store("radiology", instances)  # two studies of six instances
    _settle(world)
    study = instances[0].StudyInstanceUID
    rad = world.stores["radiology"]
    world.healthcare.call("POST", f"v1/{rad}/dicomWeb/studies/{study}:setBlobStorageSettings",
                          json_body={"blobStorageSettings": {"blobStorageClass": "ARCHIVE"}})  # streamed UPDATE rows
    world.delete("radiology", instances[7])  # a streamed DELETE row in the other study
    table = _table_bytes(world, "radiology")

    code, out, exported = _run(world, now=utcnow() + LATER)
    assert code == 0, out
    assert exported == 1 and out["localised"] == {"radiology": 2}, out  # both studies changed, one filtered export
    removed = {o["action"]: o.get("rows_deleted", o.get("duplicates_removed")) for o in out["outcomes"]
               if o["action"] in ("deduplicate", "delete_rows")}
    # the 6 old versions and the deleted instance's INSERT row (older than its DELETE row); then the DELETE row
    assert removed == {"deduplicate": 7, "delete_rows": 1}
    assert {o["rows_removed"] for o in out["outcomes"] if o["action"] in ("deduplicate", "delete_rows")} == {8}
    # ONE DELETE for both, billed for the table once (every column: BigQuery's t) plus its key columns
    deletes = [s for s in out["statements"] if s["statement"].split(" ", 1)[0] in
               ("delete_rows", "deduplicate", "delete_rows+deduplicate")]
    assert [s["statement"] for s in deletes] == [f"delete_rows+deduplicate {world.table('radiology').uri}"]
    assert table["all"] < deletes[0]["bytes_processed"] <= table["all"] + 2 * table["keys"], (deletes, table)
    assert world.current("radiology") == {uid: 1 for uid in uids(instances) - uids(instances[7:8])}
    world.assert_converged({"radiology": uids(instances) - uids(instances[7:8])})


def test_a_store_change_the_table_never_saw_exports_the_whole_store(world, instances):
    world.write_stack({"radiology": [f"{world.dataset}.radiology"]}, bucket=world.dataset.replace("_", "-"))
    world.provision()
    world.store("radiology", instances[:6])
    _settle(world)
    study = instances[0].StudyInstanceUID
    rad = world.stores["radiology"]
    world.healthcare.call("POST", f"v1/{rad}/dicomWeb/studies/{study}:setBlobStorageSettings",
                          json_body={"blobStorageSettings": {"blobStorageClass": "COLDLINE"}})
    configured = world.stream_uris("radiology")
    world.healthcare.set_stream_configs(rad, [])
    world.store("radiology", instances[6:8])  # another study, stored while streaming was off: no row says so
    world.healthcare.set_stream_configs(rad, configured)

    code, out, exported = _run(world)
    assert code == 0, out
    assert exported == 1 and out["localised"] == {}, out  # the counts cannot localise the gap: the whole store
    assert [o["rows_added"] for o in out["outcomes"] if o["action"] == "add_rows"] == [2]
    assert world.current("radiology") == {uid: 1 for uid in uids(instances[:8])}


def test_an_unchanged_store_of_a_shared_table_is_not_exported(world, instances):
    stream = f"{{table: {world.dataset}.shared, includeSourceStore: true}}"
    world.write_stack({"radiology": [stream], "cardiology": [stream]}, bucket=world.dataset.replace("_", "-"))
    world.provision()
    table = world.table("shared").uri
    world.store("radiology", instances[:6])
    world.store("cardiology", instances[6:])
    code, out = world.run_json("reconcile", "--stack", "dev", "--apply")
    assert code == 0, out
    code, out = world.run_json("reconcile", "--stack", "dev", "--apply")
    assert code == 0 and out["steady"] == [table], out
    world.delete("cardiology", instances[6])

    code, out, exported = _run(world, now=utcnow() + LATER)
    assert code == 0, out
    assert exported == 1 and out["localised"] == {"radiology": 0, "cardiology": 1}, out
    assert [o.get("rows_deleted", o.get("duplicates_removed")) for o in out["outcomes"]
            if o["action"] in ("deduplicate", "delete_rows")] == [1, 1]
    assert world.current("shared", world.stores["radiology"]) == {uid: 1 for uid in uids(instances[:6])}
    assert world.current("shared", world.stores["cardiology"]) == {uid: 1 for uid in uids(instances[7:])}


def test_every_statement_reports_its_bytes_and_a_filtered_snapshot_costs_the_change(world, instances):
    world.write_stack({"radiology": [f"{world.dataset}.radiology"]}, bucket=world.dataset.replace("_", "-"))
    world.provision()
    world.store("radiology", instances[:1])
    world.admin.clone_instances(world.stores["radiology"], instances[0].SOPInstanceUID, 200, prefix="7")
    world.store("radiology", instances[6:7])  # a second study of one instance
    _settle(world)
    code, steady_out, exported = _run(world)
    assert exported == 0 and steady_out["statements"] and all(s["bytes_processed"] is not None
                                                              for s in steady_out["statements"])
    counts = _bytes(steady_out, "counts ")
    assert counts > 0 and steady_out["bytes_processed"] == sum(s["bytes_processed"] for s in steady_out["statements"])
    # nothing counted, nothing deleted: the steady run sends no DELETE of rows (each bills the whole table)
    assert not [s for s in steady_out["statements"] if s["statement"].startswith(("delete_rows", "deduplicate"))]

    world.delete("radiology", instances[6])  # a change of one instance in a table of 202
    code, out, exported = _run(world, now=utcnow() + LATER)
    assert code == 0 and out["localised"] == {"radiology": 1}, out
    compare = _bytes(out, "compare ")
    # the comparison reads the table's key columns (like the count) and the snapshot of one study
    assert 0 < compare < 4 * counts, (compare, counts)
    world.assert_converged({"radiology": uids(instances[:1]) | {r["uid"] for r in world.table_rows("radiology")}})


def test_view_mode_sends_no_delete_after_a_change_and_the_view_shows_one_current_row(world, instances):
    """`--deletes view` after a storage-class change (UPDATE rows: the old rows become duplicates) and
    a deletion: no DELETE statement at all (each bills the whole table); the table keeps Google's
    rows, `TABLE_current` shows exactly the live instances, one current row each."""
    world.write_stack({"radiology": [f"{world.dataset}.radiology"]}, bucket=world.dataset.replace("_", "-"))
    world.provision()
    world.store("radiology", instances)
    code, out = world.run_json("reconcile", "--stack", "dev", "--apply", "--deletes", "view")
    assert code == 0, out
    rad = world.stores["radiology"]
    world.healthcare.call("POST", f"v1/{rad}/dicomWeb/studies/{instances[0].StudyInstanceUID}:setBlobStorageSettings",
                          json_body={"blobStorageSettings": {"blobStorageClass": "ARCHIVE"}})
    world.delete("radiology", instances[7])
    rows_before = sum(world.rows("radiology").values())

    code, out = world.run_json("reconcile", "--stack", "dev", "--apply", "--deletes", "view", now=utcnow() + LATER)
    assert code == 0, out
    assert not [s for s in out["statements"] if s["statement"].startswith(("delete_rows", "deduplicate"))], out
    assert [o["action"] for o in out["outcomes"] if o["action"] in ("deduplicate", "delete_rows")] == []
    assert sum(world.rows("radiology").values()) == rows_before  # nothing deleted
    live = uids(instances) - uids(instances[7:8])
    client = world.sandbox.bigquery_client(PROJECT)
    shown = [r["SOPInstanceUID"] for r in client.query_and_wait(
        f"SELECT SOPInstanceUID FROM `{world.table('radiology_current').sql_id}`", job_retry=None)]
    assert sorted(shown) == sorted(live)  # one current row per live instance
    code, again = world.run_json("reconcile", "--stack", "dev", "--apply", "--deletes", "view", now=utcnow() + LATER)
    assert code == 0 and [a for a in again["actions"] if a["mutating"]] == [], again
