"""The comparison of a destination table with the snapshots of the stores that feed it, as SQL
that BigQuery runs: nothing per row ever reaches the client.

For a table T fed by the stack's stores S1..Sk, each with a snapshot (an export into a staging
table, taken at `start_i`, each row carrying the instance's own `LastUpdated`):

- **to add** from Si: snapshot rows of instances whose current row in T (Si's own rows where T
  has `SourceDicomStore`) is absent, or older than the snapshot (`start_i`) and either a
  tombstone or an older version than the store's (`LastUpdated` below the snapshot's: a missed
  storage-class change or re-store). A row written at or after `start_i` wins: streaming saw
  something newer than the snapshot;
- **to delete**: the stack's rows (`rows.ours`) of instances in none of the snapshots (in T with
  `SourceDicomStore`: not in their own store's; a snapshot of some studies, `localise.py`,
  speaks only for rows of those studies), older than the cut-off
  `min(start_1..start_k, now - streaming buffer)`; only when every snapshot is complete;
- **duplicates**: the stack's rows older than their key's current row, out of the buffer.

The rules of "current", "live" and "ours" come from `rows.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Sequence

from dicomstream.core.naming import TableRef

from dicomstream.reconciler.rows import LAST_UPDATED, SOURCE, STUDY, UID, Shape, current_keys, of_store, ours, tombstone


@dataclass(frozen=True)
class Snapshot:
    """One store's instances exported into a staging table at `start` (server time)."""

    store: str  # store name
    resource: str
    table: TableRef  # the staging table
    start: datetime
    complete: bool  # the export finished without any failed instance
    instances: int | None = None
    studies: tuple[str, ...] | None = None  # exported with a filterConfig of these studies; None: the whole store

    @property
    def empty(self) -> bool:
        """Verifiably empty (`sync._snapshot` never calls a store empty on a count it does not know)."""
        return self.instances == 0


def missing_sql(table: TableRef, shape: Shape, snap: Snapshot, i: int, alias: str = "m") -> str:
    """SQL: keys of snapshot i that T lacks or holds in an older version, with `stale` (an outdated
    live row) — params @start_i, @store_i."""
    cur = current_keys(table.sql_id, shape, of_store(shape, f"store_{i}"))
    return (f"SELECT {alias}.{UID} AS uid, (c.uid IS NOT NULL AND NOT c._tombstone) AS stale "
            f"FROM `{snap.table.sql_id}` AS {alias} LEFT JOIN ({cur}) AS c ON c.uid = {alias}.{UID} "
            f"WHERE {alias}.{UID} IS NOT NULL AND (c.uid IS NULL OR (c.newest < @start_{i} "
            f"AND (c._tombstone OR c.newest < {alias}.{LAST_UPDATED})))")


def add_where(table: TableRef, shape: Shape, snap: Snapshot, i: int, alias: str = "s") -> str:
    """The WHERE of `add_rows`: the missing keys first (key columns only), then their rows."""
    return f"{alias}.{UID} IN (SELECT uid FROM ({missing_sql(table, shape, snap, i)}))"


def gone_where(snapshots: Sequence[Snapshot], shape: Shape, alias: str = "t") -> str:
    """SQL: a row of T whose instance is in none of the snapshots (in T with `SourceDicomStore`:
    not in its own store's; a verifiably empty store's rows are all gone)."""
    def absent(snap: Snapshot) -> str:
        return f"{alias}.{UID} NOT IN (SELECT {UID} FROM `{snap.table.sql_id}` WHERE {UID} IS NOT NULL)"

    def within(snap: Snapshot, i: int) -> str:
        """A snapshot of some studies says nothing about the others' rows."""
        if snap.studies is None:
            return ""
        return f" AND {alias}.{STUDY} IN UNNEST(@studies_{i})" if snap.studies else " AND FALSE"

    if shape.has_source:
        parts = [f"({alias}.{SOURCE} = @store_{i}{within(s, i)}" + ("" if s.empty else f" AND {absent(s)}") + ")"
                 for i, s in enumerate(snapshots)]
        return f"{alias}.{UID} IS NOT NULL AND ({' OR '.join(parts) or 'FALSE'})"
    present = [s for s in snapshots if not s.empty]
    return (f"{alias}.{UID} IS NOT NULL" + "".join(f" AND {absent(s)}" for s in present)
            + "".join(within(s, i) for i, s in enumerate(snapshots)))


