"""What the reconciler reads from and writes to BigQuery: dataset ACLs, table lists and schemas,
one-row comparison queries, DML/DDL statements, staging tables, the `TABLE_current` view, the state log.

Every call takes a bounded `google.api_core` retry (BigQuery's own predicate: 429/500/503,
`rateLimitExceeded` quota errors, connection errors), a timeout per HTTP request, and never a job
retry that could re-run a statement for ten minutes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

from dicomstream.core.naming import TableRef

from dicomstream.gcp.bigquery import retry as bq_retry
from dicomstream.gcp.rest import is_google_error
from dicomstream.reconciler.observed import ObservedDataset, ObservedTable, member_of_email
from dicomstream.reconciler.state import STATE_SCHEMA, STATE_TABLE, State

PAGE_ROWS = 50_000
STATE_BATCH = 500  # rows per insertAll: far below BigQuery's 10 MB request limit


@dataclass(frozen=True)
class Statement:
    """One statement a run sent and the bytes BigQuery processed for it (`totalBytesProcessed`;
    None when the answer did not say)."""

    what: str  # e.g. `compare bq://p.d.t`, `DELETE p.d.t`
    bytes: int | None

    def to_json(self) -> dict:
        return {"statement": self.what, "bytes_processed": self.bytes}


_FIRST_TABLE = re.compile(r"`([^`]+)`")


def statement_kind(sql: str) -> str:
    """`DELETE p.d.t`, `SELECT p.d.t`: the statement's verb and the first table it names."""
    verb = (sql.lstrip().split(None, 1) or ["?"])[0].upper()
    table = _FIRST_TABLE.search(sql)
    return f"{verb} {table.group(1)}" if table else verb


