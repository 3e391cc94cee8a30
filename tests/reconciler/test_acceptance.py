"""The acceptance scenarios of the reconciler issue, end to end through the CLI on the sandbox."""

from __future__ import annotations

from datetime import timedelta

from tests.reconciler.conftest import utcnow


def test_removed_stream_config_is_drift_then_fixed(world, instances):
    world.provision()
    world.store("radiology", instances[:4])
    assert world.run("drift", "--stack", "dev").exit_code == 0

    removed = f"bq://acme-imaging-dev.{world.dataset}.radiology"
    world.healthcare.set_stream_configs(world.stores["radiology"], [f"bq://acme-imaging-dev.{world.dataset}.instances"])
    result = world.run("drift", "--stack", "dev")
    assert result.exit_code == 3
    assert result.stdout.splitlines() == [f"dicomStores[radiology].streams: missing {removed}"]

    result = world.run("reconcile", "--stack", "dev", "--apply")
    assert result.exit_code == 0, result.output
    assert world.stream_uris("radiology") == [f"bq://acme-imaging-dev.{world.dataset}.instances", removed]
    assert world.run("drift", "--stack", "dev").exit_code == 0
    # The table already held every instance; the backfill added nothing twice.
    assert set(world.rows("radiology").values()) == {1} and len(world.rows("radiology")) == 4

    code, again = world.run_json("reconcile", "--stack", "dev", "--apply")
    assert code == 0 and again["actions"] == [] and not again["applied"]


def test_new_destination_is_backfilled_with_one_row_per_instance(world, instances):
    world.provision()
    world.store("radiology", instances[:8])
    world.store("cardiology", instances[8:])
    world.write_stack({"radiology": [f"{world.dataset}.instances", f"{world.dataset}.radiology"],
                       "cardiology": [f"{world.dataset}.instances", f"{world.dataset}.cardiology"]})

    result = world.run("reconcile", "--stack", "dev")  # dry run first: nothing changes
    assert result.exit_code == 3 and "backfill" in result.stdout
    assert world.rows("cardiology") == {}

    code, out = world.run_json("reconcile", "--stack", "dev", "--apply")
    assert code == 0, out
    expected = {ds.SOPInstanceUID for ds in instances[8:]}
    assert world.rows("cardiology") == {uid: 1 for uid in expected}
    assert world.rows("instances") == {ds.SOPInstanceUID: 1 for ds in instances}
    backfills = [o for o in out["outcomes"] if o["action"] == "backfill"]
    assert [(o["status"], o["instances_exported"]) for o in backfills] == [("done", 4)]

    code, again = world.run_json("reconcile", "--stack", "dev", "--apply")
    assert code == 0 and again["actions"] == []


def test_deleted_instances_leave_bigquery_once_out_of_the_streaming_buffer(world, instances):
    world.provision()
    world.store("radiology", instances[:6])
    world.store("cardiology", instances[6:9])
    for ds in (instances[0], instances[7]):
        world.delete("radiology" if ds in instances[:6] else "cardiology", ds)

    # Right after: the rows are younger than the buffer window → nothing deleted, retried later.
    result = world.run("reconcile", "--stack", "dev", "--apply")
    assert result.exit_code == 0, result.output
    assert "streaming buffer window" in result.stdout
    assert len(world.rows("instances")) == 9

    later = utcnow() + timedelta(hours=1)
    code, out = world.run_json("reconcile", "--stack", "dev", "--apply", now=later)
    assert code == 0, out
    remaining = {ds.SOPInstanceUID for ds in instances[1:9]} - {instances[7].SOPInstanceUID}
    assert world.rows("instances") == {uid: 1 for uid in remaining}
    assert set(world.rows("radiology")) == {ds.SOPInstanceUID for ds in instances[1:6]}
    deleted = sorted(o["rows_deleted"] for o in out["outcomes"] if o["action"] == "delete_rows")
    assert deleted == [1, 2]  # radiology table: 1 row; shared instances table: 2 rows, ONE statement each

    code, again = world.run_json("reconcile", "--stack", "dev", "--apply", now=later)
    assert code == 0 and again["actions"] == []


def test_new_store_without_instances_backfills_nothing_and_settles(world):
    world.provision()
    world.write_stack({"radiology": [f"{world.dataset}.instances", f"{world.dataset}.radiology"],
                       "cardiology": [f"{world.dataset}.instances"],
                       "oncology": [f"{world.dataset}.oncology"]})
    world.healthcare.create_dicom_store(world.stores["radiology"].rsplit("/dicomStores/", 1)[0], "oncology", {})
    result = world.run("reconcile", "--stack", "dev", "--apply")
    assert result.exit_code == 0, result.output
    assert world.run("drift", "--stack", "dev").exit_code == 0
    assert world.run("reconcile", "--stack", "dev").stdout.startswith("nothing to do")
