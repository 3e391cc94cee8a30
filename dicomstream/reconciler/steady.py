"""The cheap questions first: a table whose counts agree with its stores and that has not changed
since its last complete comparison is not compared again (no export, no snapshot read).

- the store: `dicomStores.getDICOMStoreMetrics` (`instanceCount`; one call per store, whatever its size);
- the table: ONE query on key columns only (`SOPInstanceUID`, `LastUpdated`, `Type`, and
  `SourceDicomStore` where the table has it): its row count, newest `LastUpdated` and live
  instances (per store with `SourceDicomStore`);
- the **watermark**: the row count and newest `LastUpdated` the table had when its last complete
  comparison found nothing to change (`_dicomstream_state`, kind `watermark`).

A table is steady when the watermark matches and its live count equals its stores' instance
count (the sum of them, in a table without `SourceDicomStore`). What the counts cannot see — a
change that keeps every count while streaming was off, such as a storage-class change or an
instance deleted and another stored — is found by `reconcile --full`, which compares every table
with fresh snapshots: schedule it daily, and after any known streaming outage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Sequence

from dicomstream.core.naming import TableRef

from dicomstream.reconciler.rows import LAST_UPDATED, Shape, current_keys


@dataclass(frozen=True)
class TableCounts:
    rows: int
    newest: datetime | None
    live: tuple[int, ...]  # per store (SourceDicomStore), else one total

    @property
    def mark(self) -> tuple[str, datetime | None]:
        return (str(self.rows), self.newest)


def counts_sql(table: TableRef, shape: Shape, stores: int) -> str:
    """ONE query on key columns (params @store_i with `SourceDicomStore`)."""
    t = f"`{table.sql_id}`"
    cur = f"({current_keys(table.sql_id, shape)})"
    live = ([f"(SELECT COUNTIF(NOT _tombstone AND source = @store_{i}) FROM {cur}) AS live_{i}" for i in range(stores)]
            if shape.has_source else [f"(SELECT COUNTIF(NOT _tombstone) FROM {cur}) AS live_0"])
    return (f"SELECT (SELECT COUNT(*) FROM {t}) AS total_rows, (SELECT MAX({LAST_UPDATED}) FROM {t}) AS newest, "
            + ", ".join(live))


def from_row(row: Mapping, shape: Shape, stores: int) -> TableCounts:
    n = stores if shape.has_source else 1
    return TableCounts(int(row.get("total_rows") or 0), row.get("newest"),
                       tuple(int(row.get(f"live_{i}") or 0) for i in range(n)))


def instance_count(metrics: Mapping) -> int:
    """`instanceCount` (int64 as a string; proto3 JSON omits a zero)."""
    return int(metrics.get("instanceCount") or 0)


def is_steady(counts: TableCounts, shape: Shape, instances: Sequence[int],
              watermark: tuple[str, datetime | None] | None) -> bool:
    """Nothing changed since the last complete comparison and the counts agree (pure)."""
    if watermark is None or watermark != counts.mark:
        return False
    if shape.has_source:
        return tuple(instances) == counts.live
    return counts.live == (sum(instances),)
