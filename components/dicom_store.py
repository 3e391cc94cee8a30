"""A DICOM store whose instance metadata streams into up to five BigQuery tables.

A store is a plain resource inside its `HealthcareDataset` component rather than a component of
its own: imaging networks run hundreds of stores, and an extra registration per store is what
made previews of large stacks slow (see bench/). Its `streamConfigs` are not the pulumi-gcp
store's (that type carries `tableUri` only): a `DicomStoreStreams` beside it owns them with every
option (stream_configs.py), and the store ignores the field.
"""

from typing import Any, NotRequired, Optional, Sequence, TypedDict

import pulumi
import pulumi_gcp as gcp

from dicomstream.core import naming
from dicomstream.core.naming import MAX_STREAMS_PER_STORE, TableRef
from dicomstream.core.stream_options import FLATTENED, StreamOptions, cdc_problem, schema_problem

from .inputs import Checks, derive
from .stream_configs import STREAM_CONFIGS, DicomStoreStreams


class StreamArgs(TypedDict):
    """One BigQuery destination of a DICOM store."""

    table: pulumi.Input[str]
    """The table: `bq://PROJECT.DATASET.TABLE` or `PROJECT.DATASET.TABLE` (in `DicomStreaming`
    also `DATASET.TABLE`, the project of the declared dataset with that id)."""
    schema: NotRequired[str]
    """`flattened` (one column per DICOM tag, the default) or `json` (the tags in one JSON `Metadata` column)."""
    include_source_store: NotRequired[bool]
    """Add a `SourceDicomStore` column naming the store each row came from (set it on every store sharing a table)."""
    change_data_capture: NotRequired[bool]
    """BigQuery change data capture (Healthcare API v1beta1, JSON schema only): one current row per
    instance, updated on re-store and storage-class change, removed on delete."""


class DicomStoreArgs(TypedDict):
    """A DICOM store and the tables its instance metadata streams into."""

    store_id: str
    """The store's id in its Healthcare dataset (it also names the Pulumi resource)."""
    labels: NotRequired[dict[str, pulumi.Input[str]]]
    streams: NotRequired[list[StreamArgs]]
    """At most five destinations; the BigQuery datasets must exist, the tables are created on first insert."""


class StreamInfo(TypedDict):
    """Where one stream writes, in the two spellings consumers need."""

    uri: str
    """`bq://PROJECT.DATASET.TABLE`, the store's `bigqueryDestination.tableUri`."""
    table: str
    """`PROJECT.DATASET.TABLE`, as SQL and the BigQuery client name the table."""


class StoreInfo(TypedDict):
    """A DICOM store as a downstream stack uses it."""

    name: str
    """`projects/P/locations/L/datasets/D/dicomStores/S`."""
    dicomwebUrl: str
    """The store's DICOMweb root (STOW-RS, QIDO-RS and WADO-RS are below it)."""
    streams: list[StreamInfo]


def stream_info(uri: str) -> StreamInfo:
    return {"uri": uri, "table": uri.removeprefix(naming.TABLE_URI_SCHEME)}


def _table_uri(text: Any) -> str:
    """`bq://P.D.T` for `bq://P.D.T` or `P.D.T`; InvalidName says what is wrong."""
    return TableRef.parse(text).uri


def _uri_problem(text: Any) -> Optional[str]:
    try:
        _table_uri(text)
    except naming.InvalidName as exc:
        return str(exc)
    return None


def options_of(stream: StreamArgs, spath: str, checks: Checks) -> StreamOptions:
    """A stream's options, checked with the stack model's rules (plain values only: they decide the API version)."""
    schema = stream.get("schema", FLATTENED)
    if schema_problem(schema):
        checks.problem(f"{spath}.schema", str(schema_problem(schema)))
        schema = FLATTENED
    flags = {}
    for key in ("include_source_store", "change_data_capture"):
        value = stream.get(key, False)
        if not isinstance(value, bool):
            checks.problem(f"{spath}.{key}", "true or false, as a plain value")
            value = False
        flags[key] = value
    options = StreamOptions(schema, flags["include_source_store"], flags["change_data_capture"])
    if cdc_problem(options):
        checks.policy_rule(f"{spath}.change_data_capture", str(cdc_problem(options)))
    return options


