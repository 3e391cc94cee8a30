"""Stream options (`schemaJson`, `includeSourceStore`, v1beta1 `changeDataCaptureConfig`), checked as
`tableUri` is, with the stack model's rules (stream_options.py, a generated copy of dicomstream's):
change data capture only with the JSON schema and one schema per stream (mandatory); one schema and one
CDC setting per table, whichever store writes it (mandatory, a stack policy); a table two stores share
without `includeSourceStore` on every stream into it (advisory: their rows cannot be told apart).

They look at every resource that carries a store's `streamConfigs`: the pulumi-gcp store (tableUri
only) and dicomstream's `DicomStoreStreams`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy

from ..base import describe, for_types, reporting
from ..graph import Node, StackGraph
from ..stream_options import CHANGE_DATA_CAPTURE, SCHEMA_FIELDS, StreamOptions, Writer, cdc_problem, table_problems
from ..streams import stream_configs
from ..tokens import DICOM_STORE_STREAMS, STREAMERS
from ..values import dig, is_unknown, known_str


def _destinations(props: dict) -> Iterator[tuple[int, dict]]:
    for index, config in enumerate(stream_configs(props) or []):
        dest = dig(config, "bigqueryDestination")
        if isinstance(dest, dict):
            yield index, dest


def _options(dest: dict) -> StreamOptions | None:
    """The destination's options; None while any of them is unknown (preview)."""
    if any(is_unknown(dest.get(k)) for k in (*SCHEMA_FIELDS.values(), CHANGE_DATA_CAPTURE, "includeSourceStore")):
        return None
    return StreamOptions.of_destination(dest)


@for_types(*STREAMERS)
def _cdc_needs_json(props, args, report_violation) -> None:
    for index, dest in _destinations(props):
        where = f"DICOM store {describe(args)} streamConfigs[{index}].bigqueryDestination"
        if isinstance(dest.get(SCHEMA_FIELDS["json"]), dict) and isinstance(dest.get(SCHEMA_FIELDS["flattened"]), dict):
            report_violation(f"{where}: schemaJson and schemaFlattened are both set; a table has one schema: keep one",
                             None)
        options = _options(dest)
        problem = cdc_problem(options) if options is not None else None
        if problem:
            report_violation(f"{where}.{CHANGE_DATA_CAPTURE}: {problem.replace('schema: json', 'schemaJson')}", None)


def _store_of(node: Node) -> str:
    """The store a node's streams belong to: `DicomStoreStreams.store`, else the store itself."""
    if node.type == DICOM_STORE_STREAMS:
        return known_str(node.props.get("store")) or node.name
    dataset, name = known_str(node.props.get("dataset")), known_str(node.props.get("name"))
    return f"{dataset}/dicomStores/{name}" if dataset and name else node.name


def _writers(resources: Any) -> tuple[list[Writer], dict[str, str]]:
    """Every stream of the stack whose table and options are known, and the URN each `where` names
    (the stack's shared graph; once for both table policies)."""
    return StackGraph.of(resources).derived("stream-writers", _find_writers)


def _find_writers(graph: StackGraph) -> tuple[list[Writer], dict[str, str]]:
    writers, urns = [], {}
    for node in graph.of_type(*STREAMERS):
        for index, dest in _destinations(node.props):
            uri, options = known_str(dest.get("tableUri")), _options(dest)
            if uri and options is not None:
                where = f"{node.name!r} streamConfigs[{index}]"
                writers.append(Writer(where, _store_of(node), uri.strip(), options))
                urns[where] = node.urn
    return writers, urns


def _table_problems(resources: Any, severity: str) -> list[tuple[str, str]]:
    writers, urns = _writers(resources)
    return [(urns[p.writer.where], f"DICOM store {p.writer.where}: {p.message}")
            for p in table_problems(writers) if p.severity == severity]


POLICIES = [
    ResourceValidationPolicy(
        name="stream-cdc-needs-json-schema",
        description=("A stream with changeDataCaptureConfig (Healthcare API v1beta1) uses schemaJson; a stream has "
                     "one schema (not schemaJson and schemaFlattened)."),
        validate=_cdc_needs_json,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy(
        name="stream-table-one-shape",
        description=("Every stream into one BigQuery table, from whichever store, has the same schema (flattened or "
                     "JSON) and the same change-data-capture setting."),
        validate=reporting(lambda resources: _table_problems(resources, "error")),
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    StackValidationPolicy(
        name="shared-table-source-store",
        description=("Stores that share a table set includeSourceStore on every stream into it, so its rows carry "
                     "SourceDicomStore and can be told apart."),
        validate=reporting(lambda resources: _table_problems(resources, "warning")),
        enforcement_level=EnforcementLevel.ADVISORY,
    ),
]
