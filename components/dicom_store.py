"""A DICOM store whose instance metadata streams into up to five BigQuery tables.

A store is a plain resource inside its `HealthcareDataset` component rather than a component of
its own: imaging networks run hundreds of stores, and an extra registration per store is what
made previews of large stacks slow (see bench/).
"""

from typing import Any, NotRequired, Optional, Sequence, TypedDict

import pulumi
import pulumi_gcp as gcp

from dicomstream.core import naming
from dicomstream.core.naming import MAX_STREAMS_PER_STORE, TableRef

from .inputs import Checks, derive


class StreamArgs(TypedDict):
    """One BigQuery destination of a DICOM store."""

    table: pulumi.Input[str]
    """The table: `bq://PROJECT.DATASET.TABLE` or `PROJECT.DATASET.TABLE` (in `DicomStreaming`
    also `DATASET.TABLE`, the project of the declared dataset with that id)."""


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


def table_uris(streams: Sequence[StreamArgs], path: str, checks: Checks) -> list[pulumi.Input[str]]:
    """The streams' `tableUri`s (Outputs stay Outputs), each checked; the limit and duplicates as
    the policy pack checks them."""
    if len(streams) > MAX_STREAMS_PER_STORE:
        checks.policy_rule(f"{path}.streams[{MAX_STREAMS_PER_STORE}]",
                           f"a DICOM store streams to at most {MAX_STREAMS_PER_STORE} BigQuery tables "
                           f"(found {len(streams)})")
    uris: list[pulumi.Input[str]] = []
    seen: dict[str, int] = {}
    for j, stream in enumerate(streams):
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
                uris.append(derive(table, _table_uri))
                continue
            if _uri_problem(table):
                continue
            uri = _table_uri(table)
        if uri in seen:
            checks.policy_rule(spath, f"{uri} is already a destination of this store (streams[{seen[uri]}]); "
                                      "remove the duplicate")
        seen.setdefault(uri, j)
        uris.append(uri)
    return uris


def dicom_store(name: str, store_id: str, uris: Sequence[pulumi.Input[str]], labels: dict, *,
                dataset: pulumi.Input[str], opts: pulumi.ResourceOptions) -> gcp.healthcare.DicomStore:
    """The store `store_id`, named `name` (its dataset component's name, then the store id)."""
    return gcp.healthcare.DicomStore(
        name,
        dataset=dataset,
        name=store_id,
        labels=labels,
        stream_configs=[
            gcp.healthcare.DicomStoreStreamConfigArgs(
                bigquery_destination=gcp.healthcare.DicomStoreStreamConfigBigqueryDestinationArgs(table_uri=uri)
            )
            for uri in uris
        ],
        opts=opts,
    )
