"""The scenarios of the reconciler issue, end to end through the CLI on the sandbox. After each:
every live instance has exactly one row in every destination table, deleted ones none."""

from __future__ import annotations

from datetime import timedelta

from tests.reconciler.conftest import PROJECT, utcnow

LATER = timedelta(hours=1)  # --now: rows of deleted instances are then out of the streaming buffer


def uids(instances) -> set[str]:
    return {ds.SOPInstanceUID for ds in instances}


def test_streams_cleared_by_hand_instances_stored_then_restored_by_hand(world, instances):
    """The silent gap: the old reconciler said "nothing to do" for good once a table was backfilled."""
    world.provision()
    world.store("radiology", instances[:3])
    assert world.run("reconcile", "--stack", "dev", "--apply").exit_code == 0
    rad = world.stores["radiology"]
    configured = world.stream_uris("radiology")
    world.healthcare.set_stream_configs(rad, [])  # cleared by hand
    world.store("radiology", instances[3:6])  # not streamed anywhere
    world.healthcare.set_stream_configs(rad, configured)  # restored by hand (`pulumi up`)
    assert world.run("drift", "--stack", "dev").exit_code == 0  # no drift to see...

    result = world.run("reconcile", "--stack", "dev")  # ...but the comparison sees the gap
    assert result.exit_code == 3
    assert f"+ add rows of 3 instances of dicomStores[radiology] missing from bq://{PROJECT}.{world.dataset}.radiology" in result.stdout

    code, out = world.run_json("reconcile", "--stack", "dev", "--apply")
    assert code == 0, out
    assert sorted(o["rows_added"] for o in out["outcomes"] if o["action"] == "add_rows") == [3, 3]
    world.assert_converged({"radiology": uids(instances[:6]), "instances": uids(instances[:6])})
    code, again = world.run_json("reconcile", "--stack", "dev")
    assert code == 0 and [a for a in again["actions"] if a["mutating"]] == []


def test_new_destination_is_filled_from_the_snapshot_with_one_row_per_instance(world, instances):
    world.provision()
    world.store("radiology", instances[:8])
    world.store("cardiology", instances[8:])
    world.write_stack({"radiology": [f"{world.dataset}.instances", f"{world.dataset}.radiology"],
                       "cardiology": [f"{world.dataset}.instances", f"{world.dataset}.cardiology"]})
    code, out = world.run_json("reconcile", "--stack", "dev", "--apply")
    assert code == 0, out
    world.assert_converged({"cardiology": uids(instances[8:]), "instances": uids(instances),
                            "radiology": uids(instances[:8])})
    tables = {t.table_id for t in world.sandbox.bigquery_client(PROJECT).list_tables(f"{PROJECT}.{world.dataset}")}
    assert not [t for t in tables if t.startswith("_dicomstream_snapshot_")]  # staging dropped


def test_export_refused_after_the_patch_is_reported_and_the_rerun_completes(world, instances):
    world.provision()
    world.store("cardiology", instances[:4])
    world.write_stack({"radiology": [f"{world.dataset}.instances", f"{world.dataset}.radiology"],
                       "cardiology": [f"{world.dataset}.instances", f"{world.dataset}.cardiology"]})
    world.admin.add_fault(r":export$", method="POST", status=403, count=-1, message="Permission denied on export")
    result = world.run("reconcile", "--stack", "dev", "--apply")
    assert result.exit_code == 1, result.output
    line = next(x for x in result.stdout.splitlines() if x.startswith("✗ snapshot of dicomStores[cardiology]: "))
    assert "permission denied:" in line and line.endswith("Permission denied on export")
    assert (f"{world.dataset}.instances: not changed: no rows deleted: no complete snapshot of "
            "dicomStores[radiology], dicomStores[cardiology]") in result.stdout
    assert "Traceback" not in result.output
    world.admin.clear_faults()
    assert world.run("reconcile", "--stack", "dev", "--apply").exit_code == 0
    world.assert_converged({"cardiology": uids(instances[:4]), "instances": uids(instances[:4])})


def test_grant_outage_fixed_with_create_missing(world, instances):
    world.provision()
    client = world.sandbox.bigquery_client(PROJECT)
    ds = client.get_dataset(f"{PROJECT}.{world.dataset}")
    ds.access_entries = [e for e in ds.access_entries if "gcp-sa-healthcare" not in str(e.entity_id)]
    client.update_dataset(ds, ["access_entries"])  # the grant outage
    world.store("radiology", instances[:3])  # streaming fails: the agent may not write
    assert world.rows("radiology") == {}
    result = world.run("reconcile", "--stack", "dev", "--apply")
    assert result.exit_code == 3 and ": not changed: not taken: the Healthcare Service Agent lacks" in result.stdout
    code, out = world.run_json("reconcile", "--stack", "dev", "--apply", "--create-missing")
    assert code == 0, out
    world.assert_converged({"radiology": uids(instances[:3]), "instances": uids(instances[:3])})


