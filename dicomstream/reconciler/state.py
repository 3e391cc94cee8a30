"""What the reconciler remembers between runs (the shape; `store_state` reads and writes it).

Kept in a small append-only table `_dicomstream_state` in each destination dataset, next to the
data it describes: it survives ephemeral CI runners, is shared by every operator of the stack, and
the `TABLE_current` views read their tombstones from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
import hashlib
from typing import Mapping

from dicomstream.core.naming import TableRef

STATE_TABLE = "_dicomstream_state"

# Row kinds.
BACKFILLED = "backfilled"  # (older versions) store, table_uri: the store was exported into the table
ADDED = "added"  # store, table_uri, up_to: missing rows copied from the store's snapshot taken at up_to
DELETED = "deleted"  # table_uri, up_to: rows of instances gone from every store, older than up_to, deleted
HIDDEN = "hidden"  # table_uri, uid, up_to: the TABLE_current view hides rows of uid up to `up_to`
VIEW = "view"  # table_uri (the view), uid (fingerprint of its query): the view the reconciler wrote
WATERMARK = "watermark"  # table_uri, uid (its row count), up_to (its newest LastUpdated): compared, nothing to do

STATE_SCHEMA = (  # (name, type)
    ("kind", "STRING"),
    ("store", "STRING"),
    ("table_uri", "STRING"),
    ("uid", "STRING"),
    ("up_to", "TIMESTAMP"),
    ("recorded_at", "TIMESTAMP"),
)


@dataclass(frozen=True)
class State:
    backfilled: frozenset[tuple[str, str]] = frozenset()  # (store resource, table uri)
    hidden: Mapping[str, Mapping[str, datetime]] = field(default_factory=dict)  # table uri → uid → at
    deleted: Mapping[str, frozenset[str]] = field(default_factory=dict)  # table uri → uids (history)
    views: Mapping[str, str] = field(default_factory=dict)  # view uri → query fingerprint
    watermarks: Mapping[str, tuple[str, datetime | None]] = field(default_factory=dict)  # table uri → (rows, newest)

    def is_backfilled(self, store_resource: str, table_uri: str) -> bool:
        return (store_resource, table_uri) in self.backfilled

    def hidden_until(self, table_uri: str, uid: str) -> datetime | None:
        return self.hidden.get(table_uri, {}).get(uid)

    @classmethod
    def from_rows(cls, rows: list[Mapping]) -> "State":
        """Fold the append-only log into the current state."""
        backfilled: set[tuple[str, str]] = set()
        hidden: dict[str, dict[str, datetime]] = {}
        deleted: dict[str, set[str]] = {}
        views: dict[str, tuple[datetime | None, str]] = {}
        marks: dict[str, tuple[datetime | None, tuple[str, datetime | None]]] = {}
        for row in rows:
            kind, uri = row.get("kind"), row.get("table_uri")
            if kind == BACKFILLED and row.get("store") and uri:
                backfilled.add((row["store"], uri))
            elif kind == HIDDEN and uri and row.get("uid"):
                at = row.get("up_to")
                table = hidden.setdefault(uri, {})
                if at is not None and (row["uid"] not in table or table[row["uid"]] < at):
                    table[row["uid"]] = at
            elif kind == DELETED and uri and row.get("uid"):
                deleted.setdefault(uri, set()).add(row["uid"])
            elif kind == WATERMARK and uri:
                at = row.get("recorded_at")
                if uri not in marks or (at is not None and (marks[uri][0] is None or marks[uri][0] <= at)):
                    marks[uri] = (at, (str(row.get("uid") or ""), row.get("up_to")))
            elif kind == VIEW and uri and row.get("uid"):
                at = row.get("recorded_at")
                if uri not in views or (at is not None and views[uri][0] is not None and views[uri][0] <= at):
                    views[uri] = (at, row["uid"])
        return cls(frozenset(backfilled), hidden, {k: frozenset(v) for k, v in deleted.items()},
                   {uri: fp for uri, (_, fp) in views.items()}, {uri: mark for uri, (_, mark) in marks.items()})

    def merge(self, other: "State") -> "State":
        hidden = {uri: dict(uids) for uri, uids in self.hidden.items()}
        for uri, uids in other.hidden.items():
            table = hidden.setdefault(uri, {})
            for uid, at in uids.items():
                if uid not in table or table[uid] < at:
                    table[uid] = at
        deleted = dict(self.deleted)
        for uri, gone in other.deleted.items():
            deleted[uri] = deleted.get(uri, frozenset()) | gone
        return State(self.backfilled | other.backfilled, hidden, deleted, {**self.views, **other.views},
                     {**self.watermarks, **other.watermarks})


def state_table_ref(table: TableRef) -> TableRef:
    """The state table that sits next to `table`."""
    return TableRef(table.project, table.dataset, STATE_TABLE)


def query_fingerprint(query: str) -> str:
    return hashlib.sha256(query.strip().encode()).hexdigest()[:16]
