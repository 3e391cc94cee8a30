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