def test_deleted_instances_leave_once_out_of_the_buffer_and_tombstones_count_as_gone(world, instances):
    world.provision()
    world.store("radiology", instances[:6])
    world.store("cardiology", instances[6:9])
    for ds, store in ((instances[0], "radiology"), (instances[7], "cardiology")):
        world.delete(store, ds)
    result = world.run("reconcile", "--stack", "dev", "--apply", "--max-delete-share", "1")
    assert result.exit_code == 0, result.output
    assert "streaming buffer window" in result.stdout and len(world.rows("instances")) == 9

    code, out = world.run_json("reconcile", "--stack", "dev", "--apply", "--max-delete-share", "1", now=utcnow() + LATER)
    assert code == 0, out
    live = uids(instances[1:9]) - {instances[7].SOPInstanceUID}
    world.assert_converged({"instances": live, "radiology": uids(instances[1:6])})
    assert sorted(o["rows_deleted"] for o in out["outcomes"] if o["action"] == "delete_rows") == [1, 2]


def test_a_deletion_cap_refuses_to_empty_a_table(world, instances):
    world.provision()
    world.store("radiology", instances[:5])
    for ds in instances[:3]:
        world.delete("radiology", ds)
    result = world.run("reconcile", "--stack", "dev", "--apply", now=utcnow() + LATER)
    assert result.exit_code == 5, result.output
    assert f"{world.dataset}.radiology: NOT deleting " in result.stdout
    assert "more than --max-delete-share 0.2 of the table in one run" in result.stdout
    assert set(world.rows("radiology")) == uids(instances[:5])  # superseded rows may go, every instance's last row stays
    result = world.run("reconcile", "--stack", "dev", "--apply", "--max-delete-share", "1", now=utcnow() + LATER)
    assert result.exit_code == 0, result.output
    world.assert_converged({"radiology": uids(instances[3:5]), "instances": uids(instances[3:5])})


def test_a_failed_snapshot_never_deletes(world, instances, retry_clock):
    """The truncated listing of the old reconciler: evidence that may be partial deletes nothing."""
    world.provision()
    world.store("radiology", instances[:4])
    world.store("cardiology", instances[4:6])
    world.delete("radiology", instances[0])
    # cardiology's export operation never reads back: its snapshot is not evidence
    world.admin.add_fault(r":export$", method="POST", status=500, count=-1)
    result = world.run("reconcile", "--stack", "dev", "--apply", "--max-delete-share", "1", now=utcnow() + LATER)
    assert result.exit_code == 1
    assert "no rows deleted: no complete snapshot of dicomStores" in result.stdout
    assert len(world.rows("instances")) == 6 and len(world.rows("radiology")) == 4


def test_persistent_state_write_error_is_reported_and_loses_nothing(world, instances, retry_clock):
    world.provision()
    world.store("radiology", instances[:2])
    world.healthcare.set_stream_configs(world.stores["radiology"], [])
    world.store("radiology", instances[2:4])
    proxy = world.sandbox.bigquery.proxy
    proxy.faults.add({"method": "POST", "pathRegex": "_dicomstream_state/insertAll", "status": 500, "count": -1})
    try:
        result = world.run("reconcile", "--stack", "dev", "--apply")  # retried until the deadline, on retry_clock
    finally:
        proxy.faults.clear()
    assert result.exit_code == 1, result.output
    assert "✗ record the change to" in result.stdout and "Traceback" not in result.output
    world.assert_converged({"radiology": uids(instances[:4]), "instances": uids(instances[:4])})
    assert world.run("reconcile", "--stack", "dev", "--apply").exit_code == 0


def test_view_mode_hides_deleted_instances_and_keeps_the_rows(world, instances):
    world.provision()
    world.store("radiology", instances[:4])
    world.delete("radiology", instances[0])
    code, out = world.run_json("reconcile", "--stack", "dev", "--apply", "--only", "deletes", "--deletes", "view")
    assert code == 0, out
    client = world.sandbox.bigquery_client(PROJECT)
    visible = [r["SOPInstanceUID"] for r in client.query_and_wait(
        f"SELECT SOPInstanceUID FROM `{PROJECT}.{world.dataset}.instances_current`", job_retry=None)]
    assert sorted(visible) == sorted(uids(instances[1:4]))
    assert len(world.rows("instances")) == 4
    code, again = world.run_json("reconcile", "--stack", "dev", "--apply", "--only", "deletes", "--deletes", "view")
    assert code == 0 and [a for a in again["actions"] if a["mutating"]] == []