def table_uris(streams: Sequence[StreamArgs], path: str, checks: Checks) -> list[pulumi.Input[str]]:
    """The streams' `tableUri`s (Outputs stay Outputs), each checked; the limit and duplicates as
    the policy pack checks them."""
    return [uri for uri, _ in destinations(streams, path, checks)]


def destinations(streams: Sequence[StreamArgs], path: str, checks: Checks) -> list[tuple[pulumi.Input[str], StreamOptions]]:
    """(tableUri, options) of each valid stream, checked as `table_uris` says."""
    if len(streams) > MAX_STREAMS_PER_STORE:
        checks.policy_rule(f"{path}.streams[{MAX_STREAMS_PER_STORE}]",
                           f"a DICOM store streams to at most {MAX_STREAMS_PER_STORE} BigQuery tables "
                           f"(found {len(streams)})")
    uris: list[tuple[pulumi.Input[str], StreamOptions]] = []
    seen: dict[str, int] = {}
    for j, stream in enumerate(streams):
        options = options_of(stream, f"{path}.streams[{j}]", checks)
        spath = f"{path}.streams[{j}].table"
        table = stream.get("table")
        if isinstance(table, str) and not getattr(table, "encrypted", False):
            # A plain text is parsed once: the check and the URI (three parses per stream before).
            try:
                uri = _table_uri(table)
            except naming.InvalidName as exc:
                checks.problem(spath, str(exc))
                continue
        else:
            table = checks.value(table, spath, _uri_problem)
            if table is None:
                checks.problem(spath, "required: the destination table, e.g. bq://PROJECT.DATASET.TABLE")
                continue
            if isinstance(table, pulumi.Output):
                uris.append((derive(table, _table_uri), options))
                continue
            if _uri_problem(table):
                continue
            uri = _table_uri(table)
        if uri in seen:
            checks.policy_rule(spath, f"{uri} is already a destination of this store (streams[{seen[uri]}]); "
                                      "remove the duplicate")
        seen.setdefault(uri, j)
        uris.append((uri, options))
    return uris


def stream_config(uri: Any, options: StreamOptions) -> Any:
    """`{"bigqueryDestination": {...}}` with every option as Google's API names it."""
    def config(table_uri: str) -> dict:
        return {"bigqueryDestination": options.destination(table_uri)}

    return derive(uri, config)


def dicom_store(name: str, store_id: str, labels: dict, *, dataset: pulumi.Input[str],
                opts: pulumi.ResourceOptions) -> gcp.healthcare.DicomStore:
    """The store `store_id`, named `name` (its dataset component's name, then the store id). Its
    `streamConfigs` belong to its `DicomStoreStreams`: ignored here, so a store an earlier version
    created with stream configs keeps them until that resource has set the same ones."""
    return gcp.healthcare.DicomStore(
        name,
        dataset=dataset,
        name=store_id,
        labels=labels,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(ignore_changes=[STREAM_CONFIGS])),
    )


def store_streams(name: str, store: gcp.healthcare.DicomStore, store_name: pulumi.Input[str],
                  streams: Sequence[tuple[pulumi.Input[str], StreamOptions]], *,
                  opts: pulumi.ResourceOptions) -> DicomStoreStreams:
    """The store's streams (`NAME-streams`), after the store and whatever `opts` waits for (the grants)."""
    after: list[Any] = list(opts.depends_on) if isinstance(opts.depends_on, list) else [opts.depends_on] if opts.depends_on else []
    return DicomStoreStreams(
        f"{name}-streams", store=store_name, stream_configs=[stream_config(uri, o) for uri, o in streams],
        opts=pulumi.ResourceOptions(parent=opts.parent, depends_on=[store, *after]))
