"""Writes DICOM rows into BigQuery (the emulator) the way the Healthcare API does: creates the
table when missing, widens its schema when later instances bring new keywords, appends rows.

Emulator workarounds (see facts.md): an `update_table` schema change alone leaves the storage
table unchanged and breaks later `insertAll`, so new top-level columns are added with
`ALTER TABLE ... ADD COLUMN` *and* `update_table`; a change inside an existing RECORD (a new
sub-field of a sequence), or many new columns at once, rebuilds the table (rows read back, table
recreated with the wider schema, rows re-inserted).
"""

from __future__ import annotations

import json
import threading
from collections import deque
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from dicomstream.core.naming import TableRef
from dicomstream.gcp.bigquery import make_client, retry
from dicomstream.sandbox.emulator.tables import schema as bqschema

INSERT_CHUNK = 1000  # rows per insertAll request; a bigger batch (export, clone) is one load job
ALTER_MAX_COLUMNS = 6  # more new columns than this: rebuild the table instead
BQ_DEADLINE_S = 15.0
LOG_LABEL = "healthcare.googleapis.com/dicom_stream"


def _ddl_type(spec: dict) -> str:
    typ = spec["type"]
    if typ == "RECORD":
        inner = ", ".join(f"`{f['name']}` {_ddl_type(f)}" for f in spec.get("fields", []))
        base = f"STRUCT<{inner}>"
    else:
        base = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}.get(typ, typ)
    return f"ARRAY<{base}>" if spec.get("mode") == "REPEATED" else base


