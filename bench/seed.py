"""Seed a sandbox store with many instances fast: straight into the stand-in's backend and the
emulator's table, instead of one STOW-RS request per instance (50,000 would take minutes).

One real instance is stored through STOW-RS first (so the table exists with the schema streaming
gives it); the others are copies of it with fresh Study/Series/SOP Instance UIDs, added to the
store's state and loaded into every streamed table with one load job (NDJSON).
"""

from __future__ import annotations

import copy
import io
import json

from components.naming import TableRef

UIDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
TAGS = {"StudyInstanceUID": "0020000D", "SeriesInstanceUID": "0020000E", "SOPInstanceUID": "00080018"}


def _uid(prefix: str, i: int) -> str:
    return f"2.25.{prefix}{i}"


def seed(sandbox, store: str, count: int, template, tables: list[TableRef], prefix: str = "1") -> list[str]:
    """`count` instances in `store` (resource name) and one row each in `tables`; their SOP UIDs."""
    from google.cloud import bigquery

    from dicomstream.sandbox.emulator.state import Instance
    from dicomstream.sandbox.emulator.tables import schema as bqschema

    healthcare = sandbox.healthcare_client(timeout=120.0, deadline=300.0)
    healthcare.store_instances(store, [template])
    backends = sandbox.healthcare.backends
    dataset_name, store_id = store.split("/dicomStores/")
    with backends.core.lock:
        original: Instance = backends.healthcare.store(dataset_name, store_id).instances[str(template.SOPInstanceUID)]
    now = backends.core.now()
    made: list[Instance] = []
    for i in range(1, count):
        study, series, sop = _uid(prefix, i // 100), _uid(prefix + "1", i // 10), _uid(prefix + "2", i)
        row = {**original.row, "StudyInstanceUID": study, "SeriesInstanceUID": series, "SOPInstanceUID": sop}
        metadata = copy.deepcopy(original.metadata)
        for key, value in zip(UIDS, (study, series, sop)):
            metadata.setdefault(TAGS[key], {"vr": "UI"})["Value"] = [value]
        made.append(Instance(study=study, series=series, sop=sop, sop_class=original.sop_class, metadata=metadata,
                             row=row, fields=original.fields, stored_time=now))
    with backends.core.lock:
        instances = backends.healthcare.store(dataset_name, store_id).instances
        for inst in made:
            instances[inst.sop] = inst
    layout = bqschema.Layout.of({})
    client = sandbox.bigquery_client()
    for table in tables:
        schema = client.get_table(table.sql_id).schema
        body = "\n".join(json.dumps(layout.row(inst, bqschema.INSERT, now, store)[0], default=str) for inst in made)
        config = bigquery.LoadJobConfig(source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON, schema=schema,
                                        write_disposition="WRITE_APPEND")
        client.load_table_from_file(io.BytesIO(body.encode()), table.sql_id, job_config=config).result()
    return [str(template.SOPInstanceUID)] + [inst.sop for inst in made]


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
