"""Big stores fast: copies of one instance through the sandbox's clone call (stored and streamed
in one batch) instead of one STOW-RS request per instance, and deletions written the same way.
"""

from __future__ import annotations

import io
import json

from dicomstream.core.naming import TableRef


def seed(sandbox, store: str, count: int, template, streamed: bool = True, prefix: str = "1") -> list[str]:
    """`count` instances in `store` (resource name): `template` through STOW-RS, then copies of it.
    With `streamed=False` the store's stream configs are off meanwhile (a gap to reconcile)."""
    healthcare = sandbox.healthcare_client(timeout=300.0, deadline=600.0)
    configs = [c["bigqueryDestination"]["tableUri"] for c in healthcare.get_dicom_store(store).get("streamConfigs", [])]
    if not streamed:
        healthcare.set_stream_configs(store, [])
    try:
        healthcare.store_instances(store, [template])
        sop = str(template.SOPInstanceUID)
        copies = sandbox.admin.clone_instances(store, sop, count - 1, prefix) if count > 1 else []
    finally:
        if not streamed:
            healthcare.set_stream_configs(store, configs)
    return [sop, *copies]


def delete(sandbox, store: str, uids: list[str], tables: list[TableRef]) -> None:
    """Delete instances as the sandbox would (gone from the store, one DELETE row each streamed),
    with one load job instead of one DICOMweb DELETE and one streaming insert per instance."""
    from google.cloud import bigquery

    from dicomstream.sandbox.emulator.tables import schema as bqschema

    backends = sandbox.healthcare.backends
    dataset_name, store_id = store.split("/dicomStores/")
    with backends.core.lock:
        instances = backends.healthcare.store(dataset_name, store_id).instances
        gone = [instances.pop(uid) for uid in uids]
    now = backends.core.now()
    layout = bqschema.Layout.of({})
    client = sandbox.bigquery_client()
    for table in tables:
        schema = client.get_table(table.sql_id).schema
        body = "\n".join(json.dumps(layout.row(inst, bqschema.DELETE, now, store)[0], default=str) for inst in gone)
        config = bigquery.LoadJobConfig(source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON, schema=schema,
                                        write_disposition="WRITE_APPEND")
        client.load_table_from_file(io.BytesIO(body.encode()), table.sql_id, job_config=config).result()