def stats_sql(table: TableRef, shape: Shape, snapshots: Sequence[Snapshot], deletes: bool,
              view: bool = False, hidden_in: TableRef | None = None) -> str:
    """ONE query, one result row: what a run would change in T (params @start_i, @store_i, @ours,
    @cutoff, @dedup_cutoff; with `hidden_in`, the state table, also how many instances
    `--deletes view` would hide, @uri, @hide_cutoff)."""
    t = f"`{table.sql_id}`"
    mine = ours(shape, "t")
    cur = f"({current_keys(table.sql_id, shape, mine)})"
    parts = [
        f"(SELECT COUNT(*) FROM {t} AS t WHERE {mine}) AS total_rows",
        f"(SELECT COUNT(*) FROM {cur} AS c) AS instances",
        f"(SELECT COUNTIF(NOT _tombstone) FROM {cur}) AS live",
        f"(SELECT COUNT(*) FROM {t} AS d JOIN {cur} AS c ON d.{UID} = c.uid"
        + (f" AND d.{SOURCE} = c.source" if shape.has_source else "")
        + f" WHERE d.{LAST_UPDATED} < c.newest AND d.{LAST_UPDATED} < @dedup_cutoff) AS duplicates",
        f"(SELECT COUNT(*) FROM (SELECT {shape.key('t')}, t.{LAST_UPDATED} FROM {t} AS t WHERE t.{UID} IS NOT NULL "
        f"AND {mine} GROUP BY {shape.key('t')}, t.{LAST_UPDATED} HAVING COUNT(*) > 1)) AS identical",
    ]
    if shape.has_source:
        parts.append(f"(SELECT COUNT(*) FROM {t} AS t WHERE NOT {mine}) AS foreign_rows")
    for i, snap in enumerate(snapshots):
        if snap.empty:
            continue
        parts.append(f"(SELECT COUNT(*) FROM ({missing_sql(table, shape, snap, i)})) AS add_{i}")
        parts.append(f"(SELECT COUNTIF(stale) FROM ({missing_sql(table, shape, snap, i)})) AS stale_{i}")
    if deletes and not shape.cdc:
        gone = f"{gone_where(snapshots, shape)} AND {mine}"
        dead = tombstone("t", shape)
        parts += [
            f"(SELECT COUNT(*) FROM {t} AS t WHERE {gone} AND t.{LAST_UPDATED} < @cutoff) AS delete_rows",
            f"(SELECT COUNTIF({dead}) FROM {t} AS t WHERE {gone} AND t.{LAST_UPDATED} < @cutoff) AS delete_tombstones",
            f"(SELECT COUNT(DISTINCT {_key_text(shape)}) FROM {t} AS t WHERE {gone} AND t.{LAST_UPDATED} < @cutoff) AS delete_instances",
            f"(SELECT COUNT(DISTINCT {_key_text(shape)}) FROM {t} AS t WHERE {gone} AND t.{LAST_UPDATED} >= @cutoff) AS young_instances",
        ]
        if view:
            parts.append(f"({hide_count_sql(table, shape, hidden_in, snapshots)}) AS hide")
    return "SELECT " + ", ".join(parts)


def _key_text(shape: Shape, alias: str = "t") -> str:
    """One value per key, for COUNT(DISTINCT ...)."""
    if shape.has_source:
        return f"CONCAT(IFNULL({alias}.{SOURCE}, ''), '/', {alias}.{UID})"
    return f"{alias}.{UID}"


def delete_sql(table: TableRef, shape: Shape, snapshots: Sequence[Snapshot]) -> str:
    """ONE DML: the stack's rows of instances gone from their stores, older than @cutoff."""
    return (f"DELETE FROM `{table.sql_id}` AS t WHERE {gone_where(snapshots, shape)} AND {ours(shape, 't')} "
            f"AND t.{LAST_UPDATED} < @cutoff")


def dedup_sql(table: TableRef, shape: Shape) -> str:
    """ONE DML: the stack's rows older than their key's current row, out of the buffer (< @dedup_cutoff)."""
    return (f"DELETE FROM `{table.sql_id}` AS d WHERE d.{LAST_UPDATED} < @dedup_cutoff AND {ours(shape, 'd')} AND EXISTS ("
            f"SELECT 1 FROM `{table.sql_id}` AS k WHERE {shape.same_key('k', 'd')} AND k.{LAST_UPDATED} > d.{LAST_UPDATED})")


