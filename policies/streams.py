"""The stream destinations of a DICOM store, as the Healthcare API sees them (`streamConfigs`)."""

from __future__ import annotations

from collections.abc import Iterator
from .naming import TABLE_URI_SCHEME, InvalidName, TableRef, bigquery_id_problem

from .values import dig, known_list, known_str


def stream_configs(props: dict) -> list | None:
    """The store's `streamConfigs` list; None when absent or unknown (nothing to check)."""
    return known_list(dig(props, "streamConfigs"))


def table_uris(props: dict) -> Iterator[tuple[int, str]]:
    """(index, tableUri) for each stream whose tableUri is a known string."""
    for index, config in enumerate(stream_configs(props) or []):
        uri = known_str(dig(config, "bigqueryDestination", "tableUri"))
        if uri is not None:
            yield index, uri


def parse_table_uri(uri: str) -> TableRef | None:
    """The destination table of a well-formed tableUri, else None."""
    if not uri.startswith(TABLE_URI_SCHEME):
        return None
    try:
        return TableRef.parse(uri)
    except InvalidName:
        return None


def _table_part(uri: str) -> str | None:
    body = uri[len(TABLE_URI_SCHEME):] if uri.startswith(TABLE_URI_SCHEME) else uri
    return body.rsplit(".", 1)[1] if "." in body else None


def table_id_problem(uri: str) -> str | None:
    """What is wrong with the TABLE part of a tableUri (the `bigquery-table-name` rule)."""
    if parse_table_uri(uri) is not None:
        return None
    table = _table_part(uri.strip())
    return None if table is None else bigquery_id_problem(table, "table")


def uri_format_problem(uri: str) -> str | None:
    """What is wrong with a tableUri as a whole (scheme, parts, project, dataset and table ids), or None.

    A bad table id is reported here as a malformed URI and, with the offending character and a
    suggested name, by `bigquery-table-name`.
    """
    if uri != uri.strip():
        return f"tableUri {uri!r} has leading or trailing whitespace; write 'bq://PROJECT.DATASET.TABLE' alone"
    if not uri.startswith(TABLE_URI_SCHEME):
        return f"tableUri {uri!r} must look like 'bq://PROJECT.DATASET.TABLE'"
    try:
        TableRef.parse(uri)
    except InvalidName as exc:
        return f"{exc}; a tableUri looks like 'bq://PROJECT.DATASET.TABLE'"
    return None
