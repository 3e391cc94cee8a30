"""The comparison of a destination table with the snapshots of the stores that feed it, as SQL
that BigQuery runs: nothing per row ever reaches the client.

For a table T fed by stores S1..Sk, each with a snapshot (an export into a staging table, taken
at `start_i`):

- **to add** from Si: snapshot rows of instances that have no live current row in T and no row
  written at or after `start_i` (streaming saw something newer than the snapshot: it wins);
- **to delete**: rows of T whose instance is in none of the snapshots and whose `LastUpdated` is
  older than the cut-off `min(start_1..start_k, now - streaming buffer)`; only when every
  snapshot is complete;
- **duplicates**: rows older than their instance's current row and out of the streaming buffer.

The rules of "current" and "live" come from `rows.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from dicomstream.core.naming import TableRef

from dicomstream.reconciler.rows import LAST_UPDATED, UID, current_keys


@dataclass(frozen=True)
class Snapshot:
    """One store's instances exported into a staging table at `start` (server time)."""

    store: str  # store name
    resource: str
    table: TableRef  # the staging table
    start: datetime
    complete: bool  # the export finished without any failed instance
    instances: int | None = None


def _in_snapshots(snapshots: Sequence[Snapshot]) -> str:
    return " UNION ALL ".join(f"SELECT {UID} FROM `{s.table.sql_id}` WHERE {UID} IS NOT NULL" for s in snapshots)


def covered(table: TableRef, has_type: bool, start_param: str) -> str:
    """SQL: instances T already holds as of a snapshot taken at @start (live, or touched since)."""
    return f"SELECT uid FROM ({current_keys(table.sql_id, has_type)}) WHERE NOT _tombstone OR newest >= @{start_param}"


def missing_where(table: TableRef, has_type: bool, alias: str, start_param: str) -> str:
    return f"{alias}.{UID} IS NOT NULL AND {alias}.{UID} NOT IN ({covered(table, has_type, start_param)})"


def gone_where(snapshots: Sequence[Snapshot], alias: str = "t") -> str:
    """SQL: a row of T whose instance is in none of the snapshots (all of them, when none has rows)."""
    if not snapshots:
        return "TRUE"
    return f"{alias}.{UID} IS NOT NULL AND {alias}.{UID} NOT IN ({_in_snapshots(snapshots)})"


def stats_sql(table: TableRef, has_type: bool, snapshots: Sequence[Snapshot], deletes: bool,
              view: bool = False, hidden_in: TableRef | None = None) -> str:
    """ONE query, one result row: what a run would change in T (params @start_i, @cutoff, @dedup_cutoff;
    with `hidden_in`, the state table, also how many instances `--deletes view` would hide, @uri)."""
    t = f"`{table.sql_id}`"
    cur = f"({current_keys(table.sql_id, has_type)})"
    parts = [
        f"(SELECT COUNT(*) FROM {t}) AS total_rows",
        f"(SELECT COUNTIF(NOT _tombstone) FROM {cur}) AS live",
        f"(SELECT COUNT(*) FROM {t} AS d JOIN {cur} AS c ON d.{UID} = c.uid "
        f"WHERE d.{LAST_UPDATED} < c.newest AND d.{LAST_UPDATED} < @dedup_cutoff) AS duplicates",
        f"(SELECT COUNT(*) FROM (SELECT {UID}, {LAST_UPDATED} FROM {t} WHERE {UID} IS NOT NULL "
        f"GROUP BY {UID}, {LAST_UPDATED} HAVING COUNT(*) > 1)) AS identical",
    ]
    for i, snap in enumerate(snapshots):
        parts.append(f"(SELECT COUNT(DISTINCT s.{UID}) FROM `{snap.table.sql_id}` AS s "
                     f"WHERE {missing_where(table, has_type, 's', f'start_{i}')}) AS add_{i}")
    if deletes:
        gone = gone_where(snapshots)
        parts += [
            f"(SELECT COUNT(*) FROM {t} AS t WHERE {gone} AND t.{LAST_UPDATED} < @cutoff) AS delete_rows",
            f"(SELECT COUNT(DISTINCT t.{UID}) FROM {t} AS t WHERE {gone} AND t.{LAST_UPDATED} < @cutoff) AS delete_instances",
            f"(SELECT COUNT(DISTINCT t.{UID}) FROM {t} AS t WHERE {gone} AND t.{LAST_UPDATED} >= @cutoff) AS young_instances",
        ]
        if view:
            parts.append(f"({hide_count_sql(table, hidden_in, snapshots)}) AS hide")
    return "SELECT " + ", ".join(parts)


