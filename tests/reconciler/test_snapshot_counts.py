"""An export whose operation reports no `counter` (Google's ProgressCounter is proto3 JSON: zero
fields are omitted, and the sandbox omits `counter` for an empty store) is not an empty store:
the staging table decides, and live rows are never deleted on a count that is unknown."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dicomstream.gcp.healthcare import HealthcareClient
from dicomstream.reconciler.sync import _counter
from tests.reconciler.conftest import utcnow


def _without_counter(op: dict) -> dict:
    if isinstance(op, dict) and isinstance(op.get("metadata"), dict):
        op["metadata"].pop("counter", None)
    return op


@pytest.fixture
def no_counter(monkeypatch):
    get, export = HealthcareClient.get_operation, HealthcareClient.export_to_bigquery
    monkeypatch.setattr(HealthcareClient, "get_operation", lambda self, *a, **k: _without_counter(get(self, *a, **k)))
    monkeypatch.setattr(HealthcareClient, "export_to_bigquery",
                        lambda self, *a, **k: _without_counter(export(self, *a, **k)))


def test_an_export_without_a_counter_deletes_no_live_rows(world, instances, no_counter):
    world.provision()
    world.admin.set_clock(utcnow() - timedelta(hours=3))  # old rows: out of the buffer, older than the snapshot
    world.store("radiology", instances[:3])
    world.admin.reset_clock()
    world.delete("radiology", instances[0])
    before = world.current("radiology")
    code, out = world.run_json("reconcile", "--stack", "dev", "--apply", "--only", "deletes",
                               "--max-delete-share", "1", now=utcnow() + timedelta(hours=1))
    assert code == 0, out
    live = {ds.SOPInstanceUID: 1 for ds in instances[1:3]}
    assert world.current("radiology") == before == live  # the live rows are all still there
    assert world.current("instances") == live
    deleted = [o for o in out["outcomes"] if o["action"] == "delete_rows"]
    assert deleted and all(o["rows_deleted"] == 2 for o in deleted)  # only the deleted instance's rows


def test_counter_missing_or_unreadable_is_unknown_not_zero():
    assert _counter({"metadata": {}}, "success") is None
    assert _counter({"metadata": {"counter": {}}}, "success") is None
    assert _counter({"metadata": {"counter": {"failure": "1"}}}, "success") is None
    assert _counter({"metadata": {"counter": {"success": "x"}}}, "success") is None
    assert _counter({"metadata": {"counter": {"success": "12"}}}, "success") == 12


def test_view_mode_hides_every_row_when_every_store_is_empty(world, instances):
    """All instances deleted while streaming was off: no DELETE rows, empty stores, the view hides them."""
    from tests.reconciler.conftest import PROJECT

    world.provision()
    world.admin.set_clock(utcnow() - timedelta(minutes=5))  # rows clearly older than the snapshots
    world.store("radiology", instances[:2])
    world.admin.reset_clock()
    configured = world.stream_uris("radiology")
    world.healthcare.set_stream_configs(world.stores["radiology"], [])
    for ds in instances[:2]:
        world.delete("radiology", ds)
    world.healthcare.set_stream_configs(world.stores["radiology"], configured)
    code, out = world.run_json("reconcile", "--stack", "dev", "--apply", "--only", "deletes", "--deletes", "view")
    assert code == 0, out
    hidden = {o["view"]: o["hidden"] for o in out["outcomes"] if o["action"] == "maintain_current_view"}
    assert sorted(hidden.values()) == [2, 2], out["outcomes"]
    client = world.sandbox.bigquery_client(PROJECT)
    for table in ("instances", "radiology"):
        assert list(client.query_and_wait(f"SELECT * FROM `{PROJECT}.{world.dataset}.{table}_current`",
                                          job_retry=None)) == []
        assert len(world.rows(table)) == 2  # the rows stay
