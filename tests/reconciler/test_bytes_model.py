"""The sandbox's model of `totalBytesProcessed` (the emulator reports none): columns named, whole
columns of every row, and the whole target table of a DELETE, as BigQuery bills them."""

from __future__ import annotations

from dicomstream.sandbox import bytes_model

SCHEMA = [{"name": "SOPInstanceUID", "type": "STRING"}, {"name": "LastUpdated", "type": "TIMESTAMP"},
          {"name": "Type", "type": "STRING"},
          {"name": "PatientName", "type": "RECORD", "fields": [{"name": "Alphabetic", "type": "RECORD", "fields": [
              {"name": "FamilyName", "type": "STRING"}, {"name": "GivenName", "type": "STRING"}]}]}]
ROW = 66 + 8 + 66 + 2 * 66


def sizes(rows: int):
    return lambda project, dataset, table: (rows, SCHEMA) if table != "absent" else None


def test_key_columns_only_cost_those_columns_of_every_row():
    sql = "SELECT COUNT(*) AS n, MAX(LastUpdated) FROM `p.d.t` AS t WHERE t.SOPInstanceUID IS NOT NULL"
    assert bytes_model.model(sql, sizes(1000)) == 1000 * (66 + 8)
    assert bytes_model.model(sql, sizes(50_000)) == 50 * bytes_model.model(sql, sizes(1000))


def test_star_reads_every_column_and_count_star_none():
    assert bytes_model.model("SELECT t.* FROM `p.d.t` AS t", sizes(10)) == 10 * ROW
    assert bytes_model.model("SELECT COUNT(*) FROM `p.d.t`", sizes(10)) == 0


def test_a_delete_bills_its_scan_and_the_whole_table():
    sql = "DELETE FROM `p.d.t` AS t WHERE t.SOPInstanceUID NOT IN (SELECT SOPInstanceUID FROM `p.d.snap`)"
    assert bytes_model.model(sql, sizes(100)) == 100 * 66 + 100 * ROW + 100 * 66


def test_a_missing_table_reads_nothing_and_reported_bytes_are_kept():
    assert bytes_model.model("SELECT SOPInstanceUID FROM `p.d.absent`", sizes(10)) == 0
    assert bytes_model.with_bytes(b'{"jobComplete": true, "totalBytesProcessed": "0"}', 42) == \
        b'{"jobComplete": true, "totalBytesProcessed": "42"}'
    assert bytes_model.with_bytes(b'{"totalBytesProcessed": "7"}', 42) == b'{"totalBytesProcessed": "7"}'
