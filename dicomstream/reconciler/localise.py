"""After a change, export only the studies that changed, when the counts can say which.

A table that is not steady (`steady.py`) but has a watermark changed since its last complete
comparison. Per store feeding it:

1. ONE query on key columns (`changed_sql`): the studies with a row newer than the watermark's
   newest `LastUpdated` (what streaming wrote since), each with its live instances in the table,
   and how many rows are newer than the watermark;
2. per such study, `studies.getStudyMetrics` (`instanceCount`; a study the store no longer has is 0);
3. the changed studies **explain** the difference when
   `store instanceCount - table live = sum over them of (study instanceCount - study live)`, and
   every row added since the watermark is one of theirs (`rows now - watermark rows = rows newer
   than the watermark`). Then the store's snapshot is an export with a `filterConfig` file
   (`/studies/UID` lines, in the stack's `stagingBucket`) and the comparison is limited to those
   studies; otherwise (a gap in a study streaming never touched, rows removed by hand, more than
   MAX_STUDIES studies, no bucket) the whole store is exported.

Like the steady check it trusts counts: a change that keeps every count of the untouched studies
(one instance stored and another deleted in the same study while streaming was off) is found by
`reconcile --full`. Calls grow with the studies that changed, never with the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Mapping, Sequence

from dicomstream.core.naming import TableRef

from dicomstream.reconciler.rows import LAST_UPDATED, SOURCE, STUDY, Shape, current_rows, ours

MAX_STUDIES = 200  # changed studies per store per run; more: the whole store is exported


@dataclass(frozen=True)
class Changed:
    """What one table says changed since its watermark: per store index, study → live instances."""

    studies: Mapping[int, Mapping[str, int]]
    rows_since: int
    unlocalisable: bool = False  # a row without a study, or more than MAX_STUDIES studies

    def of(self, i: int) -> Mapping[str, int]:
        return self.studies.get(i, {})


def changed_sql(table: TableRef, shape: Shape, stores: int) -> str:
    """ONE query (params @since, @ours with SourceDicomStore, @store_i): rows (src, study, live,
    rows_since), at most MAX_STUDIES * stores + 1 of them."""
    t = f"`{table.sql_id}`"
    src = f"t.{SOURCE}" if shape.has_source else "CAST(NULL AS STRING)"
    mine = ours(shape, "t")
    cur = current_rows(table.sql_id, shape, f"t.{STUDY} AS study, {src} AS src")
    join = " AND c.src = x.src" if shape.has_source else ""
    return (
        f"SELECT x.src AS src, x.study AS study, COUNTIF(c._tombstone = FALSE) AS live, "
        f"(SELECT COUNT(*) FROM {t} AS r WHERE r.{LAST_UPDATED} > @since) AS rows_since "
        f"FROM (SELECT DISTINCT {src} AS src, t.{STUDY} AS study FROM {t} AS t "
        f"WHERE t.{LAST_UPDATED} > @since AND {mine}) AS x "
        f"LEFT JOIN ({cur}) AS c ON c.study = x.study{join} "
        f"GROUP BY x.src, x.study LIMIT {MAX_STUDIES * max(stores, 1) + 1}"
    )


def from_rows(rows: Iterable[Mapping], stores: Sequence[str], shape: Shape) -> Changed:
    """`changed_sql`'s rows by store index (`stores`: resource names, in the table's source order)."""
    out: dict[int, dict[str, int]] = {}
    since = 0
    bad = False
    index = {resource: i for i, resource in enumerate(stores)}
    n = 0
    for row in rows:
        n += 1
        since = int(row.get("rows_since") or 0)
        study = row.get("study")
        i = index.get(str(row.get("src"))) if shape.has_source else 0
        if study is None or i is None:
            bad = True  # a row without a study (or of a store the stack does not list here)
            continue
        out.setdefault(i, {})[str(study)] = int(row.get("live") or 0)
    if n > MAX_STUDIES * max(len(stores), 1) or any(len(s) > MAX_STUDIES for s in out.values()):
        bad = True
    return Changed(out, since, bad)


def explained(store_instances: int, table_live: int, studies: Mapping[str, int], store_counts: Mapping[str, int]) -> bool:
    """Whether the changed studies account for the whole difference between store and table."""
    return store_instances - table_live == sum(store_counts[s] - live for s, live in studies.items())


def rows_accounted(rows_now: int, watermark_rows: int, rows_since: int) -> bool:
    """Every row added since the watermark is newer than it (nothing removed, nothing old re-added)."""
    return rows_now - watermark_rows == rows_since


def filter_file(studies: Iterable[str]) -> bytes:
    """The export's `filterConfig` file: one `/studies/UID` line per study."""
    return "".join(f"/studies/{uid}\n" for uid in sorted(studies)).encode()


def filter_object(run: str, store: str) -> str:
    return f"dicomstream-reconcile/{run}/{store}.txt"


def since_param(newest: datetime | None):
    from google.cloud import bigquery

    return bigquery.ScalarQueryParameter("since", "TIMESTAMP", newest)