class Tables:
    """BigQuery operations of one run; `client_for(project)` returns a `bigquery.Client`."""

    def __init__(self, client_for, deadline: float = 30.0, job_wait: float = 900.0, timeout: float = 30.0) -> None:
        self.client_for = client_for
        self.deadline = deadline  # per API call, retries included
        self.timeout = min(timeout, deadline)  # per HTTP request
        self.job_wait = job_wait  # for one query or DML statement to finish
        self._ensured: set[tuple[str, str]] = set()
        self.statements: list[Statement] = []  # every query and DML statement of the run, with its bytes

    @property
    def retry(self):
        return bq_retry(self.deadline)

    def _query(self, project: str, sql: str, params: Iterable = (), location: str | None = None, what: str = ""):
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(query_parameters=list(params))
        result = self.client_for(project).query_and_wait(
            sql, job_config=config, location=location, retry=self.retry, job_retry=None,
            api_timeout=self.timeout, wait_timeout=self.job_wait, page_size=PAGE_ROWS,
        )
        processed = getattr(result, "total_bytes_processed", None)
        self.statements.append(Statement(what or statement_kind(sql), None if processed is None else int(processed)))
        return result

    # ------------------------------------------------------------------------------- reads

    def dataset(self, project: str, dataset: str) -> ObservedDataset | None:
        """Location and who holds which role (one `datasets.get`), or None when it does not exist."""
        from google.api_core.exceptions import NotFound

        try:
            ds = self.client_for(project).get_dataset(f"{project}.{dataset}", retry=self.retry, timeout=self.timeout)
        except NotFound as exc:
            if not is_google_error(exc):
                raise
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
        for item in self.client_for(project).list_tables(f"{project}.{dataset}", page_size=1000, retry=self.retry, timeout=self.timeout):
            ref = TableRef(project, dataset, item.table_id)
            out[item.table_id] = ObservedTable(ref, item.table_type or "TABLE")
        return out

    def view_query(self, ref: TableRef) -> str | None:
        table = self.client_for(ref.project).get_table(ref.sql_id, retry=self.retry, timeout=self.timeout)
        return table.view_query

    def state(self, project: str, dataset: str) -> State:
        """What a run needs from the state log (the views it wrote; never a row per instance)."""
        sql = (f"SELECT kind, store, table_uri, uid, up_to, recorded_at FROM `{project}.{dataset}.{STATE_TABLE}` "
               "WHERE kind IN ('view', 'watermark')")
        return State.from_rows([dict(row) for row in self._query(project, sql)])

    def schema(self, ref: TableRef) -> list[dict] | None:
        """The table's schema as REST dicts (one `tables.get`), or None when it does not exist."""
        from google.api_core.exceptions import NotFound

        try:
            table = self.client_for(ref.project).get_table(ref.sql_id, retry=self.retry, timeout=self.timeout)
        except NotFound as exc:
            if not is_google_error(exc):
                raise
            return None
        return [f.to_api_repr() for f in table.schema]

    def query_row(self, project: str, sql: str, params: Iterable = (), what: str = "") -> dict:
        """A query whose answer is one row (aggregates computed in BigQuery)."""
        rows = [dict(row) for row in self._query(project, sql, params, what=what)]
        return rows[0] if rows else {}

    def query_rows(self, project: str, sql: str, params: Iterable = (), what: str = "") -> list[dict]:
        """A query whose answer is a few rows (the statement bounds them with LIMIT)."""
        return [dict(row) for row in self._query(project, sql, params, what=what)]

    def dml(self, project: str, sql: str, params: Iterable = (), what: str = "") -> int:
        """One DML or DDL statement; the number of rows it changed."""
        result = self._query(project, sql, params, what=what)
        return int(getattr(result, "num_dml_affected_rows", None) or 0)

    def add_columns(self, ref: TableRef, columns: list[dict]) -> None:
        """Top-level columns appended with one `ALTER TABLE ... ADD COLUMN IF NOT EXISTS` each."""
        from dicomstream.reconciler.columns import sql_type, _spec

        for column in columns:
            spec = _spec(column)
            self.dml(ref.project, f"ALTER TABLE `{ref.sql_id}` ADD COLUMN IF NOT EXISTS `{spec['name']}` {sql_type(spec)}")

    def set_schema(self, ref: TableRef, schema: list[dict]) -> None:
        """Widen a table's schema (`tables.patch`): how BigQuery adds fields inside a RECORD."""
        from google.cloud import bigquery

        client = self.client_for(ref.project)
        table = client.get_table(ref.sql_id, retry=self.retry, timeout=self.timeout)
        table.schema = [bigquery.SchemaField.from_api_repr(f) for f in schema]
        client.update_table(table, ["schema"], retry=self.retry, timeout=self.timeout)

    def create_table(self, ref: TableRef, schema: list[dict]) -> None:
        from google.cloud import bigquery

        table = bigquery.Table(ref.sql_id, schema=[bigquery.SchemaField.from_api_repr(f) for f in schema])
        self.client_for(ref.project).create_table(table, exists_ok=True, retry=self.retry, timeout=self.timeout)

    def expire(self, ref: TableRef, when: datetime) -> None:
        """Give a staging table an expiration time (BigQuery drops it even if we never get to)."""
        client = self.client_for(ref.project)
        table = client.get_table(ref.sql_id, retry=self.retry, timeout=self.timeout)
        table.expires = when
        client.update_table(table, ["expires"], retry=self.retry, timeout=self.timeout)

    def drop(self, ref: TableRef) -> None:
        self.client_for(ref.project).delete_table(ref.sql_id, not_found_ok=True, retry=self.retry, timeout=self.timeout)

    # ------------------------------------------------------------------------------ writes

    def write_view(self, view: TableRef, query: str) -> None:
        """Create the view, or replace its query (views are updated in place, never dropped)."""
        from google.api_core.exceptions import Conflict
        from google.cloud import bigquery

        client = self.client_for(view.project)
        table = bigquery.Table(view.sql_id)
        table.view_query = query
        try:
            client.create_table(table, retry=self.retry, timeout=self.timeout)
        except Conflict:
            existing = client.get_table(view.sql_id, retry=self.retry, timeout=self.timeout)
            existing.view_query = query
            client.update_table(existing, ["view_query"], retry=self.retry, timeout=self.timeout)

    def ensure_state_table(self, project: str, dataset: str) -> None:
        """Create the dataset's state log on first use (once per run)."""
        from google.cloud import bigquery

        if (project, dataset) in self._ensured:
            return
        schema = [bigquery.SchemaField(name, kind) for name, kind in STATE_SCHEMA]
        table = bigquery.Table(f"{project}.{dataset}.{STATE_TABLE}", schema=schema)
        table.description = "dicomstream reconciler state: backfills, deletions, hidden rows (append-only)"
        self.client_for(project).create_table(table, exists_ok=True, retry=self.retry, timeout=self.timeout)
        self._ensured.add((project, dataset))

    def state_table_exists(self, project: str, dataset: str) -> None:
        """Seen in a table listing: no need to create it before appending."""
        self._ensured.add((project, dataset))

    def append_state(self, project: str, dataset: str, rows: list[dict]) -> None:
        """Append to the dataset's state log: `insertAll` requests of at most STATE_BATCH rows
        (BigQuery refuses requests over 10 MB)."""
        if not rows:
            return
        self.ensure_state_table(project, dataset)
        now = datetime.now(timezone.utc).isoformat()
        payload = [{**{name: _json(row.get(name)) for name, _ in STATE_SCHEMA}, "recorded_at": now} for row in rows]
        for start in range(0, len(payload), STATE_BATCH):
            errors = self.client_for(project).insert_rows_json(
                f"{project}.{dataset}.{STATE_TABLE}", payload[start:start + STATE_BATCH],
                retry=self.retry, timeout=self.timeout)
            if errors:
                raise RuntimeError(f"BigQuery refused the state rows for {project}.{dataset}: {errors[:2]}")

    def create_dataset(self, project: str, dataset: str, location: str | None, kms_key_name: str | None) -> None:
        from google.cloud import bigquery

        ds = bigquery.Dataset(f"{project}.{dataset}")
        ds.location = location
        if kms_key_name:
            ds.default_encryption_configuration = bigquery.EncryptionConfiguration(kms_key_name=kms_key_name)
        self.client_for(project).create_dataset(ds, exists_ok=True, retry=self.retry, timeout=self.timeout)

    def grant_dataset_role(self, project: str, dataset: str, role: str, member: str) -> None:
        """Add one access entry (read-modify-write guarded by the dataset's etag)."""
        from google.cloud.bigquery import AccessEntry

        client = self.client_for(project)
        ds = client.get_dataset(f"{project}.{dataset}", retry=self.retry, timeout=self.timeout)
        kind, _, who = member.partition(":")
        entity_type = {"serviceAccount": "userByEmail", "user": "userByEmail", "group": "groupByEmail"}.get(kind, "iamMember")
        entity_id = who if entity_type != "iamMember" else member
        entries = list(ds.access_entries)
        entries.append(AccessEntry(role=role, entity_type=entity_type, entity_id=entity_id))
        ds.access_entries = entries
        client.update_dataset(ds, ["access_entries"], retry=self.retry, timeout=self.timeout)


def _json(value):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    return value