def prune_sql(table: TableRef, shape: Shape, snapshots: Sequence[Snapshot]) -> str:
    """ONE DML for what `delete_sql` and `dedup_sql` remove, when a run needs both: BigQuery bills a
    DELETE for the whole table it changes (on-demand: the referenced columns scanned, plus every
    column of the target table), so one statement instead of two halves that term. It reads key
    columns only (`SOPInstanceUID`, `LastUpdated`, `SourceDicomStore`, `StudyInstanceUID` when
    localised), as the two statements do."""
    gone = f"({gone_where(snapshots, shape)} AND t.{LAST_UPDATED} < @cutoff)"
    duplicate = (f"(t.{LAST_UPDATED} < @dedup_cutoff AND EXISTS (SELECT 1 FROM `{table.sql_id}` AS k "
                 f"WHERE {shape.same_key('k', 't')} AND k.{LAST_UPDATED} > t.{LAST_UPDATED}))")
    return f"DELETE FROM `{table.sql_id}` AS t WHERE {ours(shape, 't')} AND ({gone} OR {duplicate})"


def _not_hidden(state: TableRef, shape: Shape) -> str:
    source = f" AND IFNULL(h.store, '') = IFNULL(t.{SOURCE}, '')" if shape.has_source else ""
    return (f"NOT EXISTS (SELECT 1 FROM `{state.sql_id}` AS h WHERE h.kind = 'hidden' AND h.table_uri = @uri "
            f"AND h.uid = t.{UID}{source} AND h.up_to >= t.{LAST_UPDATED})")


def hide_sql(table: TableRef, state: TableRef, shape: Shape, snapshots: Sequence[Snapshot]) -> str:
    """ONE DML for `--deletes view`: a tombstone in the state table per gone key not yet hidden
    (rows older than the snapshots, @hide_cutoff: no streaming-buffer wait, nothing is changed by DML)."""
    store = f"t.{SOURCE}" if shape.has_source else "NULL"
    group = f"t.{SOURCE}, t.{UID}" if shape.has_source else f"t.{UID}"
    return (
        f"INSERT INTO `{state.sql_id}` (kind, store, table_uri, uid, up_to, recorded_at) "
        f"SELECT 'hidden', {store}, @uri, t.{UID}, MAX(t.{LAST_UPDATED}), CURRENT_TIMESTAMP() "
        f"FROM `{table.sql_id}` AS t WHERE {gone_where(snapshots, shape)} AND {ours(shape, 't')} "
        f"AND t.{LAST_UPDATED} < @hide_cutoff AND {_not_hidden(state, shape)} GROUP BY {group}"
    )


def hide_count_sql(table: TableRef, shape: Shape, state: TableRef | None, snapshots: Sequence[Snapshot]) -> str:
    """SQL: keys `hide_sql` would hide (`state` None: no state table yet, nothing hidden so far)."""
    hidden = "" if state is None else f" AND {_not_hidden(state, shape)}"
    return (f"SELECT COUNT(DISTINCT {_key_text(shape)}) AS n FROM `{table.sql_id}` AS t "
            f"WHERE {gone_where(snapshots, shape)} AND {ours(shape, 't')} AND t.{LAST_UPDATED} < @hide_cutoff{hidden}")


@dataclass(frozen=True)
class TableStats:
    """The one-row result of `stats_sql`."""

    total_rows: int  # the stack's rows
    live: int
    duplicates: int
    identical: int
    add: tuple[int, ...]  # per snapshot, in the order given
    delete_rows: int = 0
    delete_instances: int = 0
    young_instances: int = 0
    hide: int = 0
    instances: int = 0  # keys the stack's rows hold (live or tombstoned)
    delete_tombstones: int = 0  # of delete_rows, the DELETE rows Google streamed
    stale: tuple[int, ...] = ()  # of add, instances whose row in T is an outdated version
    foreign_rows: int = 0  # rows of other stores (or without a source) in a table with SourceDicomStore

    @classmethod
    def from_row(cls, row, snapshots: int) -> "TableStats":
        def get(k: str) -> int:
            if isinstance(row, dict):
                return int(row.get(k) or 0)
            return int(row[k] or 0) if k in row.keys() else 0

        names = {f.name for f in fields(cls)} - {"add", "stale"}
        return cls(add=tuple(get(f"add_{i}") for i in range(snapshots)),
                   stale=tuple(get(f"stale_{i}") for i in range(snapshots)), **{n: get(n) for n in names})
