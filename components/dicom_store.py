"""A DICOM store whose instance metadata streams into up to five BigQuery tables."""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from components.config import validation_skipped
from components.naming import MAX_STREAMS_PER_STORE, TableRef


class DicomStore(pulumi.ComponentResource):
    """The store `depends_on` the grants its destinations need: streaming starts only after them."""

    id: pulumi.Output[str]
    table_uris: list[str]

    def __init__(
        self,
        name: str,
        *,
        dataset: pulumi.Input[str],
        store_id: str,
        streams: Sequence[TableRef],
        labels: Mapping[str, str],
        grants: Sequence[pulumi.Resource] = (),
        protect: bool = False,
        opts: Optional[pulumi.ResourceOptions] = None,
    ):
        if len(streams) > MAX_STREAMS_PER_STORE and not validation_skipped():
            raise ValueError(
                f"DICOM store {store_id!r} streams to {len(streams)} tables; the limit is {MAX_STREAMS_PER_STORE}"
            )
        super().__init__("dicomstream:index:DicomStore", name, None, opts)
        self.table_uris = [ref.uri for ref in streams]
        self.store = gcp.healthcare.DicomStore(
            name,
            dataset=dataset,
            name=store_id,
            labels=dict(labels),
            stream_configs=[
                gcp.healthcare.DicomStoreStreamConfigArgs(
                    bigquery_destination=gcp.healthcare.DicomStoreStreamConfigBigqueryDestinationArgs(table_uri=uri)
                )
                for uri in self.table_uris
            ],
            opts=pulumi.ResourceOptions(parent=self, protect=protect, depends_on=list(grants)),
        )
        self.id = self.store.id
        self.register_outputs({"id": self.id, "tableUris": self.table_uris})