def _jsonable(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class StreamLog:
    """Streaming errors as Cloud Logging-style JSON lines (`dicom_stream` log), plus a short memory."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.recent: deque[dict] = deque(maxlen=200)
        self._lock = threading.Lock()
        if path is not None:  # created at start: `sandbox status` names it, `sandbox logs` reads it
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()

    def error(self, when: str, store_name: str, resource: str, destination: str, code: int, status: str, message: str) -> None:
        parts = store_name.split("/")
        project = parts[1]
        entry = {
            "timestamp": when,
            "severity": "ERROR",
            "logName": f"projects/{project}/logs/healthcare.googleapis.com%2Fdicom_stream",
            "resource": {
                "type": "healthcare_dicom_store",
                "labels": {
                    "project_id": project, "location": parts[3], "dataset_id": parts[5], "dicom_store_id": parts[7],
                },
            },
            "labels": {LOG_LABEL: destination},
            "jsonPayload": {
                "@type": "type.googleapis.com/google.cloud.healthcare.logging.StreamDicomLogEntry",
                "resourceName": resource,
                "destination": destination,
                "error": {"code": code, "status": status, "message": message},
            },
        }
        with self._lock:
            self.recent.append(entry)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(entry) + "\n")


class BigQueryWriter:
    """Table-level writes into the emulator; one lock per table so schema changes do not race."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._clients: dict[str, object] = {}
        self._schemas: dict[str, list[dict]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def client(self, project: str):
        with self._guard:
            if project not in self._clients:
                self._clients[project] = make_client(project, endpoint=self.endpoint)
            return self._clients[project]

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    # -- reads used by the service's checks -------------------------------------------------
    def dataset_access(self, project: str, dataset: str) -> list[dict] | None:
        """The dataset's access entries (REST form), or None when the dataset does not exist."""
        from google.api_core.exceptions import NotFound

        try:
            ds = self.client(project).get_dataset(f"{project}.{dataset}", retry=retry(BQ_DEADLINE_S))
        except NotFound:
            return None
        return [entry.to_api_repr() for entry in ds.access_entries]

    def row_count(self, ref: TableRef) -> int | None:
        """Rows in the table, or None when it does not exist."""
        from google.api_core.exceptions import NotFound

        try:
            table = self.client(ref.project).get_table(ref.sql_id, retry=retry(BQ_DEADLINE_S))
        except NotFound:
            return None
        if table.num_rows:
            return int(table.num_rows)
        rows = self.client(ref.project).query(
            f"SELECT COUNT(*) AS n FROM `{ref.sql_id}`", job_retry=None, retry=retry(BQ_DEADLINE_S)
        ).result()
        return int(next(iter(rows))["n"])

    # -- writes -------------------------------------------------------------------------------
    def write(self, ref: TableRef, rows: list[tuple[dict, list[dict]]], truncate: bool = False,
              replace: tuple[str, list[str]] | None = None) -> None:
        """Append rows (each with the schema fields it needs), widening the table's schema first.

        `truncate` replaces the table (export with WRITE_TRUNCATE); `replace` = (column, values)
        first deletes the rows whose column holds one of the values (change data capture).
        """
        key = ref.sql_id
        with self._lock(key):
            try:
                if replace and self._current_schema(ref) is not None:
                    self._delete_where(ref, *replace)
                if rows or truncate:
                    self._write_locked(ref, rows, truncate)
            except Exception:
                self._schemas.pop(key, None)  # re-read the table next time
                raise

    def _write_locked(self, ref: TableRef, rows: list[tuple[dict, list[dict]]], truncate: bool) -> None:
        from google.cloud import bigquery

        client = self.client(ref.project)
        wanted: list[dict] = []
        for fields in {id(fields): fields for _, fields in rows}.values():  # each distinct schema once
            wanted, _ = bqschema.merge_fields(wanted, fields)

        current = None if truncate else self._current_schema(ref)
        if truncate:
            client.delete_table(ref.sql_id, not_found_ok=True, retry=retry(BQ_DEADLINE_S))
            self._schemas.pop(ref.sql_id, None)
        merged, conflicts = bqschema.merge_fields(current or [], wanted)
        if conflicts:
            rows = [(self._drop_conflicts(row, fields, current or [], conflicts), fields) for row, fields in rows]
            if any(bqschema.DROPPED_TAGS in row for row, _ in rows):
                merged, _ = bqschema.merge_fields(merged, [bqschema.DROPPED_FIELD])
        if current is None:
            table = bigquery.Table(ref.sql_id, schema=[bigquery.SchemaField.from_api_repr(f) for f in merged])
            try:
                client.create_table(table, retry=retry(BQ_DEADLINE_S))
            except Exception as exc:  # noqa: BLE001 - Conflict: created meanwhile by someone else
                from google.api_core.exceptions import Conflict

                if not isinstance(exc, Conflict):
                    raise
                current = self._current_schema(ref, refresh=True) or []
                merged, _ = bqschema.merge_fields(current, merged)
                self._evolve(ref, current, merged)
        elif merged != current:
            self._evolve(ref, current, merged)
        self._schemas[ref.sql_id] = merged
        payload = [row for row, _ in rows]
        if len(payload) > INSERT_CHUNK:
            self._load(ref, payload, merged)
            return
        for start in range(0, len(payload), INSERT_CHUNK):
            errors = client.insert_rows_json(ref.sql_id, payload[start:start + INSERT_CHUNK], retry=retry(BQ_DEADLINE_S))
            if errors:
                raise RuntimeError(f"BigQuery rejected rows for {ref.uri}: {errors[:3]}")

    def _load(self, ref: TableRef, payload: list[dict], schema: list[dict]) -> None:
        """Many rows at once as one load job (NDJSON): export-sized batches, far faster than insertAll."""
        import io

        from google.cloud import bigquery

        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON, write_disposition="WRITE_APPEND",
            schema=[bigquery.SchemaField.from_api_repr(f) for f in schema],
        )
        body = "\n".join(json.dumps(row, default=str) for row in payload).encode()
        job = self.client(ref.project).load_table_from_file(io.BytesIO(body), ref.sql_id, job_config=config)
        job.result(timeout=max(BQ_DEADLINE_S, len(payload) / 500))

    def _delete_where(self, ref: TableRef, column: str, values: list[str]) -> None:
        from google.cloud import bigquery

        config = bigquery.QueryJobConfig(query_parameters=[bigquery.ArrayQueryParameter("values", "STRING", values)])
        self.client(ref.project).query(
            f"DELETE FROM `{ref.sql_id}` WHERE `{column}` IN UNNEST(@values)", job_config=config,
            job_retry=None, retry=retry(BQ_DEADLINE_S),
        ).result(retry=retry(BQ_DEADLINE_S))

    def _current_schema(self, ref: TableRef, refresh: bool = False) -> list[dict] | None:
        from google.api_core.exceptions import NotFound

        if not refresh and ref.sql_id in self._schemas:
            return self._schemas[ref.sql_id]
        try:
            table = self.client(ref.project).get_table(ref.sql_id, retry=retry(BQ_DEADLINE_S))
        except NotFound:
            self._schemas.pop(ref.sql_id, None)
            return None
        fields = bqschema.normalise([f.to_api_repr() for f in table.schema])
        self._schemas[ref.sql_id] = fields
        return fields

    @staticmethod
    def _drop_conflicts(row: dict, fields: list[dict], current: list[dict], conflicts: list[str]) -> dict:
        """Values whose type conflicts with the table go to DroppedTags (the table's type wins)."""
        top = {c.split(".")[0] for c in conflicts}
        moved = [name for name in row if name in top]
        if not moved:
            return row
        out = {k: v for k, v in row.items() if k not in top}
        out[bqschema.DROPPED_TAGS] = list(row.get(bqschema.DROPPED_TAGS, [])) + [{"TagName": n, "TagReference": None} for n in moved]
        return out

    def _evolve(self, ref: TableRef, current: list[dict], merged: list[dict]) -> None:
        from google.cloud import bigquery

        client = self.client(ref.project)
        current_by_name = {f["name"]: f for f in current}
        nested_change = any(
            f["name"] in current_by_name and f != current_by_name[f["name"]] for f in merged
        )
        added = [spec for spec in merged if spec["name"] not in current_by_name]
        # One ALTER per column costs ~20 ms in the emulator; a rebuild ~100-200 ms for small tables.
        if nested_change or len(added) > ALTER_MAX_COLUMNS:
            self._rebuild(ref, merged)
            return
        for spec in added:
            client.query(
                f"ALTER TABLE `{ref.sql_id}` ADD COLUMN IF NOT EXISTS `{spec['name']}` {_ddl_type(spec)}",
                job_retry=None,
                retry=retry(BQ_DEADLINE_S),
            ).result(retry=retry(BQ_DEADLINE_S))
        table = client.get_table(ref.sql_id, retry=retry(BQ_DEADLINE_S))
        table.schema = [bigquery.SchemaField.from_api_repr(f) for f in merged]
        client.update_table(table, ["schema"], retry=retry(BQ_DEADLINE_S))

    def _rebuild(self, ref: TableRef, merged: list[dict]) -> None:
        from google.cloud import bigquery

        client = self.client(ref.project)
        old_rows = [
            {k: _jsonable(v) for k, v in row.items()}
            for row in client.list_rows(ref.sql_id, retry=retry(BQ_DEADLINE_S))
        ]
        client.delete_table(ref.sql_id, not_found_ok=True, retry=retry(BQ_DEADLINE_S))
        table = bigquery.Table(ref.sql_id, schema=[bigquery.SchemaField.from_api_repr(f) for f in merged])
        client.create_table(table, retry=retry(BQ_DEADLINE_S))
        for start in range(0, len(old_rows), INSERT_CHUNK):
            chunk = [_strip_empty(r) for r in old_rows[start:start + INSERT_CHUNK]]
            errors = client.insert_rows_json(ref.sql_id, chunk, retry=retry(BQ_DEADLINE_S))
            if errors:
                raise RuntimeError(f"BigQuery rejected rows while widening {ref.uri}: {errors[:3]}")


def _strip_empty(row: dict) -> dict:
    return {k: v for k, v in row.items() if v is not None}
