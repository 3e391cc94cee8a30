"""`--deletes view`, the dry run, the streaming buffer with the sandbox's clock, and call counts."""

from __future__ import annotations

from datetime import timedelta

from tests.reconciler.conftest import PROJECT, utcnow


def test_view_mode_hides_deleted_instances_and_keeps_the_rows(world, instances):
    world.provision()
    world.store("radiology", instances[:4])
    world.delete("radiology", instances[0])

    code, out = world.run_json("reconcile", "--stack", "dev", "--apply", "--only", "deletes", "--deletes", "view")
    assert code == 0, out
    assert sorted(o["view"] for o in out["outcomes"]) == [
        f"bq://{PROJECT}.{world.dataset}.instances_current", f"bq://{PROJECT}.{world.dataset}.radiology_current"]
    client = world.sandbox.bigquery_client(PROJECT)
    visible = [r["SOPInstanceUID"] for r in client.query_and_wait(
        f"SELECT SOPInstanceUID FROM `{PROJECT}.{world.dataset}.instances_current`", job_retry=None)]
    assert sorted(visible) == sorted(ds.SOPInstanceUID for ds in instances[1:4])  # hidden at once, no buffer wait
    assert len(world.rows("instances")) == 4  # nothing deleted from the table itself

    code, again = world.run_json("reconcile", "--stack", "dev", "--apply", "--only", "deletes", "--deletes", "view")
    assert code == 0 and again["actions"] == []


def test_dry_run_changes_nothing(world, instances):
    world.provision()
    world.store("radiology", instances[:3])
    world.delete("radiology", instances[0])
    world.healthcare.set_stream_configs(world.stores["cardiology"], [])
    before = (world.stream_uris("cardiology"), world.rows("instances"), world.rows("radiology"))
    tables_before = {t.table_id for t in world.sandbox.bigquery_client(PROJECT).list_tables(f"{PROJECT}.{world.dataset}")}

    later = utcnow() + timedelta(hours=2)
    result = world.run("reconcile", "--stack", "dev", now=later)
    assert result.exit_code == 3
    assert "+ patch dicomStores[cardiology] streamConfigs: add" in result.stdout
    assert "+ delete rows of 1 deleted instances" in result.stdout
    assert "dry run: " in result.stdout

    assert (world.stream_uris("cardiology"), world.rows("instances"), world.rows("radiology")) == before
    tables_after = {t.table_id for t in world.sandbox.bigquery_client(PROJECT).list_tables(f"{PROJECT}.{world.dataset}")}
    assert tables_after == tables_before and "_dicomstream_state" not in tables_after


def test_rows_aged_by_the_sandbox_clock_are_deleted_young_ones_wait(world, instances):
    world.provision()
    world.admin.set_clock(utcnow() - timedelta(hours=3))  # stored three hours ago
    world.store("radiology", instances[:2])
    world.admin.reset_clock()
    world.store("radiology", instances[2:4])  # stored just now
    for ds in (instances[0], instances[2]):
        world.delete("radiology", ds)

    code, out = world.run_json("reconcile", "--stack", "dev", "--apply", "--only", "deletes")
    assert code == 0, out
    assert {a["action"] for a in out["actions"]} == {"delete_rows", "defer_deletes"}
    assert set(world.rows("radiology")) == {instances[1].SOPInstanceUID, instances[2].SOPInstanceUID,
                                            instances[3].SOPInstanceUID}
    # Next run: the old row is gone, the young one still waits (not counted as an action to apply).
    code, again = world.run_json("reconcile", "--stack", "dev", "--apply", "--only", "deletes")
    assert code == 0 and [a["action"] for a in again["actions"]] == ["defer_deletes", "defer_deletes"]


def test_unchanged_stores_cost_at_most_two_reads_each(world, instances):
    names = [f"s{i}" for i in range(6)]
    world.write_stack({name: [f"{world.dataset}.{name}"] for name in names})
    world.provision()
    for i, name in enumerate(names):
        world.store(name, instances[i:i + 1])
    assert world.run_json("reconcile", "--stack", "dev", "--apply")[0] == 0  # first run remembers the tables

    code, drift = world.run_json("drift", "--stack", "dev")
    assert code == 0
    assert sum(drift["calls"].values()) == 4  # stores list + project + IAM policy + dataset: not per store

    code, dry = world.run_json("reconcile", "--stack", "dev")
    assert code == 0 and dry["actions"] == []
    qido = dry["calls"]["healthcare GET instances"]
    assert qido == len(names)  # one QIDO page per store, no per-row calls
    assert sum(dry["calls"].values()) - qido <= 7  # list, project, IAM, dataset, tables, state, one content query

    world.healthcare.set_stream_configs(world.stores["s3"], [])
    code, fixed = world.run_json("reconcile", "--stack", "dev", "--apply")
    assert code == 0
    assert fixed["calls"].get("healthcare PATCH dicomStores") == 1
    assert fixed["calls"].get("healthcare POST :export") == 1
