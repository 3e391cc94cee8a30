"""The row rules, written down once: which row of a destination table is an instance's current
one, when that instance counts as live, and which rows are the stack's. Every statement the
reconciler sends (the comparison with a snapshot, the dedup, the `TABLE_current` view) takes its
SQL from here.

A streaming table is a history, not a mirror: Google streams a row when an instance is stored,
another when its storage class changes and another when it is deleted (`Type`, e.g. "DELETE").

1. A row belongs to a **key**: its `SOPInstanceUID`, or (`SourceDicomStore`, `SOPInstanceUID`)
   when the table has the `SourceDicomStore` column (`includeSourceStore`): then each store's
   rows are its own, and an instance held by two stores has a current row per store.
2. A key's **current row** is its row with the newest `LastUpdated`; on a tie a `DELETE` row wins
   (a delete is never older than what it deletes). `LastUpdated` is the instance's own version
   time ("Timestamp of the last update to the instance", the discovery document's `SchemaJSON`),
   in streamed rows and in exports alike.
3. When the current row is a `DELETE` row (a **tombstone**) the instance is gone: it is not live,
   it is never counted as live, and the `TABLE_current` view does not show it.
4. Any other `Type` (`CREATE`, `INSERT`, a storage-class change, NULL) is live. Tables without a
   `Type` column (older tables, exports, change data capture) are read as if every row were live.
5. Rows older than their key's current row are duplicates; the dedup removes them once they are
   out of the streaming buffer, and only when there are some.
6. **Whose rows.** In a table with `SourceDicomStore`, a row is the stack's when that column
   names one of the stack's stores streaming into the table; rows of other stores and rows
   without a source are never changed. In a table without it, rows are the stack's only when
   the stack's stores are the only ones streaming into the table (`ownership.py` establishes it);
   otherwise nothing there is deleted, deduplicated or hidden.
7. **Change data capture** tables (v1beta1 `changeDataCaptureConfig`, JSON schema, no `Type`)
   keep one current row per instance themselves: the reconciler adds missing or outdated rows
   and never propagates deletions there.
8. JSON-schema tables (`schemaJson`) are compared on the same key columns (`StudyInstanceUID`,
   `SeriesInstanceUID`, `SOPInstanceUID`, `LastUpdated`, `Type`, `StorageClass`, top level in both
   schemas); their snapshots are exported with the JSON schema, so copied rows have its shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

UID = "SOPInstanceUID"
STUDY = "StudyInstanceUID"
LAST_UPDATED = "LastUpdated"
TYPE = "Type"
STORAGE_CLASS = "StorageClass"
SOURCE = "SourceDicomStore"
METADATA = "Metadata"
DELETE_TYPE = "DELETE"


@dataclass(frozen=True)
class Shape:
    """What a destination table's rows look like, as far as the rules care."""

    has_type: bool = True
    has_source: bool = False  # SourceDicomStore: rows keyed per (store, instance)
    cdc: bool = False  # change data capture: Google keeps one current row per instance
    json: bool = False  # schemaJson: the tags in one JSON `Metadata` column

    @classmethod
    def of(cls, schema: Iterable[Mapping] | None, *, cdc: bool = False, json: bool | None = None) -> "Shape":
        names = {f["name"] for f in schema or ()}
        is_json = (METADATA in names) if json is None else json
        return cls(TYPE in names and not cdc, SOURCE in names, cdc, is_json)

    def key(self, alias: str) -> str:
        return f"{alias}.{SOURCE}, {alias}.{UID}" if self.has_source else f"{alias}.{UID}"

    def same_key(self, a: str, b: str) -> str:
        """SQL: rows `a` and `b` have the same key."""
        same = f"{a}.{UID} = {b}.{UID}"
        return f"{a}.{SOURCE} = {b}.{SOURCE} AND {same}" if self.has_source else same


def _shape(shape: "Shape | bool") -> Shape:
    return shape if isinstance(shape, Shape) else Shape(has_type=bool(shape))


def tombstone(alias: str, shape: "Shape | bool") -> str:
    """SQL: the row `alias` is a DELETE row (always FALSE on a table without `Type`)."""
    if not _shape(shape).has_type:
        return "FALSE"
    return f"IFNULL({alias}.{TYPE} = '{DELETE_TYPE}', FALSE)"


def _newest_first(shape: Shape, dead: str) -> str:
    return (f"QUALIFY ROW_NUMBER() OVER (PARTITION BY {shape.key('t')} ORDER BY t.{LAST_UPDATED} DESC, "
            f"IF({dead}, 1, 0) DESC) = 1")


def current_rows(table_sql: str, shape: "Shape | bool", columns: str = "t.*", where: str = "") -> str:
    """SQL: one row per key, its current one (rule 2), with `_tombstone` (rule 3); `where` narrows
    the rows considered (e.g. one store's)."""
    shape = _shape(shape)
    dead = tombstone("t", shape)
    extra = f" AND {where}" if where else ""
    return (f"SELECT {columns}, {dead} AS _tombstone FROM `{table_sql}` AS t "
            f"WHERE t.{UID} IS NOT NULL{extra} {_newest_first(shape, dead)}")


def current_keys(table_sql: str, shape: "Shape | bool", where: str = "") -> str:
    """SQL: (uid, newest LastUpdated, _tombstone[, source]) per key: what comparisons need."""
    shape = _shape(shape)
    cols = f"t.{UID} AS uid, t.{LAST_UPDATED} AS newest" + (f", t.{SOURCE} AS source" if shape.has_source else "")
    return current_rows(table_sql, shape, cols, where)


def live_view(table_sql: str, shape: "Shape | bool", hidden_filter: str = "") -> str:
    """SQL of `TABLE_current`: each live key's current row (rules 1-4), minus hidden ones."""
    shape = _shape(shape)
    where = f" AND {hidden_filter}" if hidden_filter else ""
    dead = tombstone("t", shape)
    return (f"SELECT t.* FROM `{table_sql}` AS t WHERE t.{UID} IS NOT NULL{where} "
            f"{_newest_first(shape, dead)} AND NOT {dead}")


def ours(shape: Shape, alias: str = "t") -> str:
    """SQL: the row is the stack's (rule 6; @ours: the resource names of the stack's stores
    streaming into the table). Without `SourceDicomStore`, TRUE: the caller only changes such a
    table once its ownership is established."""
    return f"IFNULL({alias}.{SOURCE} IN UNNEST(@ours), FALSE)" if shape.has_source else "TRUE"


def of_store(shape: Shape, param: str, alias: str = "t") -> str:
    """SQL: the row is the store @param's (TRUE without `SourceDicomStore`: rows are shared)."""
    return f"{alias}.{SOURCE} = @{param}" if shape.has_source else "TRUE"
