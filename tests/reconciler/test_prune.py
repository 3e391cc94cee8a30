"""The dedup and the delete of one table run as ONE DELETE (`DataPhase._prune`): what it sends,
how its one count is reported, and what happens when BigQuery refuses it for the streaming buffer.
Pure: the statement runner is a stand-in (the sandbox scenarios are in test_localised.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from google.api_core import exceptions as gexc

from dicomstream.core.naming import TableRef
from dicomstream.reconciler import actions as A
from dicomstream.reconciler import compare
from dicomstream.reconciler.rows import Shape
from dicomstream.reconciler.sync import DataPhase, _prune_pair

NOW = datetime(2026, 12, 2, 12, tzinfo=timezone.utc)
T = TableRef("p", "d", "instances")
SNAP = compare.Snapshot("radiology", "projects/p/locations/l/datasets/h/dicomStores/radiology",
                        TableRef("p", "d", "_dicomstream_snapshot_radiology_1"), NOW, complete=True, instances=10)
DEDUP = A.Deduplicate(T, 7, NOW - timedelta(minutes=30))
DELETE = A.DeleteRows(T, 1, 2, NOW - timedelta(minutes=30), tombstones=1)


def phase(dml):
    sent: list[str] = []
    applied: list = []

    def run(project, sql, params, what=""):
        sent.append(what)
        return dml(sql)

    fake = SimpleNamespace(outcomes=[], _dml=run, _record=lambda ref, rows: None,
                           _apply=lambda action, *a: applied.append(action),
                           _guard=lambda action, fn: fn())
    return fake, sent, applied


def test_both_planned_make_a_pair_and_one_alone_does_not():
    assert _prune_pair([DEDUP, DELETE]) == (DEDUP, DELETE)
    assert _prune_pair([DELETE]) is None and _prune_pair([DEDUP]) is None


@pytest.mark.parametrize("shape", [Shape(has_type=True), Shape(has_type=True, has_source=True)])
def test_the_one_statement_deletes_gone_rows_or_duplicates_of_the_stacks_rows_only(shape):
    sql = compare.prune_sql(T, shape, [SNAP])
    assert sql.startswith("DELETE FROM `p.d.instances` AS t WHERE ") and sql.count("DELETE") == 1
    assert compare.gone_where([SNAP], shape) in sql and "@cutoff" in sql and "@dedup_cutoff" in sql
    assert (" OR " in sql) and ("IN UNNEST(@ours)" in sql) == shape.has_source
    assert "*" not in sql  # key columns only


def test_one_count_is_split_as_the_comparison_counted_and_given_whole():
    fake, sent, _ = phase(lambda sql: 8)
    assert DataPhase._prune(fake, (DEDUP, DELETE), T, Shape(has_type=True), [SNAP], []) is True
    assert sent == ["delete_rows+deduplicate bq://p.d.instances"]
    (dedup, delete) = fake.outcomes
    assert (dedup.action, dedup.status, dedup.details["duplicates_removed"]) == (DEDUP, "done", 7)
    assert (delete.action, delete.status, delete.details["rows_deleted"]) == (DELETE, "done", 1)
    assert dedup.details["rows_removed"] == delete.details["rows_removed"] == 8


def test_fewer_rows_than_counted_are_never_reported_as_more():
    fake, _, _ = phase(lambda sql: 3)
    DataPhase._prune(fake, (DEDUP, DELETE), T, Shape(has_type=True), [SNAP], [])
    assert [o.details["duplicates_removed" if o.action is DEDUP else "rows_deleted"] for o in fake.outcomes] == [3, 0]


def test_rows_in_the_streaming_buffer_defer_the_dedup_and_the_delete_runs_alone():
    def refuse(sql):
        raise gexc.BadRequest("UPDATE or DELETE statement over table p.d.instances would affect rows in the "
                              "streaming buffer, which is not supported")
    fake, sent, applied = phase(refuse)
    DataPhase._prune(fake, (DEDUP, DELETE), T, Shape(has_type=True), [SNAP], [])
    assert [(o.action, o.status) for o in fake.outcomes] == [(DEDUP, "deferred")]
    assert applied == [DELETE]  # the delete's own statement (delete_sql), as before the merge


def test_another_error_fails_the_statement():
    fake, _, _ = phase(lambda sql: (_ for _ in ()).throw(gexc.Forbidden("Access Denied")))
    with pytest.raises(gexc.Forbidden):
        DataPhase._prune(fake, (DEDUP, DELETE), T, Shape(has_type=True), [SNAP], [])
