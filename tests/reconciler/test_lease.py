"""The lease row against the sandbox's BigQuery: renewal, the race tie-breaker."""

from __future__ import annotations

import time

from components.naming import TableRef

from dicomstream.reconciler.lease import LEASE_TABLE, Lease
from dicomstream.reconciler.tables import Tables
from tests.reconciler.conftest import PROJECT


def _lease(world, holder: str) -> Lease:
    tables = Tables(lambda project: world.sandbox.bigquery_client(project))
    return Lease(tables, TableRef(PROJECT, world.dataset, LEASE_TABLE), "imaging", 900, holder=holder)


def test_a_renewal_keeps_its_place_ahead_of_a_racers_leftover_row(world):
    world.provision()
    holder = _lease(world, "holder")
    holder.acquire()
    # a racer inserted after the holder and was killed before it deleted its (losing) row
    world.sandbox.bigquery_client(PROJECT).query_and_wait(
        f"INSERT INTO `{holder.table.sql_id}` (name, holder, expires, taken) VALUES ('imaging', 'racer', "
        "TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 900 SECOND), CURRENT_TIMESTAMP())", job_retry=None)
    time.sleep(0.01)
    holder.acquire()  # a renewal: still ours
    holder.acquire()
    assert holder.held
