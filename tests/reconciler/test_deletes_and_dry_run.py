"""The dry run, the streaming buffer with the sandbox's clock, DELETE rows (tombstones), and costs
that do not grow with the number of instances."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.reconciler.conftest import PROJECT, utcnow


def _tables(world) -> set[str]:
    return {t.table_id for t in world.sandbox.bigquery_client(PROJECT).list_tables(f"{PROJECT}.{world.dataset}")}


def test_dry_run_changes_nothing_but_a_dropped_snapshot(world, instances):
    world.provision()
    world.store("radiology", instances[:3])
    world.delete("radiology", instances[0])
    world.healthcare.set_stream_configs(world.stores["cardiology"], [])
    before = (world.stream_uris("cardiology"), world.rows("instances"), world.rows("radiology"), _tables(world))

    result = world.run("reconcile", "--stack", "dev", "--max-delete-share", "1", now=utcnow() + timedelta(hours=2))
    assert result.exit_code == 3, result.output
    assert "+ patch dicomStores[cardiology] streamConfigs: add" in result.stdout
    assert "+ delete the rows of 1 deleted instances" in result.stdout
    assert "(1 row of data and 1 DELETE row Google streamed;" in result.stdout  # its INSERT row and its DELETE row
    assert (world.stream_uris("cardiology"), world.rows("instances"), world.rows("radiology"), _tables(world)) == before
    assert "_dicomstream_state" not in before[3]


def test_rows_aged_by_the_sandbox_clock_are_deleted_young_ones_wait(world, instances):
    world.provision()
    world.admin.set_clock(utcnow() - timedelta(hours=3))  # stored three hours ago
    world.store("radiology", instances[:2])
    world.admin.reset_clock()
    world.store("radiology", instances[2:4])  # stored just now
    for ds in (instances[0], instances[2]):
        world.delete("radiology", ds)
    code, out = world.run_json("reconcile", "--stack", "dev", "--apply", "--only", "deletes", "--max-delete-share", "1")
    assert code == 0, out
    assert {a["action"] for a in out["actions"]} == {"delete_rows", "defer_deletes"}
    assert world.current("radiology") == {ds.SOPInstanceUID: 1 for ds in (instances[1], instances[3])}
    rows = world.rows("radiology")  # the old INSERT row is gone; the young DELETE rows wait for the buffer
    assert rows[instances[0].SOPInstanceUID] == 1 and rows[instances[2].SOPInstanceUID] == 2
    code, again = world.run_json("reconcile", "--stack", "dev", "--apply", "--only", "deletes")
    assert code == 0 and [a["action"] for a in again["actions"]] == ["defer_deletes", "defer_deletes"]


def _insert_tombstone(world, table: str, ds, after_s: float = 0.001) -> None:
    """A DELETE row as Google streams it: the instance's keys, a newer LastUpdated, Type DELETE."""
    client = world.sandbox.bigquery_client(PROJECT)
    client.query_and_wait(
        f"INSERT INTO `{world.table(table).sql_id}` (StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID, LastUpdated, Type) "
        f"SELECT StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID, TIMESTAMP_ADD(LastUpdated, INTERVAL {int(after_s * 1000)} MILLISECOND), 'DELETE' "
        f"FROM `{world.table(table).sql_id}` WHERE SOPInstanceUID = '{ds.SOPInstanceUID}'", job_retry=None)


def test_a_streamed_delete_row_is_a_tombstone_not_a_live_row(world, instances):
    world.provision()
    world.store("radiology", instances[:3])
    world.delete("radiology", instances[0])  # the sandbox streams a DELETE row, as Google does
    assert world.rows("radiology")[instances[0].SOPInstanceUID] == 2
    assert instances[0].SOPInstanceUID not in world.current("radiology")  # the rule: current row is DELETE → gone
    # A deleted instance with its tombstone is not "missing" (nothing re-added), and once out of the
    # buffer both its rows go; the other table (no tombstone) loses its row too.
    code, out = world.run_json("reconcile", "--stack", "dev", "--apply", "--max-delete-share", "1",
                               now=utcnow() + timedelta(hours=1))
    assert code == 0, out
    assert not [o for o in out["outcomes"] if o["action"] == "add_rows"]
    live = {ds.SOPInstanceUID for ds in instances[1:3]}
    world.assert_converged({"radiology": live, "instances": live})