def delete_sql(table: TableRef, snapshots: Sequence[Snapshot]) -> str:
    """ONE DML: rows of instances gone from every store, older than @cutoff."""
    return f"DELETE FROM `{table.sql_id}` AS t WHERE {gone_where(snapshots)} AND t.{LAST_UPDATED} < @cutoff"


def dedup_sql(table: TableRef, has_type: bool) -> str:
    """ONE DML: rows older than their instance's current row, out of the buffer (< @dedup_cutoff)."""
    return (f"DELETE FROM `{table.sql_id}` AS d WHERE d.{LAST_UPDATED} < @dedup_cutoff AND EXISTS ("
            f"SELECT 1 FROM `{table.sql_id}` AS k WHERE k.{UID} = d.{UID} AND k.{LAST_UPDATED} > d.{LAST_UPDATED})")


def hide_sql(table: TableRef, state: TableRef, snapshots: Sequence[Snapshot]) -> str:
    """ONE DML for `--deletes view`: a tombstone in the state table per gone instance not yet hidden
    (rows older than the snapshots, @hide_cutoff: no streaming-buffer wait, nothing is changed by DML)."""
    return (
        f"INSERT INTO `{state.sql_id}` (kind, store, table_uri, uid, up_to, recorded_at) "
        f"SELECT 'hidden', NULL, @uri, t.{UID}, MAX(t.{LAST_UPDATED}), CURRENT_TIMESTAMP() "
        f"FROM `{table.sql_id}` AS t WHERE {gone_where(snapshots)} AND t.{LAST_UPDATED} < @hide_cutoff "
        f"AND NOT EXISTS (SELECT 1 FROM `{state.sql_id}` AS h WHERE h.kind = 'hidden' AND h.table_uri = @uri "
        f"AND h.uid = t.{UID} AND h.up_to >= t.{LAST_UPDATED}) GROUP BY t.{UID}"
    )


def hide_count_sql(table: TableRef, state: TableRef | None, snapshots: Sequence[Snapshot]) -> str:
    """SQL: instances `hide_sql` would hide (`state` None: no state table yet, nothing hidden so far)."""
    hidden = "" if state is None else (
        f" AND NOT EXISTS (SELECT 1 FROM `{state.sql_id}` AS h WHERE h.kind = 'hidden' AND h.table_uri = @uri "
        f"AND h.uid = t.{UID} AND h.up_to >= t.{LAST_UPDATED})")
    return (f"SELECT COUNT(DISTINCT t.{UID}) AS n FROM `{table.sql_id}` AS t WHERE {gone_where(snapshots)} "
            f"AND t.{LAST_UPDATED} < @hide_cutoff{hidden}")


@dataclass(frozen=True)
class TableStats:
    """The one-row result of `stats_sql`."""

    total_rows: int
    live: int
    duplicates: int
    identical: int
    add: tuple[int, ...]  # per snapshot, in the order given
    delete_rows: int = 0
    delete_instances: int = 0
    young_instances: int = 0
    hide: int = 0

    @classmethod
    def from_row(cls, row, snapshots: int) -> "TableStats":
        get = (lambda k: int(row.get(k) or 0)) if isinstance(row, dict) else (lambda k: int(row[k] or 0) if k in row.keys() else 0)
        return cls(get("total_rows"), get("live"), get("duplicates"), get("identical"),
                   tuple(get(f"add_{i}") for i in range(snapshots)), get("delete_rows"),
                   get("delete_instances"), get("young_instances"), get("hide"))
