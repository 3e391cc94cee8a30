"""The row rules, written down once: which row of a destination table is an instance's current
one, and when that instance counts as live. Every statement the reconciler sends (the comparison
with a snapshot, the dedup, the `TABLE_current` view) takes its SQL from here.

A streaming table is a history, not a mirror: Google streams a row when an instance is stored and
another when it is deleted (`Type`, e.g. "DELETE").

1. An instance's **current row** is its row with the newest `LastUpdated`; on a tie a `DELETE` row
   wins (a delete is never older than what it deletes).
2. When the current row is a `DELETE` row (a **tombstone**) the instance is gone: it is not live,
   it is never counted as live, and the `TABLE_current` view does not show it.
3. Any other `Type` (`CREATE`, `INSERT`, a storage-class change, NULL) is live. Tables without a
   `Type` column (older tables, exports) are read as if every row were live.
4. Rows older than their instance's current row are duplicates; the dedup removes them once they
   are out of the streaming buffer.
"""

from __future__ import annotations

UID = "SOPInstanceUID"
LAST_UPDATED = "LastUpdated"
TYPE = "Type"
DELETE_TYPE = "DELETE"


def tombstone(alias: str, has_type: bool) -> str:
    """SQL: the row `alias` is a DELETE row (always FALSE on a table without `Type`)."""
    if not has_type:
        return "FALSE"
    return f"IFNULL({alias}.{TYPE} = '{DELETE_TYPE}', FALSE)"


def current_rows(table_sql: str, has_type: bool, columns: str = "t.*") -> str:
    """SQL: one row per instance, its current one (rule 1), with `_tombstone` (rule 2)."""
    dead = tombstone("t", has_type)
    return (
        f"SELECT {columns}, {dead} AS _tombstone FROM `{table_sql}` AS t "
        f"WHERE t.{UID} IS NOT NULL "
        f"QUALIFY ROW_NUMBER() OVER (PARTITION BY t.{UID} ORDER BY t.{LAST_UPDATED} DESC, "
        f"IF({dead}, 1, 0) DESC) = 1"
    )


def current_keys(table_sql: str, has_type: bool) -> str:
    """SQL: (uid, newest LastUpdated, _tombstone) per instance: what comparisons need."""
    return current_rows(table_sql, has_type, f"t.{UID} AS uid, t.{LAST_UPDATED} AS newest")


def live_view(table_sql: str, has_type: bool, hidden_filter: str = "") -> str:
    """SQL of `TABLE_current`: each live instance's current row (rules 1-3), minus hidden ones."""
    where = f" AND {hidden_filter}" if hidden_filter else ""
    dead = tombstone("t", has_type)
    return (
        f"SELECT t.* FROM `{table_sql}` AS t WHERE t.{UID} IS NOT NULL{where} "
        f"QUALIFY ROW_NUMBER() OVER (PARTITION BY t.{UID} ORDER BY t.{LAST_UPDATED} DESC, "
        f"IF({dead}, 1, 0) DESC) = 1 AND NOT {dead}"
    )
