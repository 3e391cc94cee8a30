"""What the reconciler reads from and writes to BigQuery: dataset ACLs, table lists, the summary of
a destination table's rows, the dedup / delete DML, the `TABLE_current` view and the state log.

Every call takes a bounded `google.api_core` retry (BigQuery's own predicate: 429/500/503,
`rateLimitExceeded` quota errors, connection errors) and never a job retry that could re-run a
statement for ten minutes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from typing import Iterable, Mapping

from components.naming import TableRef

from dicomstream.gcp.bigquery import retry as bq_retry
from dicomstream.reconciler.observed import ObservedDataset, ObservedTable, TableContent, UidRows, member_of_email
from dicomstream.reconciler.state import STATE_SCHEMA, STATE_TABLE, State

UID = "SOPInstanceUID"
LAST_UPDATED = "LastUpdated"
PAGE_ROWS = 50_000


class Tables:
    """BigQuery operations of one run; `client_for(project)` returns a `bigquery.Client`."""

    def __init__(self, client_for, deadline: float = 30.0, job_wait: float = 900.0) -> None:
        self.client_for = client_for
        self.deadline = deadline  # per API call, retries included
        self.job_wait = job_wait  # for one query or DML statement to finish
        self._ensured: set[tuple[str, str]] = set()

    @property
    def retry(self):
        return bq_retry(self.deadline)

    def _query(self, project: str, sql: str, params: Iterable = (), location: str | None = None):
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(query_parameters=list(params))
        return self.client_for(project).query_and_wait(
            sql, job_config=config, location=location, retry=self.retry, job_retry=None,
            wait_timeout=self.job_wait, page_size=PAGE_ROWS,
        )

    # ------------------------------------------------------------------------------- reads

    def dataset(self, project: str, dataset: str) -> ObservedDataset | None:
        """Location and who holds which role (one `datasets.get`), or None when it does not exist."""
        from google.api_core.exceptions import NotFound

        try:
            ds = self.client_for(project).get_dataset(f"{project}.{dataset}", retry=self.retry)
        except NotFound:
            return None
        grants: set[tuple[str, str]] = set()
        for entry in ds.access_entries:
            if not entry.role:
                continue
            kind, who = entry.entity_type, entry.entity_id
            if kind == "userByEmail":
                grants.add((entry.role, member_of_email(who)))
            elif kind == "groupByEmail":
                grants.add((entry.role, f"group:{who}"))
            elif kind == "iamMember":
                grants.add((entry.role, who))
        return ObservedDataset(project, dataset, ds.location, frozenset(grants))

    def list_tables(self, project: str, dataset: str) -> dict[str, ObservedTable]:
        """Every table and view of a dataset (one `tables.list` per 1000)."""
        out: dict[str, ObservedTable] = {}
        for item in self.client_for(project).list_tables(f"{project}.{dataset}", page_size=1000, retry=self.retry):
            ref = TableRef(project, dataset, item.table_id)
            out[item.table_id] = ObservedTable(ref, item.table_type or "TABLE")
        return out

    def view_query(self, ref: TableRef) -> str | None:
        table = self.client_for(ref.project).get_table(ref.sql_id, retry=self.retry)
        return table.view_query

    def state(self, project: str, dataset: str) -> State:
        """The folded state log of one dataset (call only when the state table exists)."""
        sql = f"SELECT kind, store, table_uri, uid, up_to, recorded_at FROM `{project}.{dataset}.{STATE_TABLE}`"
        return State.from_rows([dict(row) for row in self._query(project, sql)])

    def contents(self, refs: Iterable[TableRef], location_of: Mapping[tuple[str, str], str | None] = {}
                 ) -> dict[TableRef, TableContent]:
        """Per table, each instance's row count and oldest/newest `LastUpdated`.

        One query per dataset (a UNION ALL over its tables), aggregated in BigQuery: the result
        has one row per instance, never one per stored row, and is read in large pages.
        """
        by_dataset: dict[tuple[str, str], list[TableRef]] = defaultdict(list)
        for ref in refs:
            by_dataset[ref.dataset_key].append(ref)
        out: dict[TableRef, TableContent] = {}
        for key, tables in sorted(by_dataset.items()):
            tables = sorted(tables)
            parts = [
                f"SELECT {i} AS t, {UID} AS uid, COUNT(*) AS n, MIN({LAST_UPDATED}) AS oldest, "
                f"MAX({LAST_UPDATED}) AS newest FROM `{ref.sql_id}` GROUP BY uid"
                for i, ref in enumerate(tables)
            ]
            rows: dict[int, dict[str, UidRows]] = {i: {} for i in range(len(tables))}
            for row in self._query(key[0], " UNION ALL ".join(parts), location=location_of.get(key)):
                if row["uid"] is not None:
                    rows[row["t"]][row["uid"]] = UidRows(int(row["n"]), row["oldest"], row["newest"])
            for i, ref in enumerate(tables):
                out[ref] = TableContent(ref, rows[i])
        return out

    # ------------------------------------------------------------------------------ writes

    def deduplicate(self, ref: TableRef) -> int:
        """ONE DML: per SOP instance keep the row(s) with the newest `LastUpdated`, delete the rest."""
        sql = (
            f"DELETE FROM `{ref.sql_id}` AS d WHERE EXISTS (SELECT 1 FROM `{ref.sql_id}` AS k "
            f"WHERE k.{UID} = d.{UID} AND (k.{LAST_UPDATED} > d.{LAST_UPDATED} "
            f"OR (d.{LAST_UPDATED} IS NULL AND k.{LAST_UPDATED} IS NOT NULL)))"
        )
        return self._dml(ref.project, sql)

    def delete_rows(self, ref: TableRef, uids: Iterable[str], cutoff: datetime) -> int:
        """ONE parameterised DML; rows younger than `cutoff` (streaming buffer) are left alone."""
        from google.cloud import bigquery

        sql = f"DELETE FROM `{ref.sql_id}` WHERE {UID} IN UNNEST(@uids) AND {LAST_UPDATED} < @cutoff"
        params = [bigquery.ArrayQueryParameter("uids", "STRING", sorted(uids)),
                  bigquery.ScalarQueryParameter("cutoff", "TIMESTAMP", cutoff)]
        return self._dml(ref.project, sql, params)

    def _dml(self, project: str, sql: str, params: Iterable = ()) -> int:
        result = self._query(project, sql, params)
        return int(getattr(result, "num_dml_affected_rows", None) or 0)

    def write_view(self, view: TableRef, query: str) -> None:
        """Create the view, or replace its query (views are updated in place, never dropped)."""
        from google.api_core.exceptions import Conflict
        from google.cloud import bigquery

        client = self.client_for(view.project)
        table = bigquery.Table(view.sql_id)
        table.view_query = query
        try:
            client.create_table(table, retry=self.retry)
        except Conflict:
            existing = client.get_table(view.sql_id, retry=self.retry)
            existing.view_query = query
            client.update_table(existing, ["view_query"], retry=self.retry)

    def ensure_state_table(self, project: str, dataset: str) -> None:
        """Create the dataset's state log on first use (once per run)."""
        from google.cloud import bigquery

        if (project, dataset) in self._ensured:
            return
        schema = [bigquery.SchemaField(name, kind) for name, kind in STATE_SCHEMA]
        table = bigquery.Table(f"{project}.{dataset}.{STATE_TABLE}", schema=schema)
        table.description = "dicomstream reconciler state: backfills, deletions, hidden rows (append-only)"
        self.client_for(project).create_table(table, exists_ok=True, retry=self.retry)
        self._ensured.add((project, dataset))

    def state_table_exists(self, project: str, dataset: str) -> None:
        """Seen in a table listing: no need to create it before appending."""
        self._ensured.add((project, dataset))

    def append_state(self, project: str, dataset: str, rows: list[dict]) -> None:
        """Append to the dataset's state log; one `insertAll`."""
        if not rows:
            return
        self.ensure_state_table(project, dataset)
        now = datetime.now(timezone.utc).isoformat()
        payload = [{**{name: _json(row.get(name)) for name, _ in STATE_SCHEMA}, "recorded_at": now} for row in rows]
        errors = self.client_for(project).insert_rows_json(f"{project}.{dataset}.{STATE_TABLE}", payload,
                                                           retry=self.retry)
        if errors:
            raise RuntimeError(f"BigQuery refused the state rows for {project}.{dataset}: {errors[:2]}")

    def create_dataset(self, project: str, dataset: str, location: str | None, kms_key_name: str | None) -> None:
        from google.cloud import bigquery

        ds = bigquery.Dataset(f"{project}.{dataset}")
        ds.location = location
        if kms_key_name:
            ds.default_encryption_configuration = bigquery.EncryptionConfiguration(kms_key_name=kms_key_name)
        self.client_for(project).create_dataset(ds, exists_ok=True, retry=self.retry)

    def grant_dataset_role(self, project: str, dataset: str, role: str, member: str) -> None:
        """Add one access entry (read-modify-write guarded by the dataset's etag)."""
        from google.cloud.bigquery import AccessEntry

        client = self.client_for(project)
        ds = client.get_dataset(f"{project}.{dataset}", retry=self.retry)
        kind, _, who = member.partition(":")
        entity_type = {"serviceAccount": "userByEmail", "user": "userByEmail", "group": "groupByEmail"}.get(kind, "iamMember")
        entity_id = who if entity_type != "iamMember" else member
        entries = list(ds.access_entries)
        entries.append(AccessEntry(role=role, entity_type=entity_type, entity_id=entity_id))
        ds.access_entries = entries
        client.update_dataset(ds, ["access_entries"], retry=self.retry)


def _json(value):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    return value