def test_an_instance_stored_again_after_its_tombstone_is_added_back(world, instances):
    world.provision()
    world.store("radiology", instances[:2])
    _insert_tombstone(world, "radiology", instances[0], after_s=-3600)  # an old delete; the instance came back
    client = world.sandbox.bigquery_client(PROJECT)
    client.query_and_wait(f"DELETE FROM `{world.table('radiology').sql_id}` WHERE SOPInstanceUID = "
                          f"'{instances[0].SOPInstanceUID}' AND Type != 'DELETE'", job_retry=None)  # its re-store missed
    assert instances[0].SOPInstanceUID not in world.current("radiology")
    code, out = world.run_json("reconcile", "--stack", "dev", "--apply")
    assert code == 0, out
    assert world.current("radiology") == {ds.SOPInstanceUID: 1 for ds in instances[:2]}


@pytest.mark.parametrize("sizes", [(300, 6000)])
def test_steady_state_dry_run_costs_the_same_at_300_and_6000_instances(world, sizes):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from bench.seed import seed
    from dicomstream.sandbox import synthetic

    world.write_stack({"radiology": [f"{world.dataset}.instances"]})
    world.provision()
    template = next(synthetic.generate(1, seed=21))
    counts = []
    seeded = 0
    for size in sizes:
        seed(world.sandbox, world.stores["radiology"], size - seeded, template, prefix=str(size))
        seeded = size
        template = next(synthetic.generate(1, seed=size))
        code, out = world.run_json("reconcile", "--stack", "dev")
        assert code == 0, out
        polls = out["calls"].get("healthcare GET operations", 0)
        counts.append(sum(out["calls"].values()) - polls)
    assert len(world.rows("instances")) == sizes[1]
    assert counts[0] == counts[1], counts


def test_rows_are_copied_into_a_table_whose_schema_evolved_apart(world, instances):
    """INSERT ... SELECT between the snapshot and an older, narrower destination on Google's nested
    shape: the missing columns are added first, then whole rows copied (RECORDs included)."""
    from google.cloud import bigquery

    world.write_stack({"radiology": [f"{world.dataset}.instances"]})
    world.provision()
    world.store("radiology", instances[:1])
    client = world.sandbox.bigquery_client(PROJECT)
    ref = world.table("instances").sql_id
    table = client.get_table(ref)
    keep = {"StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "LastUpdated", "Type", "PatientName"}
    narrow = [f for f in table.schema if f.name in keep]
    client.delete_table(ref)
    client.create_table(bigquery.Table(ref, schema=narrow))
    world.healthcare.set_stream_configs(world.stores["radiology"], [])
    world.store("radiology", instances[1:4])
    world.healthcare.set_stream_configs(world.stores["radiology"], [f"bq://{PROJECT}.{world.dataset}.instances"])

    code, out = world.run_json("reconcile", "--stack", "dev", "--apply")
    assert code == 0, [o["message"] for o in out["outcomes"] if o["status"] != "done"]
    (added,) = [o for o in out["outcomes"] if o["action"] == "add_rows"]
    assert added["rows_added"] == 4 and "columns added: " in added["message"]
    names = {f.name for f in client.get_table(ref).schema}
    assert {"Modality", "PatientName"} <= names
    rows = list(client.query_and_wait(f"SELECT SOPInstanceUID, Modality, PatientName.Alphabetic.FamilyName AS family "
                                      f"FROM `{ref}`", job_retry=None))
    assert {r["SOPInstanceUID"] for r in rows} == {ds.SOPInstanceUID for ds in instances[:4]}
    assert all(r["Modality"] and r["family"] for r in rows)
