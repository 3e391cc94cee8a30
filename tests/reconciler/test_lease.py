"""The lease row against the sandbox's BigQuery: renewal, the race tie-breaker."""

from __future__ import annotations

import time

from dicomstream.core.naming import TableRef

from dicomstream.reconciler.desired import desired_from_config
from dicomstream.reconciler.lease import LEASE_TABLE, Lease
from dicomstream.reconciler.tables import Tables
from tests.reconciler.conftest import PROJECT


def _lease(world, holder: str) -> Lease:
    tables = Tables(lambda project: world.sandbox.bigquery_client(project))
    name = desired_from_config(world.config()).healthcare_dataset_name  # the stack's lease
    return Lease(tables, TableRef(PROJECT, world.dataset, LEASE_TABLE), name, 900, holder=holder)


def test_a_renewal_keeps_its_place_ahead_of_a_racers_leftover_row(world):
    world.provision()
    holder = _lease(world, "holder")
    holder.acquire()
    # a racer inserted after the holder and was killed before it deleted its (losing) row
    world.sandbox.bigquery_client(PROJECT).query_and_wait(
        f"INSERT INTO `{holder.table.sql_id}` (name, holder, expires, taken) VALUES ('{holder.name}', 'racer', "
        "TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 900 SECOND), CURRENT_TIMESTAMP())", job_retry=None)
    time.sleep(0.01)
    holder.acquire()  # a renewal: still ours
    holder.acquire()
    assert holder.held


def test_json_output_is_redacted(world):
    from dicomstream.reconciler.actions import CompareStore
    from dicomstream.reconciler.execute import Outcome

    secret = "GET http://user:s3cret@proxy:1/x?access_token=abc"
    assert "s3cret" not in str(Outcome(CompareStore("a", "b"), "failed", secret).to_json())

    world.provision()
    _lease(world, "placeholder").acquire()  # the table; then a holder whose name carries credentials
    world.sandbox.bigquery_client(PROJECT).query_and_wait(
        f"UPDATE `{PROJECT}.{world.dataset}.{LEASE_TABLE}` SET holder = 'http://user:s3cret@host/x' WHERE TRUE",
        job_retry=None)
    code, out = world.run_json("reconcile", "--stack", "dev", "--apply")
    assert code == 5 and out["refused"] and "s3cret" not in out["refused"], out


def _gap(world, instances) -> None:
    world.provision()
    configured = world.stream_uris("radiology")
    world.healthcare.set_stream_configs(world.stores["radiology"], [])
    world.store("radiology", instances[:3])  # not streamed: the run has rows to add
    world.healthcare.set_stream_configs(world.stores["radiology"], configured)


def test_a_bigquery_fault_taking_the_lease_cannot_read_exit_4(world, instances, monkeypatch):
    from google.api_core import exceptions as gexc

    _gap(world, instances)

    def fault(self, force=False):
        raise gexc.InternalServerError("boom at http://user:s3cret@bq.example/x?access_token=abc")

    monkeypatch.setattr(Lease, "acquire", fault)
    result = world.run("reconcile", "--stack", "dev", "--apply")
    assert result.exit_code == 4, result.output
    assert "the lease" in result.output and "s3cret" not in result.output and "abc" not in result.output
    assert world.rows("radiology") == {}


def test_a_lease_taken_over_mid_export_fails_the_run_and_changes_nothing_more(world, instances, monkeypatch):
    import threading

    from tests.reconciler.test_kill_and_concurrency import _wait

    _gap(world, instances)
    monkeypatch.setattr(Lease, "_due", lambda self: True)  # renew at every chance
    world.admin.add_fault(r"/operations/", method="GET", hold=True, count=1)  # the run waits on its export

    def take_over():  # what a second run does once the lease expired (or with --break-lease)
        _wait(lambda: world.admin.held() == 1)
        world.sandbox.bigquery_client(PROJECT).query_and_wait(
            f"UPDATE `{PROJECT}.{world.dataset}.{LEASE_TABLE}` SET holder = 'other', "
            "taken = TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 SECOND) WHERE TRUE", job_retry=None)
        world.admin.release_faults()

    thread = threading.Thread(target=take_over)
    thread.start()
    result = world.run("reconcile", "--stack", "dev", "--apply")
    thread.join(timeout=600)
    assert result.exit_code == 1, result.output
    assert "✗ lease" in result.output and "another run took the lease (other" in result.output
    assert world.rows("radiology") == {}  # no INSERT after the lease was lost


def test_a_fault_renewing_the_lease_fails_the_run(world, instances, monkeypatch):
    from google.api_core import exceptions as gexc

    _gap(world, instances)
    monkeypatch.setattr(Lease, "_due", lambda self: True)
    acquire, calls = Lease.acquire, []

    def flaky(self, force=False):
        calls.append(1)
        if len(calls) > 1:
            raise gexc.ServiceUnavailable("down at http://user:s3cret@bq.example/x")
        return acquire(self, force)

    monkeypatch.setattr(Lease, "acquire", flaky)
    code, out = world.run_json("reconcile", "--stack", "dev", "--apply")
    assert code == 1, out
    failed = [o for o in out["outcomes"] if o["status"] == "failed"]
    assert [o["action"] for o in failed] == ["hold_lease"] and "cannot renew the lease" in failed[0]["message"]
    assert "s3cret" not in str(out) and world.rows("radiology") == {}
